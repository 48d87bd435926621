import { CanoError } from "./errors.ts";
import { withDefaults } from "./options.ts";

/**
 * How a task retries after a failed attempt. Build one with {@link none}, {@link fixed} or
 * {@link exponential}; each validates its numbers.
 */
export type RetryPolicy =
  | { readonly kind: "none" }
  | { readonly kind: "fixed"; readonly retries: number; readonly delayMs: number }
  | {
      readonly kind: "exponential";
      readonly retries: number;
      readonly baseMs: number;
      readonly multiplier: number;
      readonly maxDelayMs: number;
      readonly jitter: number;
    };

/** Tuning for {@link exponential}; every field is optional. */
export interface ExponentialOptions {
  /** Delay before the first retry, before jitter. Default 100. */
  readonly baseMs?: number;
  /** Growth factor per retry. Default 2. */
  readonly multiplier?: number;
  /** Cap applied before jitter. Default 30 000. */
  readonly maxDelayMs?: number;
  /** Relative jitter in [0, 1]: the delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]. Default 0.1. */
  readonly jitter?: number;
}

const exponentialDefaults: Required<ExponentialOptions> = {
  baseMs: 100,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.1,
};

function expect(ok: boolean, what: string, received: unknown): void {
  if (!ok) throw new CanoError("configuration", `Retry: ${what}, received ${String(received)}`);
}

function expectRetries(retries: number): void {
  expect(Number.isInteger(retries) && retries >= 0, "retries must be an integer ≥ 0", retries);
}

/** Never retry: one attempt. */
export function none(): RetryPolicy {
  return { kind: "none" };
}

/** Retry `retries` times, waiting `delayMs` before each retry. */
export function fixed(retries: number, delayMs: number): RetryPolicy {
  expectRetries(retries);
  expect(Number.isFinite(delayMs) && delayMs >= 0, "fixed delayMs must be a finite number ≥ 0", delayMs);
  return { kind: "fixed", retries, delayMs };
}

/**
 * Retry `retries` times with exponential backoff and jitter: `min(base · multiplier^k, max)` scaled
 * by `1 ± jitter`, never below 1 ms when `baseMs > 0`. Defaults: 3 retries, 100 ms, ×2, 30 s, ±10 %.
 *
 * @example task({ retry: exponential(5, { baseMs: 250 }), run })
 */
export function exponential(retries = 3, options: ExponentialOptions = {}): RetryPolicy {
  const { baseMs, multiplier, maxDelayMs, jitter } = withDefaults(exponentialDefaults, options);
  expectRetries(retries);
  expect(Number.isFinite(baseMs) && baseMs >= 0, "exponential baseMs must be a finite number ≥ 0", baseMs);
  expect(
    Number.isFinite(multiplier) && multiplier > 0,
    "exponential multiplier must be a finite number > 0",
    multiplier,
  );
  expect(
    Number.isFinite(maxDelayMs) && maxDelayMs >= 0,
    "exponential maxDelayMs must be a finite number ≥ 0",
    maxDelayMs,
  );
  expect(
    Number.isFinite(jitter) && jitter >= 0 && jitter <= 1,
    "exponential jitter must be in [0, 1]",
    jitter,
  );
  return { kind: "exponential", retries, baseMs, multiplier, maxDelayMs, jitter };
}

/** The policy tasks get when they name none: `exponential(3)`, as in the seed. */
export const defaultRetry: RetryPolicy = exponential();

/**
 * @internal The same policy, validated: a hand-built object (not made by `none`/`fixed`/
 * `exponential`) gets the same checks, so `retries: NaN` cannot retry for ever.
 */
export function checkRetryPolicy(policy: RetryPolicy): RetryPolicy {
  switch (policy?.kind) {
    case "none":
      return policy;
    case "fixed":
      return fixed(policy.retries, policy.delayMs);
    case "exponential":
      return exponential(policy.retries, policy);
    default:
      throw new CanoError(
        "configuration",
        `Retry: expected a policy made by none(), fixed() or exponential(), received ${JSON.stringify(policy)}`,
      );
  }
}

/** How many attempts a policy allows in total (retries + 1). */
export function maxAttempts(policy: RetryPolicy): number {
  return policy.kind === "none" ? 1 : policy.retries + 1;
}

/**
 * The wait before the next attempt, in whole milliseconds: a pure function of the policy, the
 * 0-based index `k` of the attempt that just failed, and `random`, a uniform number in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, k: number, random: number): number {
  if (policy.kind === "none") return 0;
  if (policy.kind === "fixed") return policy.delayMs;
  if (policy.baseMs === 0) return 0; // 0 × multiplier^k would be NaN once the power overflows
  const raw = Math.min(policy.baseMs * policy.multiplier ** k, policy.maxDelayMs);
  const scaled = Math.floor(raw * (1 + policy.jitter * (2 * random - 1)));
  return Math.max(1, scaled);
}
