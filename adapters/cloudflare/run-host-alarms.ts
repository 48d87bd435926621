import { CanoError, describeThrown } from "../../core/errors.ts";
import type { HostTables } from "./host-tables.ts";
import type { DurableObjectAlarmStorageLike } from "./platform.ts";
import type { DurableRunInfo } from "./run-record.ts";
import { isFinished } from "./run-record.ts";

/** The longest wait between two looks for an unregistered workflow (unless `watchdogMs` is longer). */
const maxWorkflowWaitMs = 3_600_000;

/** What {@link RunAlarms} asks its run host. */
export interface RunAlarmsHooks {
  /** The host's tables, once it knows it has them. */
  readonly tables: () => HostTables | undefined;
  /** True while an execution of the run lives in this instance. */
  readonly driving: () => boolean;
  /** True while the run has work in flight here and all of it sleeps on the alarm. */
  readonly allParked: () => boolean;
}

/**
 * @internal Where the run host's one alarm is set: at the earliest pending wake, a watchdog period
 * ahead while work is in flight, later and later while the run's workflow is not registered, and
 * nowhere once the run has ended. The time it is set for is kept in the run's record too.
 */
export class RunAlarms {
  readonly #storage: DurableObjectAlarmStorageLike;
  readonly #watchdogMs: number;
  /** The workflows this deployment registers, for the message about a run whose workflow it does not. */
  readonly #known: readonly string[];
  readonly #hooks: RunAlarmsHooks;

  constructor(
    storage: DurableObjectAlarmStorageLike,
    watchdogMs: number,
    known: readonly string[],
    hooks: RunAlarmsHooks,
  ) {
    this.#storage = storage;
    this.#watchdogMs = watchdogMs;
    this.#known = known;
    this.#hooks = hooks;
  }

  /**
   * Arms the alarm for an unfinished run driven here: at the earliest pending wake when every piece
   * of work in flight is asleep on the alarm (so a waiting object is not woken every watchdog
   * period); otherwise at that wake or the watchdog period from now, whichever comes first.
   */
  rearm(): Promise<void> {
    const tables = this.#hooks.tables();
    const record = tables?.records.read();
    if (tables === undefined || record === undefined || isFinished(record.status) || !this.#hooks.driving())
      return Promise.resolve();
    const watchdog = Date.now() + this.#watchdogMs;
    const wake = tables.clock.earliestWake();
    const at = wake === undefined ? watchdog : this.#hooks.allParked() ? wake : Math.min(wake, watchdog);
    return this.set(tables, at);
  }

  /** {@link rearm}, reporting a failure instead of returning it. */
  rearmInBackground(): void {
    this.rearm().catch((error: unknown) =>
      console.error(`RunHost: arming the alarm failed: ${describeThrown(error)}`),
    );
  }

  /** Sets the alarm for `at` (ms since the epoch). */
  set(tables: HostTables, at: number): Promise<void> {
    tables.records.setAlarmAt(at);
    return this.#storage.setAlarm(at);
  }

  /** Removes the alarm: the run has ended, or failed here. */
  clear(tables: HostTables): Promise<void> {
    tables.records.setAlarmAt(undefined);
    return this.#storage.deleteAlarm();
  }

  /**
   * The run's workflow is not registered in this deployment: the run stays as it is (rows kept,
   * status unchanged, the reason in `error`) and the alarm looks again later, each time twice as late
   * as before, from `watchdogMs` up to an hour; the first alarm after a deploy that registers it again
   * resumes the run.
   */
  async awaitWorkflow(tables: HostTables, record: DurableRunInfo): Promise<void> {
    const waits = tables.records.workflowWaits() + 1;
    const ceiling = Math.max(this.#watchdogMs, maxWorkflowWaitMs);
    const delayMs = Math.min(this.#watchdogMs * 2 ** Math.min(waits - 1, 30), ceiling);
    const error = unregistered(record, this.#known);
    tables.records.write({ ...record, error: error.toJSON(), updatedAt: Date.now() });
    tables.records.setWorkflowWaits(waits);
    console.error(`${error.message} Looking again in ${Math.round(delayMs / 1000)} s.`);
    await this.set(tables, Date.now() + delayMs);
  }
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
