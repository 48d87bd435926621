import type { CircuitState } from "cano";
import { formatEvent } from "cano";
import type { PlaygroundEvent } from "../runtime/events.ts";
import type { Tone } from "./model-types.ts";

/** A breaker state in words: `closed`, `open until +30.0 s`, `half-open`. */
export function breakerText(state: CircuitState, now?: number): string {
  switch (state.status) {
    case "closed":
      return state.consecutiveFailures === 0
        ? "closed"
        : `closed (${state.consecutiveFailures} failed in a row)`;
    case "open":
      return now === undefined || state.until <= now
        ? "open"
        : `open, probes in ${((state.until - now) / 1000).toFixed(1)} s`;
    case "half_open":
      return "half-open (probing)";
  }
}

function toneOf(event: PlaygroundEvent): Tone {
  switch (event.type) {
    case "task_success":
    case "compensate_done":
      return "ok";
    case "retry":
    case "circuit_open":
    case "cancelled":
    case "flow_skipped":
    case "flow_backoff":
    case "compensate_start":
      return "warn";
    case "task_failure":
    case "workflow_timeout":
    case "checkpoint_clear_failed":
    case "teardown_failed":
    case "flow_tripped":
    case "trigger_failed":
      return "error";
    case "checkpoint":
    case "task_start":
      return "muted";
    case "run_end":
      return event.outcome === "completed" ? "ok" : "error";
    case "flow_end":
      return event.outcome === "completed" ? "ok" : "error";
    case "breaker":
      return event.to.status === "closed" ? "ok" : "warn";
    case "replayed":
      return "replay";
    case "log":
      return event.level === "log" ? "log" : event.level === "warn" ? "warn" : "error";
    default:
      return "info";
  }
}

function textOf(event: PlaygroundEvent): string {
  switch (event.type) {
    case "breaker":
      return `breaker ${event.name}: ${breakerText(event.from)} → ${breakerText(event.to)}`;
    case "log":
      return event.text;
    case "replayed": {
      const { row } = event;
      const what =
        row.kind === "state"
          ? `entered "${row.state}"`
          : row.kind === "completion"
            ? `saga step "${row.taskId}" completed`
            : `cursor of "${row.state}" saved`;
      return `from the checkpoint log #${row.sequence}: ${what}`;
    }
    case "flow_start":
      return `schedule: ${event.runId} started (${event.cause})`;
    case "flow_end":
      return `schedule: ${event.runId} ${event.outcome} after ${event.durationMs} ms`;
    case "flow_skipped":
      return `schedule: ${event.count} planned time(s) skipped (${event.reason})`;
    case "flow_backoff":
      return `schedule: backing off ${event.delayMs} ms after ${event.streak} failure(s) in a row`;
    case "flow_tripped":
      return `schedule: tripped after ${event.streak} failures: ${event.error.message}`;
    case "trigger_failed":
      return `schedule: trigger ${event.method} failed: ${event.error.message}`;
    default:
      // The engine's own wording, without its time column.
      return formatEvent(event, event.at)
        .replace(/^\s*\+0ms\s+/, "")
        .trim();
  }
}

/** A timeline line for an event: what happened, in the engine's words where it has them, and its tone. */
export function describe(event: PlaygroundEvent): { readonly text: string; readonly tone: Tone } {
  return { text: textOf(event), tone: toneOf(event) };
}
