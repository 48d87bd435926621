import type { JoinDecision, JoinStrategy } from "cano";
import {
  all,
  any,
  decideJoin,
  describeStrategy,
  partialResults,
  partialTimeout,
  percentage,
  quorum,
} from "cano";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/**
 * The seed's table (reference §6), written row by row and independently of `decideJoin`: which
 * strategies exit early, what each needs once every branch settled, what a timeout means.
 */
function referenceModel(
  strategy: JoinStrategy,
  total: number,
  successes: number,
  failures: number,
  timedOut: boolean,
): JoinDecision {
  const completed = successes + failures;
  const everyoneDone = completed === total;
  switch (strategy.kind) {
    case "all":
      if (timedOut) return "fail";
      return everyoneDone ? (successes >= total ? "proceed" : "fail") : "wait";
    case "any":
      if (timedOut) return "fail";
      if (successes >= 1) return "proceed";
      return everyoneDone ? "fail" : "wait";
    case "quorum":
      if (timedOut) return "fail";
      return everyoneDone ? (successes >= strategy.n ? "proceed" : "fail") : "wait";
    case "percentage":
      if (timedOut) return "fail";
      return everyoneDone ? (successes >= Math.ceil(total * strategy.p) ? "proceed" : "fail") : "wait";
    case "partial_results":
      if (timedOut) return "fail";
      if (successes >= strategy.n) return "proceed";
      return everyoneDone ? "fail" : "wait";
    case "partial_timeout":
      if (timedOut) return completed >= 1 ? "proceed" : "fail";
      return everyoneDone ? "proceed" : "wait";
  }
}

const strategyFor = (total: number): fc.Arbitrary<JoinStrategy> =>
  fc.oneof(
    fc.constant(all()),
    fc.constant(any()),
    fc.integer({ min: 1, max: total }).map(quorum),
    fc.double({ min: 0.01, max: 1, noNaN: true }).map(percentage),
    fc.integer({ min: 1, max: total }).map(partialResults),
    fc.constant(partialTimeout()),
  );

describe("decideJoin", () => {
  it("property: agrees with the seed's table for every strategy, tally and timeout", () => {
    const scenario = fc.integer({ min: 1, max: 40 }).chain((total) =>
      fc.tuple(
        fc.constant(total),
        strategyFor(total),
        fc
          .integer({ min: 0, max: total })
          .chain((successes) =>
            fc.tuple(fc.constant(successes), fc.integer({ min: 0, max: total - successes })),
          ),
        fc.boolean(),
      ),
    );
    fc.assert(
      fc.property(scenario, ([total, strategy, [successes, failures], timedOut]) => {
        expect(decideJoin(strategy, { total, successes, failures, timedOut })).toBe(
          referenceModel(strategy, total, successes, failures, timedOut),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it("exits early only for any() and partialResults(n)", () => {
    const early = { total: 5, successes: 2, failures: 0, timedOut: false };
    expect(decideJoin(any(), early)).toBe("proceed");
    expect(decideJoin(partialResults(2), early)).toBe("proceed");
    expect(decideJoin(quorum(2), early)).toBe("wait");
    expect(decideJoin(percentage(0.4), early)).toBe("wait");
    expect(decideJoin(all(), early)).toBe("wait");
    expect(decideJoin(partialTimeout(), early)).toBe("wait");
  });

  it("fails every strategy on timeout except partialTimeout with something settled", () => {
    const late = { total: 3, successes: 2, failures: 0, timedOut: true };
    for (const strategy of [all(), any(), quorum(1), percentage(0.5), partialResults(1)]) {
      expect(decideJoin(strategy, late)).toBe("fail");
    }
    expect(decideJoin(partialTimeout(), late)).toBe("proceed");
    expect(decideJoin(partialTimeout(), { ...late, successes: 0, failures: 1 })).toBe("proceed");
    expect(decideJoin(partialTimeout(), { ...late, successes: 0 })).toBe("fail");
  });

  it("describes strategies the way they are written", () => {
    expect(
      [all(), any(), quorum(2), percentage(0.5), partialResults(3), partialTimeout()].map(describeStrategy),
    ).toEqual(["all()", "any()", "quorum(2)", "percentage(0.5)", "partialResults(3)", "partialTimeout()"]);
  });
});
