import type { CanoErrorJson, CheckpointStore, Clock, WorkflowEvent } from "../../core/index.ts";
import { CanoError, isCanoError, MemoryCheckpointStore, randomId, systemClock } from "../../core/index.ts";
import type { ApiWorkflow, ApiWorkflows, RunnableWorkflow } from "./api-workflow.ts";
import { canonicalJson, checkWorkflows } from "./api-workflow.ts";
import type {
  EventsOptions,
  ListQuery,
  ResumeRunOptions,
  RunDetails,
  RunEventRecord,
  RunHost,
  RunInfo,
  RunPage,
  StartOptions,
  StartResult,
} from "./run-host.ts";
import { isFinished, RunHostError } from "./run-host.ts";
import { RunRecord } from "./run-record.ts";

/** What an {@link InProcessRunHost} is built with. */
export interface InProcessRunHostOptions {
  /** The workflows it can run, by name (the same object `createApi` gets). */
  readonly workflows: ApiWorkflows;
  /**
   * Where runs checkpoint, so a failed or cancelled run can be resumed. Default: a new
   * `MemoryCheckpointStore`. The host sets it on every workflow it runs, so set a durable store here,
   * not on the workflows: a workflow with a store of its own is refused (`configuration`), so a run is
   * never checkpointed anywhere but where the host resumes from.
   */
  readonly store?: CheckpointStore;
  /** Source of `createdAt`/`updatedAt`. Default: `systemClock`. */
  readonly clock?: Clock;
  /** Finished runs kept (oldest forgotten first, with their idempotency keys and checkpoint logs). Default 1000. */
  readonly maxFinishedRuns?: number;
  /** Events kept per run for replay; older ones are dropped (a stream resumed before them starts later). Default 10 000. */
  readonly maxEventsPerRun?: number;
}

const component = "InProcessRunHost";

/**
 * A {@link RunHost} that executes runs in this process (Node, or Workers in development): every run is
 * `orchestrate`d right away with a random UUID as its id, its events are kept for replay and pushed to
 * live readers, and cancel/resume drive the run's `AbortSignal` and `resumeFrom`. Run records live in
 * memory; the checkpoint log lives in `store`, which the host sets on every workflow it runs (one that
 * already has a checkpoint store of its own is refused rather than silently moved to another).
 *
 * @example
 * const host = new InProcessRunHost({ workflows });
 * const { run } = await host.start("order", { sku: "A-1" });
 * for await (const { id, event } of host.events(run.id)) console.log(id, event.type);
 */
export class InProcessRunHost implements RunHost {
  readonly #workflows: ApiWorkflows;
  readonly #store: CheckpointStore;
  readonly #clock: Clock;
  readonly #maxFinished: number;
  readonly #maxEvents: number;
  readonly #runs = new Map<string, RunRecord>();
  readonly #byKey = new Map<string, RunRecord>();
  /** Finished runs in the order they finished, for eviction. */
  readonly #finished = new Set<RunRecord>();
  readonly #executions = new Set<Promise<void>>();
  /** Whether each workflow had a checkpoint store of its own before the host set one, probed once. */
  readonly #ownStore = new WeakMap<RunnableWorkflow, Promise<boolean>>();
  #seq = 0;

  constructor(options: InProcessRunHostOptions) {
    checkWorkflows(options?.workflows, component);
    this.#workflows = options.workflows;
    this.#store = options.store ?? new MemoryCheckpointStore();
    this.#clock = options.clock ?? systemClock;
    this.#maxFinished = positiveInteger(options.maxFinishedRuns ?? 1000, "maxFinishedRuns");
    this.#maxEvents = positiveInteger(options.maxEventsPerRun ?? 10_000, "maxEventsPerRun");
    // Probed now, before this host ever sets its store on them; a start awaits the answer.
    for (const spec of Object.values(this.#workflows)) this.#probeStore(spec.workflow);
  }

  /** How many event readers are registered across all runs (0 once every stream has closed). */
  get subscribers(): number {
    let total = 0;
    for (const record of this.#runs.values()) total += record.subscribers;
    return total;
  }

  /** Resolves once every execution started so far has settled (for graceful shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#executions.size > 0) await Promise.allSettled([...this.#executions]);
  }

  /**
   * Starts a run now; with a reused idempotency key, returns the earlier run or fails with `conflict`.
   * Fails with `configuration` when the workflow has a checkpoint store of its own.
   */
  async start(workflow: string, input: unknown, options: StartOptions = {}): Promise<StartResult> {
    const spec = this.#spec(workflow);
    // A `create`d workflow is checked when it is built, and its run fails instead.
    if (spec.create === undefined) await this.#refuseOwnStore(spec.workflow, workflow);
    const fingerprint = `${workflow}\n${canonicalJson(input)}`;
    const key = options.idempotencyKey;
    // Check and insert without an await in between, so concurrent retries cannot both start.
    const earlier = key === undefined ? undefined : this.#byKey.get(key);
    if (earlier !== undefined) {
      if (earlier.fingerprint !== fingerprint) {
        throw new RunHostError(
          "conflict",
          `${component}: idempotency key "${key}" was used for run ${earlier.id} of "${earlier.workflow}" ` +
            "with other input; use a new key for a different request",
        );
      }
      return { run: earlier.info(), created: false };
    }
    const record = new RunRecord({
      id: randomId(),
      workflow,
      input,
      seq: ++this.#seq,
      now: this.#clock.now(),
      fingerprint,
      idempotencyKey: key,
      maxEvents: this.#maxEvents,
    });
    this.#runs.set(record.id, record);
    if (key !== undefined) this.#byKey.set(key, record);
    this.#execute(record, spec, "start", options.waitUntil);
    return { run: record.info(), created: true };
  }

  /** The run with its history, or `undefined`. */
  async status(runId: string): Promise<RunDetails | undefined> {
    return this.#runs.get(runId)?.details();
  }

  /** The run's events after `options.after`, then live ones until it ends or `options.signal` fires. */
  async *events(runId: string, options: EventsOptions = {}): AsyncGenerator<RunEventRecord, void, undefined> {
    const record = this.#record(runId);
    yield* record.iterate(options.after ?? 0, options.signal, options.historyOnly === true);
  }

  /**
   * Aborts the run's signal; the run ends `cancelled` once its task stops and compensations ran. The
   * `reason` is the message of the abort's cause and is kept in the run's `error.details.reason`.
   */
  async cancel(runId: string, reason?: string): Promise<RunInfo> {
    const record = this.#record(runId);
    if (isFinished(record.status)) {
      throw new RunHostError(
        "conflict",
        `${component}: run ${runId} already ended (${record.status}); only a running run can be cancelled`,
      );
    }
    if (record.status === "running") {
      record.status = "cancelling";
      record.cancelReason = reason;
      record.updatedAt = this.#clock.now();
      record.stop?.(cancelError(runId, reason));
      record.wakeAll();
    }
    return record.info();
  }

  /** Continues a failed or cancelled run from its checkpoint log with `resumeFrom`. */
  async resume(runId: string, options: ResumeRunOptions = {}): Promise<RunInfo> {
    const record = this.#record(runId);
    if (!(record.status === "failed" || record.status === "cancelled") || record.active) {
      throw new RunHostError(
        "conflict",
        `${component}: run ${runId} is ${record.status}; only a failed or cancelled run can be resumed`,
      );
    }
    const spec = this.#spec(record.workflow);
    // Claim the run before the await below, so two concurrent resumes cannot both run it.
    const before = { status: record.status, error: record.error };
    record.status = "running";
    record.error = undefined;
    record.cancelReason = undefined;
    record.active = true;
    this.#finished.delete(record);
    let rows: number;
    try {
      rows = (await this.#store.loadRun(runId)).length;
    } catch (error) {
      rows = -1;
      record.error = errorJson(error, "loading the checkpoint log failed");
    }
    if (rows <= 0) {
      record.active = false;
      record.status = before.status;
      record.error = rows < 0 ? record.error : before.error;
      this.#markFinished(record);
      throw new RunHostError(
        "conflict",
        `${component}: run ${runId} has no checkpoint log to resume from ` +
          "(it ended before its first state, rolled back cleanly, or its log could not be read)",
      );
    }
    record.resumes += 1;
    record.updatedAt = this.#clock.now();
    this.#execute(record, spec, "resume", options.waitUntil);
    return record.info();
  }

  /** Runs newest first; `cursor` is the previous page's `nextCursor`. */
  async list(query: ListQuery): Promise<RunPage> {
    const before = query.cursor === undefined ? Number.POSITIVE_INFINITY : cursorValue(query.cursor);
    const page: RunInfo[] = [];
    let last: RunRecord | undefined;
    let more = false;
    const records = [...this.#runs.values()];
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i]!;
      if (record.seq >= before) continue;
      if (query.workflow !== undefined && record.workflow !== query.workflow) continue;
      if (query.status !== undefined && record.status !== query.status) continue;
      if (page.length === query.limit) {
        more = true;
        break;
      }
      page.push(record.info());
      last = record;
    }
    return more && last !== undefined ? { runs: page, nextCursor: String(last.seq) } : { runs: page };
  }

  #execute(
    record: RunRecord,
    spec: ApiWorkflow<unknown>,
    mode: "start" | "resume",
    waitUntil: StartOptions["waitUntil"],
  ): void {
    const controller = new AbortController();
    // On Workers an AbortController belongs to the request that made it (this one, which runs the
    // run), and a cancel arrives in another request: it settles a promise, and the abort happens here.
    let stop: (reason: CanoError) => void = () => {};
    void new Promise<CanoError>((resolve) => {
      stop = resolve;
    }).then((reason) => controller.abort(reason));
    record.stop = stop;
    record.active = true;
    // A cancel that arrived while a resume was still reading the log applies to this execution.
    if (record.status === "cancelling") controller.abort(cancelError(record.id, record.cancelReason));
    const onEvent = (event: WorkflowEvent) => record.record(event, this.#clock.now());
    const execution = (async () => {
      try {
        const workflow: RunnableWorkflow = spec.create?.(record.input, record.id) ?? spec.workflow;
        await this.#refuseOwnStore(workflow, record.workflow);
        workflow.withCheckpointStore(this.#store);
        setByHost.add(workflow);
        if (mode === "start")
          await workflow.orchestrate(spec.initial, {
            workflowId: record.id,
            signal: controller.signal,
            onEvent,
          });
        else await workflow.resumeFrom(record.id, { signal: controller.signal, onEvent });
      } catch (error) {
        // Failures after `run_start` already ended the record through `run_end`; this covers the rest
        // (a `create` that threw, a configuration error before the run began).
        if (!isFinished(record.status))
          record.finish("failed", this.#clock.now(), errorJson(error, "the run failed"));
      } finally {
        record.active = false;
        record.stop = undefined;
        if (!isFinished(record.status)) record.finish("failed", this.#clock.now(), lostEnd);
        this.#markFinished(record);
      }
    })();
    this.#executions.add(execution);
    void execution.finally(() => this.#executions.delete(execution));
    waitUntil?.(execution);
  }

  /** Starts (once per workflow object) finding out whether it has a checkpoint store of its own. */
  #probeStore(workflow: RunnableWorkflow): Promise<boolean> {
    let probe = this.#ownStore.get(workflow);
    if (probe === undefined) {
      probe = setByHost.has(workflow) ? Promise.resolve(false) : hasOwnStore(workflow);
      this.#ownStore.set(workflow, probe);
    }
    return probe;
  }

  /** Throws a `configuration` error when `workflow` has a checkpoint store this host would replace. */
  async #refuseOwnStore(workflow: RunnableWorkflow, name: string): Promise<void> {
    if (!(await this.#probeStore(workflow))) return;
    throw new CanoError(
      "configuration",
      `${component}: workflow "${name}" already has a checkpoint store (withCheckpointStore), and the ` +
        "host checkpoints every run in its own store, so that store would be silently replaced. " +
        "Use one store: pass it to the host as new InProcessRunHost({ workflows, store }) and remove " +
        "withCheckpointStore from the workflow (and from create).",
    );
  }

  #markFinished(record: RunRecord): void {
    this.#finished.add(record);
    while (this.#finished.size > this.#maxFinished) {
      const oldest = this.#finished.values().next().value as RunRecord;
      this.#finished.delete(oldest);
      this.#runs.delete(oldest.id);
      if (oldest.idempotencyKey !== undefined && this.#byKey.get(oldest.idempotencyKey) === oldest)
        this.#byKey.delete(oldest.idempotencyKey);
      // A forgotten run can no longer be resumed: its log would only take space.
      this.#store.clear(oldest.id).catch(() => undefined);
    }
  }

  #spec(workflow: string): ApiWorkflow<unknown> {
    const spec = Object.hasOwn(this.#workflows, workflow) ? this.#workflows[workflow] : undefined;
    if (spec === undefined) {
      const known = Object.keys(this.#workflows).map((name) => `"${name}"`);
      throw new RunHostError(
        "unknown_workflow",
        `${component}: no workflow named "${workflow}" (known: ${known.join(", ") || "none"})`,
      );
    }
    return spec;
  }

  #record(runId: string): RunRecord {
    const record = this.#runs.get(runId);
    if (record === undefined)
      throw new RunHostError("unknown_run", `${component}: no run with id "${runId}"`);
    return record;
  }
}

/** Workflows whose checkpoint store an `InProcessRunHost` set (so it is not one of their own). */
const setByHost = new WeakSet<RunnableWorkflow>();

/** Whether a workflow already has a checkpoint store (one the host did not set). */
async function hasOwnStore(workflow: RunnableWorkflow): Promise<boolean> {
  return workflow.checkpointStore !== undefined;
}

/** The reason a run's signal is aborted with when it is cancelled through the host. */
function cancelError(runId: string, reason: string | undefined): CanoError {
  return new CanoError("cancelled", `${component}: ${reason ?? "cancelled through the HTTP API"}`, {
    workflowId: runId,
    ...(reason === undefined ? {} : { details: { reason } }),
  });
}

const lostEnd: CanoErrorJson = {
  code: "workflow",
  message: `${component}: the run stopped without reporting how it ended`,
};

function errorJson(error: unknown, what: string): CanoErrorJson {
  if (isCanoError(error)) return error.toJSON();
  const detail = error instanceof Error ? error.message : String(error);
  return { code: "task_execution", message: `${component}: ${what}: ${detail}` };
}

function positiveInteger(value: number, name: string): number {
  if (Number.isSafeInteger(value) && value > 0) return value;
  throw new CanoError(
    "configuration",
    `${component}: ${name} must be an integer > 0, received ${String(value)}`,
  );
}

function cursorValue(cursor: string): number {
  if (/^[1-9][0-9]{0,15}$/.test(cursor)) return Number(cursor);
  throw new RunHostError("invalid_request", `${component}: cursor "${cursor}" is not one this host returned`);
}
