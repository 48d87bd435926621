import { describeThrown, isCanoError } from "../../core/errors.ts";
import { didYouMean } from "../../core/suggest.ts";
import { DurableObjectKeyValueStore } from "./do-key-value-store.ts";
import type { HostTables } from "./host-tables.ts";
import { createHostTables, hostTablesExist, openHostTables } from "./host-tables.ts";
import type { DurableObjectStateLike } from "./platform.ts";
import { RunAlarms } from "./run-host-alarms.ts";
import { RunDriver, withoutError } from "./run-host-driver.ts";
import { asRunHostError, noRunError, RunHostRequestError } from "./run-host-error.ts";
import { serveRunHost } from "./run-host-http.ts";
import { checkedInput, checkedRunId, checkOptions } from "./run-host-input.ts";
import type {
  RunHostClass,
  RunHostEventsRequest,
  RunHostObject,
  RunHostOptions,
  RunHostStartOptions,
} from "./run-host-types.ts";
import type { DurableRunDetails, DurableRunInfo } from "./run-record.ts";
import { isFinished } from "./run-record.ts";
import { eventStreamResponse } from "./sse.ts";

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
    /** Set once the object is known to have (or has just made) its tables. */
    #tables: HostTables | undefined;
    readonly #alarms: RunAlarms;
    readonly #driver: RunDriver<TEnv>;

    constructor(ctx: DurableObjectStateLike, env: TEnv) {
      this.#ctx = ctx;
      this.#alarms = new RunAlarms(ctx.storage, settings.watchdogMs, known, {
        tables: () => this.#tables,
        driving: () => this.#driver.driving,
        allParked: () => this.#driver.allParked(),
      });
      const store = new DurableObjectKeyValueStore(ctx.storage);
      this.#driver = new RunDriver(store, env, this.#alarms, () => this.#tables);
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
      this.#driver.drive(tables, record, hosted, "start");
      await this.#alarms.rearm();
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
      const hosted = settings.workflows.get(record.workflow);
      // Nothing running here: drive the rollback. Without its workflow the rollback waits for a deploy
      // that registers it (the alarm keeps looking).
      if (!this.#driver.cancel(reason) && hosted !== undefined) {
        this.#driver.drive(tables, cancelling, hosted, "resume", reason);
      }
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
      this.#driver.drive(tables, running, hosted, "resume");
      await this.#alarms.rearm();
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
      if (this.#driver.isIdle()) return Promise.resolve(this.status());
      return new Promise((resolve, reject) =>
        this.#driver.whenIdle(() => {
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
        if (!this.#driver.driving) {
          const hosted = settings.workflows.get(record.workflow);
          if (hosted === undefined) return await this.#alarms.awaitWorkflow(tables, record);
          this.#driver.drive(tables, record, hosted, "resume");
        }
        await this.#alarms.rearm();
      } catch (error) {
        if (!isCanoError(error) || error.code !== "checkpoint_corrupt") throw error;
        console.error(`RunHost: run "${record.id}": ${error.message}`);
        // Alive here, the run keeps going and the watchdog keeps looking; otherwise it fails visibly.
        if (!this.#driver.driving) await this.#driver.failStorage(tables, error);
        else await this.#alarms.set(tables, Date.now() + settings.watchdogMs);
      }
    }

    /** A failed or cancelled run may be resumed; anything else is a `conflict`. */
    #checkResumable(record: DurableRunInfo): void {
      if ((record.status === "failed" || record.status === "cancelled") && !this.#driver.driving) return;
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
      return openHostTables(this.#ctx.storage, {
        thresholdMs: settings.alarmThresholdMs,
        currentState: () => this.#driver.state,
        onWakesChanged: () => this.#alarms.rearmInBackground(),
        onPark: () => this.#driver.checkIdle(),
      });
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

function unknownWorkflow(name: string, known: readonly string[]): RunHostRequestError {
  // didYouMean suggests the closest name, or lists the registered ones when none is close.
  return new RunHostRequestError(
    "unknown_workflow",
    `RunHost: no workflow is registered as "${name}".${didYouMean(name, known)}`,
  );
}
