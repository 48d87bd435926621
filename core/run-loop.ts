import type { AttemptTarget, RunScope } from "./attempt.ts";
import { retryAfter, runAttempts } from "./attempt.ts";
import type { CheckpointRowKind } from "./checkpoint.ts";
import type { CompensationEntry } from "./compensation.ts";
import { compensationFailed, drainCompensations, rollbackBudgetMs } from "./compensation.ts";
import type { PlainEntry, StateEntry, WorkflowDefinition } from "./definition.ts";
import { isPlainEntry, taskIdOf } from "./definition.ts";
import {
  CanoError,
  contextOf,
  describeThrown,
  engineError,
  isCanoError,
  toCanoError,
  withRunContext,
} from "./errors.ts";
import { assertJson } from "./json.ts";
import type { RunFields, SignalSource } from "./lazy-signal.ts";
import { DerivedContext, LazySignal } from "./lazy-signal.ts";
import { checkNextState, learnEdge } from "./next-state.ts";
import type { ResumePoint } from "./resume.ts";
import { RunLog } from "./run-log.ts";
import { watchRun } from "./run-watch.ts";
import type { SagaOutcome } from "./saga.ts";
import type { SplitConfig, SplitResult } from "./split.ts";
import { runSplit } from "./split.ts";
import type { TaskContext } from "./task.ts";

/**
 * @internal The FSM loop of one run (reference §3.4): cancellation at state boundaries, a checkpoint
 * row before each state's task, dispatch by state kind, and on any failure the compensation drain.
 */
export class Run<TResources> {
  readonly #definition: WorkflowDefinition<TResources>;
  readonly #scope: RunScope;
  readonly #cancel: AbortSignal | undefined;
  /**
   * Aborts with the run's `cancelled` or `workflow_timeout` error; what tasks see as `ctx.signal`.
   * One per run, so listeners a task forgets to remove die with the run; made when first read.
   */
  readonly #stop = new LazySignal();
  /** False when neither a caller's signal nor a total timeout can stop the run: nothing is raced. */
  readonly #abortable: boolean;
  /** The signal saga steps get: never aborted, since they are never interrupted (made only if read). */
  readonly #sagaSignal = new LazySignal();
  /** What every task context of the run shares. */
  readonly #fields: RunFields<TResources>;
  /**
   * Rejects the raced task in flight (see `#race`). Only one task runs at a time; calling it after
   * that task settled does nothing.
   */
  #rejectRunning: ((reason: unknown) => void) | undefined;
  readonly #path: string[];
  /** Completed saga steps, oldest first. */
  readonly #stack: CompensationEntry[];
  /** The result of the split just run, handed to the next state's task as `ctx.split`. */
  #joinInput: SplitResult | undefined;
  /** The cursor the next dispatch of the resumed state starts from. */
  #resumeCursor: { readonly state: string; readonly cursor: unknown } | undefined;
  readonly #log: RunLog;
  /** The error whose rollback a resumed run finishes (it re-runs no state). */
  readonly #rollingBack: CanoError | undefined;

  constructor(
    definition: WorkflowDefinition<TResources>,
    scope: RunScope,
    cancel: AbortSignal | undefined,
    resume: ResumePoint | undefined,
  ) {
    this.#definition = definition;
    this.#scope = scope;
    this.#cancel = cancel;
    this.#abortable = cancel !== undefined || definition.totalTimeoutMs !== undefined;
    const { store, resources } = definition;
    this.#fields = { store, resources, workflowId: scope.workflowId, clock: scope.clock };
    this.#path = [...(resume?.path ?? [])];
    this.#stack = [...(resume?.stack ?? [])];
    this.#joinInput = resume?.joinInput;
    this.#resumeCursor =
      resume?.cursor === undefined ? undefined : { state: resume.state, cursor: resume.cursor };
    this.#log = new RunLog(definition.durability, scope, resume);
    this.#rollingBack = resume?.rollback;
  }

  async loop(initial: string): Promise<string> {
    const stopWatching = this.#abortable
      ? watchRun(
          (reason) => {
            this.#stop.abort(reason);
            this.#rejectRunning?.(reason);
          },
          this.#cancel,
          this.#definition.totalTimeoutMs,
          this.#scope,
        )
      : () => {};
    try {
      // The first state starts a microtask later, never inside `orchestrate()` itself: a caller that
      // cancels right after starting a run stops it before its first state (reference §3.4).
      await Promise.resolve();
      // A run that stopped while rolling back only finishes its rollback.
      if (this.#rollingBack !== undefined) throw this.#rollingBack;
      let state = initial;
      for (;;) {
        if (this.#cancel?.aborted) throw this.#cancelledAtBoundary(state);
        this.#path.push(state);
        this.#scope.emit?.({
          type: "state_enter",
          at: this.#scope.clock.now(),
          workflowId: this.#scope.workflowId,
          state,
        });
        const entry = this.#definition.states.get(state);
        const durable = this.#definition.durability !== undefined;
        if (durable && entry?.kind !== "router") {
          await this.#checkpoint(state, "state", taskIdOf(entry), this.#joinInput);
        }
        if (this.#definition.exits.has(state)) {
          if (durable) await this.#log.clear();
          return state;
        }
        if (entry === undefined) {
          throw this.#fail(
            engineError("workflow", `Workflow: no task is registered for state "${state}"`),
            state,
            0,
          );
        }
        if (!isPlainEntry(entry)) {
          state = await this.#dispatch(state, entry);
          continue;
        }
        // The hot path: a plain task in a run nothing can stop costs one await, like a hand-written loop.
        const ctx = this.#startPlain(state, entry);
        let value: unknown;
        try {
          const { body } = entry.task;
          const running = body(ctx);
          value = await (this.#abortable ? this.#race(running) : running);
        } catch (thrown) {
          state = await this.#retryPlain(state, entry, ctx, thrown);
          continue;
        }
        state = this.#transition(state, entry.taskId, entry.task.to, value, 1);
      }
    } catch (error) {
      throw await this.#rollBack(toCanoError(error, "Workflow"));
    } finally {
      this.#log.close();
      stopWatching();
    }
  }

  /** Appends one checkpoint row when a store is attached; a failed append fails the run. */
  async #checkpoint(state: string, kind: CheckpointRowKind, taskId: string, output?: unknown): Promise<void> {
    this.#log.throwIfClosed(state, kind);
    try {
      await this.#log.append(state, kind, taskId, output);
    } catch (error) {
      throw this.#fail(toCanoError(error, "Checkpoint"), state, 0);
    }
  }

  /**
   * A row of a rollback; returns why it could not be written instead of throwing. A lost
   * `compensated` row only means a resume compensates that step again, which compensations must
   * tolerate; a lost `rollback` row stops the rollback (see `#rollBack`).
   */
  async #record(
    state: string,
    kind: "rollback" | "compensated",
    taskId: string,
    output: unknown,
  ): Promise<CanoError | undefined> {
    try {
      await this.#checkpoint(state, kind, taskId, output);
      return undefined;
    } catch (error) {
      return toCanoError(error, "Checkpoint");
    }
  }

  /**
   * A task's context: a plain object, so a spread copy keeps `signal` like every other field. The
   * run's signal is made by the first context that needs it (a run that never reaches a task, or
   * only runs splits, never makes one).
   */
  #context(state: string, signal: SignalSource, split: SplitResult | undefined): TaskContext<TResources> {
    const { store, resources, workflowId, clock } = this.#fields;
    return { state, store, resources, signal: signal.signalOf(0), attempt: 1, workflowId, clock, split };
  }

  /** Starts a plain task (see `loop`): its context, and `task_start`. */
  #startPlain(state: string, { taskId }: PlainEntry<TResources>): TaskContext<TResources> {
    // A total timeout that fired between states fails the state before its task starts.
    if (this.#stop.aborted) throw this.#fail(this.#stop.reason as CanoError, state, 0);
    const ctx = this.#context(state, this.#stop, this.#joinInput);
    this.#joinInput = undefined;
    this.#resumeCursor = undefined;
    const { clock, workflowId } = this.#scope;
    this.#scope.emit?.({ type: "task_start", at: clock.now(), workflowId, state, taskId });
    // An observer of task_start may have stopped the run already.
    if (this.#stop.aborted) throw this.#failTask(this.#stop.reason as CanoError, state, taskId, 0);
    return ctx;
  }

  /**
   * Settles like `running`, or rejects with the run's stop reason as soon as the run stops: the
   * engine stops waiting for a task that ignores its signal. (Cheaper than racing `ctx.signal`: no
   * AbortSignal, no listener, nothing to remove afterwards.)
   */
  #race<T>(running: T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#stop.aborted) reject(this.#stop.reason);
      else this.#rejectRunning = reject;
      Promise.resolve(running).then(resolve, reject);
    });
  }

  /** The retry loop of a plain task whose first attempt failed with `thrown`, then its transition. */
  async #retryPlain(
    state: string,
    { taskId, task }: PlainEntry<TResources>,
    ctx: TaskContext<TResources>,
    thrown: unknown,
  ): Promise<string> {
    const target: AttemptTarget<TResources> = { state, taskId, task, attempt: 1 };
    let value: unknown;
    try {
      const retried = retryAfter(this.#scope, target, ctx, this.#abortable, task.body, thrown);
      value = await (this.#abortable ? this.#race(retried) : retried);
    } catch (error) {
      throw this.#failTask(toCanoError(error, `Task "${taskId}"`), state, taskId, target.attempt);
    }
    return this.#transition(state, taskId, task.to, value, target.attempt);
  }

  #dispatch(state: string, entry: StateEntry<TResources>): Promise<string> {
    const split = this.#joinInput;
    this.#joinInput = undefined;
    // A total timeout that fired between states fails the next dispatch before its task starts.
    if (this.#stop.aborted && entry.kind !== "saga")
      return Promise.reject(this.#fail(this.#stop.reason as CanoError, state, 0));
    switch (entry.kind) {
      case "split":
        // The split's own context is only the base of its branches': it need not make the run's signal.
        return this.#dispatchSplit(
          state,
          entry.split,
          new DerivedContext(this.#fields, state, split, 1, this.#stop),
        );
      case "saga":
        return this.#dispatchSaga(state, entry, this.#context(state, this.#sagaSignal, split));
      default: {
        const { taskId, task } = entry;
        const target: AttemptTarget<TResources> = { state, taskId, task, attempt: 0 };
        return this.#runTask(target, this.#context(state, this.#stop, split), this.#abortable, (value) =>
          this.#transition(state, taskId, task.to, value, target.attempt),
        );
      }
    }
  }

  /**
   * Runs one task with its retry settings, raced against the run's signal unless it winds down
   * itself, and hands its value to `then`; `target.attempt` says how far its retries went. (One
   * promise chain rather than `async` frames: this is the hot path of every transition.)
   */
  #runTask<T>(
    target: AttemptTarget<TResources>,
    ctx: TaskContext<TResources>,
    abortable: boolean,
    then: (value: unknown) => T,
  ): Promise<T> {
    const { clock, workflowId } = this.#scope;
    const { state, taskId, task } = target;
    this.#scope.emit?.({ type: "task_start", at: clock.now(), workflowId, state, taskId });
    const resumed = this.#resumeCursor?.state === state ? this.#resumeCursor.cursor : undefined;
    this.#resumeCursor = undefined;
    const failed = (thrown: unknown): never => {
      throw this.#failTask(toCanoError(thrown, `Task "${taskId}"`), state, taskId, target.attempt);
    };
    try {
      // An observer of task_start may have stopped the run already.
      if (abortable && this.#stop.aborted) throw this.#stop.reason;
      const running =
        task.body !== undefined
          ? runAttempts(this.#scope, target, ctx, abortable, task.body)
          : task.execute(ctx, {
              attempts: (body) => runAttempts(this.#scope, target, ctx, abortable, body),
              cursor: resumed,
              saveCursor: (cursor) => this.#saveCursor(state, taskId, cursor),
            });
      return (abortable && task.cancellation === "race" ? this.#race(running) : running).then(then, failed);
    } catch (thrown) {
      return new Promise((settle) => settle(failed(thrown)));
    }
  }

  /** Checks the state a task returned, reports it, and moves the machine on. */
  #transition(
    state: string,
    taskId: string,
    declared: readonly string[] | undefined,
    next: unknown,
    attempts: number,
  ) {
    const { clock, workflowId } = this.#scope;
    const problem = checkNextState(this.#definition, state, declared, next);
    if (problem !== undefined) throw this.#failTask(problem, state, taskId, attempts);
    const nextState = next as string;
    this.#scope.emit?.({
      type: "task_success",
      at: clock.now(),
      workflowId,
      state,
      taskId,
      attempts,
      next: nextState,
    });
    if (declared === undefined) learnEdge(this.#definition, state, nextState);
    return nextState;
  }

  async #dispatchSplit(
    state: string,
    split: SplitConfig<TResources>,
    ctx: TaskContext<TResources>,
  ): Promise<string> {
    try {
      const result = await runSplit(this.#scope, state, split, ctx, this.#abortable);
      if (this.#definition.durability !== undefined) {
        for (const { index, value } of result.successes) {
          assertJson(
            value,
            `Split "${state}": branch ${split.taskIds[index]} returned a value that cannot be checkpointed for the join state; with a checkpoint store, branch results`,
          );
        }
      }
      this.#joinInput = result;
    } catch (thrown) {
      throw this.#failTask(toCanoError(thrown, `Split "${state}"`), state, state, 1);
    }
    return split.joinState;
  }

  /**
   * A saga step runs to completion whatever happens to the run (reference §12.8); its output is
   * checkpointed as a completion row and pushed onto the compensation stack.
   */
  async #dispatchSaga(
    state: string,
    entry: Extract<StateEntry<TResources>, { kind: "saga" }>,
    ctx: TaskContext<TResources>,
  ): Promise<string> {
    const { taskId, step } = entry;
    const target: AttemptTarget<TResources> = { state, taskId, task: step.forward, attempt: 0 };
    const value = await this.#runTask(target, ctx, false, (result) => result);
    const attempts = target.attempt;
    const outcome = value as Partial<SagaOutcome<unknown, unknown>> | undefined;
    if (typeof outcome !== "object" || outcome === null || !("next" in outcome)) {
      const problem = engineError(
        "workflow",
        `Saga: step "${taskId}" returned ${describeThrown(value)}, expected { next, output }`,
      );
      throw this.#fail(problem, state, attempts);
    }
    // A step run for its side effect alone returns no output; JSON (and so a checkpoint) has null.
    const output = outcome.output === undefined ? null : outcome.output;
    try {
      assertJson(
        output,
        `Saga: the output of step "${taskId}" (run "${this.#scope.workflowId}", state "${state}")`,
      );
    } catch (thrown) {
      // The effect happened but cannot be recorded: undo it now, as the seed does for unserialisable output.
      const invalid = toCanoError(thrown, "Saga");
      const error = engineError(
        "configuration",
        `${invalid.message} (it would have been row ${this.#log.nextSequence})`,
        {
          sequence: this.#log.nextSequence,
          details: invalid.details,
        },
      );
      const errors = await drainCompensations(
        this.#scope,
        [{ state, taskId, output }],
        this.#definition.sagaSteps,
        this.#context(state, this.#sagaSignal, undefined),
        undefined,
      );
      const failure = this.#fail(error, state, attempts);
      throw errors.length === 0 ? failure : compensationFailed(failure, errors);
    }
    const durable = this.#definition.durability !== undefined;
    this.#stack.push({ state, taskId, output, ...(durable ? { sequence: this.#log.nextSequence } : {}) });
    await this.#checkpoint(state, "completion", taskId, output);
    return this.#transition(state, taskId, step.to, outcome.next, attempts);
  }

  async #saveCursor(state: string, taskId: string, cursor: unknown): Promise<void> {
    assertJson(cursor, `Workflow: the cursor saved by state "${state}"`);
    await this.#checkpoint(state, "cursor", taskId, cursor);
  }

  /**
   * Undoes completed saga steps after a failure (reference §12): a clean rollback returns the
   * original error and clears the log; a dirty one returns `compensation_failed` and keeps it.
   */
  async #rollBack(error: CanoError): Promise<CanoError> {
    if (this.#stack.length === 0) {
      // A resumed rollback whose steps were all undone before the stop still owes the clear.
      if (this.#rollingBack !== undefined) await this.#log.clear();
      return error;
    }
    const { clock, workflowId } = this.#scope;
    const durable = this.#definition.durability !== undefined;
    // Another writer owns this run (our append lost a race for a sequence): its steps are not ours
    // to undo, and its log not ours to clear.
    if (isCanoError(error.cause) && error.cause.details?.conflict === true) return error;
    // Recorded so that a run stopped mid-rollback finishes the rollback when resumed, instead of
    // re-running the failed state; a resumed rollback already has its row. Undoing steps that the
    // log cannot show as undone would let a resume go forward on top of them: stop as a crash would.
    if (durable && this.#rollingBack === undefined) {
      const unrecorded = await this.#record(error.state ?? "", "rollback", "", { error: error.toJSON() });
      if (unrecorded !== undefined) {
        return new CanoError(
          error.code,
          `${error.message}; no step was compensated, because the rollback could not be checkpointed (${unrecorded.message}). The log is kept: resume the run to roll back or continue`,
          { ...contextOf(error), cause: unrecorded, workflowId },
        );
      }
    }
    const budgetMs = rollbackBudgetMs(
      this.#definition.totalTimeoutMs,
      this.#definition.compensationTimeoutMs,
    );
    const stack = this.#stack.splice(0);
    const errors = await drainCompensations(
      this.#scope,
      stack,
      this.#definition.sagaSteps,
      this.#context(error.state ?? "", new LazySignal(), undefined),
      budgetMs === undefined ? undefined : clock.now() + budgetMs,
      durable
        ? (entry) =>
            this.#record(entry.state, "compensated", entry.taskId, { completion: entry.sequence ?? null })
        : undefined,
    );
    if (errors.length > 0) return compensationFailed(error, errors);
    // Keep the log when a step's inline compensation already failed.
    if (error.code !== "compensation_failed") await this.#log.clear();
    return error;
  }

  #cancelledAtBoundary(state: string): CanoError {
    const { workflowId } = this.#scope;
    const error = engineError("cancelled", "Workflow: the run was cancelled", {
      workflowId,
      cause: this.#cancel?.reason,
    });
    return this.#fail(error, state, 0, true);
  }

  /** Reports a task's failure (`task_failure`) and returns the run's error for it. */
  #failTask(error: CanoError, state: string, taskId: string, attempt: number): CanoError {
    const { clock, workflowId } = this.#scope;
    this.#scope.emit?.({
      type: "task_failure",
      at: clock.now(),
      workflowId,
      state,
      taskId,
      error: error.toJSON(),
    });
    return this.#fail(error, state, attempt);
  }

  /**
   * Adds where a terminal failure happened. When the run itself was stopped (its signal's reason, or
   * a cancel seen at a boundary), reports `cancelled` / `workflow_timeout` once; an error with the
   * same code thrown by user code is just an error.
   */
  #fail(error: CanoError, state: string, attempt: number, stoppedAtBoundary = false): CanoError {
    const { clock, workflowId, emit } = this.#scope;
    const stopped = stoppedAtBoundary || (this.#stop.aborted && error === this.#stop.reason);
    if (stopped && error.code === "cancelled")
      emit?.({ type: "cancelled", at: clock.now(), workflowId, state });
    if (stopped && error.code === "workflow_timeout") {
      const { elapsedMs, limitMs } = error.details as { elapsedMs: number; limitMs: number };
      emit?.({ type: "workflow_timeout", at: clock.now(), workflowId, elapsedMs, limitMs });
    }
    const structural = stopped || error.code === "circuit_open";
    const path = [...this.#path];
    return withRunContext(error, { state, attempt: structural ? 0 : Math.max(1, attempt), path, workflowId });
  }
}
