/**
 * How a split state decides to move on to its join state. Build one with {@link all}, {@link any},
 * {@link quorum}, {@link percentage}, {@link partialResults} or {@link partialTimeout}.
 */
export type JoinStrategy =
  | { readonly kind: "all" }
  | { readonly kind: "any" }
  | { readonly kind: "quorum"; readonly n: number }
  | { readonly kind: "percentage"; readonly p: number }
  | { readonly kind: "partial_results"; readonly n: number }
  | { readonly kind: "partial_timeout" };

/** Every branch must succeed; waits for all of them. */
export function all(): JoinStrategy {
  return { kind: "all" };
}

/** The first success wins; the other branches are cancelled. */
export function any(): JoinStrategy {
  return { kind: "any" };
}

/** At least `n` branches must succeed; waits for every branch (no early exit, as in the seed). */
export function quorum(n: number): JoinStrategy {
  return { kind: "quorum", n };
}

/** At least `ceil(total × p)` branches must succeed, `p` in (0, 1]; waits for every branch. */
export function percentage(p: number): JoinStrategy {
  return { kind: "percentage", p };
}

/** Moves on as soon as `n` branches succeeded, cancelling the rest; fails if that cannot happen. */
export function partialResults(n: number): JoinStrategy {
  return { kind: "partial_results", n };
}

/**
 * Runs until the split's `timeoutMs` (or until every branch settles), then cancels the rest and
 * moves on if at least one branch settled, successfully or not. Requires `timeoutMs`.
 */
export function partialTimeout(): JoinStrategy {
  return { kind: "partial_timeout" };
}

/** A short name for messages and events: `quorum(2)`, `percentage(0.5)`. */
export function describeStrategy(strategy: JoinStrategy): string {
  switch (strategy.kind) {
    case "quorum":
    case "partial_results":
      return `${strategy.kind === "quorum" ? "quorum" : "partialResults"}(${strategy.n})`;
    case "percentage":
      return `percentage(${strategy.p})`;
    case "partial_timeout":
      return "partialTimeout()";
    default:
      return `${strategy.kind}()`;
  }
}

/** What the join does next: keep waiting, move on to the join state, or fail the split. */
export type JoinDecision = "wait" | "proceed" | "fail";

/** The settled branches a decision is made from. */
export interface JoinTally {
  readonly total: number;
  readonly successes: number;
  readonly failures: number;
  /** True once the split's timeout has fired. */
  readonly timedOut: boolean;
}

/**
 * The join rule of reference §6 as a pure function. Only `any` and `partialResults` exit early; a
 * timeout fails every strategy but `partialTimeout`, which proceeds if any branch settled.
 */
export function decideJoin(strategy: JoinStrategy, tally: JoinTally): JoinDecision {
  const { total, successes, failures, timedOut } = tally;
  const settled = successes + failures;
  if (timedOut) return strategy.kind === "partial_timeout" && settled >= 1 ? "proceed" : "fail";
  if (strategy.kind === "any" && successes >= 1) return "proceed";
  if (strategy.kind === "partial_results" && successes >= strategy.n) return "proceed";
  if (settled < total) return "wait";
  return successes >= requiredSuccesses(strategy, total) ? "proceed" : "fail";
}

/** How many successes a strategy needs once every branch has settled. */
function requiredSuccesses(strategy: JoinStrategy, total: number): number {
  switch (strategy.kind) {
    case "all":
      return total;
    case "any":
      return 1;
    case "quorum":
    case "partial_results":
      return strategy.n;
    case "percentage":
      return Math.ceil(total * strategy.p);
    case "partial_timeout":
      return 0; // every branch settled before the deadline: at least one completed
  }
}

const strategyKinds: readonly JoinStrategy["kind"][] = [
  "all",
  "any",
  "quorum",
  "percentage",
  "partial_results",
  "partial_timeout",
];

/** @internal What is wrong with a split's configuration, as messages naming the value. */
export function splitProblems(
  strategy: JoinStrategy,
  branches: number,
  timeoutMs: number | undefined,
  bulkhead: number | undefined,
): string[] {
  const problems: string[] = [];
  const kind: unknown = (strategy as unknown as { kind?: unknown } | undefined)?.kind;
  if (!(strategyKinds as readonly unknown[]).includes(kind)) {
    return [
      `uses an unknown strategy ${JSON.stringify(strategy)}; use all(), any(), quorum(n), percentage(p), partialResults(n) or partialTimeout()`,
    ];
  }
  if (branches === 0) problems.push("has no branches; pass at least one task");
  if ((strategy.kind === "quorum" || strategy.kind === "partial_results") && !isCount(strategy.n, branches)) {
    problems.push(
      `uses ${describeStrategy(strategy)}, but n must be an integer from 1 to the number of branches (${branches})`,
    );
  }
  if (strategy.kind === "percentage" && !(Number.isFinite(strategy.p) && strategy.p > 0 && strategy.p <= 1)) {
    problems.push(`uses ${describeStrategy(strategy)}, but p must be a number in (0, 1]`);
  }
  if (strategy.kind === "partial_timeout" && timeoutMs === undefined) {
    problems.push("uses partialTimeout() without timeoutMs; give the split a timeoutMs");
  }
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    problems.push(`has timeoutMs ${timeoutMs}, but it must be a finite number of milliseconds > 0`);
  }
  if (bulkhead !== undefined && !(Number.isInteger(bulkhead) && bulkhead >= 1)) {
    problems.push(`has bulkhead ${bulkhead}, but it must be an integer ≥ 1`);
  }
  return problems;
}

function isCount(n: number, branches: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= branches;
}
