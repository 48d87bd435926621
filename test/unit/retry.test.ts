import { createCryptoRandom, defaultRetry, exponential, fixed, maxAttempts, none, retryDelayMs } from "cano";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configurationError } from "../support/runs.ts";

describe("retry policies", () => {
  it("defaults to the seed's exponential(3): 100 ms, ×2, 30 s cap, ±10 % jitter", () => {
    expect(defaultRetry).toEqual({
      kind: "exponential",
      retries: 3,
      baseMs: 100,
      multiplier: 2,
      maxDelayMs: 30_000,
      jitter: 0.1,
    });
    expect(maxAttempts(defaultRetry)).toBe(4);
    expect(maxAttempts(none())).toBe(1);
    expect(maxAttempts(fixed(2, 10))).toBe(3);
  });

  it("doubles from the base without jitter and caps before jitter", () => {
    const policy = exponential(10, { baseMs: 100, jitter: 0, maxDelayMs: 1_000 });
    const delays = Array.from({ length: 6 }, (_, k) => retryDelayMs(policy, k, 0.5));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("spreads the delay by ±jitter around the raw value", () => {
    const policy = exponential(3, { baseMs: 1_000, jitter: 0.1 });
    expect(retryDelayMs(policy, 0, 0)).toBe(900);
    expect(retryDelayMs(policy, 0, 0.5)).toBe(1_000);
    expect(retryDelayMs(policy, 0, 0.999_999)).toBe(1_099);
  });

  it("stays at 0 ms with a zero base, even when the growth factor overflows", () => {
    expect(retryDelayMs(exponential(3, { baseMs: 0, multiplier: 4 }), 2_000, 0.5)).toBe(0);
  });

  it("keeps fixed delays constant", () => {
    expect([0, 1, 2].map((k) => retryDelayMs(fixed(3, 250), k, 0.3))).toEqual([250, 250, 250]);
  });

  it("property: never below 1 ms when base > 0, never above cap × (1 + jitter)", () => {
    fc.assert(
      fc.property(
        fc.record({
          baseMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
          multiplier: fc.double({ min: 0.01, max: 100, noNaN: true }),
          maxDelayMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
          jitter: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        fc.nat({ max: 2_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (options, k, random) => {
          const policy = exponential(5, options);
          const delay = retryDelayMs(policy, k, random);
          expect(Number.isInteger(delay)).toBe(true);
          if (options.baseMs > 0) expect(delay).toBeGreaterThanOrEqual(1);
          else expect(delay).toBe(0);
          const bound = Math.max(1, Math.floor(options.maxDelayMs * (1 + options.jitter)));
          expect(delay).toBeLessThanOrEqual(bound);
        },
      ),
    );
  });

  it("property: with zero jitter the delay never decreases as k grows (multiplier ≥ 1)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.double({ min: 1, max: 1e4, noNaN: true }),
        fc.nat({ max: 100 }),
        (multiplier, baseMs, k) => {
          const policy = exponential(5, { baseMs, multiplier, jitter: 0 });
          expect(retryDelayMs(policy, k + 1, 0.5)).toBeGreaterThanOrEqual(retryDelayMs(policy, k, 0.5));
        },
      ),
    );
  });

  it.each([
    ["negative retries", () => exponential(-1), "retries must be an integer ≥ 0, received -1"],
    ["NaN retries", () => fixed(Number.NaN, 10), "received NaN"],
    ["fractional retries", () => fixed(1.5, 10), "received 1.5"],
    ["negative delay", () => fixed(2, -5), "fixed delayMs must be a finite number ≥ 0, received -5"],
    [
      "NaN base",
      () => exponential(3, { baseMs: Number.NaN }),
      "baseMs must be a finite number ≥ 0, received NaN",
    ],
    ["zero multiplier", () => exponential(3, { multiplier: 0 }), "multiplier must be a finite number > 0"],
    ["infinite cap", () => exponential(3, { maxDelayMs: Number.POSITIVE_INFINITY }), "maxDelayMs"],
    ["jitter above 1", () => exponential(3, { jitter: 1.5 }), "jitter must be in [0, 1], received 1.5"],
  ])("rejects %s with a configuration error saying what was received", (_name, build, message) => {
    expect(configurationError(build).message).toContain(message);
  });
});

describe("createCryptoRandom", () => {
  it("yields uniform-looking numbers in [0, 1) across batch boundaries", () => {
    const random = createCryptoRandom();
    const values = Array.from({ length: 2_000 }, random);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(1_990);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.6);
  });
});
