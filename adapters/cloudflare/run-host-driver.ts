import type { CanoError, CanoErrorJson } from "../../core/errors.ts";
import { describeThrown, isCanoError } from "../../core/errors.ts";
import type { WorkflowEvent } from "../../core/events.ts";
import type { KeyValueStore } from "../../core/store.ts";
import type { HostTables } from "./host-tables.ts";
import type { RunAlarms } from "./run-host-alarms.ts";
import { clearedRunOutcome } from "./run-host-cleared.ts";
import type { HostedWorkflow, RunEnding } from "./run-host-types.ts";
import type { DurableRunInfo } from "./run-record.ts";
import { isFinished } from "./run-record.ts";

/** One execution of the run in this instance; a later one (or a recorded failure) supersedes it. */
interface ActiveRun {
  readonly controller: AbortController;
  done: Promise<void>;
  /** Why it was cancelled, when a cancel gave a reason (recorded as `error.details.reason`). */
  reason: string | undefined;
}

const defaultCancelReason = "cancelled through the run host";

/**
 * @internal Drives the run host's run in this instance: builds the workflow, runs or resumes it,
 * stores its events, follows the work it has in flight, records how it ended, and wakes whoever
 * waits for the instance to go idle (nothing running, or everything in flight asleep on the alarm).
 */
export class RunDriver<TEnv> {
  readonly #store: KeyValueStore;
  readonly #env: TEnv;
  readonly #alarms: RunAlarms;
  /** The host's tables, once it knows it has them. */
  readonly #tables: () => HostTables | undefined;
  #run: ActiveRun | undefined;
  #state: string | undefined;
  /** Tasks and compensations of this instance in flight: from their start event to their end event. */
  readonly #busy = new Set<string>();
  #idleWaiters: (() => void)[] = [];

  constructor(store: KeyValueStore, env: TEnv, alarms: RunAlarms, tables: () => HostTables | undefined) {
    this.#store = store;
    this.#env = env;
    this.#alarms = alarms;
    this.#tables = tables;
  }

  /** True while an execution of the run lives in this instance. */
  get driving(): boolean {
    return this.#run !== undefined;
  }

  /** The state the run last entered in this instance. */
  get state(): string | undefined {
    return this.#state;
  }

  /** Runs (or resumes) the workflow in this instance; its ending is recorded when it settles. */
  drive(
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

  /** Stops the execution in this instance, if there is one (false when there is none). */
  cancel(reason: string | undefined): boolean {
    const active = this.#run;
    if (active === undefined) return false;
    active.reason = reason;
    active.controller.abort(new Error(reason ?? defaultCancelReason));
    return true;
  }

  /** A host row is damaged and no execution of the run lives here: the run fails with the error, every row kept. */
  async failStorage(tables: HostTables, error: CanoError): Promise<void> {
    this.#run = undefined;
    this.#busy.clear();
    tables.clock.detach();
    const record = tables.records.read();
    if (record !== undefined && !isFinished(record.status)) {
      tables.records.write({ ...record, status: "failed", error: error.toJSON(), updatedAt: Date.now() });
    }
    tables.events.end();
    this.checkIdle();
    await this.#alarms.clear(tables);
  }

  /** True while the run has work in flight here and all of it sleeps on the alarm. */
  allParked(): boolean {
    const sleeping = this.#tables()?.clock.sleeping() ?? 0;
    return sleeping > 0 && sleeping >= this.#busy.size;
  }

  /** True when nothing runs in this instance, or everything in flight waits on the alarm. */
  isIdle(): boolean {
    return this.#run === undefined || this.allParked();
  }

  /** Calls `wake` the next time the instance turns idle (see {@link isIdle}). */
  whenIdle(wake: () => void): void {
    this.#idleWaiters.push(wake);
  }

  /** Wakes every waiter if the instance is idle. */
  checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
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
    const wasParked = this.allParked();
    trackBusy(this.#busy, event);
    if (event.type === "state_enter") {
      this.#state = event.state;
      tables.clock.enteredState();
      const record = tables.records.read();
      if (record !== undefined) tables.records.write({ ...record, state: event.state, updatedAt: event.at });
    }
    if (this.allParked() === wasParked) return;
    this.#alarms.rearmInBackground();
    this.checkIdle();
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
    this.checkIdle();
    await this.#alarms.clear(tables);
  }
}

/** @internal `record` without its `error` (a run going on again). */
export function withoutError(record: DurableRunInfo): DurableRunInfo {
  const { error: _error, ...rest } = record;
  return rest;
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
