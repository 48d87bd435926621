import type { BackoffPolicy } from "./backoff.ts";
import { backoffPolicy, defaultBackoff } from "./backoff.ts";
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { CanoError, describeThrown, isCanoError } from "./errors.ts";
import type { Random } from "./random.ts";
import { createCryptoRandom } from "./random.ts";
import { setupResources, teardownResources } from "./resources.ts";
import type { OrchestrateOptions } from "./run.ts";
import type { FlowSpec } from "./scheduler-planning.ts";
import type { RunningScheduler, RunningSettings } from "./scheduler-running.ts";
import { defaultRunId, RunningFlows } from "./scheduler-running.ts";
import type { SchedulerEvent } from "./scheduler-status.ts";
import { didYouMean } from "./suggest.ts";
import type { Trigger } from "./trigger.ts";
import { checkIntervalMs, every as everyTrigger, manual as manualTrigger } from "./trigger.ts";
import type { Workflow } from "./workflow.ts";

/** What a {@link Scheduler} is built with; everything is optional. */
export interface SchedulerOptions {
  /** Source of time for every wait, backoff window and timestamp. Default: `systemClock`. */
  readonly clock?: Clock;
  /**
   * Source of backoff jitter, uniform in [0, 1). Default: batched `crypto.getRandomValues`. One that
   * throws or answers outside [0, 1) gives no jitter (0.5), reported once on `console.error`.
   */
  readonly random?: Random;
  /** The backoff policy of flows not given one with `backoff(id, policy)`. Default: {@link defaultBackoff}. */
  readonly backoff?: BackoffPolicy;
  /** Receives the scheduler's own events (`flow_start`, `flow_skipped`, …); a throw is isolated. */
  readonly onEvent?: (event: SchedulerEvent) => void;
  /**
   * The workflow id of a flow's `run`-th run (1-based, counted in this process) started at `at`.
   * Default `<flowId>:<run>-<8 random hex digits>`, e.g. `sync:3-9f2c41d0`: unique across processes,
   * so a new process never meets the kept checkpoint log of an earlier process's failed run. A
   * custom id must be as unique: `run` restarts at 1 in every process and catch-up runs may start
   * in the same millisecond, so neither `run` nor `at` is enough on its own.
   */
  readonly runId?: (flowId: string, run: number, at: number) => string;
  /**
   * The longest single wait before the scheduler re-reads the clock. Timers of a suspended process
   * or a background tab fire late, so long waits are checked in chunks. Default 30 000.
   */
  readonly maxWaitMs?: number;
}

/** A registered flow before start. */
interface Registration extends FlowSpec {
  /** Throws the `configuration` error a run would throw: structural problems or an unknown initial state. */
  readonly validate: () => void;
  /** Where a trigger with `restore` reads its last fire time. */
  readonly restore: Trigger["restore"];
}

const defaultMaxWaitMs = 30_000;

/**
 * Runs workflows on schedules (reference §10): every flow has an id, a workflow with its initial
 * state and a {@link Trigger}. `start()` validates every flow, sets each workflow's resources up once
 * for all its runs and returns a {@link RunningScheduler}. A flow never runs twice at once; failures
 * back off (and may trip) by the flow's {@link BackoffPolicy}. Each run gets its own workflow id,
 * `<flowId>:<run>-<8 random hex digits>`, so a checkpointed run that failed keeps its log under its
 * own id, also after a restart.
 *
 * @example
 * const scheduler = new Scheduler<"fetch" | "done">({ onEvent: console.log })
 *   .every("sync", syncWorkflow, "fetch", 60_000)       // at start, then 60 s after each run ends
 *   .manual("reindex", reindexWorkflow, "fetch")         // only when triggered
 *   .backoff("sync", backoffPolicy({ trip: 5 }));
 * const running = await scheduler.start();
 * running.trigger("reindex");
 * console.log(running.list());
 * await running.stop();
 */
export class Scheduler<TState extends string = string> {
  readonly #flows = new Map<string, Registration>();
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #backoff: BackoffPolicy;
  readonly #onEvent: ((event: SchedulerEvent) => void) | undefined;
  readonly #runId: (flowId: string, run: number, at: number) => string;
  readonly #maxWaitMs: number;
  #started = false;

  constructor(options: SchedulerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? createCryptoRandom();
    this.#backoff = options.backoff === undefined ? defaultBackoff : backoffPolicy(options.backoff);
    this.#onEvent = options.onEvent;
    this.#runId = options.runId ?? defaultRunId;
    const maxWaitMs = options.maxWaitMs ?? defaultMaxWaitMs;
    if (!(Number.isFinite(maxWaitMs) && maxWaitMs > 0)) {
      throw new CanoError(
        "configuration",
        `Scheduler: maxWaitMs must be a finite number of milliseconds > 0, received ${String(maxWaitMs)}`,
      );
    }
    this.#maxWaitMs = maxWaitMs;
  }

  /** Runs the flow at start, then `intervalMs` after each run ends (fixed delay). */
  every<TFlowState extends TState, TResources>(
    id: string,
    workflow: Workflow<TFlowState, TResources>,
    initial: TFlowState,
    intervalMs: number,
  ): this {
    checkIntervalMs(intervalMs, `Scheduler: every(${describeThrown(id)})`);
    return this.add(id, workflow, initial, everyTrigger(intervalMs));
  }

  /** Registers a flow that runs only when `trigger(id)` is called on the running scheduler. */
  manual<TFlowState extends TState, TResources>(
    id: string,
    workflow: Workflow<TFlowState, TResources>,
    initial: TFlowState,
  ): this {
    return this.add(id, workflow, initial, manualTrigger());
  }

  /** Registers a flow fired by any {@link Trigger} (`every()`, `manual()`, `cron()` from `cano/cron`, …). */
  add<TFlowState extends TState, TResources>(
    id: string,
    workflow: Workflow<TFlowState, TResources>,
    initial: TFlowState,
    trigger: Trigger,
  ): this {
    this.#checkNotStarted("add");
    if (typeof id !== "string" || id === "") {
      throw configuration(`flow ids must be non-empty strings, received ${describeThrown(id)}`);
    }
    if (this.#flows.has(id)) {
      throw configuration(`flow "${id}" already exists; give every flow its own id`);
    }
    if (typeof workflow?.orchestrate !== "function") {
      throw configuration(`flow "${id}" was given ${describeThrown(workflow)} instead of a Workflow`);
    }
    if (typeof trigger?.next !== "function" || typeof trigger.description !== "string") {
      throw configuration(
        `flow "${id}" was given ${describeThrown(trigger)} as its trigger; expected a Trigger with a description and next(), e.g. every(ms), manual() or cron(expr)`,
      );
    }
    this.#flows.set(id, {
      id,
      trigger,
      policy: this.#backoff,
      resources: workflow.resources as object,
      run: (options: OrchestrateOptions) => workflow.orchestrate(initial, options),
      validate: () => {
        workflow.validate();
        const states = workflow.graph().nodes.map((node) => node.id);
        if (!states.includes(initial)) {
          throw new CanoError(
            "configuration",
            `initial state "${initial}" is neither registered nor an exit state of its workflow.${didYouMean(String(initial), states)}`,
          );
        }
      },
      restore: trigger.restore?.bind(trigger),
    });
    return this;
  }

  /** Replaces the flow's {@link BackoffPolicy} (validated), e.g. `backoffPolicy({ trip: 3 })`. */
  backoff(id: string, policy: BackoffPolicy): this {
    this.#checkNotStarted("backoff");
    const flow = this.#flows.get(id);
    if (flow === undefined) {
      throw configuration(
        `backoff(${describeThrown(id)}) names no registered flow; register it first.${didYouMean(String(id), [...this.#flows.keys()])}`,
      );
    }
    let checked: BackoffPolicy;
    try {
      checked = backoffPolicy(policy);
    } catch (error) {
      throw configuration(`backoff("${id}"): ${(error as Error).message}`, error);
    }
    this.#flows.set(id, { ...flow, policy: checked });
    return this;
  }

  /** Whether a flow with this id is registered. */
  has(id: string): boolean {
    return this.#flows.has(id);
  }

  /** How many flows are registered. */
  get size(): number {
    return this.#flows.size;
  }

  /**
   * Validates every flow (a bad one is a `configuration` error naming it), asks triggers with
   * `restore` for their last fire time, sets every workflow's resources up once in registration order
   * (tearing those already set up down, last first, if one fails), then starts the triggers: an
   * `every` flow runs at once. Call it once; it may be called again after it failed.
   */
  async start(): Promise<RunningScheduler> {
    this.#checkNotStarted("start");
    this.#started = true;
    try {
      const flows = [...this.#flows.values()];
      for (const flow of flows) {
        try {
          flow.validate();
        } catch (error) {
          const reason = error instanceof Error ? error.message : describeThrown(error);
          throw configuration(`flow "${flow.id}" cannot run: ${reason}`, error);
        }
      }
      const restored = await this.#restore(flows);
      const held = await this.#setUp(flows);
      const settings: RunningSettings = {
        clock: this.#clock,
        random: this.#random,
        emit: this.#emitter(),
        runId: this.#runId,
        maxWaitMs: this.#maxWaitMs,
        held,
        restored,
      };
      const running = new RunningFlows(flows, settings);
      running.begin();
      return running;
    } catch (error) {
      this.#started = false;
      throw error;
    }
  }

  async #restore(flows: readonly Registration[]): Promise<Map<string, number>> {
    const restored = new Map<string, number>();
    for (const { id, trigger, restore } of flows) {
      if (restore === undefined) continue;
      let at: unknown;
      try {
        at = await restore(id);
      } catch (error) {
        throw new CanoError(
          isCanoError(error) ? error.code : "store",
          `Scheduler: restoring the last fire time of flow "${id}" (${trigger.description}) failed: ${describeThrown(error)}`,
          { cause: error },
        );
      }
      if (at === undefined) continue;
      if (typeof at !== "number" || !Number.isFinite(at)) {
        throw configuration(
          `the trigger of flow "${id}" (${trigger.description}) restored ${describeThrown(at)}; expected a time in ms or undefined`,
        );
      }
      restored.set(id, at);
    }
    return restored;
  }

  /** Sets each distinct resources object up once, in registration order; on failure, undoes the others. */
  async #setUp(flows: readonly Registration[]): Promise<RunningSettings["held"]> {
    const held: Array<{ readonly resources: object; readonly count: number }> = [];
    for (const { id, resources } of flows) {
      // Flows sharing a workflow (or a resources object) share its one setup.
      if (held.some((entry) => entry.resources === resources)) continue;
      try {
        held.push({ resources, count: await setupResources(resources) });
      } catch (error) {
        for (const entry of [...held].reverse()) await teardownResources(entry.resources, entry.count);
        throw new CanoError(
          "resource",
          `Scheduler: setting up the resources of flow "${id}" failed: ${describeThrown(error)}`,
          { cause: error },
        );
      }
    }
    return held;
  }

  #emitter(): (event: SchedulerEvent) => void {
    const onEvent = this.#onEvent;
    if (onEvent === undefined) return () => {};
    let reported = false;
    return (event) => {
      try {
        onEvent(event);
      } catch (error) {
        if (reported) return;
        reported = true;
        console.error(
          `Cano: the scheduler's onEvent threw and was isolated (reported once): ${describeThrown(error)}`,
        );
      }
    };
  }

  #checkNotStarted(method: string): void {
    if (this.#started) {
      throw configuration(
        `${method}() after start(): the scheduler was already started; register flows before start(), and steer them through the handle start() returned`,
      );
    }
  }
}

function configuration(message: string, cause?: unknown): CanoError {
  return new CanoError("configuration", `Scheduler: ${message}`, cause === undefined ? {} : { cause });
}
