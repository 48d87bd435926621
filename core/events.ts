import type { CheckpointRowKind } from "./checkpoint.ts";
import type { CanoErrorJson } from "./errors.ts";

/** Fields every event carries. */
interface EventBase {
  /** Milliseconds since the Unix epoch, from the workflow's clock. */
  readonly at: number;
  readonly workflowId: string;
}

/** Fields of the events about one task of one state. */
interface TaskEventBase extends EventBase {
  readonly state: string;
  /** The task's name; split branches are `"<name>[<index>]"`. */
  readonly taskId: string;
}

/**
 * Everything that happens in a run, as one discriminated union of plain JSON objects. Observers,
 * the playground, the HTTP event stream and the OpenTelemetry adapter all consume it.
 *
 * Order for one state: `state_enter` → `checkpoint` → `task_start` → (`retry` | `circuit_open`)* →
 * `task_success` | `task_failure`.
 */
export type WorkflowEvent =
  | (EventBase & { readonly type: "run_start"; readonly initial: string })
  | (EventBase & { readonly type: "state_enter"; readonly state: string })
  | (TaskEventBase & { readonly type: "task_start" })
  | (TaskEventBase & {
      readonly type: "retry";
      /** The 1-based number of the attempt that failed. */
      readonly attempt: number;
      /** How long the engine waits before the next attempt. */
      readonly delayMs: number;
      readonly error: CanoErrorJson;
    })
  | (TaskEventBase & {
      readonly type: "task_success";
      readonly attempts: number;
      /** The state the task returned. */
      readonly next: string;
    })
  | (TaskEventBase & { readonly type: "task_failure"; readonly error: CanoErrorJson })
  | (TaskEventBase & { readonly type: "circuit_open" })
  | (EventBase & {
      readonly type: "split_start";
      readonly state: string;
      readonly branches: number;
      /** The join strategy, e.g. `quorum(2)`. */
      readonly strategy: string;
    })
  | (TaskEventBase & {
      readonly type: "branch_settled";
      readonly index: number;
      readonly outcome: "success" | "failure" | "cancelled";
      readonly error?: CanoErrorJson;
    })
  | (EventBase & {
      readonly type: "join";
      readonly state: string;
      readonly strategy: string;
      readonly successes: number;
      readonly failures: number;
      readonly cancelled: number;
      readonly timedOut: boolean;
      readonly decision: "proceed" | "fail";
    })
  | (EventBase & { readonly type: "workflow_timeout"; readonly elapsedMs: number; readonly limitMs: number })
  | (EventBase & { readonly type: "cancelled"; readonly state: string })
  | (EventBase & {
      readonly type: "checkpoint";
      readonly state: string;
      readonly sequence: number;
      readonly kind: CheckpointRowKind;
    })
  | (EventBase & { readonly type: "checkpoint_clear_failed"; readonly error: CanoErrorJson })
  | (EventBase & {
      readonly type: "resume";
      /** The state whose task re-runs. */
      readonly state: string;
      readonly lastSequence: number;
    })
  | (TaskEventBase & { readonly type: "compensate_start" })
  | (TaskEventBase & {
      readonly type: "compensate_done";
      readonly ok: boolean;
      readonly error?: CanoErrorJson;
    })
  | (EventBase & { readonly type: "teardown_failed"; readonly error: CanoErrorJson })
  | (EventBase & {
      readonly type: "run_end";
      readonly outcome: RunOutcome;
      /** The exit state reached, when the run completed. */
      readonly state?: string;
      readonly error?: CanoErrorJson;
      readonly durationMs: number;
    });

/** How a run ended. */
export type RunOutcome = "completed" | "failed" | "cancelled";

/** The `type` of a {@link WorkflowEvent}. */
export type WorkflowEventType = WorkflowEvent["type"];

/** The event of one type, e.g. `EventOf<"retry">`. */
export type EventOf<TType extends WorkflowEventType> = Extract<WorkflowEvent, { type: TType }>;

/**
 * Receives every event of a run, synchronously and in order. Keep it cheap; a throwing observer is
 * isolated (reported once, never breaks the run).
 */
export type Observer = (event: WorkflowEvent) => void;
