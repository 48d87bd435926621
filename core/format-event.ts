import type { WorkflowEvent } from "./events.ts";

function describe(event: WorkflowEvent): string {
  switch (event.type) {
    case "run_start":
      return `run started at "${event.initial}"`;
    case "state_enter":
      return `→ ${event.state}`;
    case "task_start":
      return `  ${event.taskId}: started`;
    case "retry":
      return `  ${event.taskId}: attempt ${event.attempt} failed (${event.error.message}); retrying in ${event.delayMs} ms`;
    case "task_success":
      return `  ${event.taskId}: done after ${event.attempts} attempt(s), next "${event.next}"`;
    case "task_failure":
      return `  ${event.taskId}: failed [${event.error.code}] ${event.error.message}`;
    case "circuit_open":
      return `  ${event.taskId}: circuit open, call rejected`;
    case "split_start":
      return `  split into ${event.branches} branches, join ${event.strategy}`;
    case "branch_settled":
      return `  ${event.taskId}: ${event.outcome}${event.error === undefined ? "" : ` (${event.error.message})`}`;
    case "join":
      return `  join ${event.strategy}: ${event.successes} succeeded, ${event.failures} failed, ${event.cancelled} cancelled${event.timedOut ? " (timed out)" : ""} → ${event.decision}`;
    case "workflow_timeout":
      return `total timeout: ${event.elapsedMs} ms of ${event.limitMs} ms used`;
    case "cancelled":
      return `cancelled at "${event.state}"`;
    case "checkpoint":
      return `  checkpoint #${event.sequence} (${event.kind} of "${event.state}")`;
    case "checkpoint_clear_failed":
      return `checkpoint log could not be cleared: ${event.error.message}`;
    case "resume":
      return `resumed at "${event.state}" after checkpoint #${event.lastSequence}`;
    case "compensate_start":
      return `  ${event.taskId}: compensating`;
    case "compensate_done":
      return `  ${event.taskId}: ${event.ok ? "compensated" : `compensation failed (${event.error?.message})`}`;
    case "teardown_failed":
      return `resource teardown failed: ${event.error.message}`;
    case "run_end":
      return event.outcome === "completed"
        ? `run completed in "${event.state}" after ${event.durationMs} ms`
        : `run ${event.outcome} after ${event.durationMs} ms: [${event.error?.code}] ${event.error?.message}`;
  }
}

/**
 * One readable line for an event, e.g. `+105ms   fetch: attempt 1 failed (…); retrying in 100 ms`.
 * Times are relative to `startedAt` when given.
 */
export function formatEvent(event: WorkflowEvent, startedAt?: number): string {
  const time = startedAt === undefined ? new Date(event.at).toISOString() : `+${event.at - startedAt}ms`;
  return `${time.padStart(8)}  ${describe(event)}`;
}
