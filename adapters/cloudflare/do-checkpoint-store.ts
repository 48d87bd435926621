import type { CheckpointRow, CheckpointStore, RunSummary } from "../../core/checkpoint.ts";
import {
  checkWorkflowId,
  decodeRun,
  duplicateRowError,
  rowForAppend,
  summarizeRun,
} from "../../core/checkpoint.ts";
import { CanoError, describeThrown } from "../../core/errors.ts";
import type { DurableObjectSqlStorageLike } from "./platform.ts";
import { parseStoredRow, sqlIdentifier } from "./stored-row.ts";

const component = "DurableObjectCheckpointStore";

/** Options of {@link DurableObjectCheckpointStore}. */
export interface DurableObjectCheckpointStoreOptions {
  /** The SQLite table holding the rows (created when missing). Default `cano_checkpoints`. */
  readonly table?: string;
}

type StoredRow = { readonly sequence: number; readonly body: string } & Record<string, string | number>;

/**
 * A {@link CheckpointStore} in a Durable Object's SQLite database (`ctx.storage.sql`): one table row
 * per checkpoint row, keyed by `(workflow_id, sequence)`. Every call is one SQL statement, so it is
 * atomic and strongly consistent; a duplicate `(id, sequence)` is refused by the primary key
 * (`ON CONFLICT DO NOTHING`), which never touches the stored row. Needs a class declared under
 * `new_sqlite_classes` in `wrangler.toml`.
 *
 * @example
 * export class Orders {
 *   constructor(ctx: DurableObjectState) {
 *     this.checkpoints = new DurableObjectCheckpointStore(ctx.storage);
 *   }
 * }
 */
export class DurableObjectCheckpointStore implements CheckpointStore {
  readonly #storage: DurableObjectSqlStorageLike;
  readonly #table: string;
  /** Built once: the hot statement is the same string on every append. */
  readonly #insert: string;

  constructor(storage: DurableObjectSqlStorageLike, options: DurableObjectCheckpointStoreOptions = {}) {
    this.#storage = storage;
    this.#table = sqlIdentifier(options.table ?? "cano_checkpoints", component);
    this.#insert = `INSERT INTO ${this.#table} (workflow_id, sequence, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`;
    this.#sql(
      "creating its table",
      `CREATE TABLE IF NOT EXISTS ${this.#table} (workflow_id TEXT NOT NULL, sequence INTEGER NOT NULL, ` +
        "body TEXT NOT NULL, PRIMARY KEY (workflow_id, sequence))",
    );
  }

  /** Adds a row; a duplicate sequence or a row that is not plain JSON is a `checkpoint_store` error. */
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    checkWorkflowId(workflowId, component);
    const checked = rowForAppend(workflowId, row, component);
    // `rowsWritten` tells a refused duplicate apart without `RETURNING`, which doubled the cost.
    const written = this.#write(
      () => `appending row ${checked.sequence} of run "${workflowId}"`,
      this.#insert,
      workflowId,
      checked.sequence,
      JSON.stringify(checked),
    );
    if (written === 0) throw duplicateRowError(workflowId, checked.sequence, component);
  }

  /** Every row of the run in ascending sequence, validated; `[]` for an unknown id. */
  async loadRun(workflowId: string): Promise<CheckpointRow[]> {
    checkWorkflowId(workflowId, component);
    return this.#load(workflowId);
  }

  /** Removes every row of the run in one statement; an unknown id is a no-op. */
  async clear(workflowId: string): Promise<void> {
    checkWorkflowId(workflowId, component);
    this.#sql(`clearing run "${workflowId}"`, `DELETE FROM ${this.#table} WHERE workflow_id = ?`, workflowId);
  }

  /** Every run with rows, each summarised from its last row; one transaction, so it is a snapshot. */
  async listRuns(): Promise<RunSummary[]> {
    return this.#storage.transactionSync(() => {
      const ids = this.#sql<{ workflow_id: string }>(
        "listing runs",
        `SELECT DISTINCT workflow_id FROM ${this.#table} ORDER BY workflow_id`,
      );
      const summaries: RunSummary[] = [];
      for (const { workflow_id: id } of ids) {
        const summary = summarizeRun(id, this.#load(id));
        if (summary !== undefined) summaries.push(summary);
      }
      return summaries;
    });
  }

  #load(workflowId: string): CheckpointRow[] {
    const stored = this.#sql<StoredRow>(
      `loading run "${workflowId}"`,
      `SELECT sequence, body FROM ${this.#table} WHERE workflow_id = ? ORDER BY sequence`,
      workflowId,
    );
    const raws = stored.map((entry, position) =>
      parseStoredRow(entry.body, { workflowId, sequence: entry.sequence, position, component }),
    );
    return decodeRun(raws, workflowId);
  }

  #sql<TRow extends Record<string, string | number>>(
    doing: string,
    query: string,
    ...bindings: (string | number)[]
  ): TRow[] {
    return this.#run(
      () => doing,
      () => this.#storage.sql.exec<TRow>(query, ...bindings).toArray(),
    );
  }

  /** Runs a write and returns how many rows it wrote; `doing` names it in the error, if there is one. */
  #write(doing: () => string, query: string, ...bindings: (string | number)[]): number {
    return this.#run(doing, () => {
      const cursor = this.#storage.sql.exec(query, ...bindings);
      cursor.toArray();
      return cursor.rowsWritten;
    });
  }

  #run<T>(doing: () => string, statement: () => T): T {
    try {
      return statement();
    } catch (error) {
      throw new CanoError("checkpoint_store", `${component}: ${doing()} failed: ${describeThrown(error)}`, {
        cause: error,
      });
    }
  }
}
