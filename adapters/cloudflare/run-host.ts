import type { CanoErrorJson } from "../../core/errors.ts";
import { CanoError, describeThrown, isCanoError } from "../../core/errors.ts";
import type { WorkflowEvent } from "../../core/events.ts";
import { didYouMean } from "../../core/suggest.ts";
import { AlarmClock } from "./alarm-clock.ts";
import { DurableObjectCheckpointStore } from "./do-checkpoint-store.ts";
import { DurableObjectKeyValueStore } from "./do-key-value-store.ts";
import { EventLog } from "./event-log.ts";
import type { DurableObjectStateLike } from "./platform.ts";
import { clearedRunOutcome } from "./run-host-cleared.ts";
import { RunHostRequestError } from "./run-host-error.ts";
import { serveRunHost } from "./run-host-http.ts";
import { checkedInput, checkedRunId, checkOptions } from "./run-host-input.ts";
import type {
  HostedWorkflow,
  RunEnding,
  RunHostClass,
  RunHostObject,
  RunHostOptions,
  RunHostStartOptions,
} from "./run-host-types.ts";
import type { DurableRunInfo } from "./run-record.ts";
import { isFinished, RunRecordTable } from "./run-record.ts";
import { eventStreamResponse } from "./sse.ts";

/** The run executing in this instance. */
interface ActiveRun {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * Makes the run host Durable Object class: one object drives one run of one of `workflows`. The run's
 * checkpoints, events, key-value store and pending waits live in the object's SQLite storage; long
 * waits are alarms, and an alarm stays armed while the run is unfinished, so an object that is
 * evicted or reset picks the run up from its checkpoint when the alarm fires.
 *
 * @example
 * export const RunHost = defineRunHost({
 *   workflows: { orders: { initial: "reserve", create: ({ store }) => ordersWorkflow(store) } },
 * });
 * // wrangler.toml: [[durable_objects.bindings]] name = "RUN_HOST", class_name = "RunHost"
 * //                [[migrations]] tag = "v1", new_sqlite_classes = ["RunHost"]
 */
export function defineRunHost<TEnv = unknown>(options: RunHostOptions<TEnv>): RunHostClass<TEnv> {
  const settings = checkOptions(options);
  return class CanoRunHost implements RunHostObject {
    readonly #ctx: DurableObjectStateLike;
    readonly #env: TEnv;
    readonly #records: RunRecordTable;
    readonly #events: EventLog;
    readonly #clock: AlarmClock;
    readonly #checkpoints: DurableObjectCheckpointStore;
    readonly #store: DurableObjectKeyValueStore;
    #run: ActiveRun | undefined;
    #state: string | undefined;
    #idleWaiters: (() => void)[] = [];

    constructor(ctx: DurableObjectStateLike, env: TEnv) {
      this.#ctx = ctx;
      this.#env = env;
      const { sql } = ctx.storage;
      this.#records = new RunRecordTable(sql);
      this.#events = new EventLog(sql);
      this.#checkpoints = new DurableObjectCheckpointStore(ctx.storage);
      this.#store = new DurableObjectKeyValueStore(ctx.storage);
      this.#clock = new AlarmClock(sql, {
        thresholdMs: settings.alarmThresholdMs,
        currentState: () => this.#state,
        onWakesChanged: () => this.#rearmInBackground(),
        onPark: () => this.#checkIdle(),
      });
    }

    fetch(request: Request): Promise<Response> {
      return serveRunHost(this, request);
    }

    async start(
      workflow: string,
      input?: unknown,
      options: RunHostStartOptions = {},
    ): Promise<DurableRunInfo> {
      const hosted = settings.workflows.get(workflow);
      if (hosted === undefined) throw unknownWorkflow(workflow, [...settings.workflows.keys()]);
      const runId = checkedRunId(options.runId ?? this.#ctx.id.toString());
      const accepted = await checkedInput(workflow, hosted, input);
      // Read and write the record with no await in between: two starts cannot both pass the check.
      const existing = this.#records.read();
      if (existing !== undefined) {
        throw new RunHostRequestError(
          "conflict",
          `RunHost: this object already has run "${existing.id}" (workflow "${existing.workflow}", ` +
            `${existing.status}); one object drives one run. Start another run under a new id.`,
        );
      }
      const now = Date.now();
      const record: DurableRunInfo = {
        id: runId,
        workflow,
        status: "running",
        input: accepted,
        createdAt: now,
        updatedAt: now,
        lastEventId: 0,
        resumes: 0,
      };
      this.#records.write(record);
      this.#drive(record, hosted, "start");
      await this.#rearm();
      return this.status() ?? record;
    }

    status(): DurableRunInfo | undefined {
      const record = this.#records.read();
      return record === undefined ? undefined : this.#info(record);
    }

    async cancel(): Promise<DurableRunInfo> {
      const record = this.#records.read();
      if (record === undefined) throw noRun();
      if (isFinished(record.status)) {
        throw new RunHostRequestError(
          "conflict",
          `RunHost: run "${record.id}" has already ${record.status}; nothing to cancel.`,
        );
      }
      const cancelling: DurableRunInfo = { ...record, status: "cancelling", updatedAt: Date.now() };
      this.#records.write(cancelling);
      const active = this.#run;
      if (active === undefined) this.#drive(cancelling, settings.workflows.get(record.workflow), "resume");
      else active.controller.abort(new Error("cancelled through the run host"));
      await this.#run?.done;
      return this.status() ?? cancelling;
    }

    events(after = 0): Response {
      if (this.#records.read() === undefined) throw noRun();
      return eventStreamResponse(this.#events, after, () => {
        const info = this.status();
        return info !== undefined && isFinished(info.status) ? info : undefined;
      });
    }

    idle(): Promise<DurableRunInfo | undefined> {
      if (this.#isIdle()) return Promise.resolve(this.status());
      return new Promise((resolve) => this.#idleWaiters.push(() => resolve(this.status())));
    }

    async alarm(): Promise<void> {
      let record: DurableRunInfo | undefined;
      try {
        record = this.#records.read();
      } catch (error) {
        // Retrying cannot repair storage: report it and let the alarm go.
        console.error(`RunHost: alarm skipped: ${describeThrown(error)}`);
        return;
      }
      if (record === undefined || isFinished(record.status)) {
        this.#records.setAlarmAt(undefined);
        return;
      }
      // Fired early (tests trigger alarms explicitly) counts as the time the alarm was set for.
      this.#clock.fire(Math.max(Date.now(), this.#records.alarmAt() ?? 0));
      if (this.#run === undefined) this.#drive(record, settings.workflows.get(record.workflow), "resume");
      await this.#rearm();
    }

    /** Runs (or resumes) the workflow in this instance; its ending is recorded when it settles. */
    #drive(record: DurableRunInfo, hosted: HostedWorkflow<TEnv> | undefined, mode: "start" | "resume"): void {
      const controller = new AbortController();
      if (record.status === "cancelling") controller.abort(new Error("cancelled through the run host"));
      if (mode === "resume") {
        this.#records.write({ ...record, resumes: record.resumes + 1, updatedAt: Date.now() });
        this.#clock.adoptOrphans();
      }
      const ending = this.#execute(record, hosted, mode, controller.signal);
      const done = ending.then(
        (end) => this.#finish(end),
        (error: unknown) =>
          console.error(`RunHost: recording the end of run "${record.id}" failed: ${describeThrown(error)}`),
      );
      this.#run = { controller, done };
    }

    async #execute(
      record: DurableRunInfo,
      hosted: HostedWorkflow<TEnv> | undefined,
      mode: "start" | "resume",
      signal: AbortSignal,
    ): Promise<RunEnding> {
      try {
        if (hosted === undefined) throw unregistered(record, [...settings.workflows.keys()]);
        const workflow = hosted.create({
          runId: record.id,
          input: record.input,
          store: this.#store,
          env: this.#env,
        });
        workflow.withCheckpointStore(this.#checkpoints);
        workflow.withClock(this.#clock);
        const options = { signal, onEvent: (event: WorkflowEvent) => this.#observe(event) };
        const fresh = { ...options, workflowId: record.id };
        if (mode === "start") return completed(await workflow.orchestrate(hosted.initial, fresh));
        if ((await this.#checkpoints.loadRun(record.id)).length > 0) {
          return completed(await workflow.resumeFrom(record.id, options));
        }
        // No rows: either the run never wrote one (start it again), or it ended and cleared its log.
        return (
          clearedRunOutcome(record.id, this.#events.since(0)) ??
          completed(await workflow.orchestrate(hosted.initial, fresh))
        );
      } catch (error) {
        return endingOf(error);
      }
    }

    #observe(event: WorkflowEvent): void {
      this.#events.append(event);
      if (event.type !== "state_enter") return;
      this.#state = event.state;
      this.#clock.enteredState();
      const record = this.#records.read();
      if (record !== undefined) this.#records.write({ ...record, state: event.state, updatedAt: event.at });
    }

    async #finish(end: RunEnding): Promise<void> {
      this.#run = undefined;
      this.#clock.reset();
      const record = this.#records.read();
      if (record !== undefined) {
        this.#records.write({
          ...record,
          status: end.status,
          ...(end.status === "completed" ? { state: end.state } : { error: end.error }),
          updatedAt: Date.now(),
        });
      }
      this.#events.end();
      this.#checkIdle();
      this.#records.setAlarmAt(undefined);
      await this.#ctx.storage.deleteAlarm();
    }

    /**
     * Arms the alarm for an unfinished run: while this instance is working, at the earliest pending
     * wake or the watchdog period from now, whichever comes first; while a sleep of this instance is
     * parked on a wake, at the wake itself, so a waiting object is not woken every watchdog period.
     * (A split with one branch parked and another busy is then picked up at the wake after a reset.)
     */
    #rearm(): Promise<void> {
      const record = this.#records.read();
      if (record === undefined || isFinished(record.status)) return Promise.resolve();
      const watchdog = Date.now() + settings.watchdogMs;
      const wake = this.#clock.earliestWake();
      const at = wake === undefined ? watchdog : this.#clock.parked() ? wake : Math.min(wake, watchdog);
      this.#records.setAlarmAt(at);
      return this.#ctx.storage.setAlarm(at);
    }

    #rearmInBackground(): void {
      this.#rearm().catch((error: unknown) =>
        console.error(`RunHost: arming the alarm failed: ${describeThrown(error)}`),
      );
    }

    #isIdle(): boolean {
      return this.#run === undefined || this.#clock.parked();
    }

    #checkIdle(): void {
      if (!this.#isIdle()) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }

    #info(record: DurableRunInfo): DurableRunInfo {
      const waitingUntil = isFinished(record.status) ? undefined : this.#clock.earliestWake();
      return {
        ...record,
        lastEventId: this.#events.lastId(),
        ...(waitingUntil === undefined ? {} : { waitingUntil }),
      };
    }
  };
}

function completed(state: string): RunEnding {
  return { status: "completed", state };
}

/** How a thrown run error is recorded: `cancelled` when the run was stopped, `failed` otherwise. */
function endingOf(error: unknown): RunEnding {
  const json: CanoErrorJson = isCanoError(error)
    ? error.toJSON()
    : { code: "task_execution", message: `RunHost: the run threw ${describeThrown(error)}` };
  const cancelled = json.code === "cancelled" || json.errors?.[0]?.code === "cancelled";
  return { status: cancelled ? "cancelled" : "failed", error: json };
}

function noRun(): RunHostRequestError {
  return new RunHostRequestError("unknown_run", "RunHost: this object has no run; start one first.");
}

function unknownWorkflow(name: string, known: readonly string[]): RunHostRequestError {
  // didYouMean suggests the closest name, or lists the registered ones when none is close.
  return new RunHostRequestError(
    "unknown_workflow",
    `RunHost: no workflow is registered as "${name}".${didYouMean(name, known)}`,
  );
}

function unregistered(record: DurableRunInfo, known: readonly string[]): CanoError {
  return new CanoError(
    "configuration",
    `RunHost: run "${record.id}" belongs to workflow "${record.workflow}", which this deployment no longer ` +
      `registers (registered: ${known.join(", ")}). Its checkpoint rows are kept: deploy the workflow again and resume it.`,
    { workflowId: record.id },
  );
}
