import type { CheckpointStore } from "../../core/checkpoint.ts";
import type { Observer } from "../../core/events.ts";
import type { ResumeOptions } from "../../core/run.ts";
import type { TabLeaseEvent, TabLeaseOptions } from "./tab-lease.ts";
import { withTabLease } from "./tab-lease.ts";

/** Anything that can resume a run, such as a `Workflow`. */
export interface ResumableLike<TState extends string> {
  resumeFrom(workflowId: string, options?: ResumeOptions): Promise<TState>;
}

/** How {@link resumeInTab} ended. */
export type TabResume<TState extends string> =
  /** This tab resumed the run and it reached `state`. */
  | { readonly status: "completed"; readonly state: TState }
  /** The run had no rows once the lease was ours: another tab finished it (or it was cleared). */
  | { readonly status: "gone" };

/** Options of {@link resumeInTab}: the lease's, plus the resumed run's observer. */
export interface ResumeInTabOptions extends Omit<TabLeaseOptions, "onEvent"> {
  /** Receives the lease's events (waiting, acquired, released, unavailable). */
  readonly onLeaseEvent?: (event: TabLeaseEvent) => void;
  /** An observer of the resumed run's events. */
  readonly onEvent?: Observer;
}

/**
 * Resumes an unfinished run in this tab under its tab lease (see `withTabLease`). Once the lease is
 * ours the log is read again: a tab that waited its turn finds the run already finished by the tab
 * before it and gets `{ status: "gone" }` instead of an error; otherwise the run is resumed and
 * `signal` (if given) both stops the wait and cancels the run.
 *
 * @example
 * for (const run of await checkpoints.listRuns()) {
 *   const result = await resumeInTab(agentWorkflow(run.workflowId), checkpoints, run.workflowId);
 * }
 */
export function resumeInTab<TState extends string>(
  workflow: ResumableLike<TState>,
  checkpoints: CheckpointStore,
  workflowId: string,
  options: ResumeInTabOptions = {},
): Promise<TabResume<TState>> {
  const { onLeaseEvent, onEvent, ...lease } = options;
  return withTabLease(
    workflowId,
    async (): Promise<TabResume<TState>> => {
      if ((await checkpoints.loadRun(workflowId)).length === 0) return { status: "gone" };
      const state = await workflow.resumeFrom(workflowId, {
        ...(lease.signal === undefined ? {} : { signal: lease.signal }),
        ...(onEvent === undefined ? {} : { onEvent }),
      });
      return { status: "completed", state };
    },
    { ...lease, ...(onLeaseEvent === undefined ? {} : { onEvent: onLeaseEvent }) },
  );
}
