/**
 * Cases 1, 2 and the Node half of 5: a 100-state linear workflow of trivial async tasks, per
 * transition, against a hand-written loop and XState, with features on, and with checkpoints.
 */
import type { Observer } from "cano";
import { chain, chainWorkflow, handLoop } from "./chain.ts";
import type { MeasureOptions, Row } from "./harness.ts";
import { measureMeans } from "./harness.ts";
import { xstateChain } from "./xstate-machine.ts";

const length = 100;
/** The settings case 2 puts on every state (they never trigger: each task resolves at once). */
const features = { attemptTimeoutMs: 5_000, breaker: { failureThreshold: 5, resetTimeoutMs: 30_000 } };

/** An observer that tallies events by type, as a metrics exporter would, without printing. */
function tallyingObserver(): Observer {
  const seen = new Map<string, number>();
  return (event) => void seen.set(event.type, (seen.get(event.type) ?? 0) + 1);
}

/** The runners of these cases by name; `bench -- --profile <name>` loops over one of them. */
export function transitionRunners(): Record<string, () => Promise<unknown>> {
  const steps = chain(length);
  return {
    hand: handLoop(steps),
    engine: chainWorkflow(steps),
    features: chainWorkflow(steps, { ...features, observer: tallyingObserver() }),
    checkpoints: chainWorkflow(steps, { checkpoints: true }),
    xstate: xstateChain(steps),
  };
}

/** Measures cases 1, 2 and 5 (Node) in one set of interleaved rounds; figures are µs per transition. */
export async function transitionRows(options?: MeasureOptions): Promise<Row[]> {
  const ms = await measureMeans(transitionRunners(), options);
  const perTransition = (name: string) => (ms[name]! * 1_000) / length;
  const unit = "µs/transition";
  const hand = perTransition("hand");
  const engine = perTransition("engine");
  const engineName = `Workflow, ${length} states, defaults`;
  return [
    {
      case: "1 transition overhead",
      engineName,
      baselineName: "hand-written loop",
      unit,
      engine,
      baseline: hand,
      target: { kind: "ratio-max", max: 5 },
    },
    {
      case: "1 transition overhead",
      engineName,
      baselineName: "XState v5 (fromPromise + onDone)",
      unit,
      engine,
      baseline: perTransition("xstate"),
      target: { kind: "faster-by", factor: 40 },
    },
    {
      case: "2 features on",
      engineName: "+ attemptTimeoutMs, observer, breaker per state",
      baselineName: "hand-written loop",
      unit,
      engine: perTransition("features"),
      baseline: hand,
      target: { kind: "ratio-max", max: 20 },
    },
    {
      case: "5 checkpointed (Node)",
      engineName: "+ MemoryCheckpointStore",
      baselineName: "same workflow, no store",
      unit,
      engine: perTransition("checkpoints"),
      baseline: engine,
      target: { kind: "none" },
    },
  ];
}
