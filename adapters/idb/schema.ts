import type { DBSchema, IDBPDatabase } from "idb";

/** The object store holding checkpoint rows: key `[workflowId, sequence]`, value the row itself. */
export const checkpointsStore = "checkpoints";

/** The object store behind `IndexedDbKeyValueStore`: key `[namespace, key name]`, value the value itself. */
export const keyValueStore = "kv";

/** @internal The database layout, for `idb`'s typed API. Keys are out-of-line arrays. */
export interface CanoSchema extends DBSchema {
  [checkpointsStore]: { key: IDBValidKey; value: unknown };
  [keyValueStore]: { key: IDBValidKey; value: unknown };
}

/**
 * One entry per schema version: entry `n` upgrades a database at version `n` to `n + 1`. Never edit
 * a shipped entry; add one (and so a version) instead, so every older database upgrades step by step.
 */
const migrations: readonly ((db: IDBPDatabase<CanoSchema>) => void)[] = [
  // 0 → 1: the checkpoint log. Array keys compare element by element, so ids never collide with
  // each other's prefixes and sequences sort numerically.
  (db) => void db.createObjectStore(checkpointsStore),
  // 1 → 2: key-value data (an agent's memory), namespaced per run.
  (db) => void db.createObjectStore(keyValueStore),
];

/** The schema version this code writes; opening an older database upgrades it to this one. */
export const canoDatabaseVersion: number = migrations.length;

/** @internal Runs every migration from `oldVersion` up to the current version, in order. */
export function upgradeSchema(db: IDBPDatabase<CanoSchema>, oldVersion: number): void {
  for (let version = oldVersion; version < migrations.length; version++) migrations[version]?.(db);
}
