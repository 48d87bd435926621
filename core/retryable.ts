import type { CanoError } from "./errors.ts";
import { isPermanentError } from "./errors.ts";

/**
 * @internal False for failures that come out the same on every attempt: bugs (`configuration`),
 * errors that say so (`details.retryable === false`, e.g. a value failing its schema) and
 * `PermanentError`s. A task's `retryIf` is consulted only when this is true.
 */
export function isRetryable(error: CanoError): boolean {
  return !(error.code === "configuration" || error.details?.retryable === false || isPermanentError(error));
}
