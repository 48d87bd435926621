import { isPlainTask } from "./attempt.ts";
import type { CheckpointStore } from "./checkpoint.ts";
import type { Clock } from "./clock.ts";
import type { Observer } from "./events.ts";
import type { Random } from "./random.ts";
import type { SagaStep } from "./saga.ts";
import type { SplitConfig } from "./split.ts";
import type { KeyValueStore } from "./store.ts";
import type { Task, TaskContext } from "./task.ts";

/**
 * @internal How a state is executed. Routers write no checkpoint row; a split writes one; a saga
 * step is never interrupted and its output joins the compensation stack.
 */
export type StateEntry<TResources> =
  | { readonly kind: "single" | "router"; readonly task: Task<string, TResources>; readonly taskId: string }
  | { readonly kind: "split"; readonly split: SplitConfig<TResources> }
  | { readonly kind: "saga"; readonly step: SagaStep<string, unknown, TResources>; readonly taskId: string };

/** @internal The targets a state declares (a split's is its join state), or `undefined` if unknown. */
export function declaredTargets<TResources>(entry: StateEntry<TResources>): readonly string[] | undefined {
  if (entry.kind === "split") return [entry.split.joinState];
  return entry.kind === "saga" ? entry.step.to : entry.task.to;
}

/** @internal The task id a state's checkpoint rows carry: its task's name, or "" for a split. */
export function taskIdOf<TResources>(entry: StateEntry<TResources> | undefined): string {
  return entry === undefined || entry.kind === "split" ? "" : entry.taskId;
}

/** @internal Checkpointing settings of a workflow. */
export interface Durability {
  readonly store: CheckpointStore;
  /** Stamped on every row; a resume refuses a log whose last row has another version. */
  readonly version: number;
  /** The workflow's name, stamped on rows so stores can list runs per workflow. */
  readonly name: string | undefined;
}

/** @internal Everything a run needs from its workflow, read once at the start of the run. */
export interface WorkflowDefinition<TResources> {
  readonly states: ReadonlyMap<string, StateEntry<TResources>>;
  readonly exits: ReadonlySet<string>;
  /** Saga steps by task id: the compensators a rollback (also after a resume) looks up. */
  readonly sagaSteps: ReadonlyMap<string, SagaStep<string, unknown, TResources>>;
  readonly observers: readonly Observer[];
  readonly totalTimeoutMs: number | undefined;
  /** Budget for the compensation drain when a total timeout is set; default min(total / 2, 30 s). */
  readonly compensationTimeoutMs: number | undefined;
  readonly durability: Durability | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly store: KeyValueStore;
  readonly resources: TResources;
  /** Edges seen at run time from states whose task declares no `to`; `graph()` draws them. */
  readonly learnedEdges: Map<string, Set<string>>;
  /** Reports an observer that threw; each observer is reported once. */
  readonly reportObserverError: (observer: Observer, error: unknown) => void;
}

/** @internal A state whose task is a {@link isPlainTask plain task} returning the next state. */
export type PlainEntry<TResources> = Extract<StateEntry<TResources>, { kind: "single" | "router" }> & {
  readonly task: { readonly body: (ctx: TaskContext<TResources>) => string | Promise<string> };
};

/** @internal Whether the entry is a {@link PlainEntry}: the run loop's one-await path takes it. */
export function isPlainEntry<TResources>(entry: StateEntry<TResources>): entry is PlainEntry<TResources> {
  return entry.kind !== "split" && entry.kind !== "saga" && isPlainTask(entry.task);
}
