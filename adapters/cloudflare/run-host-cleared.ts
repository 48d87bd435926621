import type { WorkflowEvent } from "../../core/events.ts";
import type { RunEventRecord } from "./event-log.ts";
import type { RunEnding } from "./run-host-types.ts";

/** Events that only happen after a state's row was written when the state is not an exit. */
const pastAnExit = new Set(["task_start", "split_start", "compensate_start"]);

/**
 * @internal How a run ended when its object was reset after the run cleared its checkpoint log but
 * before the host recorded the ending; `undefined` when the history shows no row was ever written
 * (the run must start again). The engine clears the log only on reaching an exit state or after a
 * clean rollback, and the host stores every event before it moves on, so the history tells which.
 */
export function clearedRunOutcome(runId: string, history: readonly RunEventRecord[]): RunEnding | undefined {
  const events = history.map((record) => record.event);
  const lastCheckpoint = lastIndexOf(events, (event) => event.type === "checkpoint");
  if (lastCheckpoint === -1) return undefined;
  const lastStart = lastIndexOf(events, (event) => event.type === "run_start");
  const end = events[lastIndexOf(events, (event, index) => index > lastStart && event.type === "run_end")];
  if (end?.type === "run_end") {
    if (end.outcome === "completed" && end.state !== undefined)
      return { status: "completed", state: end.state };
    if (end.outcome !== "completed" && end.error !== undefined)
      return { status: end.outcome, error: end.error };
  }
  const checkpoint = events[lastCheckpoint];
  const movedOn = events.slice(lastCheckpoint + 1).some((event) => pastAnExit.has(event.type));
  if (checkpoint?.type === "checkpoint" && checkpoint.kind === "state" && !movedOn) {
    return { status: "completed", state: checkpoint.state };
  }
  if (lastIndexOf(events, (event, index) => index > lastStart && event.type === "cancelled") !== -1) {
    return {
      status: "cancelled",
      error: {
        code: "cancelled",
        message: "Workflow: the run was cancelled (and rolled back)",
        workflowId: runId,
      },
    };
  }
  return {
    status: "failed",
    error: {
      code: "workflow",
      message:
        `RunHost: run "${runId}" has no checkpoint rows left, but its history shows it rolled back: it ended ` +
        "before its object was reset, and there is nothing to resume.",
      workflowId: runId,
    },
  };
}

/** The index of the last event matching `test`, or -1. */
function lastIndexOf(
  events: readonly WorkflowEvent[],
  test: (event: WorkflowEvent, index: number) => boolean,
): number {
  for (let index = events.length - 1; index >= 0; index--) if (test(events[index]!, index)) return index;
  return -1;
}
