import type { CheckpointRow, CheckpointStore, RunSummary } from "../../core/checkpoint.ts";
import {
  checkWorkflowId,
  decodeRun,
  duplicateRowError,
  rowForAppend,
  summarizeRun,
} from "../../core/checkpoint.ts";
import { CanoError, describeThrown } from "../../core/errors.ts";
import type { KvNamespaceLike } from "./platform.ts";
import { parseStoredRow } from "./stored-row.ts";

const component = "KvCheckpointStore";

/** Options of {@link KvCheckpointStore}. */
export interface KvCheckpointStoreOptions {
  /** Starts every key this store writes (it must end in ":"), so it can share a namespace. Default `cano:run:`. */
  readonly prefix?: string;
}

/** Workers KV refuses keys longer than this many UTF-8 bytes. */
const maxKeyBytes = 512;
/** Sequences are zero-padded to this many digits, so keys list in numeric order. */
const sequenceDigits = 16;
/** Keys per bulk read: the most one `get(keys)` accepts, counted as one KV operation. */
const readBatch = 100;
/** Deletes issued at once while clearing a run (KV has no bulk delete in the binding). */
const deleteBatch = 50;

/**
 * A {@link CheckpointStore} over Workers KV: one key per row (`<prefix><encoded id>:<sequence>`), a run
 * loaded by prefix listing. Read this before choosing it:
 *
 * - **Eventually consistent.** A write is usually visible at once where it was written (not
 *   guaranteed), but other locations may read the old state for 60 seconds or more, and listing lags
 *   too. A run resumed elsewhere may not see its latest rows.
 * - **No atomic insert.** `append` reads the key, then writes it; two writers racing for the same
 *   `(id, sequence)` can both succeed (the last write wins). Only one driver per run may write, and
 *   KV cannot enforce that.
 * - **One write per second per key.** Each row is its own key and is written once, so appends are
 *   fine; clearing a run and reusing its id at once may be throttled.
 * - **1 000 KV operations per Worker invocation.** `append` is 2 (read, write); `loadRun` is one list
 *   per 1 000 keys plus one bulk read per 100 rows; `clear` is one list per 1 000 keys plus one delete
 *   per row (the binding has no bulk delete), so one invocation can clear a run of at most about 990
 *   rows. Clear longer runs over several invocations (e.g. from a Durable Object alarm) or with the
 *   REST API's bulk delete.
 *
 * Fit for: a read-mostly archive of finished runs, or logs written by exactly one driver and read
 * later. For a live run's checkpoints use `DurableObjectCheckpointStore` (atomic, strongly
 * consistent).
 *
 * @example
 * const archive = new KvCheckpointStore(env.RUN_ARCHIVE);
 * for (const row of await live.loadRun(id)) await archive.append(id, row);
 */
export class KvCheckpointStore implements CheckpointStore {
  readonly #kv: KvNamespaceLike;
  readonly #prefix: string;

  constructor(namespace: KvNamespaceLike, options: KvCheckpointStoreOptions = {}) {
    const prefix = options.prefix ?? "cano:run:";
    if (typeof prefix !== "string" || !prefix.endsWith(":")) {
      throw new CanoError(
        "configuration",
        `${component}: prefix must be a non-empty string ending in ":", received ${describeThrown(prefix)}`,
      );
    }
    this.#kv = namespace;
    this.#prefix = prefix;
  }

  /** Adds a row unless its key exists (read, then write: see the class notes on races). */
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    checkWorkflowId(workflowId, component);
    const checked = rowForAppend(workflowId, row, component);
    const key = this.#rowKey(workflowId, checked.sequence);
    const existing = await this.#io(`reading row ${checked.sequence} of run "${workflowId}"`, () =>
      this.#kv.get(key, "text"),
    );
    if (existing !== null) throw duplicateRowError(workflowId, checked.sequence, component);
    await this.#io(`writing row ${checked.sequence} of run "${workflowId}"`, () =>
      this.#kv.put(key, JSON.stringify(checked)),
    );
  }

  /** Every row of the run in ascending sequence, validated; `[]` for an unknown id. */
  async loadRun(workflowId: string): Promise<CheckpointRow[]> {
    checkWorkflowId(workflowId, component);
    return this.#load(workflowId, await this.#keys(this.#runPrefix(workflowId)));
  }

  /** Deletes every row of the run, one KV operation per row (see the class notes); an unknown id is a no-op. */
  async clear(workflowId: string): Promise<void> {
    checkWorkflowId(workflowId, component);
    const keys = await this.#keys(this.#runPrefix(workflowId));
    for (let i = 0; i < keys.length; i += deleteBatch) {
      await Promise.all(
        keys
          .slice(i, i + deleteBatch)
          .map((key) => this.#io(`clearing run "${workflowId}"`, () => this.#kv.delete(key))),
      );
    }
  }

  /** Every run with rows under this prefix, each summarised from its last row (as listing sees them). */
  async listRuns(): Promise<RunSummary[]> {
    const byRun = new Map<string, string[]>();
    for (const key of await this.#keys(this.#prefix)) {
      const encoded = key.slice(this.#prefix.length, key.lastIndexOf(":"));
      let workflowId: string;
      try {
        workflowId = decodeURIComponent(encoded);
      } catch {
        continue; // not a key this store wrote
      }
      const keys = byRun.get(workflowId);
      if (keys === undefined) byRun.set(workflowId, [key]);
      else keys.push(key);
    }
    const summaries: RunSummary[] = [];
    for (const [workflowId, keys] of byRun) {
      const summary = summarizeRun(workflowId, await this.#load(workflowId, keys));
      if (summary !== undefined) summaries.push(summary);
    }
    return summaries;
  }

  /** The rows under `keys`, read in bulk (one KV operation per 100 keys), checked and decoded. */
  async #load(workflowId: string, keys: readonly string[]): Promise<CheckpointRow[]> {
    const texts = new Map<string, string | null>();
    for (let i = 0; i < keys.length; i += readBatch) {
      const batch = keys.slice(i, i + readBatch);
      const read = await this.#io(`loading run "${workflowId}"`, () => this.#kv.get(batch, "text"));
      for (const [key, text] of read) texts.set(key, text);
    }
    const raws: unknown[] = [];
    keys.forEach((key, position) => {
      const text = texts.get(key) ?? null;
      // A key listed a moment ago may be gone (a concurrent clear): skip it rather than fail.
      if (text === null) return;
      const sequence = Number(key.slice(key.lastIndexOf(":") + 1));
      raws.push(parseStoredRow(text, { workflowId, sequence, position, component }));
    });
    return decodeRun(raws, workflowId);
  }

  /** Every key starting with `prefix`, following list cursors. */
  async #keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#io("listing keys", () =>
        this.#kv.list({ prefix, ...(cursor === undefined ? {} : { cursor }) }),
      );
      for (const key of page.keys) keys.push(key.name);
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor !== undefined);
    return keys;
  }

  #runPrefix(workflowId: string): string {
    let encoded: string;
    try {
      // Encoded, so an id never contains ":" and one run's prefix never matches another run's keys.
      encoded = encodeURIComponent(workflowId);
    } catch (error) {
      throw new CanoError(
        "checkpoint_store",
        `${component}: run id ${JSON.stringify(workflowId)} cannot be used as a KV key (${describeThrown(error)}); ` +
          "use ids that are valid Unicode text.",
        { workflowId, cause: error },
      );
    }
    return `${this.#prefix}${encoded}:`;
  }

  #rowKey(workflowId: string, sequence: number): string {
    const key = `${this.#runPrefix(workflowId)}${String(sequence).padStart(sequenceDigits, "0")}`;
    const bytes = new TextEncoder().encode(key).length;
    if (bytes > maxKeyBytes) {
      throw new CanoError(
        "checkpoint_store",
        `${component}: the key for row ${sequence} of run "${workflowId.slice(0, 40)}…" is ${bytes} bytes; ` +
          `Workers KV allows ${maxKeyBytes}. Use a shorter run id or prefix.`,
        { workflowId, sequence },
      );
    }
    return key;
  }

  async #io<T>(doing: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new CanoError("checkpoint_store", `${component}: ${doing} failed: ${describeThrown(error)}`, {
        cause: error,
      });
    }
  }
}
