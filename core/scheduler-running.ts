import type { BackoffPolicy } from "./backoff.ts";
import type { CancelTimer, Clock } from "./clock.ts";
import type { CanoErrorJson } from "./errors.ts";
import { CanoError, describeThrown, isCanoError, toCanoError } from "./errors.ts";
import type { Random } from "./random.ts";
import { teardownResources } from "./resources.ts";
import type { OrchestrateOptions } from "./run.ts";
import type { FlowInfo, FlowStatus, RunCause, SchedulerEvent, SkipReason } from "./scheduler-status.ts";
import { blockedBy, decideOutcome } from "./scheduler-status.ts";
import { didYouMean } from "./suggest.ts";
import type { Trigger, TriggerContext } from "./trigger.ts";
import { checkedNext, plannedUntil } from "./trigger.ts";

/** Options of {@link RunningScheduler.stop}. */
export interface StopOptions {
  /** How long to wait for cancelled runs (and their saga rollbacks) to end, on the scheduler's clock. Default 30 000. */
  readonly timeoutMs?: number;
}

/** What {@link RunningScheduler.stop} did. Plain JSON. */
export interface StopResult {
  /** Flows whose run had not ended when the wait ran out; their resources were torn down anyway. */
  readonly timedOut: readonly string[];
  /** Resource teardowns that failed, in teardown order (last flow first). */
  readonly teardownErrors: readonly CanoErrorJson[];
}

/**
 * The handle `Scheduler.start()` returns: flows are running on their triggers; steer them by id.
 * Unknown ids are `configuration` errors; refused commands are `workflow` errors.
 *
 * @example
 * const running = await scheduler.start();
 * const runId = running.trigger("reindex");              // "reindex:1"
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
  /** Cancels the flow's run through its `AbortSignal` (its saga rolls back); the flow goes back to idle. False if none was running. */
  cancel(id: string): boolean;
  /** Clears the failure streak and any backoff window; the flow becomes idle unless it is running. */
  reset(id: string): void;
  /** The flow's status and counters. */
  status(id: string): FlowInfo;
  /** Every flow's status and counters, in registration order. */
  list(): FlowInfo[];
  /**
   * Stops firing, cancels the runs in progress so their sagas roll back, waits for them up to
   * `timeoutMs`, then tears every flow's resources down, last set up first. Idempotent: later calls
   * return the first call's result.
   */
  stop(options?: StopOptions): Promise<StopResult>;
}

/** @internal A registered flow, as the builder hands it over. */
export interface FlowSpec {
  readonly id: string;
  readonly trigger: Trigger;
  readonly policy: BackoffPolicy;
  /** The workflow's resources object, set up once for all its runs. */
  readonly resources: object;
  /** Runs the workflow once from the flow's initial state. */
  readonly run: (options: OrchestrateOptions) => Promise<unknown>;
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

/** A flow's mutable state while the scheduler runs. */
interface Flow extends FlowSpec {
  status: FlowStatus;
  streak: number;
  runs: number;
  failures: number;
  cancelled: number;
  skipped: number;
  lastRunId: string | undefined;
  lastRunAt: number | undefined;
  lastEndAt: number | undefined;
  lastFireAt: number | undefined;
  nextFireAt: number | undefined;
  /** Catch-up runs still owed by the last wake-up; they run back to back while runs succeed. */
  owed: number;
  controller: AbortController | undefined;
  /** The run in progress, settled (never rejected) once its outcome has been applied. */
  inFlight: Promise<void> | undefined;
  cancelTimer: CancelTimer | undefined;
  /** True while a wake-up is handled, so a plan made from it waits for a timer instead of recursing. */
  waking: boolean;
}

const defaultStopTimeoutMs = 30_000;

/** @internal The running scheduler: one wait per flow on the clock, no command queue needed. */
export class RunningFlows implements RunningScheduler {
  readonly #flows = new Map<string, Flow>();
  readonly #settings: RunningSettings;
  #closed = false;
  #stopped: Promise<StopResult> | undefined;

  constructor(specs: readonly FlowSpec[], settings: RunningSettings) {
    this.#settings = settings;
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
      });
    }
  }

  /** @internal Plans every flow's first wake-up; one due now (an `every` flow) fires at once. */
  begin(): void {
    for (const flow of this.#flows.values()) this.#plan(flow);
  }

  trigger(id: string): string {
    const flow = this.#flow(id, "trigger");
    if (this.#closed) throw refused(`trigger("${id}") was refused: the scheduler is stopping`);
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
    this.#plan(flow);
    return runId;
  }

  cancel(id: string): boolean {
    const flow = this.#flow(id, "cancel");
    if (flow.controller === undefined) return false;
    flow.controller.abort(new CanoError("cancelled", `Scheduler: flow "${id}" was cancelled`));
    return true;
  }

  reset(id: string): void {
    const flow = this.#flow(id, "reset");
    flow.streak = 0;
    if (flow.status.status !== "running") flow.status = { status: "idle" };
    this.#plan(flow);
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
    const inFlight: Promise<void>[] = [];
    for (const flow of this.#flows.values()) {
      flow.cancelTimer?.();
      flow.cancelTimer = undefined;
      flow.nextFireAt = undefined;
      flow.owed = 0;
      flow.controller?.abort(new CanoError("cancelled", "Scheduler: the scheduler is stopping"));
      if (flow.inFlight !== undefined) inFlight.push(flow.inFlight);
    }
    if (inFlight.length > 0) await this.#settledWithin(inFlight, timeoutMs);
    const timedOut = [...this.#flows.values()].filter((flow) => flow.inFlight !== undefined).map((f) => f.id);
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

  /** Asks the trigger for the next planned time and waits for it, replacing any wait in progress. */
  #plan(flow: Flow): void {
    flow.cancelTimer?.();
    flow.cancelTimer = undefined;
    flow.nextFireAt = undefined;
    if (this.#closed) return;
    let at: number | undefined;
    try {
      at = checkedNext(
        flow.trigger,
        this.#context(flow, flow.status.status === "running", flow.lastFireAt),
        flow.id,
      );
    } catch (error) {
      this.#triggerFailed(flow, "next", error);
      return;
    }
    if (at === undefined) return;
    flow.nextFireAt = at;
    const { clock, maxWaitMs } = this.#settings;
    const check = () => {
      flow.cancelTimer = undefined;
      const remainingMs = at - clock.now();
      // Wait in bounded chunks and re-read the clock each time: timers of a suspended process or a
      // background tab fire late (or, after a clock change, early), and only the clock tells.
      if (remainingMs > 0) flow.cancelTimer = clock.schedule(Math.min(remainingMs, maxWaitMs), check);
      else this.#wake(flow, at);
    };
    if (at > clock.now() || !flow.waking) check();
    else flow.cancelTimer = clock.schedule(0, check);
  }

  /** Handles the wake-up for `planned`: lists the times that passed, lets the trigger decide, runs or skips. */
  #wake(flow: Flow, planned: number): void {
    flow.waking = true;
    try {
      const now = this.#settings.clock.now();
      const blocked = blockedBy(flow.status, now);
      const context = this.#context(flow, flow.status.status === "running" || blocked === undefined, planned);
      let listed: { readonly times: number[]; readonly truncated: boolean };
      try {
        listed = plannedUntil(flow.trigger, context, planned, flow.id);
      } catch (error) {
        this.#triggerFailed(flow, "next", error);
        return;
      }
      const { times, truncated } = listed;
      // A trigger whose onWake failed has tripped its flow: these times are skipped as for any tripped flow.
      const runs = blocked === undefined ? this.#runsFor(flow, times, now, truncated) : undefined;
      flow.lastFireAt = truncated ? now : times[times.length - 1]!;
      this.#save(flow, flow.lastFireAt);
      if (runs === undefined) this.#skip(flow, times.length, blocked ?? "tripped", planned);
      else {
        if (runs < times.length) this.#skip(flow, times.length - runs, "missed", planned);
        if (runs > 0) {
          flow.owed = runs - 1;
          this.#startRun(flow, "schedule");
        }
      }
      this.#plan(flow);
    } finally {
      flow.waking = false;
    }
  }

  /** The trigger's answer to `onWake`, clamped to [0, planned]; `undefined` when it failed (reported). */
  #runsFor(flow: Flow, planned: readonly number[], now: number, truncated: boolean): number | undefined {
    if (flow.trigger.onWake === undefined) return 1;
    let runs: unknown;
    try {
      runs = flow.trigger.onWake({ planned, now, truncated });
    } catch (error) {
      this.#triggerFailed(flow, "onWake", error);
      return undefined;
    }
    if (typeof runs !== "number" || Number.isNaN(runs)) {
      this.#triggerFailed(flow, "onWake", `returned ${describeThrown(runs)} instead of a number of runs`);
      return undefined;
    }
    return Math.min(Math.max(0, Math.floor(runs)), planned.length);
  }

  #context(flow: Flow, running: boolean, lastFireAt: number | undefined): TriggerContext {
    return {
      now: this.#settings.clock.now(),
      lastFireAt,
      lastEndAt: flow.lastEndAt,
      running,
      backoffUntil: flow.status.status === "backoff" ? flow.status.until : undefined,
    };
  }

  #save(flow: Flow, lastFireAt: number): void {
    if (flow.trigger.save === undefined) return;
    try {
      const saving = flow.trigger.save(lastFireAt);
      if (saving instanceof Promise) saving.catch((error: unknown) => this.#report(flow, "save", error));
    } catch (error) {
      this.#report(flow, "save", error);
    }
  }

  /** A trigger that cannot plan leaves its flow unable to fire: trip it, so `status` shows why. */
  #triggerFailed(flow: Flow, method: "next" | "onWake", error: unknown): void {
    const failure = this.#report(flow, method, error);
    flow.cancelTimer?.();
    flow.cancelTimer = undefined;
    flow.nextFireAt = undefined;
    if (flow.status.status === "running") return; // its end plans again, and fails again if still broken
    flow.status = { status: "tripped", streak: flow.streak, lastError: failure };
    this.#emit({
      type: "flow_tripped",
      at: this.#now(),
      flowId: flow.id,
      streak: flow.streak,
      error: failure,
    });
  }

  #report(flow: Flow, method: "next" | "onWake" | "save", error: unknown): CanoErrorJson {
    const failure = isCanoError(error)
      ? error
      : new CanoError(
          "configuration",
          `Scheduler: the trigger of flow "${flow.id}" (${flow.trigger.description}) failed in ${method}(): ${typeof error === "string" ? error : describeThrown(error)}`,
          { cause: error },
        );
    const json = failure.toJSON();
    this.#emit({ type: "trigger_failed", at: this.#now(), flowId: flow.id, method, error: json });
    return json;
  }

  #skip(flow: Flow, count: number, reason: SkipReason, plannedAt: number): void {
    flow.skipped += count;
    this.#emit({ type: "flow_skipped", at: this.#now(), flowId: flow.id, count, reason, plannedAt });
  }

  /** Starts a run (the caller made sure the flow may run) and returns its workflow id. */
  #startRun(flow: Flow, cause: RunCause): string {
    const startedAt = this.#now();
    const run = ++flow.runs;
    let runId = `${flow.id}:${run}`;
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
    this.#emit({ type: "flow_start", at: startedAt, flowId: flow.id, runId, cause });
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
    return runId;
  }

  /** Applies a run's outcome, runs an owed catch-up or counts it skipped, and plans the next wake-up. */
  #ended(flow: Flow, runId: string, startedAt: number, error: CanoError | undefined): void {
    const now = this.#now();
    flow.controller = undefined;
    flow.inFlight = undefined;
    flow.lastEndAt = now;
    const decision = decideOutcome(error, flow.streak, flow.policy, now, this.#settings.random());
    flow.streak = decision.streak;
    flow.status = decision.status;
    if (decision.outcome === "failed") flow.failures++;
    if (decision.outcome === "cancelled") flow.cancelled++;
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
    if (flow.owed > 0 && !this.#closed) {
      if (decision.outcome === "completed") {
        flow.owed--;
        this.#startRun(flow, "catch-up");
      } else {
        const reason: SkipReason =
          status.status === "backoff" || status.status === "tripped" ? status.status : "cancelled";
        this.#skip(flow, flow.owed, reason, startedAt);
        flow.owed = 0;
      }
    }
    this.#plan(flow);
  }

  #now(): number {
    return this.#settings.clock.now();
  }

  #emit(event: SchedulerEvent): void {
    this.#settings.emit(event);
  }
}

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
