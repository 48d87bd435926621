/**
 * The measuring and reporting half of `npm run bench`: timings with tinybench, taken in interleaved
 * rounds so the engine and its baseline share the same noisy machine state, and the result table.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Bench } from "tinybench";

/** A function measured by {@link measureMeans}; awaited when it returns a promise. */
export type BenchFn = () => unknown;

/** How long tinybench samples each function per round, and how many interleaved rounds are taken. */
export interface MeasureOptions {
  readonly timeMs?: number;
  readonly rounds?: number;
}

/**
 * The mean time of one call of each function, in milliseconds. Each round runs every function once
 * through tinybench (rotating the order), and the median of the rounds' means is kept: a GC pause
 * or a noisy neighbour in one round does not decide the figure.
 */
export async function measureMeans(
  fns: Readonly<Record<string, BenchFn>>,
  { timeMs = 300, rounds = 5 }: MeasureOptions = {},
): Promise<Record<string, number>> {
  const names = Object.keys(fns);
  const means = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(100, timeMs), throws: true });
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const name of order) bench.add(name, fns[name]!);
    await bench.run();
    for (const task of bench.tasks) {
      const { result } = task;
      if (result.state !== "completed") throw new Error(`bench: "${task.name}" ended ${result.state}`);
      means.get(task.name)?.push(result.latency.mean);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(means.get(name) ?? [])]));
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How a row's ratio (engine ÷ baseline) or the engine's own figure is judged. */
export type Target =
  | { readonly kind: "ratio-max"; readonly max: number }
  | { readonly kind: "faster-by"; readonly factor: number }
  | { readonly kind: "engine-max"; readonly max: number }
  | { readonly kind: "none" };

/** One line of the table (and of `bench/results.json`). */
export interface Row {
  /** The case number and a short name, e.g. "1 transition overhead". */
  readonly case: string;
  /** What the engine ran. */
  readonly engineName: string;
  /** What it was compared with. */
  readonly baselineName: string;
  /** The unit of both figures, e.g. "µs/transition". */
  readonly unit: string;
  readonly engine: number;
  readonly baseline: number;
  readonly target: Target;
}

/** A row as reported: the ratio engine ÷ baseline, and whether the target is met (`null`: no target). */
export interface Judged extends Row {
  readonly ratio: number;
  readonly met: boolean | null;
}

/** Adds the ratio and the verdict to a row. */
export function judge(row: Row): Judged {
  // Heap growth can be zero or negative: no meaningful ratio then.
  const ratio = row.baseline > 0 && row.engine > 0 ? row.engine / row.baseline : Number.NaN;
  const { target } = row;
  const met =
    target.kind === "ratio-max"
      ? ratio <= target.max
      : target.kind === "faster-by"
        ? ratio <= 1 / target.factor
        : target.kind === "engine-max"
          ? row.engine <= target.max
          : null;
  return { ...row, ratio, met };
}

function describeTarget(row: Row): string {
  const { target } = row;
  if (target.kind === "ratio-max") return `≤ ${target.max}×`;
  if (target.kind === "faster-by") return `≥ ${target.factor}× faster`;
  if (target.kind === "engine-max") return `engine ≤ ${target.max} ${row.unit}`;
  return "—";
}

function figure(value: number): string {
  const size = Math.abs(value);
  if (size >= 100) return value.toFixed(0);
  if (size >= 10) return value.toFixed(1);
  if (size >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function ratioText(ratio: number): string {
  if (Number.isNaN(ratio)) return "—";
  return ratio >= 0.1 ? `${figure(ratio)}×` : `${figure(ratio)}× (${figure(1 / ratio)}× faster)`;
}

/** The rows as a Markdown table, the same text printed to the terminal and pasted into BENCHMARKS.md. */
export function formatTable(rows: readonly Judged[]): string {
  const header = [
    "case",
    "engine",
    "baseline",
    "unit",
    "engine fig.",
    "baseline fig.",
    "ratio",
    "target",
    "",
  ];
  const lines = rows.map((row) => [
    row.case,
    row.engineName,
    row.baselineName,
    row.unit,
    figure(row.engine),
    figure(row.baseline),
    ratioText(row.ratio),
    describeTarget(row),
    row.met === null ? "info" : row.met ? "met" : "NOT MET",
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  return [format(header), rule, ...lines.map(format)].join("\n");
}

/** The machine a run happened on, stated in the table's heading and in `results.json`. */
export function machine(): { readonly nproc: number; readonly cpu: string; readonly node: string } {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {
    // Not Linux: the CPU model is only a label, the numbers are still comparable within the run.
  }
  return { nproc: availableParallelism(), cpu, node: process.version };
}
