/**
 * Case 4: a split of 10, 100 and 1,000 trivial branches joined with `all()`, against `Promise.all`
 * of the same functions. The join state is the exit, so the run is the split and nothing else.
 */
import { all, task, Workflow } from "cano";
import type { MeasureOptions, Row } from "./harness.ts";
import { measureMeans } from "./harness.ts";

/** The branch counts measured. */
export const branchCounts = [10, 100, 1_000] as const;

/** A split of `count` trivial branches as a workflow run, and `Promise.all` of the same functions. */
function splitPair(count: number): {
  readonly engine: () => Promise<unknown>;
  readonly baseline: () => Promise<unknown>;
} {
  const branches = Array.from({ length: count }, (_, i) => async () => i);
  const workflow = new Workflow<"fan" | "done">()
    .registerSplit(
      "fan",
      branches.map((run) => task({ run })),
      { strategy: all(), joinState: "done" },
    )
    .exit("done");
  return {
    engine: () => workflow.orchestrate("fan"),
    baseline: () => Promise.all(branches.map((branch) => branch())),
  };
}

/** The runners of this case by name (`split<count>`, `promiseAll<count>`); `--profile` loops over one. */
export function splitRunners(): Record<string, () => Promise<unknown>> {
  const runners: Record<string, () => Promise<unknown>> = {};
  for (const count of branchCounts) {
    const { engine, baseline } = splitPair(count);
    runners[`split${count}`] = engine;
    runners[`promiseAll${count}`] = baseline;
  }
  return runners;
}

/** Measures case 4; figures are µs per split (all branches settled and joined). */
export async function splitRows(options?: MeasureOptions): Promise<Row[]> {
  const ms = await measureMeans(splitRunners(), options);
  return branchCounts.map((count) => ({
    case: "4 split/join",
    engineName: `registerSplit, ${count} branches, all()`,
    baselineName: `Promise.all of ${count}`,
    unit: "µs/split",
    engine: ms[`split${count}`]! * 1_000,
    baseline: ms[`promiseAll${count}`]! * 1_000,
    target: { kind: "ratio-max", max: 1.3 },
  }));
}
