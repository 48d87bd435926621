import type { AlarmClockHooks } from "./alarm-clock.ts";
import { AlarmClock } from "./alarm-clock.ts";
import { DurableObjectCheckpointStore } from "./do-checkpoint-store.ts";
import { EventLog } from "./event-log.ts";
import type { DurableObjectStorageLike, SqlStorageLike } from "./platform.ts";
import { RunRecordTable } from "./run-record.ts";

/** @internal The tables of an object that has started a run. */
export interface HostTables {
  readonly records: RunRecordTable;
  readonly events: EventLog;
  readonly clock: AlarmClock;
  readonly checkpoints: DurableObjectCheckpointStore;
}

/** The run host's own tables; the checkpoint table belongs to `DurableObjectCheckpointStore`. */
const schema = [
  "CREATE TABLE IF NOT EXISTS cano_host_meta (key TEXT PRIMARY KEY, body TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS cano_host_events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS cano_host_wakes (id INTEGER PRIMARY KEY AUTOINCREMENT, state TEXT NOT NULL, " +
    "ms REAL NOT NULL, wake_at REAL NOT NULL, due INTEGER NOT NULL DEFAULT 0)",
] as const;

/** @internal Creates the run host's tables; called only when a run starts, so reads never write. */
export function createHostTables(sql: SqlStorageLike): void {
  for (const statement of schema) sql.exec(statement);
}

/** @internal True once this object has started a run (its tables exist); a read, never a write. */
export function hostTablesExist(sql: SqlStorageLike): boolean {
  const found = sql
    .exec<{ found: number }>(
      "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'cano_host_meta'",
    )
    .toArray();
  return found.length > 0;
}

/** @internal The run host's tables in `storage` (made by {@link createHostTables}); its clock calls `clock`'s hooks. */
export function openHostTables(storage: DurableObjectStorageLike, clock: AlarmClockHooks): HostTables {
  return {
    records: new RunRecordTable(storage.sql),
    events: new EventLog(storage.sql),
    checkpoints: new DurableObjectCheckpointStore(storage),
    clock: new AlarmClock(storage.sql, clock),
  };
}
