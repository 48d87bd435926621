import type { BackoffPolicy } from "./backoff.ts";
import { backoffDelayMs, isTripped } from "./backoff.ts";
import type { CanoError, CanoErrorJson } from "./errors.ts";
import type { RunOutcome } from "./events.ts";

/**
 * Where a scheduled flow stands, as a discriminated union on `status` (reference §10): `backoff`
 * and `tripped` carry the failure streak and the last error. Plain JSON.
 */
export type FlowStatus =
  | { readonly status: "idle" }
  | { readonly status: "running" }
  | { readonly status: "completed" }
  | {
      readonly status: "backoff";
      /** Planned times before this are skipped; `trigger(id)` may still run the flow. */
      readonly until: number;
      readonly streak: number;
      readonly lastError: CanoErrorJson;
    }
  | { readonly status: "tripped"; readonly streak: number; readonly lastError: CanoErrorJson };

/** Counters and times of a scheduled flow, next to its {@link FlowStatus} in {@link FlowInfo}. */
export interface FlowStats {
  readonly id: string;
  /** The trigger's description: `every 60000 ms`, `manual`, `cron "0 9 * * *"`. */
  readonly trigger: string;
  /** Failed runs in a row; 0 after a success or a `reset`. */
  readonly streak: number;
  /** Runs started, including the one in progress. */
  readonly runs: number;
  /** Runs that failed. A clean cancellation is no failure; one whose saga rollback failed is. */
  readonly failures: number;
  /** Runs that were cancelled cleanly, by `cancel(id)` or `stop()`. */
  readonly cancelled: number;
  /** Planned times that started no run: inside a run, a backoff window, a tripped flow, or missed. */
  readonly skipped: number;
  /** The workflow id of the last run (`<flowId>:<run>-<8 hex digits>` by default), to `resumeFrom` it or find its events. */
  readonly lastRunId?: string;
  /** When the last run started. */
  readonly lastRunAt?: number;
  /** When the scheduler plans to wake up for this flow next, if it does. */
  readonly nextFireAt?: number;
}

/** A flow's status and counters, as `status(id)` and `list()` return them. Plain JSON. */
export type FlowInfo = FlowStatus & FlowStats;

/** Why planned times started no run; see {@link SchedulerEvent} `flow_skipped`. */
export type SkipReason = "running" | "backoff" | "tripped" | "missed" | "cancelled";

/** What started a run: its trigger, `trigger(id)`, or a catch-up after a late wake-up. */
export type RunCause = "schedule" | "manual" | "catch-up";

/** Fields every scheduler event carries. */
interface SchedulerEventBase {
  /** Milliseconds since the epoch, from the scheduler's clock. */
  readonly at: number;
  readonly flowId: string;
}

/**
 * What the scheduler does, as plain JSON objects for `onEvent`. Each run's own events still go to
 * its workflow's observers, under the run's id.
 */
export type SchedulerEvent =
  | (SchedulerEventBase & { readonly type: "flow_start"; readonly runId: string; readonly cause: RunCause })
  | (SchedulerEventBase & {
      readonly type: "flow_end";
      readonly runId: string;
      readonly outcome: RunOutcome;
      readonly durationMs: number;
      readonly error?: CanoErrorJson;
    })
  | (SchedulerEventBase & {
      readonly type: "flow_skipped";
      /** How many planned times started no run. */
      readonly count: number;
      readonly reason: SkipReason;
      /** The oldest of them. */
      readonly plannedAt: number;
    })
  | (SchedulerEventBase & {
      readonly type: "flow_backoff";
      readonly until: number;
      readonly delayMs: number;
      readonly streak: number;
    })
  | (SchedulerEventBase & {
      readonly type: "flow_tripped";
      readonly streak: number;
      readonly error: CanoErrorJson;
    })
  | (SchedulerEventBase & {
      readonly type: "trigger_failed";
      /** The trigger method that threw or answered something unusable. */
      readonly method: "next" | "onWake" | "save";
      readonly error: CanoErrorJson;
    });

/** @internal A flow's status and streak after a run, and how the run ended. */
export interface OutcomeDecision {
  readonly outcome: RunOutcome;
  readonly status: FlowStatus;
  readonly streak: number;
  /** The backoff wait, when the status is `backoff`. */
  readonly delayMs?: number;
}

/**
 * @internal The seed's `apply_outcome` as a pure function (reference §10): success → `completed`,
 * streak 0; a clean cancellation (code `cancelled`) → `idle`, streak kept, not a failure; any other
 * error, `compensation_failed` after a cancellation included → streak + 1, then `tripped` if the
 * policy says so, else `backoff` until `now` + the policy's delay.
 */
export function decideOutcome(
  error: CanoError | undefined,
  streak: number,
  policy: BackoffPolicy,
  now: number,
  random: number,
): OutcomeDecision {
  if (error === undefined) return { outcome: "completed", status: { status: "completed" }, streak: 0 };
  if (error.code === "cancelled") return { outcome: "cancelled", status: { status: "idle" }, streak };
  const next = streak + 1;
  const lastError = error.toJSON();
  if (isTripped(policy, next)) {
    return { outcome: "failed", status: { status: "tripped", streak: next, lastError }, streak: next };
  }
  const delayMs = backoffDelayMs(policy, next, random);
  return {
    outcome: "failed",
    status: { status: "backoff", until: now + delayMs, streak: next, lastError },
    streak: next,
    delayMs,
  };
}

/** @internal Why a planned time at `now` cannot start a run, or `undefined` if it can. */
export function blockedBy(status: FlowStatus, now: number): SkipReason | undefined {
  if (status.status === "running" || status.status === "tripped") return status.status;
  if (status.status === "backoff" && now < status.until) return "backoff";
  return undefined;
}
