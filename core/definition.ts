import type { Clock } from "./clock.ts";
import type { Observer } from "./events.ts";
import type { Random } from "./random.ts";
import type { SplitConfig } from "./split.ts";
import type { KeyValueStore } from "./store.ts";
import type { Task } from "./task.ts";

/** @internal How a state is executed. Routers write no checkpoint row; a split writes one. */
export type StateEntry<TResources> =
  | { readonly kind: "single" | "router"; readonly task: Task<string, TResources>; readonly taskId: string }
  | { readonly kind: "split"; readonly split: SplitConfig<TResources> };

/** @internal The targets a state declares (a split's is its join state), or `undefined` if unknown. */
export function declaredTargets<TResources>(entry: StateEntry<TResources>): readonly string[] | undefined {
  return entry.kind === "split" ? [entry.split.joinState] : entry.task.to;
}

/** @internal Everything a run needs from its workflow, read once at the start of the run. */
export interface WorkflowDefinition<TResources> {
  readonly states: ReadonlyMap<string, StateEntry<TResources>>;
  readonly exits: ReadonlySet<string>;
  readonly observers: readonly Observer[];
  readonly totalTimeoutMs: number | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly store: KeyValueStore;
  readonly resources: TResources;
  /** Edges seen at run time from states whose task declares no `to`; `graph()` draws them. */
  readonly learnedEdges: Map<string, Set<string>>;
  /** Reports an observer that threw; each observer is reported once. */
  readonly reportObserverError: (observer: Observer, error: unknown) => void;
}
