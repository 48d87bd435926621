// The side-effect ledger of the reload tests, in its own IndexedDB database: every task execution, every
// effect done or undone (once per idempotency key), every compensation call and every page load, in
// the order they happened, so the test can check what ran again after each reload.
import type { DBSchema, IDBPDatabase } from "idb";
import { openDB } from "idb";

/** One line of the ledger. `life` names one page load; `tab` the page's label. */
export interface LedgerEntry {
  readonly run: string;
  readonly life: string;
  readonly tab: string;
  /**
   * `boot`: the page's script started; `load`: the page took the lease and read the log (`rows`, `lastState`, `lastKind`); `exec`: a task
   * (or split branch) started; `effect` / `undo`: an effect happened / was undone (first time for its
   * key); `compensate`: a compensation was called.
   */
  readonly type: "boot" | "load" | "exec" | "effect" | "undo" | "compensate";
  readonly state?: string;
  readonly branch?: number;
  readonly key?: string;
  readonly ref?: string;
  readonly rows?: number;
  readonly lastState?: string;
  readonly lastKind?: string;
}

interface EffectRecord {
  readonly ref: string;
  readonly undone: boolean;
}

interface LedgerSchema extends DBSchema {
  effects: { key: string; value: EffectRecord };
  log: { key: number; value: LedgerEntry };
}

/** Where an effect is recorded from: the run, the page load and the tab. */
export type EffectOrigin = Pick<LedgerEntry, "run" | "life" | "tab" | "state" | "branch">;

/** The ledger's operations. Each is one transaction, so "check, then record" cannot be torn by a reload. */
export interface Ledger {
  log(entry: LedgerEntry): Promise<void>;
  /** Does the effect for `key` unless it was done before; returns its reference either way. */
  doOnce(key: string, origin: EffectOrigin): Promise<string>;
  /** Undoes the effect for `key` unless it was undone before. */
  undoOnce(key: string, origin: EffectOrigin): Promise<void>;
  /** Every entry of `run`, in the order written. */
  entries(run: string): Promise<LedgerEntry[]>;
}

/** Opens (creating if needed) the ledger database. */
export async function openLedger(name = "reload-ledger"): Promise<Ledger> {
  const db: IDBPDatabase<LedgerSchema> = await openDB<LedgerSchema>(name, 1, {
    upgrade(database) {
      database.createObjectStore("effects");
      database.createObjectStore("log", { autoIncrement: true });
    },
  });
  return {
    async log(entry) {
      await db.add("log", entry);
    },
    async doOnce(key, origin) {
      const tx = db.transaction(["effects", "log"], "readwrite");
      const found = await tx.objectStore("effects").get(key);
      const ref = found?.ref ?? `${origin.state ?? "effect"}-${origin.life.slice(0, 8)}`;
      if (found === undefined) {
        void tx.objectStore("effects").put({ ref, undone: false }, key);
        void tx.objectStore("log").add({ ...origin, type: "effect", key, ref });
      }
      await tx.done;
      return ref;
    },
    async undoOnce(key, origin) {
      const tx = db.transaction(["effects", "log"], "readwrite");
      const found = await tx.objectStore("effects").get(key);
      if (found !== undefined && !found.undone) {
        void tx.objectStore("effects").put({ ...found, undone: true }, key);
        void tx.objectStore("log").add({ ...origin, type: "undo", key, ref: found.ref });
      }
      await tx.done;
    },
    async entries(run) {
      return (await db.getAll("log")).filter((entry) => entry.run === run);
    },
  };
}
