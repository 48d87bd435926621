import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, backoffPolicy, defaultBackoff, isTripped } from "../../core/backoff.ts";
import { configurationError } from "../support/runs.ts";

const policies = fc.record({
  initialMs: fc.integer({ min: 0, max: 100_000 }),
  multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
  maxDelayMs: fc.integer({ min: 0, max: 10_000_000 }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
});
const streaks = fc.integer({ min: 1, max: 10_000 });
const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("backoff policy", () => {
  it("has the seed's defaults: 1 s, ×2, capped at 300 s, ±10 % jitter, never trips", () => {
    expect(defaultBackoff).toEqual({ initialMs: 1_000, multiplier: 2, maxDelayMs: 300_000, jitter: 0.1 });
    expect(backoffPolicy()).toEqual(defaultBackoff);
    expect(isTripped(defaultBackoff, 1_000_000)).toBe(false);
    expect(backoffPolicy({ trip: 3 })).toEqual({ ...defaultBackoff, trip: 3 });
  });

  it("doubles from 1 s without jitter and caps at the maximum", () => {
    const policy = backoffPolicy({ jitter: 0 });
    const delays = [1, 2, 3, 4, 9, 10, 50].map((streak) => backoffDelayMs(policy, streak, 0.3));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000]);
  });

  it("spreads the delay by ±jitter and clamps it to the maximum again", () => {
    expect(backoffDelayMs(defaultBackoff, 1, 0)).toBe(900);
    expect(backoffDelayMs(defaultBackoff, 1, 0.5)).toBe(1_000);
    expect(backoffDelayMs(defaultBackoff, 1, 0.999_999)).toBe(1_099);
    expect(backoffDelayMs(defaultBackoff, 20, 0.999_999)).toBe(300_000);
  });

  it("stays at 0 with a zero initial delay, even when the growth factor overflows", () => {
    expect(backoffDelayMs(backoffPolicy({ initialMs: 0, multiplier: 10 }), 5_000, 0.5)).toBe(0);
  });

  it("trips once the streak reaches the limit; trip 0 trips on the first failure", () => {
    const policy = backoffPolicy({ trip: 3 });
    expect([1, 2, 3, 4].map((streak) => isTripped(policy, streak))).toEqual([false, false, true, true]);
    expect(isTripped(backoffPolicy({ trip: 0 }), 1)).toBe(true);
  });

  it("refuses bad numbers with a configuration error naming the field and the value", () => {
    expect(configurationError(() => backoffPolicy({ initialMs: -1 })).message).toBe(
      "Backoff: initialMs must be a finite number ≥ 0, received -1",
    );
    expect(configurationError(() => backoffPolicy({ multiplier: 0.5 })).message).toContain(
      "multiplier must be a finite number ≥ 1, received 0.5",
    );
    expect(configurationError(() => backoffPolicy({ maxDelayMs: Number.NaN })).message).toContain(
      "maxDelayMs must be a finite number ≥ 0, received NaN",
    );
    expect(configurationError(() => backoffPolicy({ jitter: 2 })).message).toContain(
      "jitter must be in [0, 1], received 2",
    );
    expect(configurationError(() => backoffPolicy({ trip: 1.5 })).message).toContain(
      "trip must be an integer ≥ 0 (or absent to never trip), received 1.5",
    );
  });

  it("refuses unknown option names, suggesting the closest known one", () => {
    expect(configurationError(() => backoffPolicy({ initial: 5 } as never)).message).toBe(
      'Backoff: unknown option "initial". Did you mean "initialMs"?',
    );
    expect(configurationError(() => backoffPolicy({ tripAfter: 3 } as never)).message).toBe(
      'Backoff: unknown option "tripAfter". Known: "initialMs", "multiplier", "maxDelayMs", "jitter", "trip".',
    );
    expect(configurationError(() => backoffPolicy("fast" as never)).message).toBe(
      'Backoff: expected an options object, received "fast"',
    );
    expect(backoffPolicy({ initialMs: undefined, trip: undefined })).toEqual(defaultBackoff);
  });

  it("refuses values of the wrong type, showing strings quoted", () => {
    expect(configurationError(() => backoffPolicy({ initialMs: "5" as never })).message).toBe(
      'Backoff: initialMs must be a finite number ≥ 0, received "5"',
    );
    expect(configurationError(() => backoffPolicy({ trip: "3" as never })).message).toBe(
      'Backoff: trip must be an integer ≥ 0 (or absent to never trip), received "3"',
    );
    expect(configurationError(() => backoffPolicy({ jitter: null as never })).message).toBe(
      "Backoff: jitter must be in [0, 1], received null",
    );
  });

  describe("properties", () => {
    it("stays within [0, maxDelayMs] and within ±jitter of the capped raw delay", () => {
      fc.assert(
        fc.property(policies, streaks, randoms, (options, streak, random) => {
          const policy = backoffPolicy(options);
          const delay = backoffDelayMs(policy, streak, random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
          if (policy.initialMs === 0) return;
          const raw = Math.min(policy.initialMs * policy.multiplier ** (streak - 1), policy.maxDelayMs);
          expect(delay).toBeLessThanOrEqual(raw * (1 + policy.jitter));
          expect(delay).toBeGreaterThanOrEqual(Math.floor(raw * (1 - policy.jitter)) - 1);
        }),
      );
    });

    it("never shrinks as the streak grows when there is no jitter", () => {
      fc.assert(
        fc.property(policies, streaks, randoms, (options, streak, random) => {
          const policy = backoffPolicy({ ...options, jitter: 0 });
          expect(backoffDelayMs(policy, streak + 1, random)).toBeGreaterThanOrEqual(
            backoffDelayMs(policy, streak, random),
          );
        }),
      );
    });

    it("is tripped exactly from the limit on", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1_000 }),
          fc.integer({ min: 0, max: 2_000 }),
          (trip, streak) => {
            expect(isTripped(backoffPolicy({ trip }), streak)).toBe(streak >= trip);
            expect(isTripped(backoffPolicy(), streak)).toBe(false);
          },
        ),
      );
    });
  });
});
