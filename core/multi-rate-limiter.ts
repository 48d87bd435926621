import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { CanoError } from "./errors.ts";
import type { Meter } from "./rate-limit.ts";
import { check, checkClock, isCount } from "./rate-limit.ts";
import { didYouMean } from "./suggest.ts";

/** Options of a {@link MultiRateLimiter}. */
export interface MultiRateLimiterOptions {
  /** What `acquire` sleeps on; give it the clock of the meters. Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** One budget of a {@link MultiRateLimiter}: a name, a meter and what each acquisition costs it. */
export interface RateLimitTier {
  /** What errors and permits call the tier; not unique. */
  readonly name: string;
  /** The budget charged. */
  readonly meter: Meter;
  /** Units taken from `meter` per acquisition; 0 makes the tier inert. */
  readonly cost: number;
}

/**
 * What a {@link MultiRateLimiter} acquisition took. Like a `Reservation`, it stays spent unless
 * `refund()` is called before `commit()`; a refund gives every charged tier its units back.
 */
export interface MultiPermit {
  /** The tiers that were charged, in order; inert (cost 0) tiers are left out. */
  readonly tiers: readonly string[];
  /** Keeps the units for good; a later `refund()` does nothing. */
  commit(): void;
  /** Gives every charged tier its units back (windows that rolled meanwhile ignore it), unless committed. */
  refund(): void;
}

interface Charge {
  readonly tier: RateLimitTier;
  readonly epoch: number;
}

type Attempt =
  | { readonly ok: true; readonly permit: MultiPermit }
  | { readonly ok: false; readonly tier: RateLimitTier; readonly retryAfterMs: number };

/**
 * Several budgets charged together, all or nothing (reference §8): tiers are reserved in turn, and on
 * the first one without room every reservation taken is refunded and the call fails with a
 * `rate_limited` CanoError naming that tier and `details: { tier, retryAfterMs }`. `withTier` returns
 * a new limiter (the builder is immutable), so a shared base can be extended safely. Tier names are
 * not deduplicated: selecting a name selects every tier carrying it.
 *
 * @example
 * const limits = new MultiRateLimiter()
 *   .withTier("second", RateLimiter.perSecond(10), 1)
 *   .withTier("day", WindowedRateLimiter.perDay(5_000), 1);
 * const permit = await limits.acquire([], ctx.signal); // waits for whichever tier binds
 * try { limits.tryAcquire(["second"]) } catch (e) { if (isCanoError(e)) console.log(e.details?.retryAfterMs) }
 * permit.refund(); // the call did not go out after all: give both tiers their unit back
 */
export class MultiRateLimiter {
  readonly #clock: Clock;
  #tiers: readonly RateLimitTier[] = Object.freeze([]);

  /** A limiter with no tiers yet; add them with {@link MultiRateLimiter.withTier}. */
  constructor(options: MultiRateLimiterOptions = {}) {
    this.#clock = checkClock("MultiRateLimiter", options.clock ?? systemClock);
  }

  /**
   * A new limiter with the tiers of this one plus `name`, charging `cost` (integer ≥ 0, default 1) to
   * `meter`; this one is left unchanged. Throws a `configuration` CanoError for a bad argument or a
   * cost above the meter's limit, which could never be satisfied.
   */
  withTier(name: string, meter: Meter, cost = 1): MultiRateLimiter {
    const where = "MultiRateLimiter.withTier";
    check(typeof name === "string" && name !== "", `${where}: name`, "a non-empty string", name);
    const m = meter as Partial<Meter> | null | undefined;
    const isMeter =
      typeof m?.tryDebit === "function" &&
      typeof m.credit === "function" &&
      typeof m.timeUntil === "function" &&
      typeof m.snapshot === "function";
    check(
      isMeter,
      `${where}: meter of tier "${name}"`,
      "a Meter (tryDebit, credit, timeUntil, snapshot)",
      meter,
    );
    check(isCount(cost, 0), `${where}: cost of tier "${name}"`, "an integer ≥ 0", cost);
    const { limit } = meter.snapshot();
    if (cost > limit)
      throw new CanoError(
        "configuration",
        `${where}: tier "${name}" costs ${cost}, but its meter grants at most ${limit} at once, ` +
          "so it could never be satisfied. Lower the cost or raise the meter's limit.",
        { details: { tier: name, cost, limit } },
      );
    const next = new MultiRateLimiter({ clock: this.#clock });
    next.#tiers = Object.freeze([...this.#tiers, Object.freeze({ name, meter, cost })]);
    return next;
  }

  /** Every tier, in the order added (frozen). */
  tiers(): readonly RateLimitTier[] {
    return this.#tiers;
  }

  /**
   * Charges the named tiers (all of them when `tiers` is omitted or empty) and returns the permit, or
   * throws a `rate_limited` CanoError for the first tier without room, having refunded the others;
   * its `details.retryAfterMs` (≥ 1) says when that tier will have room. An unknown name is a
   * `configuration` error.
   */
  tryAcquire(tiers?: readonly string[]): MultiPermit {
    const attempt = this.#attempt(this.#select(tiers, "MultiRateLimiter.tryAcquire"));
    if (attempt.ok) return attempt.permit;
    throw rejection(attempt.tier, attempt.retryAfterMs);
  }

  /**
   * Like {@link MultiRateLimiter.tryAcquire}, but waits instead of throwing: it sleeps the binding
   * tier's `retryAfterMs` and tries again until every tier has room. Rejects with `signal.reason`
   * when `signal` aborts, and with the `rate_limited` error if a meter says it will never have room.
   */
  async acquire(tiers?: readonly string[], signal?: AbortSignal): Promise<MultiPermit> {
    const selected = this.#select(tiers, "MultiRateLimiter.acquire");
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const attempt = this.#attempt(selected);
      if (attempt.ok) return attempt.permit;
      if (!Number.isFinite(attempt.retryAfterMs)) throw rejection(attempt.tier, attempt.retryAfterMs);
      await this.#clock.sleep(attempt.retryAfterMs, signal);
    }
  }

  /** The tiers to charge, in the order added; every name must be known. */
  #select(names: readonly string[] | undefined, where: string): readonly RateLimitTier[] {
    if (names === undefined) return this.#tiers;
    check(Array.isArray(names), `${where}: tiers`, "an array of tier names", names);
    if (names.length === 0) return this.#tiers;
    const known = this.#tiers.map((tier) => tier.name);
    for (const name of names) {
      if (known.includes(name)) continue;
      const list =
        known.length === 0 ? "none was added (use withTier)" : known.map((k) => `"${k}"`).join(", ");
      const hint = typeof name === "string" ? didYouMean(name, known) : "";
      throw new CanoError(
        "configuration",
        `${where}: unknown tier ${JSON.stringify(name)}; the tiers are ${list}.${hint}`,
        {
          details: { tier: String(name) },
        },
      );
    }
    return this.#tiers.filter((tier) => names.includes(tier.name));
  }

  #attempt(selected: readonly RateLimitTier[]): Attempt {
    const charges: Charge[] = [];
    for (const tier of selected) {
      if (tier.cost === 0) continue;
      const epoch = tier.meter.tryDebit(tier.cost);
      if (epoch !== undefined) {
        charges.push({ tier, epoch });
        continue;
      }
      refund(charges);
      const wait = Math.ceil(tier.meter.timeUntil(tier.cost));
      // At least 1 ms even when the meter says "now" (it just refused) or NaN, so a waiting loop always moves on.
      return { ok: false, tier, retryAfterMs: Number.isNaN(wait) ? 1 : Math.max(1, wait) };
    }
    return { ok: true, permit: permit(charges) };
  }
}

/** Gives back every charge, last first. */
function refund(charges: readonly Charge[]): void {
  for (let i = charges.length - 1; i >= 0; i--) {
    const { tier, epoch } = charges[i]!;
    tier.meter.credit(tier.cost, epoch);
  }
}

function permit(charges: readonly Charge[]): MultiPermit {
  let open = true;
  return {
    tiers: Object.freeze(charges.map((charge) => charge.tier.name)),
    commit() {
      open = false;
    },
    refund() {
      if (!open) return;
      open = false;
      refund(charges);
    },
  };
}

function rejection(tier: RateLimitTier, retryAfterMs: number): CanoError {
  const when = Number.isFinite(retryAfterMs)
    ? `retry after ${retryAfterMs} ms`
    : "its meter says it will never have room";
  return new CanoError(
    "rate_limited",
    `MultiRateLimiter: tier "${tier.name}" has no room for ${tier.cost} more; ${when}.`,
    { details: { tier: tier.name, retryAfterMs, cost: tier.cost } },
  );
}
