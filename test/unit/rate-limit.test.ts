import type { CanoError } from "cano";
import { isCanoError, task, Workflow } from "cano";
import { VirtualClock } from "cano/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MultiRateLimiter } from "../../core/multi-rate-limiter.ts";
import type { Meter, MeterStatus } from "../../core/rate-limit.ts";
import { RateLimiter } from "../../core/rate-limiter.ts";
import { WindowedRateLimiter } from "../../core/windowed-rate-limiter.ts";

/** The CanoError `run` throws (or the promise rejects with), checked to have `code`. */
async function caught(code: CanoError["code"], run: () => unknown): Promise<CanoError> {
  try {
    await run();
  } catch (error) {
    if (isCanoError(error) && error.code === code) return error;
    throw error;
  }
  throw new Error(`expected a ${code} CanoError`);
}

/** Tracks whether `promise` has settled, without awaiting it. */
function track(promise: Promise<unknown>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => {
      state.settled = true;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** A bucket of 10 tokens refilling 10 per second (0.01 per ms), on a clock starting at 1 000 ms. */
function tenPerSecond() {
  const clock = new VirtualClock({ startMs: 1_000 });
  return { clock, limiter: RateLimiter.perSecond(10, { clock }) };
}

describe("RateLimiter: the bucket", () => {
  it("starts full with maxTokens + burst tokens", () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter({ maxTokens: 3, refillPeriodMs: 1_000, burst: 2, clock });
    expect(limiter.capacity).toBe(5);
    expect(limiter.tokensAvailable()).toBe(5);
    expect(limiter.options).toEqual({ maxTokens: 3, tokensPerPeriod: 3, refillPeriodMs: 1_000, burst: 2 });
    expect(Object.isFrozen(limiter.options)).toBe(true);
  });

  it("admits exactly maxTokens + burst at once (per_second(10), max 2, burst 5 → 7)", () => {
    const limiter = RateLimiter.perSecond(10, { maxTokens: 2, burst: 5, clock: new VirtualClock() });
    let granted = 0;
    while (limiter.tryAcquire() && granted <= 7) granted++;
    expect(granted).toBe(7);
  });

  it("refills lazily by elapsed × rate, in fractions, and never above capacity", async () => {
    const { clock, limiter } = tenPerSecond();
    expect(limiter.tryAcquire(10)).toBe(true);
    expect(limiter.tokensAvailable()).toBe(0);
    await clock.advance(50);
    expect(limiter.tokensAvailable()).toBe(0.5);
    expect(limiter.tryAcquire()).toBe(false);
    await clock.advance(75);
    expect(limiter.tokensAvailable()).toBe(1.25);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tokensAvailable()).toBeCloseTo(0.25, 12);
    await clock.advance(60_000);
    expect(limiter.tokensAvailable()).toBe(10);
  });

  it("refills tokensPerPeriod per refillPeriodMs, independently of maxTokens", async () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter({ maxTokens: 4, tokensPerPeriod: 1, refillPeriodMs: 300, clock });
    limiter.tryAcquire(4);
    await clock.advance(100);
    expect(limiter.tokensAvailable()).toBeCloseTo(1 / 3, 12);
    expect(limiter.timeUntil(1)).toBe(200);
    await clock.advance(200);
    expect(limiter.tryAcquire()).toBe(true);
  });

  it("grants cost 0 even when empty, and never grants a cost above capacity", () => {
    const { limiter } = tenPerSecond();
    expect(limiter.tryAcquire(11)).toBe(false);
    expect(limiter.tryReserve(11)).toBeUndefined();
    expect(limiter.timeUntil(11)).toBe(Number.POSITIVE_INFINITY);
    expect(limiter.tokensAvailable()).toBe(10);
    expect(limiter.tryAcquire(10)).toBe(true);
    expect(limiter.tryAcquire(0)).toBe(true);
    expect(limiter.timeUntil(0)).toBe(0);
    expect(limiter.tokensAvailable()).toBe(0);
  });

  it("does not count time twice when the clock steps back", () => {
    let now = 10_000;
    const clock = { now: () => now, sleep: () => Promise.resolve(), schedule: () => () => {} };
    const limiter = RateLimiter.perSecond(10, { clock });
    limiter.tryAcquire(10);
    now = 9_000;
    expect(limiter.tokensAvailable()).toBe(0);
    now = 10_100;
    expect(limiter.tokensAvailable()).toBe(1);
  });

  it("reports a snapshot: used, limit, the wait for one token, no resetsAt", async () => {
    const { clock, limiter } = tenPerSecond();
    limiter.tryAcquire(10);
    await clock.advance(30);
    const status: MeterStatus = limiter.snapshot();
    expect(status.used).toBeCloseTo(9.7, 12);
    expect(status).toMatchObject({ limit: 10, availableInMs: 70 });
    expect("resetsAt" in status).toBe(false);
  });
});

describe("RateLimiter.acquire", () => {
  it("resolves at once while the bucket holds the tokens", async () => {
    const { clock, limiter } = tenPerSecond();
    await limiter.acquire(4);
    expect(clock.now()).toBe(1_000);
    expect(limiter.tokensAvailable()).toBe(6);
  });

  it("sleeps exactly the deficit, then takes the tokens", async () => {
    const { clock, limiter } = tenPerSecond();
    limiter.tryAcquire(10);
    await clock.advance(50); // 0.5 tokens: 2.5 short of 3, i.e. 250 ms at 0.01 per ms
    expect(limiter.timeUntil(3)).toBe(250);
    const waiting = track(limiter.acquire(3));
    await clock.advance(249);
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect(waiting).toEqual({ settled: true, error: undefined });
    expect(clock.now()).toBe(1_300);
    expect(limiter.tokensAvailable()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("rounds a fractional deficit up to the next whole millisecond", async () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter({ maxTokens: 3, refillPeriodMs: 1_000, clock });
    limiter.tryAcquire(3);
    expect(limiter.timeUntil(1)).toBe(334); // 333.33… ms for one token at 3 per second
    const done = limiter.acquire();
    await clock.runAll();
    await done;
    expect(clock.now()).toBe(334);
  });

  it("keeps trying until it gets the tokens when waiters compete (no FIFO promise)", async () => {
    const { clock, limiter } = tenPerSecond();
    limiter.tryAcquire(10);
    const at: number[] = [];
    const waiters = [1, 2, 3].map(() => limiter.acquire().then(() => at.push(clock.now())));
    await clock.runAll();
    await Promise.all(waiters);
    expect(at).toEqual([1_100, 1_200, 1_300]);
  });

  it("rejects at once with rate_limited when the cost can never be satisfied (the seed parks for ever)", async () => {
    const { clock, limiter } = tenPerSecond();
    const error = await caught("rate_limited", () => limiter.acquire(11));
    expect(error.message).toContain("RateLimiter.acquire: cost 11 is more than the bucket's capacity of 10");
    expect(error.message).toContain("never be satisfied");
    expect(error.details).toEqual({ cost: 11, capacity: 10 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects with the signal's reason when aborted while waiting, leaving no timer", async () => {
    const { clock, limiter } = tenPerSecond();
    limiter.tryAcquire(10);
    const controller = new AbortController();
    const waiting = limiter.acquire(1, controller.signal);
    await clock.advance(40);
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error("user left");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(60);
    expect(limiter.tokensAvailable()).toBe(1); // the abandoned wait took nothing
  });

  it("takes nothing when the signal has already aborted", async () => {
    const { limiter } = tenPerSecond();
    const reason = new Error("too late");
    await expect(limiter.acquire(1, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(limiter.tokensAvailable()).toBe(10);
  });
});

describe("RateLimiter reservations", () => {
  it("takes the tokens at once; refund gives them back, once", () => {
    const { limiter } = tenPerSecond();
    const reservation = limiter.tryReserve(4);
    expect(reservation?.cost).toBe(4);
    expect(limiter.tokensAvailable()).toBe(6);
    reservation?.refund();
    expect(limiter.tokensAvailable()).toBe(10);
    limiter.tryAcquire(5);
    reservation?.refund();
    reservation?.commit();
    expect(limiter.tokensAvailable()).toBe(5);
  });

  it("keeps the tokens once committed, and while neither committed nor refunded", () => {
    const { limiter } = tenPerSecond();
    const committed = limiter.tryReserve(3);
    committed?.commit();
    committed?.refund();
    limiter.tryReserve(2); // dropped: JavaScript has no destructor to refund it
    expect(limiter.tokensAvailable()).toBe(5);
  });

  it("is undefined when the bucket is short, and a refund never overfills it", async () => {
    const { clock, limiter } = tenPerSecond();
    const reservation = limiter.tryReserve(6);
    expect(limiter.tryReserve(5)).toBeUndefined();
    await clock.advance(1_000);
    reservation?.refund();
    expect(limiter.tokensAvailable()).toBe(10);
  });
});

describe("RateLimiter: bad input", () => {
  const clock = new VirtualClock();
  it.each([
    [{ maxTokens: 0, refillPeriodMs: 1_000 }, "RateLimiter: maxTokens must be an integer ≥ 1, received 0"],
    [
      { maxTokens: 1.5, refillPeriodMs: 1_000 },
      "RateLimiter: maxTokens must be an integer ≥ 1, received 1.5",
    ],
    [
      { maxTokens: 2, refillPeriodMs: 0 },
      "RateLimiter: refillPeriodMs must be a finite number of ms > 0, received 0",
    ],
    [
      { maxTokens: 2, refillPeriodMs: Number.POSITIVE_INFINITY },
      "RateLimiter: refillPeriodMs must be a finite number of ms > 0, received Infinity",
    ],
    [
      { maxTokens: 2, refillPeriodMs: 1_000, tokensPerPeriod: 0 },
      "RateLimiter: tokensPerPeriod must be a finite number > 0, received 0",
    ],
    [
      { maxTokens: 2, refillPeriodMs: 1_000, tokensPerPeriod: Number.NaN },
      "RateLimiter: tokensPerPeriod must be a finite number > 0, received NaN",
    ],
    [
      { maxTokens: 2, refillPeriodMs: 1_000, burst: -1 },
      "RateLimiter: burst must be an integer ≥ 0, received -1",
    ],
  ])("rejects %o", async (options, message) => {
    const error = await caught("configuration", () => new RateLimiter({ ...options, clock }));
    expect(error.message).toBe(message);
  });

  it("rejects a bad perSecond rate, clock or cost, naming the method", async () => {
    expect((await caught("configuration", () => RateLimiter.perSecond(0))).message).toBe(
      "RateLimiter.perSecond: tokens must be an integer ≥ 1, received 0",
    );
    const badClock = { now: "soon" } as unknown as VirtualClock;
    expect((await caught("configuration", () => RateLimiter.perSecond(1, { clock: badClock }))).message).toBe(
      'RateLimiter: clock must be a Clock with now() and sleep(), received {"now":"soon"}',
    );
    const limiter = RateLimiter.perSecond(5, { clock });
    expect((await caught("configuration", () => limiter.tryAcquire(1.5))).message).toBe(
      "RateLimiter.tryAcquire: cost must be an integer ≥ 0, received 1.5",
    );
    await caught("configuration", () => limiter.tryAcquire(-1));
    await caught("configuration", () => limiter.tryReserve(Number.NaN));
    await caught("configuration", () => limiter.timeUntil(Number.POSITIVE_INFINITY));
    await caught("configuration", () => limiter.acquire(-2));
  });
});

describe("RateLimiter: property", () => {
  it("stays within [0, capacity] and never grants more than capacity + rate × elapsed in any span", async () => {
    const operation = fc.record({
      advanceMs: fc.integer({ min: 0, max: 700 }),
      cost: fc.integer({ min: 0, max: 9 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          maxTokens: fc.integer({ min: 1, max: 6 }),
          burst: fc.integer({ min: 0, max: 3 }),
          tokensPerPeriod: fc.integer({ min: 1, max: 7 }),
          refillPeriodMs: fc.integer({ min: 1, max: 2_000 }),
        }),
        fc.array(operation, { maxLength: 40 }),
        async (options, operations) => {
          const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
          const limiter = new RateLimiter({ ...options, clock });
          const rate = options.tokensPerPeriod / options.refillPeriodMs;
          const granted: Array<{ at: number; cost: number }> = [];
          for (const { advanceMs, cost } of operations) {
            await clock.advance(advanceMs);
            if (limiter.tryAcquire(cost)) granted.push({ at: clock.now(), cost });
            const tokens = limiter.tokensAvailable();
            expect(tokens).toBeGreaterThanOrEqual(0);
            expect(tokens).toBeLessThanOrEqual(limiter.capacity);
          }
          for (let i = 0; i < granted.length; i++) {
            let total = 0;
            for (let j = i; j < granted.length; j++) {
              total += granted[j]!.cost;
              const bound = limiter.capacity + rate * (granted[j]!.at - granted[i]!.at);
              expect(total).toBeLessThanOrEqual(bound + 1e-6);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("WindowedRateLimiter", () => {
  /** 3 units per 100 ms window, on a clock starting at 1 000 ms. */
  function window() {
    const clock = new VirtualClock({ startMs: 1_000 });
    return { clock, limiter: new WindowedRateLimiter({ limit: 3, windowMs: 100, clock }) };
  }

  it("opens its first window at construction and counts used, remaining and resetsAt", () => {
    const { limiter } = window();
    expect(limiter.resetsAt()).toBe(1_100);
    expect(limiter.tryAcquire(2)).toBe(true);
    expect([limiter.used(), limiter.remaining()]).toEqual([2, 1]);
    expect(limiter.tryAcquire(2)).toBe(false);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    expect(limiter.snapshot()).toEqual({ used: 3, limit: 3, availableInMs: 100, resetsAt: 1_100 });
  });

  it("keeps the window until windowMs has passed, then rolls lazily at the next call", async () => {
    const { clock, limiter } = window();
    limiter.tryAcquire(3);
    await clock.advance(99);
    expect(limiter.used()).toBe(3);
    expect(limiter.timeUntil(1)).toBe(1);
    await clock.advance(151); // t = 1 250: a step reset aligned to 1 100 would end this window at 1 300
    expect(limiter.used()).toBe(0);
    expect(limiter.resetsAt()).toBe(1_350);
    expect(limiter.tryAcquire(3)).toBe(true);
  });

  it("rolls exactly at windowMs", async () => {
    const { clock, limiter } = window();
    limiter.tryAcquire(3);
    await clock.advance(100);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.resetsAt()).toBe(1_200);
  });

  it("grants cost 0 always and never a cost above limit", () => {
    const { limiter } = window();
    limiter.tryAcquire(3);
    expect(limiter.tryAcquire(0)).toBe(true);
    expect(limiter.timeUntil(0)).toBe(0);
    expect(limiter.tryAcquire(4)).toBe(false);
    expect(limiter.timeUntil(4)).toBe(Number.POSITIVE_INFINITY);
  });

  it("refunds a reservation within its window, and discards a refund from an earlier window", async () => {
    const { clock, limiter } = window();
    const same = limiter.tryReserve(2);
    same?.refund();
    expect(limiter.used()).toBe(0);
    const stale = limiter.tryReserve(2);
    await clock.advance(100);
    expect(limiter.tryAcquire(1)).toBe(true);
    stale?.refund();
    expect(limiter.used()).toBe(1);
    expect(limiter.tryReserve(3)).toBeUndefined();
  });

  it("discards a Meter credit tagged with another generation", async () => {
    const { clock, limiter } = window();
    expect(limiter.tryDebit(1)).toBe(0);
    await clock.advance(100);
    expect(limiter.tryDebit(2)).toBe(1);
    limiter.credit(1, 0);
    expect(limiter.used()).toBe(2);
    limiter.credit(1, 1);
    expect(limiter.used()).toBe(1);
  });

  it("acquire sleeps until the reset, and the new window opens then", async () => {
    const { clock, limiter } = window();
    limiter.tryAcquire(2);
    await clock.advance(30);
    const waiting = track(limiter.acquire(2));
    await clock.advance(69);
    expect(waiting.settled).toBe(false);
    await clock.advance(1);
    expect(waiting).toEqual({ settled: true, error: undefined });
    expect([clock.now(), limiter.used(), limiter.resetsAt()]).toEqual([1_100, 2, 1_200]);
  });

  it("acquire rejects a cost above limit at once, and with the reason when aborted", async () => {
    const { clock, limiter } = window();
    const never = await caught("rate_limited", () => limiter.acquire(4));
    expect(never.message).toContain("cost 4 is more than the window's limit of 3");
    expect(never.details).toEqual({ cost: 4, limit: 3 });
    limiter.tryAcquire(3);
    const controller = new AbortController();
    const waiting = limiter.acquire(1, controller.signal);
    await clock.flush();
    expect(clock.pendingTimers).toBe(1);
    controller.abort("stop");
    await expect(waiting).rejects.toBe("stop");
    expect(clock.pendingTimers).toBe(0);
  });

  it("has per-hour and per-day helpers", () => {
    const clock = new VirtualClock();
    expect(WindowedRateLimiter.perHour(100, { clock }).options).toEqual({ limit: 100, windowMs: 3_600_000 });
    expect(WindowedRateLimiter.perDay(5, { clock }).resetsAt()).toBe(86_400_000);
  });

  it("rejects bad options and costs, naming the option", async () => {
    const clock = new VirtualClock();
    expect(
      (await caught("configuration", () => new WindowedRateLimiter({ limit: 0, windowMs: 1, clock })))
        .message,
    ).toBe("WindowedRateLimiter: limit must be an integer ≥ 1, received 0");
    expect(
      (await caught("configuration", () => new WindowedRateLimiter({ limit: 1, windowMs: -5, clock })))
        .message,
    ).toBe("WindowedRateLimiter: windowMs must be a finite number of ms > 0, received -5");
    await caught("configuration", () => WindowedRateLimiter.perHour(2.5, { clock }));
    const limiter = WindowedRateLimiter.perHour(10, { clock });
    expect((await caught("configuration", () => limiter.tryAcquire(0.5))).message).toBe(
      "WindowedRateLimiter.tryAcquire: cost must be an integer ≥ 0, received 0.5",
    );
  });
});

describe("MultiRateLimiter", () => {
  /** "second": 10 per second, "window": 1 per 1 000 ms, on one clock starting at 0. */
  function twoTiers() {
    const clock = new VirtualClock();
    const bucket = RateLimiter.perSecond(10, { clock });
    const window = new WindowedRateLimiter({ limit: 1, windowMs: 1_000, clock });
    const limits = new MultiRateLimiter({ clock })
      .withTier("second", bucket, 1)
      .withTier("window", window, 1);
    return { clock, bucket, window, limits };
  }

  it("charges every tier on success", () => {
    const { bucket, window, limits } = twoTiers();
    const permit = limits.tryAcquire();
    expect(permit.tiers).toEqual(["second", "window"]);
    expect([bucket.tokensAvailable(), window.used()]).toEqual([9, 1]);
  });

  it("is all or nothing: a rejection by tier 2 gives tier 1 its tokens back", async () => {
    const { clock, bucket, window, limits } = twoTiers();
    limits.tryAcquire();
    await clock.advance(250);
    const error = await caught("rate_limited", () => limits.tryAcquire());
    expect(error.message).toBe('MultiRateLimiter: tier "window" has no room for 1 more; retry after 750 ms.');
    expect(error.details).toEqual({ tier: "window", retryAfterMs: 750, cost: 1 });
    expect(bucket.tokensAvailable()).toBe(10); // refilled to 10 and nothing kept by the failed call
    expect(window.used()).toBe(1);
  });

  it("reports retryAfterMs ≥ 1 even when the meter says it has room now", async () => {
    const stubborn: Meter = {
      tryDebit: () => undefined,
      credit: () => {},
      timeUntil: () => 0,
      snapshot: () => ({ used: 0, limit: 5, availableInMs: 0 }),
    };
    const limits = new MultiRateLimiter({ clock: new VirtualClock() }).withTier("odd", stubborn, 1);
    expect((await caught("rate_limited", () => limits.tryAcquire())).details).toEqual({
      tier: "odd",
      retryAfterMs: 1,
      cost: 1,
    });
  });

  it("acquire sleeps the binding tier's retryAfterMs, then charges every tier", async () => {
    const { clock, bucket, window, limits } = twoTiers();
    limits.tryAcquire();
    const acquired = limits.acquire();
    await clock.runAll();
    expect((await acquired).tiers).toEqual(["second", "window"]);
    expect(clock.now()).toBe(1_000);
    expect([bucket.tokensAvailable(), window.used(), window.resetsAt()]).toEqual([9, 1, 2_000]);
  });

  it("acquire follows whichever tier binds, one after another", async () => {
    const clock = new VirtualClock();
    const bucket = new RateLimiter({ maxTokens: 2, refillPeriodMs: 200, clock });
    const window = new WindowedRateLimiter({ limit: 3, windowMs: 1_000, clock });
    const limits = new MultiRateLimiter({ clock }).withTier("bucket", bucket).withTier("window", window);
    const at: number[] = [];
    const run = (async () => {
      for (let i = 0; i < 4; i++) {
        await limits.acquire();
        at.push(clock.now());
      }
    })();
    await clock.runAll();
    await run;
    // Two from the full bucket; the bucket binds until 100; at 200 the bucket has room but the
    // window (3 per 1 000 ms) is full, so the bucket's token goes back and the wait runs to 1 000.
    expect(at).toEqual([0, 0, 100, 1_000]);
    expect([bucket.tokensAvailable(), window.used()]).toEqual([1, 1]);
  });

  it("acquire rejects with the signal's reason, leaving no timer and no charge", async () => {
    const { clock, bucket, limits } = twoTiers();
    limits.tryAcquire();
    const controller = new AbortController();
    const waiting = limits.acquire(undefined, controller.signal);
    await clock.advance(10);
    controller.abort(new Error("shutdown"));
    await expect(waiting).rejects.toThrow("shutdown");
    expect(clock.pendingTimers).toBe(0);
    expect(bucket.tokensAvailable()).toBe(9.1);
  });

  it("charges only the named tiers; an empty list means all of them", () => {
    const { bucket, window, limits } = twoTiers();
    expect(limits.tryAcquire(["second"]).tiers).toEqual(["second"]);
    expect([bucket.tokensAvailable(), window.used()]).toEqual([9, 0]);
    expect(limits.tryAcquire([]).tiers).toEqual(["second", "window"]);
    expect([bucket.tokensAvailable(), window.used()]).toEqual([8, 1]);
  });

  it("calls an unknown tier a configuration error, with a suggestion", async () => {
    const { limits } = twoTiers();
    const error = await caught("configuration", () => limits.tryAcquire(["secnd"]));
    expect(error.message).toBe(
      'MultiRateLimiter.tryAcquire: unknown tier "secnd"; the tiers are "second", "window". Did you mean "second"?',
    );
    await caught("configuration", () => limits.acquire(["nope"]));
    await caught("configuration", () => new MultiRateLimiter().tryAcquire(["any"]));
  });

  it("leaves a cost-0 tier inert: never asked, never charged", () => {
    const clock = new VirtualClock();
    const asked: string[] = [];
    const spent = new WindowedRateLimiter({ limit: 1, windowMs: 1_000, clock });
    spent.tryAcquire();
    const spy: Meter = {
      tryDebit(cost) {
        asked.push(`debit ${cost}`);
        return spent.tryDebit(cost);
      },
      credit: (cost, epoch) => spent.credit(cost, epoch),
      timeUntil: (cost) => spent.timeUntil(cost),
      snapshot: () => spent.snapshot(),
    };
    const bucket = RateLimiter.perSecond(2, { clock });
    const limits = new MultiRateLimiter({ clock }).withTier("free", spy, 0).withTier("bucket", bucket, 1);
    expect(limits.tryAcquire().tiers).toEqual(["bucket"]);
    expect(asked).toEqual([]);
  });

  it("refunds every tier from a permit, once, unless committed", () => {
    const { bucket, window, limits } = twoTiers();
    const permit = limits.tryAcquire();
    permit.refund();
    permit.refund();
    expect([bucket.tokensAvailable(), window.used()]).toEqual([10, 0]);
    const kept = limits.tryAcquire();
    kept.commit();
    kept.refund();
    expect([bucket.tokensAvailable(), window.used()]).toEqual([9, 1]);
  });

  it("builds immutably, keeps tiers in order and does not deduplicate names", () => {
    const clock = new VirtualClock();
    const a = RateLimiter.perSecond(5, { clock });
    const b = RateLimiter.perSecond(5, { clock });
    const base = new MultiRateLimiter({ clock });
    const one = base.withTier("api", a, 2);
    const two = one.withTier("api", b, 1);
    expect(base.tiers()).toEqual([]);
    expect(one.tiers()).toEqual([{ name: "api", meter: a, cost: 2 }]);
    expect(two.tiers().map((t) => [t.name, t.cost])).toEqual([
      ["api", 2],
      ["api", 1],
    ]);
    expect(two.tryAcquire(["api"]).tiers).toEqual(["api", "api"]);
    expect([a.tokensAvailable(), b.tokensAvailable()]).toEqual([3, 4]);
  });

  it("rejects a bad tier at withTier, including a cost its meter could never grant", async () => {
    const clock = new VirtualClock();
    const base = new MultiRateLimiter({ clock });
    const meter = RateLimiter.perSecond(3, { clock });
    const never = await caught("configuration", () => base.withTier("api", meter, 4));
    expect(never.message).toBe(
      'MultiRateLimiter.withTier: tier "api" costs 4, but its meter grants at most 3 at once, so it could never ' +
        "be satisfied. Lower the cost or raise the meter's limit.",
    );
    expect((await caught("configuration", () => base.withTier("", meter))).message).toBe(
      'MultiRateLimiter.withTier: name must be a non-empty string, received ""',
    );
    expect((await caught("configuration", () => base.withTier("api", meter, -1))).message).toBe(
      'MultiRateLimiter.withTier: cost of tier "api" must be an integer ≥ 0, received -1',
    );
    await caught("configuration", () => base.withTier("api", {} as Meter));
  });
});

describe("Rate limiting from a workflow task", () => {
  it("paces a task through ctx.resources", async () => {
    type S = "call" | "done";
    const clock = new VirtualClock();
    const limiter = new RateLimiter({ maxTokens: 2, refillPeriodMs: 1_000, clock });
    const calls: number[] = [];
    const wf = new Workflow<S, { limiter: RateLimiter }>({ resources: { limiter }, clock })
      .register(
        "call",
        task({
          to: ["call", "done"],
          run: async (ctx) => {
            await ctx.resources.limiter.acquire(1, ctx.signal);
            calls.push(ctx.clock.now());
            return calls.length < 5 ? "call" : "done";
          },
        }),
      )
      .exit("done");
    const run = wf.orchestrate("call");
    await clock.runAll();
    expect(await run).toBe("done");
    // Two at once from the full bucket, then one every 500 ms (2 tokens per 1 000 ms).
    expect(calls).toEqual([0, 0, 500, 1_000, 1_500]);
  });
});
