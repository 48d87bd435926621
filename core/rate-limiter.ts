import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { CanoError } from "./errors.ts";
import type { Meter, MeterStatus, Reservation } from "./rate-limit.ts";
import {
  acquireFrom,
  check,
  checkClock,
  checkCost,
  isCount,
  isPositive,
  reserve,
  wholeMs,
} from "./rate-limit.ts";

/** Settings of a {@link RateLimiter}; `maxTokens` and `refillPeriodMs` are required. */
export interface RateLimiterOptions {
  /** The steady-state ceiling of the bucket, which starts full. Integer ≥ 1. */
  readonly maxTokens: number;
  /** Tokens added every `refillPeriodMs`, continuously (a third of the period adds a third). Finite > 0, default `maxTokens`. */
  readonly tokensPerPeriod?: number;
  /** How long it takes to add `tokensPerPeriod` tokens. Finite ms > 0. */
  readonly refillPeriodMs: number;
  /** Extra room above `maxTokens` for short spikes: capacity is `maxTokens + burst`. Integer ≥ 0, default 0. */
  readonly burst?: number;
  /** Where refill time comes from and what `acquire` sleeps on. Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** The validated settings of a {@link RateLimiter}, defaults filled in. */
export type RateLimiterSettings = Required<Omit<RateLimiterOptions, "clock">>;

/** Being at most this short of the cost counts as enough, so floating-point dust never costs a wait. */
const dust = 1e-9;

/**
 * A lazy token bucket with fractional tokens (reference §8): it starts full with `maxTokens + burst`
 * tokens and refills `tokensPerPeriod` every `refillPeriodMs`, computed from the clock on each call
 * (no timer runs in the background). Costs are whole tokens. Share one limiter between every task
 * that draws on the same quota, usually through the workflow's resources. Waiters are woken
 * best-effort, with no FIFO fairness.
 *
 * @example
 * const limiter = RateLimiter.perSecond(5, { burst: 5 });
 * const wf = new Workflow<S, { limiter: RateLimiter }>({ resources: { limiter } });
 * task({ run: async (ctx) => { await ctx.resources.limiter.acquire(1, ctx.signal); return "done" } });
 * if (!limiter.tryAcquire()) throw new Error("busy"); // or shed load instead of waiting
 */
export class RateLimiter implements Meter {
  readonly #options: RateLimiterSettings;
  readonly #capacity: number;
  readonly #clock: Clock;
  #tokens: number;
  /** When `#tokens` was last brought up to date. */
  #refilledAt: number;

  /** A full bucket; throws a `configuration` CanoError for an invalid option. */
  constructor(options: RateLimiterOptions) {
    check(typeof options === "object" && options !== null, "RateLimiter: options", "an object", options);
    const { maxTokens, refillPeriodMs } = options;
    const tokensPerPeriod = options.tokensPerPeriod ?? maxTokens;
    const burst = options.burst ?? 0;
    check(isCount(maxTokens, 1), "RateLimiter: maxTokens", "an integer ≥ 1", maxTokens);
    check(
      isPositive(tokensPerPeriod),
      "RateLimiter: tokensPerPeriod",
      "a finite number > 0",
      tokensPerPeriod,
    );
    check(
      isPositive(refillPeriodMs),
      "RateLimiter: refillPeriodMs",
      "a finite number of ms > 0",
      refillPeriodMs,
    );
    check(isCount(burst, 0), "RateLimiter: burst", "an integer ≥ 0", burst);
    check(
      isCount(maxTokens + burst, 1),
      "RateLimiter: maxTokens + burst",
      "a safe integer",
      maxTokens + burst,
    );
    this.#options = Object.freeze({ maxTokens, tokensPerPeriod, refillPeriodMs, burst });
    this.#capacity = maxTokens + burst;
    this.#clock = checkClock("RateLimiter", options.clock ?? systemClock);
    this.#tokens = this.#capacity;
    this.#refilledAt = this.#clock.now();
  }

  /** `tokens` per second, with a bucket of `maxTokens` (default `tokens`) plus `burst`. */
  static perSecond(
    tokens: number,
    options: { readonly maxTokens?: number; readonly burst?: number; readonly clock?: Clock } = {},
  ): RateLimiter {
    check(isCount(tokens, 1), "RateLimiter.perSecond: tokens", "an integer ≥ 1", tokens);
    return new RateLimiter({
      ...options,
      maxTokens: options.maxTokens ?? tokens,
      tokensPerPeriod: tokens,
      refillPeriodMs: 1000,
    });
  }

  /** The validated settings, defaults filled in (frozen). */
  get options(): RateLimiterSettings {
    return this.#options;
  }

  /** The most tokens the bucket holds: `maxTokens + burst`. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Takes `cost` tokens if the bucket holds them; cost 0 always succeeds, a cost above capacity never does. */
  tryAcquire(cost = 1): boolean {
    return this.#take(cost, "RateLimiter.tryAcquire");
  }

  /** Takes `cost` tokens as a {@link Reservation} to commit or refund, or `undefined` if the bucket is short. */
  tryReserve(cost = 1): Reservation | undefined {
    checkCost("RateLimiter.tryReserve", cost);
    return reserve(this, cost);
  }

  /**
   * Takes `cost` tokens, sleeping on the clock for the deficit (rounded up to whole ms) until the
   * bucket holds them. Rejects with `signal.reason` when `signal` aborts, and at once with a
   * `rate_limited` CanoError when `cost` exceeds the capacity. (Deliberate change: the seed waits for ever.)
   */
  async acquire(cost = 1, signal?: AbortSignal): Promise<void> {
    checkCost("RateLimiter.acquire", cost);
    if (cost > this.#capacity) {
      const { maxTokens, burst } = this.#options;
      throw new CanoError(
        "rate_limited",
        `RateLimiter.acquire: cost ${cost} is more than the bucket's capacity of ${this.#capacity} ` +
          `(maxTokens ${maxTokens} + burst ${burst}), so it can never be satisfied. ` +
          "Lower the cost, or raise maxTokens or burst.",
        { details: { cost, capacity: this.#capacity } },
      );
    }
    await acquireFrom(this, cost, this.#clock, signal);
  }

  /** The tokens in the bucket now, fractions included. */
  tokensAvailable(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Milliseconds (whole, rounded up) until `cost` tokens are in the bucket: 0 if now, `Infinity` above capacity. */
  timeUntil(cost: number): number {
    checkCost("RateLimiter.timeUntil", cost);
    if (cost === 0) return 0;
    if (cost > this.#capacity) return Number.POSITIVE_INFINITY;
    this.#refill();
    const deficit = cost - this.#tokens;
    if (deficit <= dust) return 0;
    const { refillPeriodMs, tokensPerPeriod } = this.#options;
    return wholeMs((deficit * refillPeriodMs) / tokensPerPeriod);
  }

  /** {@link Meter} form of `tryAcquire`: epoch 0 on success (a bucket has no windows), else `undefined`. */
  tryDebit(cost: number): number | undefined {
    return this.#take(cost, "RateLimiter.tryDebit") ? 0 : undefined;
  }

  /** Puts `cost` tokens back, up to capacity; the epoch is ignored, as a bucket has no windows. */
  credit(cost: number): void {
    checkCost("RateLimiter.credit", cost);
    this.#refill();
    this.#tokens = Math.min(this.#capacity, this.#tokens + cost);
  }

  /** `used` is capacity minus the tokens held; `availableInMs` is the wait for one token; no `resetsAt`. */
  snapshot(): MeterStatus {
    const availableInMs = this.timeUntil(1);
    return { used: this.#capacity - this.#tokens, limit: this.#capacity, availableInMs };
  }

  #take(cost: number, where: string): boolean {
    checkCost(where, cost);
    if (cost === 0) return true;
    if (cost > this.#capacity) return false;
    this.#refill();
    if (this.#tokens < cost - dust) return false;
    this.#tokens = Math.max(0, this.#tokens - cost);
    return true;
  }

  #refill(): void {
    const now = this.#clock.now();
    // A clock that steps back (NTP) adds nothing, and the interval is not counted twice when it recovers.
    if (!(now > this.#refilledAt)) return;
    const { refillPeriodMs, tokensPerPeriod } = this.#options;
    // Multiplying before dividing keeps whole results exact: 100 ms at 10 per 1000 ms is exactly 1.
    const added = ((now - this.#refilledAt) * tokensPerPeriod) / refillPeriodMs;
    this.#tokens = Math.min(this.#capacity, this.#tokens + added);
    this.#refilledAt = now;
  }
}
