import type { RunScope } from "./attempt.ts";
import { CanoError, engineError, toCanoError } from "./errors.ts";
import type { SagaStep } from "./saga.ts";
import type { TaskContext } from "./task.ts";

/** @internal A completed saga step waiting to be undone if the run fails. */
export interface CompensationEntry {
  readonly state: string;
  readonly taskId: string;
  readonly output: unknown;
  /** The sequence of the step's completion row, when the run is checkpointed. */
  readonly sequence?: number;
}

/** Runs `body`, failing with a `timeout` error (and aborting its signal) after `limitMs`. */
function bounded(
  clock: TaskContext["clock"],
  limitMs: number | undefined,
  timeout: () => CanoError,
  body: (signal: AbortSignal) => unknown,
): Promise<unknown> {
  // Compensations are not cancellable: without a bound their signal never fires.
  if (limitMs === undefined) return new Promise((run) => run(body(new AbortController().signal)));
  const controller = new AbortController();
  return new Promise((resolve, reject) => {
    const cancel = clock.schedule(limitMs, () => {
      const error = timeout();
      controller.abort(error);
      reject(error);
    });
    new Promise((run) => run(body(controller.signal))).then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        cancel();
        reject(error);
      },
    );
  });
}

/**
 * @internal Undoes completed saga steps in reverse (reference §12): never stops early, never
 * cancelled, each entry bounded by its step's `attemptTimeoutMs` and by `deadline` (epoch ms, when
 * a total timeout is set). Past the deadline every remaining entry becomes an orphan, plus one
 * summary `timeout`. `compensated` is awaited after each successful compensation (the run records
 * it). Returns the compensation errors in drain order; empty means a clean rollback.
 */
export async function drainCompensations<TResources>(
  scope: RunScope,
  stack: readonly CompensationEntry[],
  steps: ReadonlyMap<string, SagaStep<string, unknown, TResources>>,
  base: Omit<TaskContext<TResources>, "state" | "signal" | "attempt">,
  deadline: number | undefined,
  compensated?: (entry: CompensationEntry) => Promise<unknown>,
): Promise<CanoError[]> {
  const { clock, workflowId, emit } = scope;
  const errors: CanoError[] = [];
  for (let index = stack.length - 1; index >= 0; index--) {
    const entry = stack[index]!;
    const { state, taskId, output } = entry;
    if (deadline !== undefined && clock.now() >= deadline) {
      for (let rest = index; rest >= 0; rest--)
        errors.push(orphaned(stack[rest]!, "the compensation deadline passed"));
      errors.push(
        engineError("timeout", `Saga: compensation deadline elapsed; ${index + 1} entries left unprocessed`, {
          workflowId,
        }),
      );
      break;
    }
    const step = steps.get(taskId);
    if (step === undefined) {
      errors.push(orphaned(entry, "no saga step with this name is registered"));
      continue;
    }
    emit?.({ type: "compensate_start", at: clock.now(), workflowId, state, taskId });
    const stepLimit = step.forward.attemptTimeoutMs;
    const deadlineLimit = deadline === undefined ? undefined : deadline - clock.now();
    const limitMs =
      stepLimit === undefined
        ? deadlineLimit
        : deadlineLimit === undefined
          ? stepLimit
          : Math.min(stepLimit, deadlineLimit);
    const byDeadline = deadlineLimit !== undefined && limitMs === deadlineLimit;
    try {
      await bounded(
        clock,
        limitMs,
        () =>
          engineError(
            "timeout",
            `Saga: compensation of "${taskId}" exceeded ${byDeadline ? "the compensation deadline" : `attemptTimeoutMs (${limitMs} ms)`}`,
            { workflowId, state },
          ),
        (signal) => step.compensate(output, { ...base, state, signal, attempt: 1 }),
      );
      emit?.({ type: "compensate_done", at: clock.now(), workflowId, state, taskId, ok: true });
      await compensated?.(entry);
    } catch (thrown) {
      const error = toCanoError(thrown, `Saga compensation of "${taskId}"`);
      emit?.({
        type: "compensate_done",
        at: clock.now(),
        workflowId,
        state,
        taskId,
        ok: false,
        error: error.toJSON(),
      });
      errors.push(error);
    }
  }
  return errors;
}

function orphaned(entry: CompensationEntry, why: string): CanoError {
  return engineError(
    "orphaned_compensation",
    `Saga: step "${entry.taskId}" (state "${entry.state}") was not compensated: ${why}; its output is kept in details.output`,
    { state: entry.state, details: { taskId: entry.taskId, output: entry.output } },
  );
}

/**
 * @internal The error of a failed rollback: `errors[0]` is the run's original error, then every
 * compensation error in drain order (nested `compensation_failed` errors are flattened).
 */
export function compensationFailed(original: CanoError, compensationErrors: readonly CanoError[]): CanoError {
  const errors = [
    ...(original.code === "compensation_failed" ? (original.errors ?? []) : [original]),
    ...compensationErrors,
  ];
  const [first, ...rest] = errors;
  const message = `Compensation failed (${rest.length} error(s)); original: ${first?.message}; ${rest
    .map((error, i) => `compensation #${i + 1}: ${error.message}`)
    .join("; ")}`;
  return new CanoError("compensation_failed", message, {
    errors,
    state: original.state,
    attempt: original.attempt,
    path: original.path,
    workflowId: original.workflowId,
  });
}

/** The longest a compensation drain may take by default when a total timeout is set (reference §3.6). */
const maxDefaultDrainMs = 30_000;

/**
 * @internal How long a rollback may take: with a total timeout, `compensationTimeoutMs` or else
 * min(total / 2, 30 s); without a total timeout, unbounded.
 */
export function rollbackBudgetMs(
  totalTimeoutMs: number | undefined,
  compensationTimeoutMs: number | undefined,
): number | undefined {
  if (totalTimeoutMs === undefined) return undefined;
  return compensationTimeoutMs ?? Math.min(totalTimeoutMs / 2, maxDefaultDrainMs);
}
