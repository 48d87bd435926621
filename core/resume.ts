import type { CheckpointRow } from "./checkpoint.ts";
import type { CompensationEntry } from "./compensation.ts";
import type { CanoErrorCode, CanoErrorJson } from "./errors.ts";
import { CanoError, canoErrorCodes } from "./errors.ts";
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
  /** Set when the run stopped while rolling back: the error that started the rollback, to finish it. */
  readonly rollback: CanoError | undefined;
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
  expected: { readonly version: number; readonly name: string | undefined },
  knownStates: readonly string[],
): ResumePoint {
  const expectedVersion = expected.version;
  const foreign =
    expected.name === undefined
      ? undefined
      : rows.find((row) => row.workflow !== undefined && row.workflow !== expected.name);
  if (foreign !== undefined) {
    throw new CanoError(
      "checkpoint_corrupt",
      `Workflow: run "${workflowId}" row ${foreign.sequence} was written by workflow "${foreign.workflow}", not "${expected.name}"; resume it with that workflow. Nothing was deleted.`,
      {
        workflowId,
        sequence: foreign.sequence,
        details: { stored: foreign.workflow, expected: expected.name },
      },
    );
  }
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
  // Replay the log the way the runs that wrote it saw it, earlier resumes included.
  const path: string[] = [];
  const stack: (CompensationEntry & { readonly sequence: number })[] = [];
  const undone = new Set<number>();
  let rollback: RollbackPoint | undefined;
  let entered: CheckpointRow | undefined;
  let cursor: unknown;
  for (const row of rows) {
    if (row.kind === "state") {
      const reentry = row.resumedFrom !== undefined && path.at(-1) === row.state;
      if (row.resumedFrom !== undefined) {
        // An earlier resume re-ran this state: the completion row its log ended with was replaced by
        // what follows, so it must not be compensated twice.
        const replaced = stack.findIndex((entry) => entry.sequence === row.resumedFrom);
        if (replaced !== -1) stack.splice(replaced, 1);
      }
      // A re-entry continues the same visit (same path entry, same cursor); any other entry starts afresh.
      if (reentry) path.pop();
      else cursor = undefined;
      path.push(row.state);
      entered = row;
    } else if (row.kind === "completion") {
      stack.push({ state: row.state, taskId: row.taskId, output: row.output, sequence: row.sequence });
    } else if (row.kind === "rollback") {
      rollback = { state: row.state, error: rollbackError(workflowId, row) };
    } else if (row.kind === "compensated") {
      undone.add((row.output as { completion?: unknown } | undefined)?.completion as number);
    } else {
      cursor = row.output;
    }
  }
  if (rollback !== undefined) {
    // The run was rolling back when it stopped: finish the rollback, never re-run the failed state.
    const pending = stack.filter((entry) => !undone.has(entry.sequence));
    return {
      state: rollback.state,
      lastSequence: last.sequence,
      path,
      stack: pending,
      cursor: undefined,
      joinInput: undefined,
      rollback: rollback.error,
    };
  }
  const state = last.state;
  if (!knownStates.includes(state)) {
    throw new CanoError(
      "workflow",
      `Workflow: run "${workflowId}" stopped in state "${state}" (row ${last.sequence}), which is neither registered nor an exit state any more.${didYouMean(state, knownStates)}`,
      { workflowId, sequence: last.sequence, state },
    );
  }
  // The resumed state re-runs: it is entered again (so not yet on the path) and pushes its own
  // completion again (so the one it left in the log would compensate twice).
  if (path.at(-1) === state) path.pop();
  const completed = stack.filter((entry) => entry.sequence !== last.sequence);
  const joinInput = entered?.state === state && isSplitResult(entered.output) ? entered.output : undefined;
  return {
    state,
    lastSequence: last.sequence,
    path,
    stack: completed,
    cursor,
    joinInput,
    rollback: undefined,
  };
}

interface RollbackPoint {
  readonly state: string;
  readonly error: CanoError;
}

/** The error a rollback row recorded, as a CanoError again (a malformed one is `checkpoint_corrupt`). */
function rollbackError(workflowId: string, row: CheckpointRow): CanoError {
  const json = (row.output as { error?: Partial<CanoErrorJson> } | undefined)?.error;
  if (
    typeof json?.code !== "string" ||
    !(canoErrorCodes as readonly string[]).includes(json.code) ||
    typeof json.message !== "string"
  ) {
    throw new CanoError(
      "checkpoint_corrupt",
      `Checkpoint: run "${workflowId}" row ${row.sequence} is corrupt: a rollback row must carry the error that started it. Nothing was deleted.`,
      { workflowId, sequence: row.sequence },
    );
  }
  return new CanoError(json.code as CanoErrorCode, json.message, {
    workflowId,
    state: json.state ?? row.state,
    attempt: json.attempt,
    path: json.path,
    details: { ...json.details, rollbackResumedFrom: row.sequence },
  });
}
