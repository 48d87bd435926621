import type { CanoErrorJson, CircuitState } from "cano";

/** How a task of the run is doing. */
export type TaskStatus = "running" | "retrying" | "succeeded" | "failed" | "rejected" | "cancelled";

/** A pending retry: which attempt failed, why, and when the next one starts (virtual epoch ms). */
export interface RetryView {
  readonly attempt: number;
  readonly delayMs: number;
  readonly until: number;
  readonly message: string;
}

/** One task (or split branch) of the run, as the retry panel and the graph show it. */
export interface TaskView {
  readonly taskId: string;
  readonly state: string;
  status: TaskStatus;
  /** The attempt running now (or the last one). */
  attempt: number;
  retry: RetryView | undefined;
  message: string | undefined;
}

/** One branch of a split. */
export interface BranchView {
  readonly taskId: string;
  readonly index: number;
  status: "waiting" | TaskStatus;
}

/** A split racing toward its join. */
export interface SplitView {
  readonly state: string;
  readonly strategy: string;
  readonly branches: BranchView[];
  successes: number;
  failures: number;
  cancelled: number;
  decision: "proceed" | "fail" | undefined;
  timedOut: boolean;
}

/** One compensation of the saga rollback, in the order it ran (newest step first). */
export interface CompensationView {
  readonly order: number;
  readonly state: string;
  readonly taskId: string;
  status: "running" | "done" | "failed";
  message: string | undefined;
}

/** A circuit breaker and the state it was last reported in. */
export interface BreakerView {
  readonly name: string;
  state: CircuitState;
  /** Virtual epoch ms of the last change. */
  at: number;
  /** How many times it opened. */
  opened: number;
}

/** The tone of a timeline line. */
export type Tone = "info" | "ok" | "warn" | "error" | "muted" | "replay" | "log";

/** One line of the timeline. */
export interface TimelineEntry {
  /** Position among every entry ever added (rendering appends by it). */
  readonly seq: number;
  /** Virtual epoch ms. */
  readonly at: number;
  /** The event type, e.g. `retry`, `compensate_done`, `replayed`. */
  readonly kind: string;
  readonly text: string;
  readonly tone: Tone;
}

/** Where the run stands. */
export type RunStatus = "idle" | "running" | "completed" | "failed" | "cancelled";

/** A scheduled session's progress. */
export interface ScheduleView {
  started: number;
  ended: number;
  failed: number;
  /** The scheduler's own last word: backoff, skipped times, … */
  note: string | undefined;
}

/** Everything the live view draws, built from the event stream only. */
export interface RunModel {
  /** The virtual epoch ms timeline times are relative to. */
  readonly origin: number;
  /** The branch task ids of each split state, from the program's structure. */
  readonly splitIds: ReadonlyMap<string, readonly string[]>;
  workflowId: string | undefined;
  status: RunStatus;
  /** The state the machine is in now (or ended in). */
  current: string | undefined;
  /** States entered, in order (a state entered twice appears twice). */
  readonly path: string[];
  /** Transitions taken, as `from→to`. */
  readonly edges: Set<string>;
  /** States that came from the checkpoint log of a resumed run. */
  readonly replayed: Set<string>;
  failedState: string | undefined;
  error: CanoErrorJson | undefined;
  readonly tasks: Map<string, TaskView>;
  readonly splits: Map<string, SplitView>;
  readonly compensations: CompensationView[];
  /** States of saga steps completed and not yet compensated, oldest first. */
  readonly sagaStack: string[];
  readonly breakers: Map<string, BreakerView>;
  readonly timeline: TimelineEntry[];
  /** Timeline entries dropped from the front to keep the page fast. */
  dropped: number;
  /** Events applied so far. */
  events: number;
  schedule: ScheduleView | undefined;
  /** Set by a `resume` event: the state whose re-entry must not draw a self-loop. */
  resumedAt: string | undefined;
}

/** The key of the edge `from → to` in {@link RunModel.edges}. */
export const edgeKey = (from: string, to: string): string => `${from}→${to}`;
