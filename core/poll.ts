import { checkDelay } from "./delay.ts";
import type { FailFastPolicy, RetryOnErrorPolicy } from "./error-policy.ts";
import { failFast, isErrorBudget } from "./error-policy.ts";
import { CanoError, isCanoError } from "./errors.ts";
import { none } from "./retry.ts";
import type { Declared, MaybePromise, Task, TaskContext, TaskOptions, Undeclared } from "./task.ts";
import { defineTask, requireFunctions } from "./task.ts";

/** What a poll returns while the condition does not hold yet: poll again after `delayMs`. */
export interface PollPending {
  readonly kind: "pending";
  /** How long to wait before the next poll, in milliseconds; 0 polls again at once. */
  readonly delayMs: number;
}

/** One poll's result: the next state when ready, or {@link pending} to poll again later. */
export type PollOutcome<TTo extends string> = TTo | PollPending;

/**
 * What the poll loop does when a poll throws: `fail_fast` fails the state at once (the default);
 * `retry_on_error` re-polls at once, failing when more than `maxErrors` polls in a row have thrown.
 */
export type PollErrorPolicy = FailFastPolicy | RetryOnErrorPolicy;

/** The wait a pending result asks for, checked: a finite number of milliseconds ≥ 0. */
function checkPendingDelay(delayMs: unknown): number {
  return checkDelay(
    delayMs,
    (shown) =>
      `poll: pending(delayMs) expects a finite number of milliseconds ≥ 0, received ${shown}. ` +
      "Use pending(0) to poll again at once.",
  );
}

function checkPolicy(policy: PollErrorPolicy): PollErrorPolicy {
  if (policy?.kind === "fail_fast") return policy;
  if (policy?.kind !== "retry_on_error") {
    throw new CanoError(
      "configuration",
      `poll: onError must be failFast() or retryOnError(maxErrors), received ${JSON.stringify(policy)}`,
    );
  }
  const { maxErrors } = policy;
  if (isErrorBudget(maxErrors)) return policy;
  throw new CanoError(
    "configuration",
    `poll: retryOnError expects maxErrors to be an integer ≥ 0, received ${String(maxErrors)}`,
  );
}

/** The condition does not hold yet: poll again after `delayMs` (0 polls again at once). */
export function pending(delayMs: number): PollPending {
  return { kind: "pending", delayMs: checkPendingDelay(delayMs) };
}

/**
 * The error policies a poll takes, shared with `stream`: `failFast()` (the default) and
 * `retryOnError(maxErrors)`, which re-polls at once after a throwing poll and is reset by a pending
 * result. A `configuration` error is a bug and is never tolerated.
 */
export { failFast, retryOnError } from "./error-policy.ts";

function isPending(outcome: unknown): outcome is PollPending {
  return typeof outcome === "object" && outcome !== null && (outcome as PollPending).kind === "pending";
}

/** The poll loop of reference §4.4; it runs as one attempt, under the attempt's signal. */
async function pollUntilReady<TTo extends string, TResources>(
  check: (ctx: TaskContext<TResources>) => MaybePromise<PollOutcome<TTo>>,
  policy: PollErrorPolicy,
  ctx: TaskContext<TResources>,
): Promise<TTo> {
  const { signal, clock } = ctx;
  let consecutiveErrors = 0;
  for (;;) {
    // Cancellation and attemptTimeoutMs fire this signal: stop polling instead of looping on in
    // the background after the engine has stopped waiting.
    if (signal.aborted) throw signal.reason;
    let outcome: PollOutcome<TTo>;
    try {
      outcome = await check(ctx);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (policy.kind === "fail_fast" || (isCanoError(error) && error.code === "configuration")) throw error;
      if (++consecutiveErrors > policy.maxErrors) throw error;
      continue; // a tolerated error re-polls at once, with no delay (as in the seed)
    }
    // Anything but a pending result ends the loop; the engine checks that it names a state.
    if (!isPending(outcome)) return outcome;
    consecutiveErrors = 0;
    const delayMs = checkPendingDelay(outcome.delayMs);
    if (delayMs > 0) await clock.sleep(delayMs, signal);
  }
}

/** The parts of a {@link poll} task besides the common {@link TaskOptions}. */
interface PollHooks<TTo extends string, TResources> {
  /** Checks the condition once: the next state when it holds, `pending(delayMs)` otherwise. */
  readonly poll: (ctx: TaskContext<TResources>) => MaybePromise<PollOutcome<TTo>>;
  /** What a throwing poll does. Default `failFast()`. */
  readonly onError?: PollErrorPolicy;
}

/**
 * "Wait until": calls `poll` until it returns a state, sleeping on the workflow's clock between
 * pending polls. There is no iteration limit; the whole loop is one attempt, so `attemptTimeoutMs`
 * bounds it and a configured `retry` restarts it. Default retry: `none()`.
 *
 * @example
 * poll({ to: ["ready", "failed"], attemptTimeoutMs: 60_000, onError: retryOnError(3),
 *   poll: async ({ signal }) => {
 *     const { status } = await (await fetch(jobUrl, { signal })).json();
 *     return status === "done" ? "ready" : status === "error" ? "failed" : pending(2_000);
 *   } })
 */
export function poll<const TTo extends string, TResources = unknown>(
  definition: Declared<TTo> & PollHooks<NoInfer<TTo>, TResources>,
): Task<TTo, TResources>;
export function poll<TTo extends string, TResources = unknown>(
  definition: Undeclared & PollHooks<TTo, TResources>,
): Task<TTo, TResources>;
export function poll<TTo extends string, TResources>(
  definition: TaskOptions<TTo> & PollHooks<TTo, TResources>,
): Task<TTo, TResources> {
  requireFunctions("poll", definition, ["poll"]);
  const { poll: check, onError = failFast() } = definition;
  const policy = checkPolicy(onError);
  return defineTask(
    "poll",
    definition,
    { execute: (_ctx, { attempts }) => attempts((ctx) => pollUntilReady(check, policy, ctx)) },
    { retry: none() },
  );
}
