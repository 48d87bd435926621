import type { Clock } from "./clock.ts";
import type { CanoErrorJson } from "./errors.ts";
import { CanoError, describeThrown, toCanoError } from "./errors.ts";
import type { Random } from "./random.ts";
import { randomId } from "./random.ts";
import { teardownResources } from "./resources.ts";
import type { Flow, FlowSpec } from "./scheduler-planning.ts";
import { Planner } from "./scheduler-planning.ts";
import type { FlowInfo, RunCause, SchedulerEvent, SkipReason } from "./scheduler-status.ts";
import { blockedBy, decideOutcome } from "./scheduler-status.ts";
import { didYouMean } from "./suggest.ts";

/** Options of {@link RunningScheduler.stop}. */
export interface StopOptions {
  /** How long to wait for cancelled runs (and their saga rollbacks) to end, on the scheduler's clock. Default 30 000. */
  readonly timeoutMs?: number;
}

/** What {@link RunningScheduler.stop} did. Plain JSON. */
export interface StopResult {
  /**
   * Flows whose run had not ended, or whose last fire time was not saved yet, when the wait ran out;
   * their resources were torn down anyway.
   */
  readonly timedOut: readonly string[];
  /** Resource teardowns that failed, in teardown order (last flow first). */
  readonly teardownErrors: readonly CanoErrorJson[];
}

/**
 * The handle `Scheduler.start()` returns: flows are running on their triggers; steer them by id.
 * Unknown ids are `configuration` errors; refused commands are `workflow` errors. Commands may be
 * called from `onEvent`: events go out after the change they report, so the flow's status is current.
 *
 * @example
 * const running = await scheduler.start();
 * const runId = running.trigger("reindex");              // "reindex:1-3f9c2a7b"
 * const info = running.status("sync");
 * if (info.status === "tripped") running.reset("sync");  // after fixing what broke
 * const { timedOut } = await running.stop({ timeoutMs: 10_000 });
 */
export interface RunningScheduler {
  /**
   * Starts a run of the flow now, even inside a backoff window, and returns its workflow id.
   * Refused while the flow is running or tripped (`reset` it first) and once stopping.
   */
  trigger(id: string): string;
  /**
   * Cancels the flow's run through its `AbortSignal` (its saga rolls back); once it ends the flow is
   * idle, or backing off if the rollback failed (a failure). True if this call cancelled a run; false
   * if none was running or it was already cancelled and is still ending.
   */
  cancel(id: string): boolean;
  /**
   * Clears the failure streak and any backoff window and asks the trigger again; the flow becomes
   * idle unless it is running. Refused once stopping, as nothing is planned any more.
   */
  reset(id: string): void;
  /** The flow's status and counters. */
  status(id: string): FlowInfo;
  /** Every flow's status and counters, in registration order. */
  list(): FlowInfo[];
  /**
   * Stops firing, cancels the runs in progress so their sagas roll back, waits up to `timeoutMs` for
   * them and for the last fire times being saved, then tears every flow's resources down, last set
   * up first. Idempotent: later calls return the first call's result.
   */
  stop(options?: StopOptions): Promise<StopResult>;
}

/** @internal What the running scheduler is built with. */
export interface RunningSettings {
  readonly clock: Clock;
  readonly random: Random;
  readonly emit: (event: SchedulerEvent) => void;
  readonly runId: (flowId: string, run: number, at: number) => string;
  readonly maxWaitMs: number;
  /** Resources objects that were set up, in setup order, each with the count to tear down. */
  readonly held: ReadonlyArray<{ readonly resources: object; readonly count: number }>;
  /** Last fire times returned by `Trigger.restore`, by flow id. */
  readonly restored: ReadonlyMap<string, number>;
}

/** @internal The default workflow id of a flow's `run`-th run: unique across processes and within a millisecond. */
export function defaultRunId(flowId: string, run: number): string {
  return `${flowId}:${run}-${randomId().slice(0, 8)}`;
}

const defaultStopTimeoutMs = 30_000;

/** @internal The running scheduler: one wait per flow on the clock, no command queue needed. */
export class RunningFlows implements RunningScheduler {
  readonly #flows = new Map<string, Flow>();
  readonly #settings: RunningSettings;
  readonly #planner: Planner;
  #closed = false;
  #stopped: Promise<StopResult> | undefined;
  #randomReported = false;

  constructor(specs: readonly FlowSpec[], settings: RunningSettings) {
    this.#settings = settings;
    this.#planner = new Planner({
      clock: settings.clock,
      maxWaitMs: settings.maxWaitMs,
      emit: settings.emit,
      isClosed: () => this.#closed,
      startRun: (flow, cause) => this.#startRun(flow, cause),
    });
    for (const spec of specs) {
      this.#flows.set(spec.id, {
        ...spec,
        status: { status: "idle" },
        streak: 0,
        runs: 0,
        failures: 0,
        cancelled: 0,
        skipped: 0,
        lastRunId: undefined,
        lastRunAt: undefined,
        lastEndAt: undefined,
        lastFireAt: settings.restored.get(spec.id),
        nextFireAt: undefined,
        owed: 0,
        controller: undefined,
        inFlight: undefined,
        cancelTimer: undefined,
        waking: false,
        saving: undefined,
        unsaved: undefined,
      });
    }
  }

  /** @internal Plans every flow's first wake-up; one due now (an `every` flow) fires at once. */
  begin(): void {
    for (const flow of this.#flows.values()) this.#planner.plan(flow);
  }

  trigger(id: string): string {
    const flow = this.#flow(id, "trigger");
    if (this.#closed) throw refused(`trigger("${id}") was refused: ${stopping}`);
    if (flow.status.status === "running") {
      throw refused(
        `trigger("${id}") was refused: run "${flow.lastRunId}" is still going; a flow never runs twice at once. Wait for it, or cancel("${id}") it first`,
      );
    }
    if (flow.status.status === "tripped") {
      throw refused(
        `trigger("${id}") was refused: the flow is tripped after ${flow.status.streak} failure(s) in a row (last: ${flow.status.lastError.message}); call reset("${id}") first`,
      );
    }
    const runId = this.#startRun(flow, "manual");
    if (runId === undefined) throw refused(`trigger("${id}") was refused: the flow cannot start a run now`);
    this.#planner.plan(flow);
    return runId;
  }

  cancel(id: string): boolean {
    const flow = this.#flow(id, "cancel");
    const { controller } = flow;
    if (controller === undefined || controller.signal.aborted) return false;
    controller.abort(new CanoError("cancelled", `Scheduler: flow "${id}" was cancelled`));
    return true;
  }

  reset(id: string): void {
    const flow = this.#flow(id, "reset");
    if (this.#closed) throw refused(`reset("${id}") was refused: ${stopping}`);
    flow.streak = 0;
    if (flow.status.status !== "running") flow.status = { status: "idle" };
    this.#planner.plan(flow);
  }

  status(id: string): FlowInfo {
    return info(this.#flow(id, "status"));
  }

  list(): FlowInfo[] {
    return [...this.#flows.values()].map(info);
  }

  stop(options: StopOptions = {}): Promise<StopResult> {
    if (this.#stopped !== undefined) return this.#stopped;
    const timeoutMs = options.timeoutMs ?? defaultStopTimeoutMs;
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
      return Promise.reject(
        new CanoError(
          "configuration",
          `Scheduler: stop expects timeoutMs to be a finite number of milliseconds ≥ 0, received ${String(timeoutMs)}`,
        ),
      );
    }
    this.#stopped = this.#shutDown(timeoutMs);
    return this.#stopped;
  }

  async #shutDown(timeoutMs: number): Promise<StopResult> {
    this.#closed = true;
    const pending: Promise<void>[] = [];
    for (const flow of this.#flows.values()) {
      flow.cancelTimer?.();
      flow.cancelTimer = undefined;
      flow.nextFireAt = undefined;
      flow.owed = 0;
      flow.controller?.abort(new CanoError("cancelled", "Scheduler: the scheduler is stopping"));
      // Nothing fires once closed, so no save starts after this: the chains in progress are the last.
      if (flow.inFlight !== undefined) pending.push(flow.inFlight);
      if (flow.saving !== undefined) pending.push(flow.saving);
    }
    if (pending.length > 0) await this.#settledWithin(pending, timeoutMs);
    const timedOut = [...this.#flows.values()]
      .filter((flow) => flow.inFlight !== undefined || flow.saving !== undefined)
      .map((flow) => flow.id);
    const teardownErrors: CanoErrorJson[] = [];
    for (const { resources, count } of [...this.#settings.held].reverse()) {
      for (const error of await teardownResources(resources, count)) teardownErrors.push(error.toJSON());
    }
    return { timedOut, teardownErrors };
  }

  /** Resolves once every promise settled or `timeoutMs` passed on the clock, whichever comes first. */
  #settledWithin(promises: readonly Promise<void>[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const cancelTimer = this.#settings.clock.schedule(timeoutMs, resolve);
      void Promise.all(promises).then(() => {
        cancelTimer();
        resolve();
      });
    });
  }

  #flow(id: string, method: string): Flow {
    const flow = this.#flows.get(id);
    if (flow !== undefined) return flow;
    throw new CanoError(
      "configuration",
      `Scheduler: ${method}(${describeThrown(id)}) names no registered flow.${didYouMean(String(id), [...this.#flows.keys()])}`,
    );
  }

  /**
   * Starts a run and returns its workflow id, or `undefined` without doing anything when the flow is
   * running or tripped or the scheduler is stopping: checked here, right before the start, as an
   * `onEvent` handler may have started a run in between. `flow_start` goes out once the run is going.
   */
  #startRun(flow: Flow, cause: RunCause): string | undefined {
    if (this.#closed || flow.status.status === "running" || flow.status.status === "tripped")
      return undefined;
    const startedAt = this.#now();
    const run = ++flow.runs;
    let runId = defaultRunId(flow.id, run);
    let badId: CanoError | undefined;
    try {
      const made: unknown = this.#settings.runId(flow.id, run, startedAt);
      if (typeof made !== "string" || made === "") throw new Error(`returned ${describeThrown(made)}`);
      runId = made;
    } catch (error) {
      badId = new CanoError(
        "configuration",
        `Scheduler: the runId option failed for flow "${flow.id}": ${describeThrown(error)}; expected a non-empty string`,
        { cause: error },
      );
    }
    const controller = new AbortController();
    flow.status = { status: "running" };
    flow.lastRunId = runId;
    flow.lastRunAt = startedAt;
    flow.controller = controller;
    let running: Promise<unknown>;
    try {
      running =
        badId === undefined
          ? flow.run({ signal: controller.signal, workflowId: runId, resourcesHeld: true })
          : Promise.reject(badId);
    } catch (error) {
      running = Promise.reject(error);
    }
    flow.inFlight = running.then(
      () => this.#ended(flow, runId, startedAt, undefined),
      (error: unknown) =>
        this.#ended(flow, runId, startedAt, toCanoError(error, `Scheduler: flow "${flow.id}"`)),
    );
    this.#emit({ type: "flow_start", at: startedAt, flowId: flow.id, runId, cause });
    return runId;
  }

  /** Applies a run's outcome, runs an owed catch-up or counts it skipped, and plans the next wake-up. */
  #ended(flow: Flow, runId: string, startedAt: number, error: CanoError | undefined): void {
    const now = this.#now();
    flow.controller = undefined;
    flow.inFlight = undefined;
    flow.lastEndAt = now;
    const decision = decideOutcome(error, flow.streak, flow.policy, now, this.#random());
    flow.streak = decision.streak;
    flow.status = decision.status;
    if (decision.outcome === "failed") flow.failures++;
    if (decision.outcome === "cancelled") flow.cancelled++;
    const owed = this.#closed ? 0 : flow.owed;
    flow.owed = 0;
    this.#emit({
      type: "flow_end",
      at: now,
      flowId: flow.id,
      runId,
      outcome: decision.outcome,
      durationMs: now - startedAt,
      ...(error === undefined ? {} : { error: error.toJSON() }),
    });
    const { status } = decision;
    if (status.status === "backoff") {
      const { until, streak } = status;
      this.#emit({
        type: "flow_backoff",
        at: now,
        flowId: flow.id,
        until,
        streak,
        delayMs: decision.delayMs ?? 0,
      });
    } else if (status.status === "tripped") {
      const { streak, lastError } = status;
      this.#emit({ type: "flow_tripped", at: now, flowId: flow.id, streak, error: lastError });
    }
    if (owed > 0) {
      // Re-checked by #startRun: an onEvent handler may have triggered, reset or stopped the flow.
      flow.owed = owed - 1;
      const started = decision.outcome === "completed" && this.#startRun(flow, "catch-up") !== undefined;
      if (!started) {
        flow.owed = 0;
        const reason: SkipReason =
          status.status === "backoff" || status.status === "tripped"
            ? status.status
            : (blockedBy(flow.status, this.#now()) ?? "cancelled");
        this.#planner.skip(flow, owed, reason, startedAt);
      }
    }
    this.#planner.plan(flow);
  }

  /** The `random` option's next number; one that throws or leaves [0, 1) gives 0.5 (no jitter), reported once. */
  #random(): number {
    let value: unknown;
    try {
      value = this.#settings.random();
      if (typeof value === "number" && value >= 0 && value < 1) return value;
    } catch (error) {
      value = error;
    }
    if (!this.#randomReported) {
      this.#randomReported = true;
      console.error(
        `Cano: the scheduler's random option failed (${describeThrown(value)}); backoff waits have no jitter (reported once)`,
      );
    }
    return 0.5;
  }

  #now(): number {
    return this.#settings.clock.now();
  }

  #emit(event: SchedulerEvent): void {
    this.#settings.emit(event);
  }
}

const stopping = "the scheduler is stopping or has stopped";

function refused(message: string): CanoError {
  return new CanoError("workflow", `Scheduler: ${message}`);
}

function info(flow: Flow): FlowInfo {
  return {
    ...flow.status,
    id: flow.id,
    trigger: flow.trigger.description,
    streak: flow.streak,
    runs: flow.runs,
    failures: flow.failures,
    cancelled: flow.cancelled,
    skipped: flow.skipped,
    ...(flow.lastRunId === undefined ? {} : { lastRunId: flow.lastRunId }),
    ...(flow.lastRunAt === undefined ? {} : { lastRunAt: flow.lastRunAt }),
    ...(flow.nextFireAt === undefined ? {} : { nextFireAt: flow.nextFireAt }),
  };
}
