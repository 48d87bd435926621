import { CanoError, describeThrown } from "./errors.ts";
import { withDefaults } from "./options.ts";
import { didYouMean } from "./suggest.ts";

/**
 * How long a scheduled flow waits after consecutive failed runs, and when it gives up ("trips").
 * Plain JSON; build one with {@link backoffPolicy}, which validates it.
 */
export interface BackoffPolicy {
  /** Wait after the first failure, before jitter. */
  readonly initialMs: number;
  /** Growth factor per further failure, ≥ 1. */
  readonly multiplier: number;
  /** Cap on the wait, applied before and after jitter. */
  readonly maxDelayMs: number;
  /** Relative jitter in [0, 1]: the wait is scaled by a uniform factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /** The flow trips (stops running until `reset`) once its failure streak reaches this; absent: never. */
  readonly trip?: number;
}

/** Tuning for {@link backoffPolicy}; every field is optional. */
export type BackoffOptions = Partial<BackoffPolicy>;

/** The seed's defaults: 1 s, ×2, capped at 300 s, ±10 % jitter, never trips. */
export const defaultBackoff: BackoffPolicy = Object.freeze({
  initialMs: 1_000,
  multiplier: 2,
  maxDelayMs: 300_000,
  jitter: 0.1,
});

/** The option names {@link backoffPolicy} knows. */
const optionNames: readonly (keyof BackoffPolicy)[] = [
  "initialMs",
  "multiplier",
  "maxDelayMs",
  "jitter",
  "trip",
];

/** A received value for messages: numbers as written (`NaN`, not `null`), strings quoted. */
function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : describeThrown(value);
}

function expect(ok: boolean, what: string, received: unknown): void {
  if (!ok) throw new CanoError("configuration", `Backoff: ${what}, received ${shown(received)}`);
}

/** Refuses what is not an options object, and unknown option names (with the closest known one). */
function checkNames(options: unknown): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new CanoError("configuration", `Backoff: expected an options object, received ${shown(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!(optionNames as readonly string[]).includes(name)) {
      throw new CanoError(
        "configuration",
        `Backoff: unknown option "${name}".${didYouMean(name, optionNames)}`,
      );
    }
  }
}

/**
 * A validated {@link BackoffPolicy}: the defaults ({@link defaultBackoff}) with `options` on top.
 * `trip: 3` trips a flow on its third failure in a row; `trip: 0` on the first. An unknown option
 * name or a value of the wrong type is a `configuration` error.
 *
 * @example
 * scheduler.backoff("sync", backoffPolicy({ initialMs: 5_000, trip: 5 }))
 */
export function backoffPolicy(options: BackoffOptions = {}): BackoffPolicy {
  checkNames(options);
  const policy = withDefaults<BackoffPolicy>(defaultBackoff, options);
  const { initialMs, multiplier, maxDelayMs, jitter, trip } = policy;
  expect(Number.isFinite(initialMs) && initialMs >= 0, "initialMs must be a finite number ≥ 0", initialMs);
  expect(
    Number.isFinite(multiplier) && multiplier >= 1,
    "multiplier must be a finite number ≥ 1",
    multiplier,
  );
  expect(
    Number.isFinite(maxDelayMs) && maxDelayMs >= 0,
    "maxDelayMs must be a finite number ≥ 0",
    maxDelayMs,
  );
  expect(Number.isFinite(jitter) && jitter >= 0 && jitter <= 1, "jitter must be in [0, 1]", jitter);
  expect(
    trip === undefined || (Number.isInteger(trip) && trip >= 0),
    "trip must be an integer ≥ 0 (or absent to never trip)",
    trip,
  );
  return Object.freeze(trip === undefined ? { initialMs, multiplier, maxDelayMs, jitter } : policy);
}

/**
 * The wait after the `streak`-th failure in a row (1-based), in whole milliseconds: a pure function
 * of the policy, the streak and `random`, a uniform number in [0, 1).
 * `min(initialMs · multiplier^(streak−1), maxDelayMs) × (1 ± jitter)`, clamped to `maxDelayMs` again.
 */
export function backoffDelayMs(policy: BackoffPolicy, streak: number, random: number): number {
  if (policy.initialMs === 0) return 0; // 0 × multiplier^k would be NaN once the power overflows
  const raw = Math.min(policy.initialMs * policy.multiplier ** Math.max(0, streak - 1), policy.maxDelayMs);
  const scaled = Math.floor(raw * (1 + policy.jitter * (2 * random - 1)));
  return Math.min(Math.max(0, scaled), policy.maxDelayMs);
}

/** Whether a flow with `streak` failures in a row is tripped: `streak >= policy.trip`. */
export function isTripped(policy: BackoffPolicy, streak: number): boolean {
  return policy.trip !== undefined && streak >= policy.trip;
}
