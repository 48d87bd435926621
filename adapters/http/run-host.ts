import type { CanoErrorJson, WorkflowEvent } from "../../core/index.ts";

/** Where a run is: still going, asked to stop, or ended (with the run's outcome). */
export type RunStatus = "running" | "cancelling" | "completed" | "failed" | "cancelled";

/** Every {@link RunStatus}, for validation and docs. */
export const runStatuses = [
  "running",
  "cancelling",
  "completed",
  "failed",
  "cancelled",
] as const satisfies readonly RunStatus[];

const finished: ReadonlySet<RunStatus> = new Set(["completed", "failed", "cancelled"]);

/** True for the statuses after which nothing happens until a resume: completed, failed, cancelled. */
export function isFinished(status: RunStatus): boolean {
  return finished.has(status);
}

/** A run as the API reports it: plain JSON. */
export interface RunInfo {
  /** The run's id: a random UUID, unguessable, so knowing it is what lets a client read the run. */
  readonly id: string;
  /** The name the workflow is registered under. */
  readonly workflow: string;
  readonly status: RunStatus;
  /** The state the run is in while it runs, or the state it ended in; absent before the first state. */
  readonly state?: string;
  /**
   * Why the run failed or was cancelled; never a stack trace. A cancel's `reason` is in
   * `error.details.reason`. A task's error message is part of it, so whoever may read the run sees it.
   */
  readonly error?: CanoErrorJson;
  /** The validated input the run was started with. */
  readonly input: unknown;
  /** When the run was started, in milliseconds since the epoch. */
  readonly createdAt: number;
  /** When the status or state last changed, in milliseconds since the epoch. */
  readonly updatedAt: number;
  /** The id of the run's newest event (0 before the first); pass it as `Last-Event-ID` to resume a stream. */
  readonly lastEventId: number;
  /** How many times the run was resumed. */
  readonly resumes: number;
}

/** One entry of a run's history: a state it entered, and when. */
export interface StateVisit {
  readonly state: string;
  readonly at: number;
}

/** A run with the states it visited, oldest first. */
export interface RunDetails extends RunInfo {
  readonly history: readonly StateVisit[];
}

/** One event of a run with its id: ids start at 1 and grow by 1 for the life of the run, across resumes. */
export interface RunEventRecord {
  readonly id: number;
  readonly event: WorkflowEvent;
}

/** Options of {@link RunHost.start}. */
export interface StartOptions {
  /**
   * A client-chosen key: a second start with the same key and the same workflow and input returns
   * the first run instead of starting another; with a different workflow or input it is a conflict.
   */
  readonly idempotencyKey?: string;
  /** Keeps the run alive after the response on platforms that cut work short (Workers' `waitUntil`). */
  readonly waitUntil?: (work: Promise<unknown>) => void;
}

/** Options of {@link RunHost.resume}. */
export interface ResumeRunOptions {
  /** Keeps the resumed run alive after the response on platforms that cut work short (Workers' `waitUntil`). */
  readonly waitUntil?: (work: Promise<unknown>) => void;
}

/** What {@link RunHost.start} returns: the run, and whether this call created it. */
export interface StartResult {
  readonly run: RunInfo;
  /** False when an earlier start with the same idempotency key is returned. */
  readonly created: boolean;
}

/** Options of {@link RunHost.events}. */
export interface EventsOptions {
  /** Only events with a greater id: the `Last-Event-ID` of a dropped stream. Default 0 (every event). */
  readonly after?: number;
  /** Ends the iteration (and releases its listener) when it fires: a client that went away. */
  readonly signal?: AbortSignal;
  /** Stop once the retained history is delivered instead of waiting for live events. */
  readonly historyOnly?: boolean;
}

/** A page request of {@link RunHost.list}. */
export interface ListQuery {
  /** At most this many runs (1–100). */
  readonly limit: number;
  /** The `nextCursor` of the previous page; absent for the first page. */
  readonly cursor?: string;
  /** Only runs of this workflow. */
  readonly workflow?: string;
  /** Only runs with this status. */
  readonly status?: RunStatus;
}

/** A page of runs, newest first. */
export interface RunPage {
  readonly runs: readonly RunInfo[];
  /** Pass it as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/**
 * Where runs execute, as the HTTP API sees them. `InProcessRunHost` runs them in this process (Node,
 * Workers in development); a Durable Object host implements the same port on Cloudflare.
 * Methods fail with a {@link RunHostError}; everything else they return is plain JSON.
 */
export interface RunHost {
  /** Starts a run of a registered workflow with already-validated input. */
  start(workflow: string, input: unknown, options?: StartOptions): Promise<StartResult>;
  /** The run with its history, or `undefined` for an unknown id. */
  status(runId: string): Promise<RunDetails | undefined>;
  /**
   * The run's events after `options.after`: the retained history first, then live events until the
   * run ends or `options.signal` fires. Fails with `unknown_run` on the first step for an unknown id.
   */
  events(runId: string, options?: EventsOptions): AsyncIterable<RunEventRecord>;
  /** Asks a running run to stop (its saga steps are still compensated); a finished run is a `conflict`. */
  cancel(runId: string, reason?: string): Promise<RunInfo>;
  /** Continues a failed or cancelled run from its checkpoint log; any other status is a `conflict`. */
  resume(runId: string, options?: ResumeRunOptions): Promise<RunInfo>;
  /** Runs, newest first, one page at a time. */
  list(query: ListQuery): Promise<RunPage>;
}

/** The `code` of a {@link RunHostError}. */
export type RunHostErrorCode = "unknown_workflow" | "unknown_run" | "conflict" | "invalid_request";

const brand = Symbol.for("cano.run_host_error");

/** What a {@link RunHost} throws; the API maps `code` to a status (404, 409, 400). */
export class RunHostError extends Error {
  /** What went wrong. */
  readonly code: RunHostErrorCode;
  /** @internal recognised by {@link isRunHostError} across duplicated package copies. */
  readonly [brand] = true;

  constructor(code: RunHostErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "RunHostError";
    this.code = code;
  }
}

/** True for any {@link RunHostError}, even one from another copy of the package. */
export function isRunHostError(value: unknown): value is RunHostError {
  return typeof value === "object" && value !== null && (value as { [brand]?: unknown })[brand] === true;
}
