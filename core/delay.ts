import { CanoError } from "./errors.ts";

/** @internal How a rejected value reads in a `configuration` message: JSON for objects, else `String`. */
export function shownValue(value: unknown): string {
  if (typeof value !== "object" || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * @internal `delayMs` when it is a finite number of milliseconds ≥ 0; otherwise throws a
 * `configuration` error whose message `problem` builds from the value as shown.
 */
export function checkDelay(delayMs: unknown, problem: (shown: string) => string): number {
  if (typeof delayMs === "number" && Number.isFinite(delayMs) && delayMs >= 0) return delayMs;
  throw new CanoError("configuration", problem(shownValue(delayMs)));
}
