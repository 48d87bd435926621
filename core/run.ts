import type { RunScope } from "./attempt.ts";
import type { WorkflowDefinition } from "./definition.ts";
import type { CanoError } from "./errors.ts";
import { toCanoError } from "./errors.ts";
import type { Observer, RunOutcome, WorkflowEvent } from "./events.ts";
import { hasLifecycle, setupResources, teardownResources } from "./resources.ts";
import type { ResumePoint } from "./resume.ts";
import { Run } from "./run-loop.ts";

/** Per-run options of `orchestrate`. */
export interface OrchestrateOptions {
  /** Cancels the run: checked at every state boundary and raced against the running task. */
  readonly signal?: AbortSignal;
  /**
   * The run's id (events, checkpoints, `ctx.workflowId`). Default: the one set with
   * `withWorkflowId`, else a random UUID. Required with a checkpoint store, so the run can be resumed.
   */
  readonly workflowId?: string;
  /** An observer for this run only, after the workflow's own observers. */
  readonly onEvent?: Observer;
  /**
   * @internal Set by the `Scheduler`, which sets the resources up once for many runs: this run
   * skips its own setup and teardown.
   */
  readonly resourcesHeld?: boolean;
}

/** Per-run options of `resumeFrom`. */
export type ResumeOptions = Omit<OrchestrateOptions, "workflowId">;

function notifier(
  observers: readonly Observer[],
  report: (observer: Observer, error: unknown) => void,
): ((event: WorkflowEvent) => void) | undefined {
  if (observers.length === 0) return undefined;
  return (event) => {
    for (const observer of observers) {
      try {
        const result: unknown = observer(event);
        // An async observer's rejection is isolated the same way as a throw.
        if (result instanceof Promise) result.catch((error: unknown) => report(observer, error));
      } catch (error) {
        report(observer, error);
      }
    }
  };
}

/**
 * @internal One execution of the state machine from `initial`, or from a resume point
 * (reference §3.4, §11): resources set up, the FSM loop, resources torn down, and
 * `run_start`/`run_end` around it all. A run nobody observes and without resources to manage is
 * the loop alone (one async frame fewer for every parked run).
 */
export function executeRun<TResources>(
  definition: WorkflowDefinition<TResources>,
  initial: string,
  workflowId: string,
  options: ResumeOptions,
  resume?: ResumePoint,
): Promise<string> {
  const { clock } = definition;
  const observers =
    options.onEvent === undefined ? definition.observers : [...definition.observers, options.onEvent];
  const emit = notifier(observers, definition.reportObserverError);
  const scope: RunScope = { workflowId, clock, random: definition.random, emit };
  const managed = options.resourcesHeld !== true && hasLifecycle(definition.resources as object);
  const run = new Run(definition, scope, options.signal, resume);
  return emit === undefined && !managed
    ? run.loop(initial)
    : observedRun(definition, scope, run, initial, managed, resume);
}

async function observedRun<TResources>(
  definition: WorkflowDefinition<TResources>,
  scope: RunScope,
  run: Run<TResources>,
  initial: string,
  managed: boolean,
  resume: ResumePoint | undefined,
): Promise<string> {
  const { clock, workflowId, emit } = scope;
  const startedAt = clock.now();
  emit?.({ type: "run_start", at: startedAt, workflowId, initial });

  let outcome: RunOutcome = "failed";
  let final: string | undefined;
  let failure: CanoError | undefined;
  let setUp = 0;
  try {
    if (managed) setUp = await setupResources(definition.resources as object);
    if (resume !== undefined) {
      emit?.({
        type: "resume",
        at: clock.now(),
        workflowId,
        state: resume.state,
        lastSequence: resume.lastSequence,
      });
    }
    final = await run.loop(initial);
    outcome = "completed";
    return final;
  } catch (error) {
    failure = toCanoError(error, "Workflow");
    // As in the seed, a cancellation whose rollback failed is a failure (the scheduler agrees).
    if (failure.code === "cancelled") outcome = "cancelled";
    throw failure;
  } finally {
    const errors = managed ? await teardownResources(definition.resources as object, setUp) : [];
    for (const error of errors) {
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
