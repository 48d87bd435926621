import type { IDBPDatabase, IDBPTransaction } from "idb";
import { openDB } from "idb";
import { CanoError } from "../../core/errors.ts";
import type { ConnectionLoss, StorageFailure } from "./errors.ts";
import { storageError } from "./errors.ts";
import type { CanoSchema } from "./schema.ts";
import { canoDatabaseVersion, upgradeSchema } from "./schema.ts";

/** The object stores of a Cano database. */
export type CanoStoreName = "checkpoints" | "kv";

/** A transaction over one Cano object store, as the stores use it. */
export type CanoTransaction<TMode extends IDBTransactionMode> = IDBPTransaction<
  CanoSchema,
  [CanoStoreName],
  TMode
>;

/** Turns a failure (or a lost connection, with `error` undefined) into the caller's CanoError. */
export type FailureMapper = (
  error: unknown,
  lost: ConnectionLoss | undefined,
  reason?: StorageFailure,
) => CanoError;

/** Connection state shared with the `idb` callbacks, which may fire before the wrapper exists. */
interface ConnectionState {
  lost: ConnectionLoss | undefined;
  /** What the browser reported when the connection was lost (the "versionchange" event), if anything. */
  cause?: unknown;
}

/**
 * An open IndexedDB database in Cano's schema, shared by `IndexedDbCheckpointStore` and
 * `IndexedDbKeyValueStore`. Open it with {@link openCanoDatabase}. When another tab upgrades or
 * deletes the database, or the browser closes the connection (site data cleared), the connection
 * is closed and every later operation fails with a clear error instead of writing nowhere.
 */
export class CanoDatabase {
  /** The database's name. */
  readonly name: string;
  readonly #db: IDBPDatabase<CanoSchema>;
  readonly #state: ConnectionState;

  /** @internal Use {@link openCanoDatabase}. */
  constructor(name: string, db: IDBPDatabase<CanoSchema>, state: ConnectionState) {
    this.name = name;
    this.#db = db;
    this.#state = state;
  }

  /** The schema version of the open database. */
  get version(): number {
    return this.#db.version;
  }

  /** Why the connection can no longer be used, or `undefined` while it can. */
  get lost(): ConnectionLoss | undefined {
    return this.#state.lost;
  }

  /** Closes the connection; later operations fail with a `connection_lost` error. */
  close(): void {
    this.#state.lost ??= { what: "was closed by this page (CanoDatabase.close())", at: Date.now() };
    this.#db.close();
  }

  /**
   * @internal Runs `body` in one transaction on `store` and resolves once the transaction has
   * committed. `body` must only issue requests on the transaction: awaiting anything else lets the
   * transaction commit early (the `idb` rule). Any failure goes through `fail`.
   */
  async run<T, TMode extends IDBTransactionMode>(
    store: CanoStoreName,
    mode: TMode,
    body: (tx: CanoTransaction<TMode>) => Promise<T>,
    fail: FailureMapper,
  ): Promise<T> {
    if (this.#state.lost !== undefined) throw fail(this.#state.cause, this.#state.lost);
    let tx: CanoTransaction<TMode>;
    try {
      // Writes are flushed before they count as done: a checkpoint must survive a crash, not only a reload.
      tx = this.#db.transaction([store], mode, mode === "readwrite" ? { durability: "strict" } : {});
    } catch (error) {
      throw fail(error, this.#state.lost);
    }
    // `body` runs now (its requests must be issued while the transaction is active); if it fails,
    // nothing it may have written is kept.
    const result = (async () => body(tx))().catch((error: unknown) => {
      try {
        tx.abort();
      } catch {
        // Already aborted (a failed request aborts it) or finished.
      }
      throw error;
    });
    try {
      // Both are awaited together so neither rejection goes unhandled.
      const [value] = await Promise.all([result, tx.done]);
      return value;
    } catch (error) {
      throw fail(error, this.#state.lost);
    }
  }
}

/** Options of {@link openCanoDatabase}. */
export interface OpenCanoDatabaseOptions {
  /** Called once when the connection is lost (another tab upgraded or deleted the database, or the browser closed it). */
  readonly onLost?: (loss: ConnectionLoss) => void;
}

const component = "openCanoDatabase";

/**
 * Opens (creating or upgrading as needed) the IndexedDB database that Cano's IndexedDB stores use.
 * An older schema is upgraded step by step; a newer one, or an upgrade blocked by another tab that
 * keeps an old version open, is a `checkpoint_store` error saying what to do.
 *
 * @example
 * const db = await openCanoDatabase("my-app");
 * const checkpoints = new IndexedDbCheckpointStore(db);
 * const memory = new IndexedDbKeyValueStore(db, runId);
 */
export function openCanoDatabase(
  name = "cano",
  options: OpenCanoDatabaseOptions = {},
): Promise<CanoDatabase> {
  if (typeof name !== "string" || name === "") {
    return Promise.reject(
      new CanoError(
        "configuration",
        `${component}: expected a database name (a non-empty string), received ${String(name)}.`,
      ),
    );
  }
  const state: ConnectionState = { lost: undefined };
  const lose = (what: string, cause?: unknown) => {
    if (state.lost !== undefined) return;
    state.lost = { what, at: Date.now() };
    state.cause = cause;
    options.onLost?.(state.lost);
  };
  return new Promise<CanoDatabase>((resolve, reject) => {
    let settled = false;
    let opening: Promise<IDBPDatabase<CanoSchema>>;
    try {
      opening = openDB<CanoSchema>(name, canoDatabaseVersion, {
        upgrade: (db, oldVersion) => upgradeSchema(db, oldVersion),
        blocked: (currentVersion, blockedVersion, event) => {
          if (settled) return;
          settled = true;
          const action = `upgrade from schema version ${currentVersion} to ${blockedVersion ?? canoDatabaseVersion}`;
          reject(storageError("checkpoint_store", { component, action, database: name }, event, "blocked"));
        },
        blocking: (_currentVersion, blockedVersion, event) => {
          lose(
            blockedVersion === null
              ? "was deleted by another tab or connection"
              : `is being upgraded to schema version ${blockedVersion} by another tab or connection`,
            event,
          );
          // Close so the other side can go ahead; this connection reports why from now on.
          (event.target as IDBDatabase).close();
        },
        terminated: () =>
          lose("connection was closed by the browser (site data cleared, or the storage was evicted)"),
      });
    } catch (error) {
      // No `indexedDB` global at all (an old WebView, a worker without it, Node).
      reject(storageError("checkpoint_store", { component, action: "open", database: name }, error));
      return;
    }
    opening.then(
      (db) => {
        // Opened after we gave up on a blocked upgrade: nobody holds this connection, so close it.
        if (settled) return db.close();
        settled = true;
        resolve(new CanoDatabase(name, db, state));
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(storageError("checkpoint_store", { component, action: "open", database: name }, error));
      },
    );
  });
}
