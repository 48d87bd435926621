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

/** The context of one attempt: the base itself for the first, a copy with its number after that. */
function contextFor<TResources>(base: TaskContext<TResources>, attempt: number): TaskContext<TResources> {
  return attempt === base.attempt ? base : DerivedContext.of(base, attempt);
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
  const outer = base.signal;
  if (abortable && outer.aborted) return Promise.reject(outer.reason);
  const attemptSignal = new LazySignal();
  return new Promise<T>((resolve, reject) => {
    const onOuterAbort = () => {
      cancelTimer();
      attemptSignal.abort(outer.reason);
      reject(outer.reason);
    };
    const cancelTimer = base.clock.schedule(timeoutMs, () => {
      if (abortable) outer.removeEventListener("abort", onOuterAbort);
      const error = engineError(
        "timeout",
        `Task "${target.taskId}": attempt ${target.attempt} exceeded attemptTimeoutMs (${timeoutMs} ms)`,
        { details: { timeoutMs } },
      );
      attemptSignal.abort(error);
      reject(error);
    });
    if (abortable) outer.addEventListener("abort", onOuterAbort, { once: true });
    const settle = () => {
      cancelTimer();
      if (abortable) outer.removeEventListener("abort", onOuterAbort);
    };
    new Promise<T>((run) => run(body(DerivedContext.of(base, target.attempt, attemptSignal)))).then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
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
  const { task } = target;
  if (task.circuitBreaker !== undefined || task.attemptTimeoutMs !== undefined) {
    return attemptLoop(scope, target, base, abortable, body, 1, undefined);
  }
  // The common case (no breaker, no timeout) runs its first attempt without an async frame of its
  // own; the loop takes over only after a failure.
  target.attempt = 1;
  const retry = (thrown: unknown) => retryAfter(scope, target, base, abortable, body, thrown);
  try {
    return Promise.resolve(body(base)).then(undefined, retry);
  } catch (thrown) {
    return retry(thrown);
  }
}

/** @internal The retry loop after a first attempt (`target.attempt` 1) failed with `thrown`. */
export function retryAfter<T, TResources>(
  scope: RunScope,
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
  thrown: unknown,
): Promise<T> {
  return attemptLoop(scope, target, base, abortable, body, 1, { thrown });
}

/** Attempts from `from` on; `failed` is the failure of attempt `from` when it already ran. */
async function attemptLoop<T, TResources>(
  scope: RunScope,
  target: AttemptTarget<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
  from: number,
  failed: { readonly thrown: unknown } | undefined,
): Promise<T> {
  const { task, taskId, state } = target;
  const breaker = task.circuitBreaker;
  if (failed !== undefined) await afterFailure(scope, target, base, abortable, from, failed.thrown);
  // Each call has its own budget: a stepped task runs every step through here.
  for (let attempt = failed === undefined ? from : from + 1; ; attempt++) {
    // Never start another attempt for a run that is already over (the caller checked before the first).
    if (attempt > 1 && abortable && base.signal.aborted) throw base.signal.reason;
    target.attempt = attempt;
    const permit = breaker?.tryAcquire();
    if (breaker !== undefined && permit === undefined) {
      target.attempt = attempt - 1;
      scope.emit?.({
        type: "circuit_open",
        at: scope.clock.now(),
        workflowId: scope.workflowId,
        state,
        taskId,
      });
      throw engineError("circuit_open", `Task "${taskId}": ${breaker.rejectionMessage()}`);
    }
    try {
      const value =
        task.attemptTimeoutMs !== undefined
          ? await timedAttempt(target, base, task.attemptTimeoutMs, abortable, body)
          : abortable && breaker !== undefined
            ? // Raced here too, so a probe that ignores its signal still reports a failure to the breaker.
              await raceAbort(body(contextFor(base, attempt)), base.signal)
            : await body(contextFor(base, attempt));
      if (permit !== undefined) breaker?.recordSuccess(permit);
      return value;
    } catch (thrown) {
      if (permit !== undefined) breaker?.recordFailure(permit);
      await afterFailure(scope, target, base, abortable, attempt, thrown);
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
