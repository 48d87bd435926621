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

/** Settings of a {@link WindowedRateLimiter}. */
export interface WindowedRateLimiterOptions {
  /** Units each window admits. Integer ≥ 1. */
  readonly limit: number;
  /** How long a window lasts. Finite ms > 0. */
  readonly windowMs: number;
  /** Where window times come from and what `acquire` sleeps on. Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** The validated settings of a {@link WindowedRateLimiter}. */
export type WindowedRateLimiterSettings = Required<Omit<WindowedRateLimiterOptions, "clock">>;

const hourMs = 3_600_000;

/**
 * A fixed-window quota with a step reset (reference §8): `limit` units per window of `windowMs`. The
 * first window opens at construction; windows roll lazily, so the first call (reads included) made
 * `windowMs` or more after the window opened starts a new one at that moment. Each window has a
 * generation number, so refunding a reservation from an earlier window does nothing. Costs are whole
 * units.
 *
 * @example
 * const daily = WindowedRateLimiter.perDay(1_000);
 * if (!daily.tryAcquire()) throw new Error(`daily quota spent; resets at ${new Date(daily.resetsAt())}`);
 * const hold = daily.tryReserve(10); // give it back if the call does not happen:
 * try { await send(); hold?.commit() } catch (e) { hold?.refund(); throw e }
 */
export class WindowedRateLimiter implements Meter {
  readonly #options: WindowedRateLimiterSettings;
  readonly #clock: Clock;
  #openedAt: number;
  #used = 0;
  #generation = 0;

  /** An empty window opening now; throws a `configuration` CanoError for an invalid option. */
  constructor(options: WindowedRateLimiterOptions) {
    const where = "WindowedRateLimiter";
    check(typeof options === "object" && options !== null, `${where}: options`, "an object", options);
    const { limit, windowMs } = options;
    check(isCount(limit, 1), `${where}: limit`, "an integer ≥ 1", limit);
    check(isPositive(windowMs), `${where}: windowMs`, "a finite number of ms > 0", windowMs);
    this.#options = Object.freeze({ limit, windowMs });
    this.#clock = checkClock(where, options.clock ?? systemClock);
    this.#openedAt = this.#clock.now();
  }

  /** `limit` units per hour. */
  static perHour(limit: number, options: { readonly clock?: Clock } = {}): WindowedRateLimiter {
    return new WindowedRateLimiter({ ...options, limit, windowMs: hourMs });
  }

  /** `limit` units per day (24 hours from the first window, not calendar days). */
  static perDay(limit: number, options: { readonly clock?: Clock } = {}): WindowedRateLimiter {
    return new WindowedRateLimiter({ ...options, limit, windowMs: 24 * hourMs });
  }

  /** The validated settings (frozen). */
  get options(): WindowedRateLimiterSettings {
    return this.#options;
  }

  /** Takes `cost` units if the window has room; cost 0 always succeeds, a cost above `limit` never does. */
  tryAcquire(cost = 1): boolean {
    return this.#take(cost, "WindowedRateLimiter.tryAcquire") !== undefined;
  }

  /** Takes `cost` units as a {@link Reservation}; its refund is ignored once the window has rolled. */
  tryReserve(cost = 1): Reservation | undefined {
    checkCost("WindowedRateLimiter.tryReserve", cost);
    return reserve(this, cost);
  }

  /**
   * Takes `cost` units, sleeping on the clock until the window resets when it has no room. Rejects
   * with `signal.reason` when `signal` aborts, and at once with a `rate_limited` CanoError when `cost`
   * exceeds `limit`. (Deliberate change: the seed waits for ever.)
   */
  async acquire(cost = 1, signal?: AbortSignal): Promise<void> {
    checkCost("WindowedRateLimiter.acquire", cost);
    const { limit } = this.#options;
    if (cost > limit)
      throw new CanoError(
        "rate_limited",
        `WindowedRateLimiter.acquire: cost ${cost} is more than the window's limit of ${limit}, ` +
          "so it can never be satisfied. Lower the cost or raise the limit.",
        { details: { cost, limit } },
      );
    await acquireFrom(this, cost, this.#clock, signal);
  }

  /** Units taken in the current window. */
  used(): number {
    this.#roll();
    return this.#used;
  }

  /** Units the current window can still grant. */
  remaining(): number {
    this.#roll();
    return this.#options.limit - this.#used;
  }

  /** When the current window ends, in epoch ms from the clock (the next call from then on opens a new one). */
  resetsAt(): number {
    this.#roll();
    return this.#openedAt + this.#options.windowMs;
  }

  /** Milliseconds (whole, rounded up) until `cost` units fit: 0 if now, `Infinity` above `limit`. */
  timeUntil(cost: number): number {
    checkCost("WindowedRateLimiter.timeUntil", cost);
    if (cost > this.#options.limit) return Number.POSITIVE_INFINITY;
    const now = this.#roll();
    if (this.#used + cost <= this.#options.limit) return 0;
    return wholeMs(this.#openedAt + this.#options.windowMs - now);
  }

  /** {@link Meter} form of `tryAcquire`: the window's generation on success, else `undefined`. */
  tryDebit(cost: number): number | undefined {
    return this.#take(cost, "WindowedRateLimiter.tryDebit");
  }

  /** Gives back `cost` units taken in generation `epoch`; ignored if that window has ended. */
  credit(cost: number, epoch: number): void {
    checkCost("WindowedRateLimiter.credit", cost);
    this.#roll();
    if (epoch !== this.#generation) return;
    this.#used = Math.max(0, this.#used - cost);
  }

  /** The current window's use, limit, wait for one unit and end. */
  snapshot(): MeterStatus {
    const availableInMs = this.timeUntil(1);
    const { limit, windowMs } = this.#options;
    return { used: this.#used, limit, availableInMs, resetsAt: this.#openedAt + windowMs };
  }

  /** The generation the units were taken in, or `undefined` when the window has no room. */
  #take(cost: number, where: string): number | undefined {
    checkCost(where, cost);
    this.#roll();
    if (this.#used + cost > this.#options.limit) return undefined;
    this.#used += cost;
    return this.#generation;
  }

  /** Opens a new window now if the current one has ended; returns the clock's time. */
  #roll(): number {
    const now = this.#clock.now();
    if (now - this.#openedAt >= this.#options.windowMs) {
      this.#openedAt = now;
      this.#used = 0;
      this.#generation++;
    }
    return now;
  }
}
