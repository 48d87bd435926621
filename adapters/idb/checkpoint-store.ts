import type { CheckpointRow, CheckpointStore, RunSummary } from "../../core/checkpoint.ts";
import {
  checkWorkflowId,
  decodeRow,
  decodeRun,
  duplicateRowError,
  rowForAppend,
  summarizeRun,
} from "../../core/checkpoint.ts";
import { CanoError } from "../../core/errors.ts";
import type { CanoDatabase, FailureMapper } from "./database.ts";
import { errorName, storageError } from "./errors.ts";
import { checkpointsStore } from "./schema.ts";

const component = "IndexedDbCheckpointStore";

/** Every key of one run: `[workflowId]` sorts before `[workflowId, anything]`, and arrays after any sequence. */
function runRange(workflowId: string): IDBKeyRange {
  return IDBKeyRange.bound([workflowId], [workflowId, []]);
}

/** A stored key, checked: `[workflowId, sequence]` with a sequence that is an integer ≥ 0. */
function keySequence(key: IDBValidKey): number | undefined {
  if (!Array.isArray(key) || key.length !== 2) return undefined;
  const sequence: unknown = key[1];
  return typeof sequence === "number" && Number.isSafeInteger(sequence) && sequence >= 0
    ? sequence
    : undefined;
}

/** A `checkpoint_corrupt` error for a row whose key and value disagree; nothing is deleted. */
function keyMismatch(workflowId: string, key: IDBValidKey, raw: unknown, position: number): CanoError {
  const stored = keySequence(key);
  const claimed: unknown =
    typeof raw === "object" && raw !== null ? (raw as { sequence?: unknown }).sequence : undefined;
  const problem =
    stored === undefined
      ? `it is stored under key ${JSON.stringify(key)} (expected [workflowId, sequence] with an integer sequence ≥ 0)`
      : `it is stored under sequence ${stored} but says sequence ${JSON.stringify(claimed)}`;
  return new CanoError(
    "checkpoint_corrupt",
    `Checkpoint: run "${workflowId}" row ${stored ?? `#${position}`} is corrupt: ${problem}. Nothing was deleted: repair or clear the run's rows before resuming it.`,
    { workflowId, ...(stored === undefined ? {} : { sequence: stored }), details: { position, problem } },
  );
}

/** Raw rows of a run read back with their keys, checked to agree before decoding. */
function decodeStored(
  workflowId: string,
  keys: readonly IDBValidKey[],
  raws: readonly unknown[],
): CheckpointRow[] {
  keys.forEach((key, position) => {
    const raw = raws[position];
    const rowSequence: unknown =
      typeof raw === "object" && raw !== null ? (raw as { sequence?: unknown }).sequence : undefined;
    const sequence = keySequence(key);
    // A row whose own sequence is unreadable is reported by decodeRun, with the field at fault.
    if (sequence === undefined || (typeof rowSequence === "number" && rowSequence !== sequence)) {
      throw keyMismatch(workflowId, key, raw, position);
    }
  });
  return decodeRun(raws, workflowId);
}

/**
 * A `CheckpointStore` in IndexedDB, for runs that must survive a tab reload. One short transaction
 * per call: `append` adds the row under `[workflowId, sequence]` with `add`, so a taken sequence is
 * rejected by the database itself (across tabs too) and the existing row is never touched. Rows
 * are validated on the way in and decoded on the way out; a row damaged in storage is a
 * `checkpoint_corrupt` error and is left in place. Storage failures (quota exceeded, a connection
 * lost because another tab deleted or upgraded the database) are `checkpoint_store` errors with the
 * browser's error as `cause`.
 *
 * @example
 * const checkpoints = new IndexedDbCheckpointStore(await openCanoDatabase("my-app"));
 * const wf = new Workflow<State>({ name: "agent" }).withCheckpointStore(checkpoints);
 * for (const run of await checkpoints.listRuns()) console.log(run.workflowId, run.state);
 */
export class IndexedDbCheckpointStore implements CheckpointStore {
  readonly #database: CanoDatabase;

  /** Stores rows in `database` (see `openCanoDatabase`). */
  constructor(database: CanoDatabase) {
    this.#database = database;
  }

  /** Adds a snapshot of `row`; a duplicate `(workflowId, sequence)` or a row that is not plain JSON is a `checkpoint_store` error. */
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    checkWorkflowId(workflowId, component);
    const checked = rowForAppend(workflowId, row, component);
    const action = `append row ${checked.sequence} to run "${workflowId}"`;
    await this.#database.run(
      checkpointsStore,
      "readwrite",
      // `add` copies the row now (structured clone) and fails on a taken key.
      async (tx) => void (await tx.store.add(checked, [workflowId, checked.sequence])),
      (error, lost, reason) =>
        errorName(error) === "ConstraintError" && lost === undefined
          ? duplicateRowError(workflowId, checked.sequence, component)
          : this.#fail(action, workflowId, checked.sequence)(error, lost, reason),
    );
  }

  /** Every row of the run in ascending sequence; `[]` for an unknown id. */
  async loadRun(workflowId: string): Promise<CheckpointRow[]> {
    checkWorkflowId(workflowId, component);
    const range = runRange(workflowId);
    const [keys, raws] = await this.#database.run(
      checkpointsStore,
      "readonly",
      (tx) => Promise.all([tx.store.getAllKeys(range), tx.store.getAll(range)]),
      this.#fail(`load run "${workflowId}"`, workflowId),
    );
    return decodeStored(workflowId, keys, raws);
  }

  /** Removes every row of the run; an unknown id is a no-op. */
  async clear(workflowId: string): Promise<void> {
    checkWorkflowId(workflowId, component);
    await this.#database.run(
      checkpointsStore,
      "readwrite",
      (tx) => tx.store.delete(runRange(workflowId)),
      this.#fail(`clear run "${workflowId}"`, workflowId),
    );
  }

  /**
   * Every run with rows (unfinished runs: a finished run's log is cleared), ordered by id, each
   * summarised from its last row: state, time, version, workflow name and row count. Reads only the
   * keys plus each run's last rows, not whole logs.
   */
  async listRuns(): Promise<RunSummary[]> {
    const runs = await this.#database.run(
      checkpointsStore,
      "readonly",
      async (tx) => {
        const counts = new Map<string, number>();
        for (const key of await tx.store.getAllKeys()) {
          const id = Array.isArray(key) && typeof key[0] === "string" ? key[0] : undefined;
          if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        return Promise.all(
          [...counts].map(async ([workflowId, rows]) => {
            // Newest first, until a row names the workflow (usually the last one does).
            const tail: unknown[] = [];
            let cursor = await tx.store.openCursor(runRange(workflowId), "prev");
            while (cursor !== null) {
              tail.push(cursor.value);
              const named = (cursor.value as { workflow?: unknown } | null)?.workflow;
              if (typeof named === "string") break;
              cursor = await cursor.continue();
            }
            return { workflowId, rows, tail };
          }),
        );
      },
      this.#fail("list runs"),
    );
    return runs.map(({ workflowId, rows, tail }) => {
      let decoded: CheckpointRow[];
      try {
        decoded = tail.map((raw, index) => decodeRow(raw, workflowId, rows - 1 - index));
      } catch (error) {
        // One corrupt run must not hide the others from a "resume" list.
        const problem = error instanceof Error ? error.message : String(error);
        return { workflowId, state: "", sequence: rows - 1, at: 0, version: 0, rows, problem };
      }
      // Summarised from the tail only, so the row count is the run's, from its keys.
      return { ...summarizeRun(workflowId, decoded)!, rows };
    });
  }

  #fail(action: string, workflowId?: string, sequence?: number): FailureMapper {
    const database = this.#database.name;
    return (error, lost, reason) =>
      storageError(
        "checkpoint_store",
        {
          component,
          action,
          database,
          ...(workflowId === undefined ? {} : { workflowId }),
          ...(sequence === undefined ? {} : { sequence }),
          ...(lost === undefined ? {} : { lost }),
        },
        error,
        reason,
      );
  }
}
