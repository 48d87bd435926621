import { raceAbort } from "./abort.ts";
import type { RunScope } from "./attempt.ts";
import { type AttemptTarget, runAttempts } from "./attempt.ts";
import type { StateEntry, WorkflowDefinition } from "./definition.ts";
import type { CanoError } from "./errors.ts";
import { engineError, toCanoError, withRunContext } from "./errors.ts";
import type { Observer, RunOutcome, WorkflowEvent } from "./events.ts";
import { assertJson } from "./json.ts";
import { setupResources, teardownResources } from "./resources.ts";
import type { SplitConfig, SplitResult } from "./split.ts";
import { runSplit } from "./split.ts";
import { didYouMean } from "./suggest.ts";
import type { TaskContext } from "./task.ts";

/** Per-run options of `orchestrate`. */
export interface OrchestrateOptions {
  /** Cancels the run: checked at every state boundary and raced against the running task. */
  readonly signal?: AbortSignal;
  /** The run's id (events, checkpoints, `ctx.workflowId`). Default: a random UUID. */
  readonly workflowId?: string;
  /** An observer for this run only, after the workflow's own observers. */
  readonly onEvent?: Observer;
}

/** Never aborts: the signal tasks get when nothing can cancel the run. */
const quietSignal = new AbortController().signal;

function notifier(
  observers: readonly Observer[],
  report: (observer: Observer, error: unknown) => void,
): ((event: WorkflowEvent) => void) | undefined {
  if (observers.length === 0) return undefined;
  return (event) => {
    for (const observer of observers) {
      try {
        observer(event);
      } catch (error) {
        report(observer, error);
      }
    }
  };
}

/**
 * @internal One execution of the state machine from `initial` (reference §3.4): resources set up,
 * the FSM loop with cancellation at boundaries and raced dispatch, an optional total timeout,
 * resources torn down, and `run_start`/`run_end` around it all.
 */
export async function executeRun<TResources>(
  definition: WorkflowDefinition<TResources>,
  initial: string,
  options: OrchestrateOptions,
): Promise<string> {
  const { clock } = definition;
  const workflowId = options.workflowId ?? crypto.randomUUID();
  const observers =
    options.onEvent === undefined ? definition.observers : [...definition.observers, options.onEvent];
  const emit = notifier(observers, definition.reportObserverError);
  const scope: RunScope = { workflowId, clock, random: definition.random, emit };
  const startedAt = clock.now();
  emit?.({ type: "run_start", at: startedAt, workflowId, initial });

  let outcome: RunOutcome = "failed";
  let final: string | undefined;
  let failure: CanoError | undefined;
  let setUp = 0;
  try {
    setUp = await setupResources(definition.resources as object);
    final = await new Run(definition, scope, options.signal).loop(initial);
    outcome = "completed";
    return final;
  } catch (error) {
    failure = toCanoError(error, "Workflow");
    if (failure.code === "cancelled") outcome = "cancelled";
    throw failure;
  } finally {
    for (const error of await teardownResources(definition.resources as object, setUp)) {
      emit?.({ type: "teardown_failed", at: clock.now(), workflowId, error: error.toJSON() });
    }
    emit?.({
      type: "run_end",
      at: clock.now(),
      workflowId,
      outcome,
      ...(final === undefined ? {} : { state: final }),
      ...(failure === undefined ? {} : { error: failure.toJSON() }),
      durationMs: clock.now() - startedAt,
    });
  }
}

/** The FSM loop of one run and the signals around it. */
class Run<TResources> {
  readonly #definition: WorkflowDefinition<TResources>;
  readonly #scope: RunScope;
  readonly #cancel: AbortSignal | undefined;
  /** Aborts with the run's `cancelled` or `workflow_timeout` error; what tasks see as `ctx.signal`. */
  readonly #controller: AbortController | undefined;
  readonly #path: string[] = [];
  /** The result of the split just run, handed to the next state's task as `ctx.split`. */
  #joinInput: SplitResult | undefined;
  /** The latest cursor per state, handed back to the state's task when the run resumes in it. */
  readonly #cursors = new Map<string, unknown>();

  constructor(definition: WorkflowDefinition<TResources>, scope: RunScope, cancel: AbortSignal | undefined) {
    this.#definition = definition;
    this.#scope = scope;
    this.#cancel = cancel;
    const abortable = cancel !== undefined || definition.totalTimeoutMs !== undefined;
    this.#controller = abortable ? new AbortController() : undefined;
  }

  async loop(initial: string): Promise<string> {
    const stopWatching = this.#watch();
    try {
      let state = initial;
      for (;;) {
        if (this.#cancel?.aborted) throw this.#cancelledAtBoundary(state);
        this.#path.push(state);
        this.#emit({
          type: "state_enter",
          at: this.#scope.clock.now(),
          workflowId: this.#scope.workflowId,
          state,
        });
        if (this.#definition.exits.has(state)) return state;
        const entry = this.#definition.states.get(state);
        if (entry === undefined) {
          throw this.#fail(
            engineError("workflow", `Workflow: no task is registered for state "${state}"`),
            state,
            0,
          );
        }
        state = await this.#dispatch(state, entry);
      }
    } finally {
      stopWatching();
    }
  }

  #emit(event: WorkflowEvent): void {
    this.#scope.emit?.(event);
  }

  /** Links the caller's signal and the total timeout to the run's controller; returns the cleanup. */
  #watch(): () => void {
    const controller = this.#controller;
    if (controller === undefined) return () => {};
    const { clock, workflowId } = this.#scope;
    const cancel = this.#cancel;
    const onCancel = () =>
      controller.abort(
        engineError("cancelled", "Workflow: the run was cancelled", { workflowId, cause: cancel?.reason }),
      );
    cancel?.addEventListener("abort", onCancel, { once: true });
    const limitMs = this.#definition.totalTimeoutMs;
    const startedAt = clock.now();
    const cancelTimer =
      limitMs === undefined
        ? undefined
        : clock.schedule(limitMs, () => {
            const elapsedMs = clock.now() - startedAt;
            controller.abort(
              engineError(
                "workflow_timeout",
                `Workflow: total timeout of ${limitMs} ms exceeded after ${elapsedMs} ms`,
                {
                  workflowId,
                  details: { elapsedMs, limitMs },
                },
              ),
            );
          });
    return () => {
      cancel?.removeEventListener("abort", onCancel);
      cancelTimer?.();
    };
  }

  async #dispatch(state: string, entry: StateEntry<TResources>): Promise<string> {
    const { clock, workflowId } = this.#scope;
    const signal = this.#controller?.signal ?? quietSignal;
    const split = this.#joinInput;
    this.#joinInput = undefined;
    const ctx: TaskContext<TResources> = {
      state,
      store: this.#definition.store,
      resources: this.#definition.resources,
      signal,
      attempt: 1,
      workflowId,
      clock,
      split,
    };
    // A total timeout that fired between states fails the next dispatch before its task starts.
    if (signal.aborted) throw this.#fail(signal.reason as CanoError, state, 0);
    return entry.kind === "split"
      ? this.#dispatchSplit(state, entry.split, ctx)
      : this.#dispatchTask(state, entry, ctx);
  }

  async #dispatchSplit(
    state: string,
    split: SplitConfig<TResources>,
    ctx: TaskContext<TResources>,
  ): Promise<string> {
    try {
      this.#joinInput = await runSplit(this.#scope, state, split, ctx, this.#controller !== undefined);
    } catch (thrown) {
      const error = toCanoError(thrown, `Split "${state}"`);
      const { clock, workflowId } = this.#scope;
      this.#emit({
        type: "task_failure",
        at: clock.now(),
        workflowId,
        state,
        taskId: state,
        error: error.toJSON(),
      });
      throw this.#fail(error, state, 1);
    }
    return split.joinState;
  }

  async #dispatchTask(
    state: string,
    entry: Extract<StateEntry<TResources>, { task: unknown }>,
    ctx: TaskContext<TResources>,
  ): Promise<string> {
    const { clock, workflowId } = this.#scope;
    const { taskId, task } = entry;
    const abortable = this.#controller !== undefined;
    const target: AttemptTarget<TResources> = { state, taskId, task, attempt: 0 };
    this.#emit({ type: "task_start", at: clock.now(), workflowId, state, taskId });
    let next: unknown;
    try {
      const running = task.execute(ctx, {
        attempts: (body) => runAttempts(this.#scope, target, ctx, abortable, body),
        cursor: this.#cursors.get(state),
        saveCursor: (cursor) => this.#saveCursor(state, cursor),
      });
      this.#cursors.delete(state);
      next = await (abortable && task.cancellation === "race" ? raceAbort(running, ctx.signal) : running);
    } catch (thrown) {
      const error = toCanoError(thrown, `Task "${taskId}"`);
      this.#emit({ type: "task_failure", at: clock.now(), workflowId, state, taskId, error: error.toJSON() });
      throw this.#fail(error, state, target.attempt);
    }
    const problem = this.#checkNext(state, task.to, next);
    if (problem !== undefined) {
      this.#emit({
        type: "task_failure",
        at: clock.now(),
        workflowId,
        state,
        taskId,
        error: problem.toJSON(),
      });
      throw this.#fail(problem, state, target.attempt);
    }
    const nextState = next as string;
    this.#emit({
      type: "task_success",
      at: clock.now(),
      workflowId,
      state,
      taskId,
      attempts: target.attempt,
      next: nextState,
    });
    if (task.to === undefined) this.#learn(state, nextState);
    return nextState;
  }

  /** A `workflow` error when a task returned something other than a known (and declared) state. */
  #checkNext(state: string, declared: readonly string[] | undefined, next: unknown): CanoError | undefined {
    const { states, exits } = this.#definition;
    if (typeof next !== "string") {
      return engineError(
        "workflow",
        `Workflow: state "${state}" returned ${next === undefined ? "undefined" : `a ${typeof next} (${String(next)})`}, expected the name of the next state`,
      );
    }
    if (!states.has(next) && !exits.has(next)) {
      const known = [...states.keys(), ...exits];
      return engineError(
        "workflow",
        `Workflow: state "${state}" returned "${next}", which is neither registered nor an exit state.${didYouMean(next, known)}`,
      );
    }
    if (declared !== undefined && !declared.includes(next)) {
      return engineError(
        "workflow",
        `Workflow: state "${state}" returned "${next}", which is not among its declared targets (${declared.map((s) => `"${s}"`).join(", ")})`,
      );
    }
    return undefined;
  }

  async #saveCursor(state: string, cursor: unknown): Promise<void> {
    assertJson(cursor, `Workflow: the cursor saved by state "${state}"`);
  }

  #learn(from: string, to: string): void {
    const learned = this.#definition.learnedEdges;
    const targets = learned.get(from);
    if (targets === undefined) learned.set(from, new Set([to]));
    else targets.add(to);
  }

  #cancelledAtBoundary(state: string): CanoError {
    const { workflowId } = this.#scope;
    const error = engineError("cancelled", "Workflow: the run was cancelled", {
      workflowId,
      cause: this.#cancel?.reason,
    });
    return this.#fail(error, state, 0);
  }

  /** Reports a terminal failure (`cancelled` / `workflow_timeout` events) and adds where it happened. */
  #fail(error: CanoError, state: string, attempt: number): CanoError {
    const { clock, workflowId } = this.#scope;
    if (error.code === "cancelled") this.#emit({ type: "cancelled", at: clock.now(), workflowId, state });
    if (error.code === "workflow_timeout") {
      const { elapsedMs, limitMs } = error.details as { elapsedMs: number; limitMs: number };
      this.#emit({ type: "workflow_timeout", at: clock.now(), workflowId, elapsedMs, limitMs });
    }
    const structural =
      error.code === "cancelled" || error.code === "workflow_timeout" || error.code === "circuit_open";
    const path = [...this.#path];
    return withRunContext(error, { state, attempt: structural ? 0 : Math.max(1, attempt), path, workflowId });
  }
}
