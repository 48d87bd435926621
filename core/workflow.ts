import type { CheckpointStore } from "./checkpoint.ts";
import { checkWorkflowId, decodeRun } from "./checkpoint.ts";
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import type { StateEntry, WorkflowDefinition } from "./definition.ts";
import { CanoError, describeThrown } from "./errors.ts";
import type { Observer } from "./events.ts";
import type { WorkflowGraph } from "./graph.ts";
import { buildGraph, graphToMermaid } from "./graph.ts";
import type { Random } from "./random.ts";
import { createCryptoRandom, randomId } from "./random.ts";
import { rehydrate } from "./resume.ts";
import type { OrchestrateOptions, ResumeOptions } from "./run.ts";
import { executeRun } from "./run.ts";
import type { SagaStep } from "./saga.ts";
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
  /** A name for the workflow, stamped on checkpoint rows so stores can list runs per workflow. */
  readonly name?: string;
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
  readonly #name: string | undefined;
  #clock: Clock;
  #totalTimeoutMs: number | undefined;
  #compensationTimeoutMs: number | undefined;
  #checkpointStore: CheckpointStore | undefined;
  #workflowId: string | undefined;
  #version = 0;
  /** Cached result of the structural checks; cleared by every builder call. */
  #problems: string[] | undefined;
  /** What runs read, built once after the last builder call rather than per run. */
  #built: WorkflowDefinition<TResources> | undefined;

  constructor(options: WorkflowOptions<TResources> = {}) {
    this.#store = options.store ?? new MemoryStore();
    this.#resources = options.resources ?? ({} as TResources);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? createCryptoRandom();
    this.#name = options.name;
  }

  /** Runs `task` when the machine enters `state`; replaces any task registered there before. */
  register<TTo extends TState>(state: TState, task: Task<TTo, TResources>): this {
    return this.#put(state, { kind: "single", task, taskId: task?.name ?? state });
  }

  /** Like {@link register}, for a read-only branch: no checkpoint row is written for it. */
  registerRouter<TTo extends TState>(state: TState, router: Task<TTo, TResources>): this {
    return this.#put(state, { kind: "router", task: router, taskId: router?.name ?? state });
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
    if (typeof options !== "object" || options === null) {
      throw new CanoError(
        "configuration",
        `Workflow: registerSplit("${state}") expects options { strategy, joinState }, received ${describeThrown(options)}`,
      );
    }
    this.#checkName(options.joinState, `registerSplit("${state}") joinState:`);
    const taskIds = tasks.map((task, index) => `${task?.name ?? state}[${index}]`);
    return this.#put(state, { kind: "split", split: { ...options, tasks: [...tasks], taskIds } });
  }

  /**
   * Runs a saga step when the machine enters `state`. Once the step has succeeded, a later failure
   * (an error, a timeout, a cancellation) runs its `compensate` with its output, newest step first.
   */
  registerWithCompensation<TTo extends TState, TOutput>(
    state: TState,
    step: SagaStep<TTo, TOutput, TResources>,
  ): this {
    // Outputs only ever come back from this step's own run (or its checkpoint rows): the erasure is safe.
    const erased = step as unknown as SagaStep<string, unknown, TResources>;
    return this.#put(state, { kind: "saga", step: erased, taskId: step?.name ?? state });
  }

  /** Marks states as exits: reaching one ends the run and `orchestrate` returns it. */
  exit(...states: TState[]): this {
    for (const state of states) this.#exits.add(this.#checkName(state, "exit"));
    return this.#changed();
  }

  /** @internal The resources object, so the `Scheduler` can set it up once for many runs. */
  get resources(): TResources {
    return this.#resources;
  }

  /** Adds an observer of every run's events (after those added before). */
  withObserver(observer: ObserverLike): this {
    this.#observers.push(typeof observer === "function" ? observer : (event) => observer.observe(event));
    return this.#changed();
  }

  /** Bounds each whole run; a run past it fails with `workflow_timeout`. */
  withTotalTimeout(ms: number): this {
    this.#totalTimeoutMs = positiveMs(ms, "withTotalTimeout");
    return this.#changed();
  }

  /** Budget for rolling back when a total timeout is set. Default: min(total / 2, 30 s). */
  withCompensationTimeout(ms: number): this {
    this.#compensationTimeoutMs = positiveMs(ms, "withCompensationTimeout");
    return this.#changed();
  }

  /**
   * Records every run in `store`: a row before each state's task, saga outputs and cursors, so a
   * run that stopped part-way can continue with {@link resumeFrom}. Runs then need a workflow id.
   */
  withCheckpointStore(store: CheckpointStore): this {
    this.#checkpointStore = store;
    return this.#changed();
  }

  /** The checkpoint store runs are recorded in, if one was attached. */
  get checkpointStore(): CheckpointStore | undefined {
    return this.#checkpointStore;
  }

  /** The workflow id runs use when `orchestrate` is given none. */
  withWorkflowId(workflowId: string): this {
    this.#workflowId = workflowIdFor(workflowId, "withWorkflowId");
    return this;
  }

  /** Stamps checkpoint rows; `resumeFrom` refuses a run checkpointed by another version. Default 0. */
  withWorkflowVersion(version: number): this {
    if (!(Number.isInteger(version) && version >= 0)) {
      throw new CanoError(
        "configuration",
        `Workflow: withWorkflowVersion expects an integer ≥ 0, received ${String(version)}`,
      );
    }
    this.#version = version;
    return this.#changed();
  }

  /** Replaces the clock used for every delay, timeout and timestamp (e.g. a `VirtualClock` in tests). */
  withClock(clock: Clock): this {
    this.#clock = clock;
    return this.#changed();
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
  orchestrate(initial: TState, options: OrchestrateOptions = {}): Promise<TState> {
    // Not `async`: a parked run keeps one frame fewer. Errors are still returned as rejections.
    try {
      return this.#orchestrate(initial, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #orchestrate(initial: TState, options: OrchestrateOptions): Promise<TState> {
    throwIfProblems(this.#structuralProblems());
    const definition = this.#definition();
    throwIfProblems(initialStateProblems(definition, initial, false));
    const explicitId = options.workflowId ?? this.#workflowId;
    if (explicitId === undefined && definition.durability !== undefined) {
      throw new CanoError(
        "checkpoint_store",
        "Workflow: checkpointing requires a workflow id, so the run can be resumed: pass orchestrate(initial, { workflowId }) or call withWorkflowId(id)",
      );
    }
    const workflowId = explicitId === undefined ? randomId() : workflowIdFor(explicitId, "orchestrate");
    return executeRun(definition, initial, workflowId, options) as Promise<TState>;
  }

  /**
   * Continues a run from its checkpoint log: the last recorded state's task runs again (tasks at and
   * after it must be idempotent; `ctx.workflowId` + state make a good key), completed saga steps
   * are still compensated if it fails, and stepped/stream tasks pick up from their last cursor.
   * The key-value store is not part of the checkpoint: data that must survive a crash belongs in a
   * durable store (pass one as `store`).
   */
  async resumeFrom(workflowId: string, options: ResumeOptions = {}): Promise<TState> {
    const store = this.#checkpointStore;
    if (store === undefined) {
      throw new CanoError(
        "configuration",
        "Workflow: resumeFrom needs a checkpoint store; call withCheckpointStore(store)",
      );
    }
    workflowIdFor(workflowId, "resumeFrom");
    throwIfProblems(this.#structuralProblems());
    let raw: readonly unknown[];
    try {
      raw = await store.loadRun(workflowId);
    } catch (error) {
      throw new CanoError(
        "checkpoint_store",
        `Workflow: loading run "${workflowId}" failed: ${describeThrown(error)}`,
        {
          cause: error,
          workflowId,
        },
      );
    }
    const definition = this.#definition();
    const known = [...definition.states.keys(), ...definition.exits];
    const point = rehydrate(
      workflowId,
      decodeRun(raw, workflowId),
      { version: this.#version, name: this.#name },
      known,
    );
    return (await executeRun(definition, point.state, workflowId, options, point)) as TState;
  }

  #put(state: TState, entry: StateEntry<TResources>): this {
    const given =
      entry.kind === "split" ? entry.split.tasks : [entry.kind === "saga" ? entry.step?.forward : entry.task];
    for (const task of given) {
      if (typeof task?.execute !== "function") {
        throw new CanoError(
          "configuration",
          `Workflow: state "${state}" was given ${describeThrown(task)} instead of a task; build one with task(), node(), saga(), …`,
        );
      }
    }
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
    this.#built = undefined;
    return this;
  }

  #structuralProblems(): string[] {
    this.#problems ??= structuralProblems(this.#definition());
    return this.#problems;
  }

  #definition(): WorkflowDefinition<TResources> {
    this.#built ??= {
      states: this.#states,
      exits: this.#exits,
      observers: this.#observers,
      sagaSteps: this.#sagaSteps(),
      totalTimeoutMs: this.#totalTimeoutMs,
      compensationTimeoutMs: this.#compensationTimeoutMs,
      durability:
        this.#checkpointStore === undefined
          ? undefined
          : { store: this.#checkpointStore, version: this.#version, name: this.#name },
      clock: this.#clock,
      random: this.#random,
      store: this.#store,
      resources: this.#resources,
      learnedEdges: this.#learnedEdges,
      reportObserverError: (observer, error) => this.#reportObserverError(observer, error),
    };
    return this.#built;
  }

  #sagaSteps(): Map<string, SagaStep<string, unknown, TResources>> {
    const steps = new Map<string, SagaStep<string, unknown, TResources>>();
    for (const entry of this.#states.values()) if (entry.kind === "saga") steps.set(entry.taskId, entry.step);
    return steps;
  }

  #reportObserverError(observer: Observer, error: unknown): void {
    if (this.#reported.has(observer)) return;
    this.#reported.add(observer);
    console.error(
      `Cano: an observer threw and was isolated (reported once per observer): ${describeThrown(error)}`,
    );
  }
}

function positiveMs(ms: number, method: string): number {
  if (!(Number.isFinite(ms) && ms > 0)) {
    throw new CanoError(
      "configuration",
      `Workflow: ${method} expects milliseconds > 0, received ${String(ms)}`,
    );
  }
  return ms;
}

/** A workflow id given to the builder or a run, checked like the stores check theirs. */
function workflowIdFor(workflowId: unknown, method: string): string {
  checkWorkflowId(workflowId, `Workflow.${method}`, "configuration");
  return workflowId;
}
