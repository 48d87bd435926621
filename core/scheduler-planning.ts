import type { BackoffPolicy } from "./backoff.ts";
import type { CancelTimer, Clock } from "./clock.ts";
import type { CanoErrorJson } from "./errors.ts";
import { CanoError, describeThrown, isCanoError } from "./errors.ts";
import type { OrchestrateOptions } from "./run.ts";
import type { FlowStatus, RunCause, SchedulerEvent, SkipReason } from "./scheduler-status.ts";
import { blockedBy } from "./scheduler-status.ts";
import type { Trigger, TriggerContext } from "./trigger.ts";
import { checkedNext, plannedUntil } from "./trigger.ts";

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

/** @internal A flow's mutable state while the scheduler runs. */
export interface Flow extends FlowSpec {
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
  /** The flow's save chain while `Trigger.save` calls are in progress; settles, never rejects. */
  saving: Promise<void> | undefined;
  /** The last fire time still to be saved once the save in progress ends. */
  unsaved: number | undefined;
}

/** @internal What the planner needs from the running scheduler. */
export interface PlanHost {
  readonly clock: Clock;
  readonly maxWaitMs: number;
  readonly emit: (event: SchedulerEvent) => void;
  /** True once `stop()` was called: nothing is planned any more. */
  readonly isClosed: () => boolean;
  /** Starts a run unless the flow is running or tripped or the scheduler stopping; `undefined` when refused. */
  readonly startRun: (flow: Flow, cause: RunCause) => string | undefined;
}

/**
 * @internal Plans each flow's wake-ups on the clock and handles them: asks the trigger for planned
 * times, lists those a late wake-up passed, lets `onWake` decide how many run, counts the others as
 * skipped, and keeps the last fire time saved through one save chain per flow.
 */
export class Planner {
  readonly #host: PlanHost;

  constructor(host: PlanHost) {
    this.#host = host;
  }

  /** Asks the trigger for the next planned time and waits for it, replacing any wait in progress. */
  plan(flow: Flow): void {
    flow.cancelTimer?.();
    flow.cancelTimer = undefined;
    flow.nextFireAt = undefined;
    if (this.#host.isClosed()) return;
    let at: number | undefined;
    try {
      at = checkedNext(
        flow.trigger,
        this.#context(flow, flow.status.status === "running", flow.lastFireAt),
        flow.id,
      );
    } catch (error) {
      this.triggerFailed(flow, "next", error);
      return;
    }
    if (at === undefined) return;
    flow.nextFireAt = at;
    const { clock, maxWaitMs } = this.#host;
    // The clock's time at the last check, and how long the timer armed then was to wait.
    let seen = clock.now();
    let waitedMs = 0;
    const check = () => {
      flow.cancelTimer = undefined;
      const now = clock.now();
      if (now < seen) {
        // The wall clock was set back since the last check: plan again from the time it reads now.
        this.#clockWentBack(flow, seen + waitedMs - now);
        this.plan(flow);
        return;
      }
      seen = now;
      const remainingMs = at - now;
      // Wait in bounded chunks and re-read the clock each time: timers of a suspended process or a
      // background tab fire late (or, after a clock change, early), and only the clock tells.
      if (remainingMs > 0) {
        waitedMs = Math.min(remainingMs, maxWaitMs);
        flow.cancelTimer = clock.schedule(waitedMs, check);
      } else this.#wake(flow, at);
    };
    if (at > seen || !flow.waking) check();
    else flow.cancelTimer = clock.schedule(0, check);
  }

  /** Counts planned times that started no run, and says so in a `flow_skipped` event. */
  skip(flow: Flow, count: number, reason: SkipReason, plannedAt: number): void {
    flow.skipped += count;
    this.#host.emit({
      type: "flow_skipped",
      at: this.#host.clock.now(),
      flowId: flow.id,
      count,
      reason,
      plannedAt,
    });
  }

  /** A trigger that cannot plan leaves its flow unable to fire: trip it, so `status` shows why. */
  triggerFailed(flow: Flow, method: "next" | "onWake", error: unknown): void {
    flow.cancelTimer?.();
    flow.cancelTimer = undefined;
    flow.nextFireAt = undefined;
    const failure = this.#failure(flow, method, error);
    const running = flow.status.status === "running"; // its end plans again, and fails again if still broken
    if (!running) flow.status = { status: "tripped", streak: flow.streak, lastError: failure };
    this.#report(flow, method, failure);
    if (running) return;
    this.#host.emit({
      type: "flow_tripped",
      at: this.#host.clock.now(),
      flowId: flow.id,
      streak: flow.streak,
      error: failure,
    });
  }

  /** Handles the wake-up for `planned`: lists the times that passed, lets the trigger decide, runs or skips. */
  #wake(flow: Flow, planned: number): void {
    flow.waking = true;
    try {
      const now = this.#host.clock.now();
      const blocked = blockedBy(flow.status, now);
      const context = this.#context(flow, flow.status.status === "running" || blocked === undefined, planned);
      let listed: { readonly times: number[]; readonly truncated: boolean };
      try {
        listed = plannedUntil(flow.trigger, context, planned, flow.id);
      } catch (error) {
        // The due time is handled all the same and counted as skipped: the flow is now tripped (or
        // was blocked anyway), so it could not have run.
        this.#fired(flow, planned);
        this.triggerFailed(flow, "next", error);
        this.skip(flow, 1, blocked ?? "tripped", planned);
        return;
      }
      const { times, truncated } = listed;
      this.#fired(flow, truncated ? now : times[times.length - 1]!);
      // A trigger whose onWake failed has tripped its flow: these times are skipped as for any tripped flow.
      const runs = blocked === undefined ? this.#runsFor(flow, times, now, truncated) : undefined;
      if (runs === undefined) {
        this.skip(flow, times.length, blocked ?? "tripped", planned);
      } else {
        // The run starts before any event goes out, so an `onEvent` handler sees the flow running.
        flow.owed = runs > 1 ? runs - 1 : 0;
        const started = runs > 0 && this.#host.startRun(flow, "schedule") !== undefined;
        if (!started) flow.owed = 0;
        if (runs > 0 && !started) this.skip(flow, runs, blockedBy(flow.status, now) ?? "cancelled", planned);
        if (runs < times.length) this.skip(flow, times.length - runs, "missed", planned);
      }
      this.plan(flow);
    } finally {
      flow.waking = false;
    }
  }

  /** Records `lastFireAt` as handled and saves it. */
  #fired(flow: Flow, lastFireAt: number): void {
    flow.lastFireAt = lastFireAt;
    this.#save(flow, lastFireAt);
  }

  /** The trigger's answer to `onWake`, clamped to [0, planned]; `undefined` when it failed (reported). */
  #runsFor(flow: Flow, planned: readonly number[], now: number, truncated: boolean): number | undefined {
    if (flow.trigger.onWake === undefined) return 1;
    let runs: unknown;
    try {
      runs = flow.trigger.onWake({ planned, now, truncated });
    } catch (error) {
      this.triggerFailed(flow, "onWake", error);
      return undefined;
    }
    if (typeof runs !== "number" || Number.isNaN(runs)) {
      this.triggerFailed(flow, "onWake", `returned ${describeThrown(runs)} instead of a number of runs`);
      return undefined;
    }
    return Math.min(Math.max(0, Math.floor(runs)), planned.length);
  }

  #context(flow: Flow, running: boolean, lastFireAt: number | undefined): TriggerContext {
    return {
      now: this.#host.clock.now(),
      lastFireAt,
      lastEndAt: flow.lastEndAt,
      running,
      tripped: flow.status.status === "tripped",
      backoffUntil: flow.status.status === "backoff" ? flow.status.until : undefined,
    };
  }

  /**
   * A backoff window keeps the time it had left when the wall clock is set back by about `stepMs`
   * (the time the last timer should have let pass is taken as passed). Fire times stay as they are.
   */
  #clockWentBack(flow: Flow, stepMs: number): void {
    if (flow.status.status === "backoff" && stepMs > 0) {
      flow.status = { ...flow.status, until: flow.status.until - stepMs };
    }
  }

  /**
   * Saves `lastFireAt` through the flow's save chain: one `Trigger.save` at a time, in order; a time
   * superseded while a save is in progress is not written. A failure is reported, never thrown.
   */
  #save(flow: Flow, lastFireAt: number): void {
    if (flow.trigger.save === undefined) return;
    flow.unsaved = lastFireAt;
    // Started from a microtask, so `saving` is set before the chain can end and clear it.
    if (flow.saving === undefined) flow.saving = Promise.resolve().then(() => this.#drain(flow));
  }

  async #drain(flow: Flow): Promise<void> {
    try {
      for (let at = flow.unsaved; at !== undefined; at = flow.unsaved) {
        flow.unsaved = undefined;
        try {
          await flow.trigger.save?.(at, flow.id);
        } catch (error) {
          this.#report(flow, "save", this.#failure(flow, "save", error));
        }
      }
    } finally {
      flow.saving = undefined;
    }
  }

  #failure(flow: Flow, method: "next" | "onWake" | "save", error: unknown): CanoErrorJson {
    const failure = isCanoError(error)
      ? error
      : new CanoError(
          "configuration",
          `Scheduler: the trigger of flow "${flow.id}" (${flow.trigger.description}) failed in ${method}(): ${typeof error === "string" ? error : describeThrown(error)}`,
          { cause: error },
        );
    return failure.toJSON();
  }

  #report(flow: Flow, method: "next" | "onWake" | "save", error: CanoErrorJson): void {
    this.#host.emit({ type: "trigger_failed", at: this.#host.clock.now(), flowId: flow.id, method, error });
  }
}
