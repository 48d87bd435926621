import type { RunScope } from "./attempt.ts";
import { engineError } from "./errors.ts";

/**
 * @internal Links the caller's signal and the total timeout to the run's `abort`, called with a
 * `cancelled` or `workflow_timeout` error; returns the cleanup.
 */
export function watchRun(
  abort: (reason: unknown) => void,
  cancel: AbortSignal | undefined,
  limitMs: number | undefined,
  scope: Pick<RunScope, "clock" | "workflowId">,
): () => void {
  const { clock, workflowId } = scope;
  const onCancel = () =>
    abort(engineError("cancelled", "Workflow: the run was cancelled", { workflowId, cause: cancel?.reason }));
  cancel?.addEventListener("abort", onCancel, { once: true });
  const startedAt = clock.now();
  const cancelTimer =
    limitMs === undefined
      ? undefined
      : clock.schedule(limitMs, () => {
          const elapsedMs = clock.now() - startedAt;
          abort(
            engineError(
              "workflow_timeout",
              `Workflow: total timeout of ${limitMs} ms exceeded after ${elapsedMs} ms`,
              {
                workflowId,
                details: { elapsedMs, limitMs },
              },
            ),
          );
        });
  return () => {
    cancel?.removeEventListener("abort", onCancel);
    cancelTimer?.();
  };
}
