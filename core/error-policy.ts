import { CanoError } from "./errors.ts";

/** Error policy: the first error fails the state. */
export interface FailFastPolicy {
  readonly kind: "fail_fast";
}

/** Error policy: up to `maxErrors` errors in a row are tolerated; one more fails the state. */
export interface RetryOnErrorPolicy {
  readonly kind: "retry_on_error";
  /** How many errors in a row are tolerated: an integer ≥ 0. */
  readonly maxErrors: number;
}

/** Error policy: every error is tolerated; the failed unit of work is dropped. */
export interface SkipAndContinuePolicy {
  readonly kind: "skip_and_continue";
}

/** @internal True when `maxErrors` is a valid error budget: an integer ≥ 0. */
export function isErrorBudget(maxErrors: unknown): maxErrors is number {
  return Number.isInteger(maxErrors) && (maxErrors as number) >= 0;
}

/** Error policy for `poll` and `stream`: the first error fails the state. The default of both. */
export function failFast(): FailFastPolicy {
  return { kind: "fail_fast" };
}

/**
 * Error policy for `poll` and `stream`: tolerate up to `maxErrors` consecutive errors (a poll
 * re-polls at once, a stream drops the item); a success resets the count.
 */
export function retryOnError(maxErrors: number): RetryOnErrorPolicy {
  if (isErrorBudget(maxErrors)) return { kind: "retry_on_error", maxErrors };
  throw new CanoError(
    "configuration",
    `retryOnError expects maxErrors to be an integer ≥ 0, received ${String(maxErrors)}`,
  );
}

/** Error policy for `stream`: drop every item that fails and read on; its cursor is never committed. */
export function skipAndContinue(): SkipAndContinuePolicy {
  return { kind: "skip_and_continue" };
}
