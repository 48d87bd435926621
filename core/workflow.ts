import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import type { StateEntry, WorkflowDefinition } from "./definition.ts";
import { CanoError, describeThrown } from "./errors.ts";
import type { Observer } from "./events.ts";
import type { WorkflowGraph } from "./graph.ts";
import { buildGraph, graphToMermaid } from "./graph.ts";
import type { Random } from "./random.ts";
import { createCryptoRandom } from "./random.ts";
import type { OrchestrateOptions } from "./run.ts";
import { executeRun } from "./run.ts";
import type { SplitOptions } from "./split.ts";
import type { KeyValueStore } from "./store.ts";
import { MemoryStore } from "./store.ts";
import type { Task } from "./task.ts";
import { initialStateProblems, structuralProblems, throwIfProblems } from "./validate.ts";

/** What a workflow is built with; everything is optional. */
export interface WorkflowOptions<TResources> {
  /** Handed to every task as `ctx.resources`; values with `setup`/`teardown` are set up per run. */
  readonly resources?: TResources;
  /** Shared by every state as `ctx.store`. Default: a new `MemoryStore`. */
  readonly store?: KeyValueStore;
  /** Source of time for delays, timeouts and timestamps. Default: `systemClock`. */
  readonly clock?: Clock;
  /** Source of retry jitter, uniform in [0, 1). Default: batched `crypto.getRandomValues`. */
  readonly random?: Random;
}

/** An observer function, or an object with an `observe` method such as `RecordingObserver`. */
export type ObserverLike = Observer | { readonly observe: Observer };

/**
 * A typed finite state machine: register a task per state, name the exit states, run it.
 * `TState` is the union of state names; `TResources` the type of `ctx.resources`.
 *
 * @example
 * type S = "fetch" | "summarize" | "done";
 * const wf = new Workflow<S>()
 *   .register("fetch", task({ to: ["summarize"], run: async () => "summarize" }))
 *   .register("summarize", task({ to: ["done"], run: async () => "done" }))
 *   .exit("done");
 * const final = await wf.orchestrate("fetch"); // "done"
 */
export class Workflow<TState extends string, TResources = Record<string, never>> {
  readonly #states = new Map<string, StateEntry<TResources>>();
  readonly #exits = new Set<string>();
  readonly #observers: Observer[] = [];
  readonly #reported = new WeakSet<Observer>();
  readonly #learnedEdges = new Map<string, Set<string>>();
  readonly #store: KeyValueStore;
  readonly #resources: TResources;
  readonly #random: Random;
  #clock: Clock;
  #totalTimeoutMs: number | undefined;
  /** Cached result of the structural checks; cleared by every builder call. */
  #problems: string[] | undefined;

  constructor(options: WorkflowOptions<TResources> = {}) {
    this.#store = options.store ?? new MemoryStore();
    this.#resources = options.resources ?? ({} as TResources);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? createCryptoRandom();
  }

  /** Runs `task` when the machine enters `state`; replaces any task registered there before. */
  register<TTo extends TState>(state: TState, task: Task<TTo, TResources>): this {
    return this.#put(state, { kind: "single", task, taskId: task.name ?? state });
  }

  /** Like {@link register}, for a read-only branch: no checkpoint row is written for it. */
  registerRouter<TTo extends TState>(state: TState, router: Task<TTo, TResources>): this {
    return this.#put(state, { kind: "router", task: router, taskId: router.name ?? state });
  }

  /**
   * Runs `tasks` in parallel when the machine enters `state`, then moves to `options.joinState`
   * once the join strategy is satisfied; the join state's task gets the results as `ctx.split`.
   *
   * @example
   * wf.registerSplit("fanout", [fetchA, fetchB, fetchC], { strategy: quorum(2), joinState: "merge", timeoutMs: 10_000, bulkhead: 2 })
   */
  registerSplit(
    state: TState,
    tasks: readonly Task<unknown, TResources>[],
    options: SplitOptions<TState>,
  ): this {
    if (!Array.isArray(tasks)) {
      throw new CanoError(
        "configuration",
        `Workflow: registerSplit("${state}") expects an array of tasks, received ${typeof tasks}`,
      );
    }
    const taskIds = tasks.map((task, index) => `${task.name ?? state}[${index}]`);
    return this.#put(state, { kind: "split", split: { ...options, tasks: [...tasks], taskIds } });
  }

  /** Marks states as exits: reaching one ends the run and `orchestrate` returns it. */
  exit(...states: TState[]): this {
    for (const state of states) this.#exits.add(this.#checkName(state, "exit"));
    return this.#changed();
  }

  /** Adds an observer of every run's events (after those added before). */
  withObserver(observer: ObserverLike): this {
    this.#observers.push(typeof observer === "function" ? observer : (event) => observer.observe(event));
    return this;
  }

  /** Bounds each whole run; a run past it fails with `workflow_timeout`. */
  withTotalTimeout(ms: number): this {
    if (!(Number.isFinite(ms) && ms > 0)) {
      throw new CanoError(
        "configuration",
        `Workflow: withTotalTimeout expects milliseconds > 0, received ${String(ms)}`,
      );
    }
    this.#totalTimeoutMs = ms;
    return this;
  }

  /** Replaces the clock used for every delay, timeout and timestamp (e.g. a `VirtualClock` in tests). */
  withClock(clock: Clock): this {
    this.#clock = clock;
    return this;
  }

  /**
   * Throws a `configuration` error listing every problem: no states, no exits, declared targets that
   * do not exist; with `initial`, also an unknown initial state and states unreachable from it
   * (when the reachable tasks all declare `to`).
   */
  validate(initial?: TState): void {
    const problems = [...this.#structuralProblems()];
    if (initial !== undefined) problems.push(...initialStateProblems(this.#definition(), initial, true));
    throwIfProblems(problems);
  }

  /** The states and transitions as plain data: declared edges, plus edges learned from runs. */
  graph(): WorkflowGraph {
    return buildGraph(this.#definition());
  }

  /** The machine as a Mermaid flowchart. */
  toMermaid(): string {
    return graphToMermaid(this.graph());
  }

  /**
   * Runs the machine from `initial` until it reaches an exit state, and returns that state. Fails
   * with a `CanoError` carrying the failing state, attempt and path.
   */
  async orchestrate(initial: TState, options: OrchestrateOptions = {}): Promise<TState> {
    throwIfProblems(this.#structuralProblems());
    const definition = this.#definition();
    throwIfProblems(initialStateProblems(definition, initial, false));
    return (await executeRun(definition, initial, options)) as TState;
  }

  #put(state: TState, entry: StateEntry<TResources>): this {
    this.#states.set(this.#checkName(state, "register"), entry);
    return this.#changed();
  }

  #checkName(state: unknown, method: string): string {
    if (typeof state !== "string" || state === "") {
      throw new CanoError(
        "configuration",
        `Workflow: ${method} expects a non-empty state name, received ${describeThrown(state)}`,
      );
    }
    return state;
  }

  #changed(): this {
    this.#problems = undefined;
    return this;
  }

  #structuralProblems(): string[] {
    this.#problems ??= structuralProblems(this.#definition());
    return this.#problems;
  }

  #definition(): WorkflowDefinition<TResources> {
    return {
      states: this.#states,
      exits: this.#exits,
      observers: this.#observers,
      totalTimeoutMs: this.#totalTimeoutMs,
      clock: this.#clock,
      random: this.#random,
      store: this.#store,
      resources: this.#resources,
      learnedEdges: this.#learnedEdges,
      reportObserverError: (observer, error) => this.#reportObserverError(observer, error),
    };
  }

  #reportObserverError(observer: Observer, error: unknown): void {
    if (this.#reported.has(observer)) return;
    this.#reported.add(observer);
    console.error(
      `Cano: an observer threw and was isolated (reported once per observer): ${describeThrown(error)}`,
    );
  }
}
