/**
 * The linear chain of trivial async steps that cases 1, 2, 5 and 6 run: the same functions are
 * driven by the engine, by a hand-written loop and by XState.
 */
import type { CircuitBreakerOptions, Observer } from "cano";
import { CircuitBreaker, MemoryCheckpointStore, task, Workflow } from "cano";

/** The name of the exit state every chain ends in. */
export const exitState = "done";

/** A chain of `length` states: state `names[i]` runs `steps[i]`, which resolves to the next name. */
export interface Chain {
  readonly names: readonly string[];
  readonly steps: readonly (() => Promise<string>)[];
}

/** Builds a chain of `length` trivial async steps, `s0 → s1 → … → done`. */
export function chain(length: number): Chain {
  const names = Array.from({ length }, (_, i) => `s${i}`);
  const steps = names.map((_, i) => {
    const next = names[i + 1] ?? exitState;
    return async () => next;
  });
  return { names, steps };
}

/** The hand-written baseline: a loop that looks the current state up and awaits its step. */
export function handLoop({ names, steps }: Chain): () => Promise<string> {
  const byName = new Map(names.map((name, i) => [name, steps[i]!]));
  const initial = names[0]!;
  return async () => {
    let state = initial;
    while (state !== exitState) state = await byName.get(state)!();
    return state;
  };
}

/** What the engine is given on every state of a chain workflow. */
export interface ChainFeatures {
  /** Per-attempt timeout on every state. */
  readonly attemptTimeoutMs?: number;
  /** A breaker per state, built with these options. */
  readonly breaker?: CircuitBreakerOptions;
  /** Observes every run. */
  readonly observer?: Observer;
  /** Checkpoints every run in a fresh `MemoryCheckpointStore`. */
  readonly checkpoints?: boolean;
}

/** The chain as a Workflow, and a function running it once to completion. */
export function chainWorkflow({ names, steps }: Chain, features: ChainFeatures = {}): () => Promise<string> {
  const workflow = new Workflow<string>();
  names.forEach((name, i) => {
    const { attemptTimeoutMs, breaker } = features;
    const options = {
      to: [names[i + 1] ?? exitState],
      run: steps[i]!,
      ...(attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs }),
      ...(breaker === undefined ? {} : { circuitBreaker: new CircuitBreaker(breaker) }),
    };
    workflow.register(name, task(options));
  });
  workflow.exit(exitState);
  if (features.observer !== undefined) workflow.withObserver(features.observer);
  const initial = names[0]!;
  if (features.checkpoints !== true) return () => workflow.orchestrate(initial);
  workflow.withCheckpointStore(new MemoryCheckpointStore());
  let runs = 0;
  return () => workflow.orchestrate(initial, { workflowId: `bench-${runs++}` });
}
