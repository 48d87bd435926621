import type { CheckpointRow, CircuitState, SchedulerEvent, WorkflowEvent } from "cano";

/** A circuit breaker changed state (from `CircuitBreaker.onStateChange`), or was first attached to a task. */
export interface BreakerEvent {
  readonly type: "breaker";
  readonly at: number;
  /** The tasks using the breaker, e.g. `call`, or `breaker 1` before any task uses it. */
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** A line the workflow's own code printed with `console.log` / `warn` / `error`. */
export interface LogEvent {
  readonly type: "log";
  readonly at: number;
  readonly level: "log" | "warn" | "error";
  readonly text: string;
}

/** A checkpoint row read back before a resume: the history of the run, replayed into the picture. */
export interface ReplayEvent {
  readonly type: "replayed";
  readonly at: number;
  readonly workflowId: string;
  readonly row: CheckpointRow;
}

/** Everything the live view is driven by: the engine's `WorkflowEvent`s plus what surrounds a run. */
export type PlaygroundEvent = WorkflowEvent | SchedulerEvent | BreakerEvent | LogEvent | ReplayEvent;

/** Receives playground events in order. */
export type EventSink = (event: PlaygroundEvent) => void;
