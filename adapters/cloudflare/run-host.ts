import type { CanoErrorJson } from "../../core/errors.ts";
import { CanoError, describeThrown, isCanoError } from "../../core/errors.ts";
import type { WorkflowEvent } from "../../core/events.ts";
import { didYouMean } from "../../core/suggest.ts";
import { AlarmClock } from "./alarm-clock.ts";
import { DurableObjectCheckpointStore } from "./do-checkpoint-store.ts";
import { DurableObjectKeyValueStore } from "./do-key-value-store.ts";
import { EventLog } from "./event-log.ts";
import { createHostTables, hostTablesExist } from "./host-tables.ts";
import type { DurableObjectStateLike } from "./platform.ts";
import { clearedRunOutcome } from "./run-host-cleared.ts";
import { asRunHostError, noRunError, RunHostRequestError } from "./run-host-error.ts";
import { serveRunHost } from "./run-host-http.ts";
import { checkedInput, checkedRunId, checkOptions } from "./run-host-input.ts";
import type {
  HostedWorkflow,
  RunEnding,
  RunHostClass,
  RunHostEventsRequest,
  RunHostObject,
  RunHostOptions,
  RunHostStartOptions,
} from "./run-host-types.ts";
import type { DurableRunDetails, DurableRunInfo } from "./run-record.ts";
import { isFinished, RunRecordTable } from "./run-record.ts";
import { eventStreamResponse } from "./sse.ts";

/** One execution of the run in this instance; a later one (or a recorded failure) supersedes it. */
interface ActiveRun {
  readonly controller: AbortController;
  done: Promise<void>;
  /** Why it was cancelled, when a cancel gave a reason (recorded as `error.details.reason`). */
  reason: string | undefined;
}

/** The tables of an object that has started a run. */
interface HostTables {
  readonly records: RunRecordTable;
  readonly events: EventLog;
  readonly clock: AlarmClock;
  readonly checkpoints: DurableObjectCheckpointStore;
}

/** The longest wait between two looks for an unregistered workflow (unless `watchdogMs` is longer). */
const maxWorkflowWaitMs = 3_600_000;

const defaultCancelReason = "cancelled through the run host";

/**
 * Makes the run host Durable Object class: one object drives one run of one of `workflows`. The run's
 * checkpoints, events, key-value store and pending waits live in the object's SQLite storage, created
 * when the run starts (a request about a run that does not exist writes nothing). Long waits are
 * alarms; while any work of the run is in flight and not asleep, a watchdog alarm stays armed too, so
 * an object that is evicted or reset picks the run up from its checkpoint when an alarm fires.
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
  const known = [...settings.workflows.keys()];
  return class CanoRunHost implements RunHostObject {
    readonly #ctx: DurableObjectStateLike;
    readonly #env: TEnv;
    readonly #store: DurableObjectKeyValueStore;
    /** Set once the object is known to have (or has just made) its tables. */
    #tables: HostTables | undefined;
    #run: ActiveRun | undefined;
    #state: string | undefined;
    /** Tasks and compensations of this instance in flight: from their start event to their end event. */
    readonly #busy = new Set<string>();
    #idleWaiters: (() => void)[] = [];

    constructor(ctx: DurableObjectStateLike, env: TEnv) {
      this.#ctx = ctx;
      this.#env = env;
      this.#store = new DurableObjectKeyValueStore(ctx.storage);
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
      if (hosted === undefined) throw unknownWorkflow(workflow, known);
      const runId = this.#runIdFor(options.runId);
      const accepted = await checkedInput(workflow, hosted, input, settings.maxInputBytes);
      // Read and write the record with no await in between: two starts cannot both pass the check.
      const existing = this.#existing()?.records.read();
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
      let tables: HostTables;
      try {
        // The tables are made with the record in one transaction: a refused write leaves nothing behind.
        tables = this.#ctx.storage.transactionSync(() => {
          createHostTables(this.#ctx.storage.sql);
          const opened = this.#tables ?? this.#open();
          opened.records.write(record);
          return opened;
        });
      } catch (error) {
        throw asRunHostError(error);
      }
      this.#tables = tables;
      this.#drive(tables, record, hosted, "start");
      await this.#rearm();
      return this.status() ?? record;
    }

    status(): DurableRunInfo | undefined {
      const tables = this.#existing();
      const record = tables?.records.read();
      return tables === undefined || record === undefined ? undefined : this.#info(tables, record);
    }

    details(): DurableRunDetails | undefined {
      const info = this.status();
      return info === undefined ? undefined : { ...info, history: this.#tables?.events.visits() ?? [] };
    }

    async cancel(reason?: string): Promise<DurableRunInfo> {
      const tables = this.#existing();
      const record = tables?.records.read();
      if (tables === undefined || record === undefined) throw noRunError();
      if (isFinished(record.status)) {
        throw new RunHostRequestError(
          "conflict",
          `RunHost: run "${record.id}" has already ${record.status}; nothing to cancel.`,
        );
      }
      const cancelling: DurableRunInfo = { ...record, status: "cancelling", updatedAt: Date.now() };
      tables.records.write(cancelling);
      const active = this.#run;
      const hosted = settings.workflows.get(record.workflow);
      if (active !== undefined) {
        active.reason = reason;
        active.controller.abort(new Error(reason ?? defaultCancelReason));
      }
      // Without its workflow the rollback waits for a deploy that registers it (the alarm keeps looking).
      else if (hosted !== undefined) this.#drive(tables, cancelling, hosted, "resume", reason);
      await this.idle();
      return this.status() ?? cancelling;
    }

    async resume(): Promise<DurableRunInfo> {
      const tables = this.#existing();
      const before = tables?.records.read();
      if (tables === undefined || before === undefined) throw noRunError();
      this.#checkResumable(before);
      const hosted = settings.workflows.get(before.workflow);
      if (hosted === undefined) {
        throw new RunHostRequestError(
          "unknown_workflow",
          `RunHost: run "${before.id}" belongs to workflow "${before.workflow}", which this deployment does ` +
            `not register.${didYouMean(before.workflow, known)} Deploy it, then resume the run.`,
        );
      }
      // Loading checks every row (a row still damaged is refused here, and nothing changes).
      if ((await tables.checkpoints.loadRun(before.id)).length === 0) {
        throw new RunHostRequestError(
          "conflict",
          `RunHost: run "${before.id}" has no checkpoint rows left (a run clears them when it completes or ` +
            "rolls back cleanly), so there is nothing to resume from.",
        );
      }
      // Checked again with no await before the write: two resumes cannot both pass.
      const record = tables.records.read();
      if (record === undefined) throw noRunError();
      this.#checkResumable(record);
      const running: DurableRunInfo = { ...withoutError(record), status: "running", updatedAt: Date.now() };
      tables.records.write(running);
      this.#drive(tables, running, hosted, "resume");
      await this.#rearm();
      return this.status() ?? running;
    }

    events(after = 0, request: RunHostEventsRequest = {}): Response {
      const tables = this.#existing();
      if (tables === undefined || tables.records.read() === undefined) throw noRunError();
      return eventStreamResponse(tables.events, {
        after,
        heartbeatMs: settings.heartbeatMs,
        historyOnly: request.historyOnly === true,
        ended: () => {
          const info = this.status();
          return info !== undefined && isFinished(info.status) ? info : undefined;
        },
      });
    }

    idle(): Promise<DurableRunInfo | undefined> {
      if (this.#existing() === undefined) return Promise.resolve(undefined);
      if (this.#isIdle()) return Promise.resolve(this.status());
      return new Promise((resolve, reject) =>
        this.#idleWaiters.push(() => {
          try {
            resolve(this.status());
          } catch (error) {
            reject(error);
          }
        }),
      );
    }

    async alarm(): Promise<void> {
      let tables: HostTables | undefined;
      let record: DurableRunInfo | undefined;
      try {
        tables = this.#existing();
        record = tables?.records.read();
      } catch (error) {
        // Retrying cannot repair storage: report it and let the alarm go.
        console.error(`RunHost: alarm skipped: ${describeThrown(error)}`);
        return;
      }
      if (tables === undefined) return;
      if (record === undefined || isFinished(record.status)) {
        tables.records.setAlarmAt(undefined);
        return;
      }
      try {
        // Fired early (tests trigger alarms explicitly) counts as the time the alarm was set for.
        tables.clock.fire(Math.max(Date.now(), tables.records.alarmAt() ?? 0));
        if (this.#run === undefined) {
          const hosted = settings.workflows.get(record.workflow);
          if (hosted === undefined) return await this.#awaitWorkflow(tables, record);
          this.#drive(tables, record, hosted, "resume");
        }
        await this.#rearm();
      } catch (error) {
        if (!isCanoError(error) || error.code !== "checkpoint_corrupt") throw error;
        console.error(`RunHost: run "${record.id}": ${error.message}`);
        // Alive here, the run keeps going and the watchdog keeps looking; otherwise it fails visibly.
        if (this.#run === undefined) await this.#failStorage(tables, error);
        else await this.#setAlarm(tables, Date.now() + settings.watchdogMs);
      }
    }

    /** Runs (or resumes) the workflow in this instance; its ending is recorded when it settles. */
    #drive(
      tables: HostTables,
      record: DurableRunInfo,
      hosted: HostedWorkflow<TEnv>,
      mode: "start" | "resume",
      reason?: string,
    ): void {
      let current = record;
      if (mode === "resume") {
        current = { ...withoutError(record), resumes: record.resumes + 1, updatedAt: Date.now() };
        tables.records.write(current);
        tables.records.setWorkflowWaits(0);
        tables.clock.adoptOrphans();
      }
      const controller = new AbortController();
      if (current.status === "cancelling") controller.abort(new Error(reason ?? defaultCancelReason));
      this.#busy.clear();
      const active: ActiveRun = { controller, done: Promise.resolve(), reason };
      this.#run = active;
      active.done = this.#execute(tables, current, hosted, mode, controller.signal)
        .then((end) => this.#finish(tables, active, end))
        .catch((error: unknown) =>
          console.error(`RunHost: recording the end of run "${current.id}" failed: ${describeThrown(error)}`),
        );
    }

    async #execute(
      tables: HostTables,
      record: DurableRunInfo,
      hosted: HostedWorkflow<TEnv>,
      mode: "start" | "resume",
      signal: AbortSignal,
    ): Promise<RunEnding> {
      try {
        const workflow = hosted.create({
          runId: record.id,
          input: record.input,
          store: this.#store,
          env: this.#env,
        });
        workflow.withCheckpointStore(tables.checkpoints);
        workflow.withClock(tables.clock);
        const options = { signal, onEvent: (event: WorkflowEvent) => this.#observe(tables, event) };
        const fresh = { ...options, workflowId: record.id };
        if (mode === "start") return completed(await workflow.orchestrate(hosted.initial, fresh));
        if ((await tables.checkpoints.loadRun(record.id)).length > 0) {
          return completed(await workflow.resumeFrom(record.id, options));
        }
        // No rows: either the run never wrote one (start it again), or it ended and cleared its log.
        return (
          clearedRunOutcome(record.id, tables.events.history()) ??
          completed(await workflow.orchestrate(hosted.initial, fresh))
        );
      } catch (error) {
        return endingOf(error);
      }
    }

    #observe(tables: HostTables, event: WorkflowEvent): void {
      tables.events.append(event);
      const wasParked = this.#allParked();
      trackBusy(this.#busy, event);
      if (event.type === "state_enter") {
        this.#state = event.state;
        tables.clock.enteredState();
        const record = tables.records.read();
        if (record !== undefined)
          tables.records.write({ ...record, state: event.state, updatedAt: event.at });
      }
      if (this.#allParked() === wasParked) return;
      this.#rearmInBackground();
      this.#checkIdle();
    }

    async #finish(tables: HostTables, active: ActiveRun, end: RunEnding): Promise<void> {
      // Superseded: a failure of its storage was recorded meanwhile; that stands.
      if (this.#run !== active) return;
      this.#run = undefined;
      this.#busy.clear();
      tables.clock.reset();
      const record = tables.records.read();
      if (record !== undefined) {
        tables.records.write({
          ...record,
          status: end.status,
          ...(end.status === "completed" ? { state: end.state } : { error: withReason(end, active.reason) }),
          updatedAt: Date.now(),
        });
      }
      tables.events.end();
      this.#checkIdle();
      tables.records.setAlarmAt(undefined);
      await this.#ctx.storage.deleteAlarm();
    }

    /**
     * The run's workflow is not registered in this deployment: the run stays as it is (rows kept,
     * status unchanged, the reason in `error`) and the alarm looks again later, each time twice as late
     * as before, from `watchdogMs` up to an hour; the first alarm after a deploy that registers it again
     * resumes the run.
     */
    async #awaitWorkflow(tables: HostTables, record: DurableRunInfo): Promise<void> {
      const waits = tables.records.workflowWaits() + 1;
      const ceiling = Math.max(settings.watchdogMs, maxWorkflowWaitMs);
      const delayMs = Math.min(settings.watchdogMs * 2 ** Math.min(waits - 1, 30), ceiling);
      const error = unregistered(record, known);
      tables.records.write({ ...record, error: error.toJSON(), updatedAt: Date.now() });
      tables.records.setWorkflowWaits(waits);
      console.error(`${error.message} Looking again in ${Math.round(delayMs / 1000)} s.`);
      await this.#setAlarm(tables, Date.now() + delayMs);
    }

    /** A host row is damaged and no execution of the run lives here: the run fails with the error, every row kept. */
    async #failStorage(tables: HostTables, error: CanoError): Promise<void> {
      this.#run = undefined;
      this.#busy.clear();
      tables.clock.detach();
      const record = tables.records.read();
      if (record !== undefined && !isFinished(record.status)) {
        tables.records.write({ ...record, status: "failed", error: error.toJSON(), updatedAt: Date.now() });
      }
      tables.events.end();
      this.#checkIdle();
      tables.records.setAlarmAt(undefined);
      await this.#ctx.storage.deleteAlarm();
    }

    /**
     * Arms the alarm for an unfinished run driven here: at the earliest pending wake when every piece
     * of work in flight is asleep on the alarm (so a waiting object is not woken every watchdog
     * period); otherwise at that wake or the watchdog period from now, whichever comes first.
     */
    #rearm(): Promise<void> {
      const tables = this.#tables;
      const record = tables?.records.read();
      if (
        tables === undefined ||
        record === undefined ||
        isFinished(record.status) ||
        this.#run === undefined
      )
        return Promise.resolve();
      const watchdog = Date.now() + settings.watchdogMs;
      const wake = tables.clock.earliestWake();
      const at = wake === undefined ? watchdog : this.#allParked() ? wake : Math.min(wake, watchdog);
      return this.#setAlarm(tables, at);
    }

    #setAlarm(tables: HostTables, at: number): Promise<void> {
      tables.records.setAlarmAt(at);
      return this.#ctx.storage.setAlarm(at);
    }

    #rearmInBackground(): void {
      this.#rearm().catch((error: unknown) =>
        console.error(`RunHost: arming the alarm failed: ${describeThrown(error)}`),
      );
    }

    /** True while the run has work in flight here and all of it sleeps on the alarm. */
    #allParked(): boolean {
      const sleeping = this.#tables?.clock.sleeping() ?? 0;
      return sleeping > 0 && sleeping >= this.#busy.size;
    }

    #isIdle(): boolean {
      return this.#run === undefined || this.#allParked();
    }

    #checkIdle(): void {
      if (!this.#isIdle()) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }

    /** A failed or cancelled run may be resumed; anything else is a `conflict`. */
    #checkResumable(record: DurableRunInfo): void {
      if ((record.status === "failed" || record.status === "cancelled") && this.#run === undefined) return;
      throw new RunHostRequestError(
        "conflict",
        record.status === "completed"
          ? `RunHost: run "${record.id}" completed; there is nothing to resume.`
          : `RunHost: run "${record.id}" is ${record.status}; only a failed or cancelled run can be resumed.`,
      );
    }

    /** The run id a start uses: the object's name (its id when it has none); any other is refused. */
    #runIdFor(given: string | undefined): string {
      const { id } = this.#ctx;
      const own = id.name ?? id.toString();
      const runId = checkedRunId(given ?? own);
      if (runId === own) return runId;
      throw new RunHostRequestError(
        "invalid_request",
        `RunHost: runId "${runId.slice(0, 80)}" is not the name this object was reached by ` +
          `(${id.name === undefined ? `it has none; its id is ${own}` : `"${own.slice(0, 80)}"`}). Reach the ` +
          "run's object with idFromName(runId) (RunHostClient.forRun does), so later requests find it.",
      );
    }

    /** The host's tables if this object ever started a run; never creates them. */
    #existing(): HostTables | undefined {
      if (this.#tables === undefined && hostTablesExist(this.#ctx.storage.sql)) this.#tables = this.#open();
      return this.#tables;
    }

    #open(): HostTables {
      const { storage } = this.#ctx;
      return {
        records: new RunRecordTable(storage.sql),
        events: new EventLog(storage.sql),
        checkpoints: new DurableObjectCheckpointStore(storage),
        clock: new AlarmClock(storage.sql, {
          thresholdMs: settings.alarmThresholdMs,
          currentState: () => this.#state,
          onWakesChanged: () => this.#rearmInBackground(),
          onPark: () => this.#checkIdle(),
        }),
      };
    }

    #info(tables: HostTables, record: DurableRunInfo): DurableRunInfo {
      const waitingUntil = isFinished(record.status) ? undefined : tables.clock.earliestWake();
      return {
        ...record,
        lastEventId: tables.events.lastId(),
        ...(waitingUntil === undefined ? {} : { waitingUntil }),
      };
    }
  };
}

/** Follows which tasks and compensations are in flight, from the events the engine emits. */
function trackBusy(busy: Set<string>, event: WorkflowEvent): void {
  switch (event.type) {
    case "task_start":
      busy.add(`task:${event.taskId}`);
      break;
    case "task_success":
    case "task_failure":
    case "branch_settled":
      busy.delete(`task:${event.taskId}`);
      break;
    case "compensate_start":
      busy.add(`compensate:${event.taskId}`);
      break;
    case "compensate_done":
      busy.delete(`compensate:${event.taskId}`);
      break;
    case "run_end":
      busy.clear();
      break;
    default:
      break;
  }
}

/** The error of a cancelled run, with the cancel's reason in `details.reason` (as `cano/http` reports it). */
function withReason(
  end: Exclude<RunEnding, { status: "completed" }>,
  reason: string | undefined,
): CanoErrorJson {
  if (end.status !== "cancelled" || reason === undefined) return end.error;
  return { ...end.error, details: { ...end.error.details, reason } };
}

/** `record` without its `error` (a run going on again). */
function withoutError(record: DurableRunInfo): DurableRunInfo {
  const { error: _error, ...rest } = record;
  return rest;
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
    `RunHost: run "${record.id}" belongs to workflow "${record.workflow}", which this deployment does not ` +
      `register (registered: ${known.join(", ")}). The run stays ${record.status} with its checkpoint rows ` +
      "kept, and continues at the first alarm after a deploy that registers the workflow again.",
    { workflowId: record.id },
  );
}
