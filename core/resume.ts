import type { CheckpointRow } from "./checkpoint.ts";
import type { CompensationEntry } from "./compensation.ts";
import { CanoError } from "./errors.ts";
import type { SplitResult } from "./split.ts";
import { didYouMean } from "./suggest.ts";

/** @internal Where a resumed run re-enters the machine and what it carries over from its log. */
export interface ResumePoint {
  /** The state whose task re-runs (the last row's state). */
  readonly state: string;
  /** The last sequence in the log; the resumed run continues after it. */
  readonly lastSequence: number;
  /** The states entered before the resumed one. */
  readonly path: readonly string[];
  /** Completed saga steps, oldest first, minus the resumed state's own completion. */
  readonly stack: readonly CompensationEntry[];
  /** The resumed state's latest cursor, if it saved one after it was last entered. */
  readonly cursor: unknown;
  /** The split result the resumed state received as `ctx.split`, when it is a join state. */
  readonly joinInput: SplitResult | undefined;
}

function isSplitResult(value: unknown): value is SplitResult {
  if (typeof value !== "object" || value === null) return false;
  const { successes, errors, cancelled } = value as Record<string, unknown>;
  return Array.isArray(successes) && Array.isArray(errors) && Array.isArray(cancelled);
}

/**
 * @internal Rebuilds a run from its decoded, sorted log (reference §11): checks the version of the
 * last row and that its state still exists, then replays the log in one pass.
 */
export function rehydrate(
  workflowId: string,
  rows: readonly CheckpointRow[],
  expectedVersion: number,
  knownStates: readonly string[],
): ResumePoint {
  const last = rows.at(-1);
  if (last === undefined) {
    throw new CanoError(
      "checkpoint_store",
      `Workflow: run "${workflowId}" has no checkpoint rows; nothing to resume`,
      {
        workflowId,
      },
    );
  }
  if (last.version !== expectedVersion) {
    throw new CanoError(
      "workflow_version_mismatch",
      `Workflow: run "${workflowId}" was checkpointed by version ${last.version} (row ${last.sequence}), but this workflow is version ${expectedVersion}; finish it with the old version or migrate its log`,
      { workflowId, sequence: last.sequence, details: { stored: last.version, expected: expectedVersion } },
    );
  }
  const state = last.state;
  if (!knownStates.includes(state)) {
    throw new CanoError(
      "workflow",
      `Workflow: run "${workflowId}" stopped in state "${state}" (row ${last.sequence}), which is neither registered nor an exit state any more.${didYouMean(state, knownStates)}`,
      { workflowId, sequence: last.sequence, state },
    );
  }
  let entered: CheckpointRow | undefined;
  for (const row of rows) if (row.kind === "state" && row.state === state) entered = row;
  const enteredAt = entered?.sequence ?? last.sequence + 1;
  const path: string[] = [];
  const stack: CompensationEntry[] = [];
  let cursor: unknown;
  for (const row of rows) {
    if (row.kind === "state" && row.sequence < enteredAt) path.push(row.state);
    // The resumed state re-runs and pushes its own entry again: keeping this one would compensate twice.
    if (row.kind === "completion" && row.sequence !== last.sequence) {
      stack.push({ state: row.state, taskId: row.taskId, output: row.output });
    }
    if (row.kind === "cursor" && row.state === state && row.sequence > enteredAt) cursor = row.output;
  }
  const joinInput = isSplitResult(entered?.output) ? entered.output : undefined;
  return { state, lastSequence: last.sequence, path, stack, cursor, joinInput };
}
