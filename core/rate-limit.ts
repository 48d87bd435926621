import type { Clock } from "./clock.ts";
import { CanoError, describeThrown } from "./errors.ts";

/** Where a {@link Meter} stands, as plain data. */
export interface MeterStatus {
  /** Units taken and not yet given back (fractional for a token bucket). */
  readonly used: number;
  /** The most the meter can ever grant at once: a bucket's capacity, a window's limit. */
  readonly limit: number;
  /** Milliseconds until one more unit can be taken; 0 when one can be taken now. */
  readonly availableInMs: number;
  /** When the current window ends (epoch ms from the meter's clock); absent for a token bucket. */
  readonly resetsAt?: number;
}

/**
 * A synchronous budget that {@link MultiRateLimiter} reserves from; `RateLimiter` and
 * `WindowedRateLimiter` implement it, and so can anything else that counts (a daily spend cap).
 */
export interface Meter {
  /** Takes `cost` units and returns an epoch to hand back to `credit`, or `undefined` without room. */
  tryDebit(cost: number): number | undefined;
  /** Gives back `cost` units taken in `epoch`; a meter ignores credits from an epoch it has left. */
  credit(cost: number, epoch: number): void;
  /** Milliseconds until `cost` units could be taken: 0 when now, `Infinity` when never. */
  timeUntil(cost: number): number;
  /** Where the meter stands now. */
  snapshot(): MeterStatus;
}

/**
 * Units taken by `tryReserve`, to `commit()` once the call they pay for happened or `refund()` when it
 * did not. JavaScript has no destructor: a reservation that is neither committed nor refunded simply
 * stays spent, like `tryAcquire`. Whichever of the two comes first wins; later calls do nothing.
 */
export interface Reservation {
  /** The units reserved. */
  readonly cost: number;
  /** Keeps the units for good; a later `refund()` does nothing. */
  commit(): void;
  /** Gives the units back, unless committed; a windowed limiter ignores it once its window rolled. */
  refund(): void;
}

/** @internal Throws a `configuration` CanoError `"<field> must be <expected>, received <value>"` unless `ok`. */
export function check(ok: boolean, field: string, expected: string, received: unknown): asserts ok {
  if (ok) return;
  // describeThrown goes through JSON, which would print Infinity and NaN as "null".
  const shown = typeof received === "number" ? String(received) : describeThrown(received);
  throw new CanoError("configuration", `${field} must be ${expected}, received ${shown}`);
}

/** @internal True for a safe integer ≥ `min`. */
export const isCount = (value: unknown, min: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min;

/** @internal True for a finite number > 0. */
export const isPositive = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value > 0;

/** @internal Checks that `cost` is a whole number of units ≥ 0; `where` is e.g. `"RateLimiter.tryAcquire"`. */
export function checkCost(where: string, cost: unknown): asserts cost is number {
  check(isCount(cost, 0), `${where}: cost`, "an integer ≥ 0", cost);
}

/** @internal The clock from the options, checked to have `now()` and `sleep()`. */
export function checkClock(where: string, clock: unknown): Clock {
  const candidate = clock as Partial<Clock> | undefined;
  const ok = typeof candidate?.now === "function" && typeof candidate.sleep === "function";
  check(ok, `${where}: clock`, "a Clock with now() and sleep()", clock);
  return clock as Clock;
}

/**
 * @internal `ms` as a wait in whole milliseconds: 0 stays 0, anything else is rounded up to at least 1
 * so a waiting loop always moves the clock. Floating-point dust above a whole number is not rounded
 * up (`30.000000000000004` is 30), or the wait would be a millisecond longer than the deficit.
 */
export function wholeMs(ms: number): number {
  return ms > 0 ? Math.max(1, Math.ceil(ms - 1e-6)) : 0;
}

/** @internal A {@link Reservation} of `cost` units from `meter`, or `undefined` without room. */
export function reserve(meter: Meter, cost: number): Reservation | undefined {
  const epoch = meter.tryDebit(cost);
  if (epoch === undefined) return undefined;
  let open = true;
  return {
    cost,
    commit() {
      open = false;
    },
    refund() {
      if (!open) return;
      open = false;
      meter.credit(cost, epoch);
    },
  };
}

/**
 * @internal Takes `cost` from `meter` as soon as it can, sleeping on `clock` for `timeUntil(cost)`
 * between tries; rejects with `signal.reason` when it aborts. The caller has ruled out "never".
 */
export async function acquireFrom(
  meter: Meter,
  cost: number,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (;;) {
    // Checked before every try: an aborted caller must not spend units it will never use.
    if (signal?.aborted) throw signal.reason;
    if (meter.tryDebit(cost) !== undefined) return;
    await clock.sleep(meter.timeUntil(cost), signal);
  }
}
