import { raceAbort } from "./abort.ts";
import type { Clock } from "./clock.ts";
import type { CanoError } from "./errors.ts";
import { engineError, toCanoError } from "./errors.ts";
import type { WorkflowEvent } from "./events.ts";
import { DerivedContext, LazySignal } from "./lazy-signal.ts";
import type { Random } from "./random.ts";
import { maxAttempts, retryDelayMs } from "./retry.ts";
import { isRetryable } from "./retryable.ts";
import type { Task, TaskContext } from "./task.ts";

/** @internal What the retry loop needs from the run around it. */
export interface RunScope {
  readonly workflowId: string;
  readonly clock: Clock;
  readonly random: Random;
  /** Set only when someone observes the run; building events is skipped otherwise. */
  readonly emit: ((event: WorkflowEvent) => void) | undefined;
}

/** @internal One dispatch of one task: who it is and how far its retry loop got. */
export interface AttemptTarget<TResources> {
  readonly state: string;
  readonly taskId: string;
  readonly task: Task<unknown, TResources>;
  /** The 1-based attempt in progress, or 0 before the first. */
  attempt: number;
}

/** @internal A task that is nothing but a retried body (raced when its run stops): no breaker, no attempt timeout. */
export type PlainTask<TResources> = Task<unknown, TResources> & {
  readonly body: (ctx: TaskContext<TResources>) => unknown;
};

/** @internal Whether `task` is a {@link PlainTask}, whose first attempt can be a bare call of its body. */
export function isPlainTask<TResources>(task: Task<unknown, TResources>): task is PlainTask<TResources> {
  const { body, circuitBreaker, attemptTimeoutMs, cancellation } = task;
  return (
    body !== undefined &&
    circuitBreaker === undefined &&
    attemptTimeoutMs === undefined &&
    cancellation === "race"
  );
}

/** The context of one attempt: the base itself for the first, a copy with its number after that. */
function contextFor<TResources>(base: TaskContext<TResources>, attempt: number): TaskContext<TResources> {
  if (attempt === base.attempt) return base;
  const { state, store, resources, signal, workflowId, clock, split } = base;
  return { state, store, resources, signal, attempt, workflowId, clock, split };
}

/**
 * One attempt bounded by `attemptTimeoutMs`: the attempt's signal (made only if the task reads it)
 * aborts with a `timeout` error when the time is up, or with the outer reason when that aborts.
 */
function timedAttempt<T, TResources>(
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  timeoutMs: number,
  abortable: boolean,
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
): Promise<T> {
  // Read only when it can fire: reading the run's signal makes it.
  const outer = abortable ? base.signal : undefined;
  if (outer?.aborted) return Promise.reject(outer.reason);
  const attemptSignal = new LazySignal();
  return new Promise<T>((resolve, reject) => {
    const onOuterAbort = () => {
      cancelTimer();
      attemptSignal.abort(outer?.reason);
      reject(outer?.reason);
    };
    const cancelTimer = base.clock.schedule(timeoutMs, () => {
      outer?.removeEventListener("abort", onOuterAbort);
      const error = engineError(
        "timeout",
        `Task "${target.taskId}": attempt ${target.attempt} exceeded attemptTimeoutMs (${timeoutMs} ms)`,
        { details: { timeoutMs } },
      );
      attemptSignal.abort(error);
      reject(error);
    });
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    let running: T | Promise<T>;
    try {
      running = body(DerivedContext.of(base, target.attempt, attemptSignal));
    } catch (error) {
      running = Promise.reject(error);
    }
    Promise.resolve(running).then(
      (value) => {
        cancelTimer();
        outer?.removeEventListener("abort", onOuterAbort);
        resolve(value);
      },
      (error: unknown) => {
        cancelTimer();
        outer?.removeEventListener("abort", onOuterAbort);
        reject(error);
      },
    );
  });
}

/** One attempt as the task's settings want it: timed, raced (a breaker must see its outcome), or bare. */
function attempt<T, TResources>(
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
): Promise<T> {
  const { task, attempt } = target;
  if (task.attemptTimeoutMs !== undefined)
    return timedAttempt(target, base, task.attemptTimeoutMs, abortable, body);
  try {
    const running = body(contextFor(base, attempt));
    // Raced so that a probe that ignores its signal still reports a failure to the breaker.
    return abortable && task.circuitBreaker !== undefined
      ? raceAbort(running, base.signal)
      : Promise.resolve(running);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Reports that the breaker refused attempt `target.attempt + 1` and returns the `circuit_open` error. */
function circuitOpen<TResources>(scope: RunScope, target: AttemptTarget<TResources>): CanoError {
  const { state, taskId, task } = target;
  scope.emit?.({ type: "circuit_open", at: scope.clock.now(), workflowId: scope.workflowId, state, taskId });
  return engineError("circuit_open", `Task "${taskId}": ${task.circuitBreaker?.rejectionMessage()}`);
}

function retryable<TResources>(task: Task<unknown, TResources>, error: CanoError): boolean {
  if (!isRetryable(error)) return false;
  if (task.retryIf === undefined) return true;
  try {
    return task.retryIf(error) === true;
  } catch {
    // A broken predicate must not turn one failure into an endless loop: stop retrying.
    return false;
  }
}

/**
 * @internal The retry loop around `body` (reference §5): breaker check before each attempt (an open
 * breaker ends the loop without consuming an attempt), optional per-attempt timeout, outcome
 * recorded on the breaker, `retryIf`/`PermanentError` respected, backoff on the clock.
 * `base.signal` aborting (cancellation, total timeout, a lost split branch) ends it with its reason;
 * when `abortable` is false that signal can never fire and is not watched. The caller races the
 * whole dispatch against the signal, so a task that ignores it cannot hang the run.
 */
export function runAttempts<T, TResources>(
  scope: RunScope,
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
): Promise<T> {
  // The first attempt runs without an async frame of its own; the loop takes over after a failure.
  const breaker = target.task.circuitBreaker;
  const permit = breaker?.tryAcquire();
  if (breaker !== undefined && permit === undefined) {
    target.attempt = 0;
    return Promise.reject(circuitOpen(scope, target));
  }
  target.attempt = 1;
  const retry = (thrown: unknown) => {
    if (permit !== undefined) breaker?.recordFailure(permit);
    return retryAfter(scope, target, base, abortable, body, thrown);
  };
  if (permit === undefined) return attempt(target, base, abortable, body).then(undefined, retry);
  return attempt(target, base, abortable, body).then((value) => {
    breaker?.recordSuccess(permit);
    return value;
  }, retry);
}

/** @internal The retry loop after attempt `target.attempt` failed with `thrown`. */
export async function retryAfter<T, TResources>(
  scope: RunScope,
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
  thrown: unknown,
): Promise<T> {
  const breaker = target.task.circuitBreaker;
  await afterFailure(scope, target, base, abortable, target.attempt, thrown);
  for (;;) {
    // Never start another attempt for a run that is already over.
    if (abortable && base.signal.aborted) throw base.signal.reason;
    const permit = breaker?.tryAcquire();
    if (breaker !== undefined && permit === undefined) throw circuitOpen(scope, target);
    target.attempt++;
    try {
      const value = await attempt(target, base, abortable, body);
      if (permit !== undefined) breaker?.recordSuccess(permit);
      return value;
    } catch (thrown) {
      if (permit !== undefined) breaker?.recordFailure(permit);
      await afterFailure(scope, target, base, abortable, target.attempt, thrown);
    }
  }
}

/** Ends the loop with the right error, or reports the retry and waits out its backoff. */
async function afterFailure<TResources>(
  scope: RunScope,
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
  attempt: number,
  thrown: unknown,
): Promise<void> {
  const { task, taskId, state } = target;
  if (abortable && base.signal.aborted) throw base.signal.reason;
  const error = toCanoError(thrown, `Task "${taskId}"`);
  if (!retryable(task, error)) throw error;
  const limit = maxAttempts(task.retry);
  if (attempt >= limit) {
    if (limit === 1) throw error;
    throw engineError(
      "retry_exhausted",
      `Task "${taskId}" failed after ${attempt} attempts: ${error.message}`,
      {
        cause: error,
        attempt,
        details: { attempts: attempt },
      },
    );
  }
  const delayMs = retryDelayMs(task.retry, attempt - 1, scope.random());
  scope.emit?.({
    type: "retry",
    at: scope.clock.now(),
    workflowId: scope.workflowId,
    state,
    taskId,
    attempt,
    delayMs,
    error: error.toJSON(),
  });
  await scope.clock.sleep(delayMs, abortable ? base.signal : undefined);
}
