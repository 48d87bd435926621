import type { CanoError, CanoErrorJson, WorkflowEvent } from "../../core/index.ts";
import type { RunDetails, RunEventRecord, RunInfo, RunStatus, StateVisit } from "./run-host.ts";
import { isFinished } from "./run-host.ts";

/** A waiting reader of a run's events; `wake` is set while it waits. */
interface Subscriber {
  wake: (() => void) | undefined;
}

/**
 * @internal One run as the in-process host keeps it: its status, a bounded log of its events with
 * ids, the states it visited, and the readers waiting for its next event. Plain bookkeeping; the
 * host decides when the run starts, stops and resumes.
 */
export class RunRecord {
  readonly id: string;
  readonly workflow: string;
  readonly input: unknown;
  /** Position in start order, for paging. */
  readonly seq: number;
  readonly createdAt: number;
  /** `workflow` plus the canonical JSON of `input`, compared when an idempotency key is reused. */
  readonly fingerprint: string;
  readonly idempotencyKey: string | undefined;
  status: RunStatus = "running";
  state: string | undefined;
  error: CanoErrorJson | undefined;
  updatedAt: number;
  resumes = 0;
  /** Aborts the current execution; replaced on every resume. */
  stop: ((reason: CanoError) => void) | undefined;
  /** True while an execution (start or resume) has not settled yet. */
  active = false;
  /** The `reason` of the cancel asked for this execution, kept in the error once the run ends cancelled. */
  cancelReason: string | undefined;
  lastEventId = 0;
  readonly #events: RunEventRecord[] = [];
  readonly #history: StateVisit[] = [];
  readonly #subscribers = new Set<Subscriber>();
  readonly #maxEvents: number;

  constructor(fields: {
    readonly id: string;
    readonly workflow: string;
    readonly input: unknown;
    readonly seq: number;
    readonly now: number;
    readonly fingerprint: string;
    readonly idempotencyKey: string | undefined;
    readonly maxEvents: number;
  }) {
    this.id = fields.id;
    this.workflow = fields.workflow;
    this.input = fields.input;
    this.seq = fields.seq;
    this.createdAt = fields.now;
    this.updatedAt = fields.now;
    this.fingerprint = fields.fingerprint;
    this.idempotencyKey = fields.idempotencyKey;
    this.#maxEvents = fields.maxEvents;
  }

  /** How many readers are waiting on or reading this run's events. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Stores an event under the next id, follows its state and outcome, and wakes every reader. */
  record(given: WorkflowEvent, now: number): void {
    // A cancel's reason is kept in the run's error, in the `run_end` event as in the run's info.
    const event =
      given.type === "run_end" && given.outcome === "cancelled" && this.cancelReason !== undefined
        ? { ...given, error: withReason(given.error, this.cancelReason) }
        : given;
    this.lastEventId += 1;
    this.#events.push({ id: this.lastEventId, event });
    // Dropping in halves keeps appends O(1) amortised; at least `maxEvents` newest events remain.
    if (this.#events.length >= this.#maxEvents * 2) this.#events.splice(0, this.#maxEvents);
    if (event.type === "state_enter") {
      this.state = event.state;
      this.#history.push({ state: event.state, at: event.at });
      if (this.#history.length >= this.#maxEvents * 2) this.#history.splice(0, this.#maxEvents);
      this.updatedAt = now;
    } else if (event.type === "run_end") {
      if (event.state !== undefined) this.state = event.state;
      this.error = event.error;
      this.finish(event.outcome, now);
    }
    this.wakeAll();
  }

  /** Marks the run ended with `status` (and wakes readers so their streams can close). */
  finish(status: RunStatus, now: number, error?: CanoErrorJson): void {
    this.status = status;
    if (error !== undefined) this.error = error;
    this.updatedAt = now;
    this.wakeAll();
  }

  /** Retained events with an id above `after`, oldest first. */
  since(after: number): RunEventRecord[] {
    const first = this.#events[0]?.id ?? this.lastEventId + 1;
    return this.#events.slice(Math.max(0, after + 1 - first));
  }

  /**
   * Events after `after`: the retained ones, then live ones until the run ends or `signal` fires.
   * The reader is registered only while iterating, and always removed in `finally`.
   */
  async *iterate(
    after: number,
    signal: AbortSignal | undefined,
    historyOnly: boolean,
  ): AsyncGenerator<RunEventRecord, void, undefined> {
    const subscriber: Subscriber = { wake: undefined };
    const onAbort = () => subscriber.wake?.();
    const stopped = () => signal?.aborted === true;
    this.#subscribers.add(subscriber);
    signal?.addEventListener("abort", onAbort);
    try {
      let next = after;
      while (!stopped()) {
        for (const entry of this.since(next)) {
          yield entry;
          next = entry.id;
          if (stopped()) return;
        }
        if (historyOnly || (isFinished(this.status) && next >= this.lastEventId)) return;
        // Events recorded while this reader was suspended at a yield found no waker: read them first.
        if (next < this.lastEventId) continue;
        // Woken by the next event, the run's end or the signal; checked and armed in one synchronous step.
        await new Promise<void>((resolve) => {
          subscriber.wake = resolve;
        });
        subscriber.wake = undefined;
      }
    } finally {
      this.#subscribers.delete(subscriber);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** The run as plain JSON. */
  info(): RunInfo {
    return {
      id: this.id,
      workflow: this.workflow,
      status: this.status,
      ...(this.state === undefined ? {} : { state: this.state }),
      ...(this.error === undefined ? {} : { error: this.error }),
      input: this.input,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      lastEventId: this.lastEventId,
      resumes: this.resumes,
    };
  }

  /** The run with the states it visited. */
  details(): RunDetails {
    return { ...this.info(), history: [...this.#history] };
  }

  /** Wakes every waiting reader so it re-reads the log and the status. */
  wakeAll(): void {
    for (const subscriber of this.#subscribers) subscriber.wake?.();
  }
}

/** A cancelled run's error with the cancel's reason in `details.reason`. */
function withReason(error: CanoErrorJson | undefined, reason: string): CanoErrorJson {
  const base: CanoErrorJson = error ?? { code: "cancelled", message: "the run was cancelled" };
  return { ...base, details: { ...base.details, reason } };
}
