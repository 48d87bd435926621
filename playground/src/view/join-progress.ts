/**
 * How many successes a join strategy (as the `split_start` event names it: `all()`, `quorum(2)`,
 * `percentage(0.5)`, …) needs out of `branches`; `undefined` for `partialTimeout()`, which waits
 * for its deadline instead.
 */
export function successesNeeded(strategy: string, branches: number): number | undefined {
  const match = /^(\w+)\(([^)]*)\)$/.exec(strategy);
  const kind = match?.[1];
  const argument = Number(match?.[2]);
  switch (kind) {
    case "all":
      return branches;
    case "any":
      return 1;
    case "quorum":
    case "partialResults":
      return Number.isFinite(argument) ? argument : undefined;
    case "percentage":
      return Number.isFinite(argument) ? Math.ceil(branches * argument) : undefined;
    default:
      return undefined;
  }
}

/** The join's progress in words, e.g. `2 of 3 for quorum(3)`, or `2 settled, waiting for the deadline`. */
export function joinProgress(strategy: string, branches: number, successes: number, settled: number): string {
  const needed = successesNeeded(strategy, branches);
  return needed === undefined
    ? `${settled} of ${branches} settled, ${strategy} waits for its deadline`
    : `${successes} of ${needed} for ${strategy}`;
}

/** The join's progress in a few words, for the split's node: `2 of 3 for quorum(3)`, `1 of 3 settled`. */
export function joinProgressShort(
  strategy: string,
  branches: number,
  successes: number,
  settled: number,
): string {
  const needed = successesNeeded(strategy, branches);
  return needed === undefined
    ? `${settled} of ${branches} settled`
    : `${successes} of ${needed} for ${strategy}`;
}
