/**
 * Case 6: heap per in-flight run (10,000 runs parked in a `timer` task) and heap growth across
 * 100,000 sequential runs, from `process.memoryUsage()` after `global.gc()` (node --expose-gc).
 */
import { setMaxListeners } from "node:events";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { timer, Workflow } from "cano";
import { chain, chainWorkflow, handLoop } from "./chain.ts";
import type { Row } from "./harness.ts";

const parked = 10_000;
const sequential = 100_000;
/** Long enough that no parked run wakes up while it is measured; every run is cancelled after. */
const parkMs = 60_000;

function collect(): number {
  const { gc } = globalThis;
  if (gc === undefined) throw new Error("bench: case 6 needs global.gc(); run node with --expose-gc");
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The hand-written baseline of a parked run: a cancellable sleep on `setTimeout`, then the next state. */
async function handParked(signal: AbortSignal): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(id);
      reject(signal.reason);
    };
    const id = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, parkMs);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return "done";
}

/** Heap bytes per run while `count` runs started by `start` wait; then cancels them all. */
async function heapPerParkedRun(start: (signal: AbortSignal) => Promise<unknown>, count: number) {
  const controller = new AbortController();
  // One shutdown signal watched by every parked run, on purpose: silence Node's leak warning.
  setMaxListeners(0, controller.signal);
  const runs: Promise<unknown>[] = new Array(count);
  const before = collect();
  for (let i = 0; i < count; i++) runs[i] = start(controller.signal).catch(() => undefined);
  // Every run reaches its timer through microtasks only; one macrotask later they are all parked.
  await nextMacrotask();
  const after = collect();
  controller.abort(new Error("bench: parked runs cancelled"));
  await Promise.all(runs);
  return (after - before) / count;
}

/** Heap growth in KB across `runs` sequential runs of `runOnce`, after a warm-up of a tenth as many. */
async function heapGrowthKb(runOnce: () => Promise<unknown>, runs: number): Promise<number> {
  for (let i = 0; i < runs / 10; i++) await runOnce();
  const before = collect();
  for (let i = 0; i < runs; i++) await runOnce();
  return (collect() - before) / 1_024;
}

/** The rows of case 6. */
export async function memoryRows(): Promise<Row[]> {
  const sleeper = new Workflow<"wait" | "done">()
    .register("wait", timer({ to: ["done"], wait: parkMs, afterWait: () => "done" }))
    .exit("done");
  const engineParked = await heapPerParkedRun((signal) => sleeper.orchestrate("wait", { signal }), parked);
  const handParkedBytes = await heapPerParkedRun(handParked, parked);

  // A small workflow with every feature that keeps per-run state: a leak in any of them shows here.
  const steps = chain(3);
  const leakProbe = chainWorkflow(steps, {
    attemptTimeoutMs: 5_000,
    breaker: {},
    observer: () => {},
    checkpoints: true,
  });
  const engineGrowth = await heapGrowthKb(leakProbe, sequential);
  const handGrowth = await heapGrowthKb(handLoop(steps), sequential);
  return [
    {
      case: "6 memory, in flight",
      engineName: `${parked.toLocaleString("en")} runs parked in timer()`,
      baselineName: "hand-written setTimeout sleep",
      unit: "B/run",
      engine: engineParked,
      baseline: handParkedBytes,
      target: { kind: "engine-max", max: 2_048 },
    },
    {
      case: "6 memory, growth",
      engineName: `${sequential.toLocaleString("en")} sequential runs, 3 states, all features`,
      baselineName: "hand-written loop, same runs",
      unit: "KB",
      engine: engineGrowth,
      baseline: handGrowth,
      target: { kind: "engine-max", max: 1_024 },
    },
  ];
}
