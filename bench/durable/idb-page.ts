/**
 * Case 5 in Chromium (bundled for the page by bench/durable/chromium.ts, "cano/idb" from dist/):
 * `IndexedDbCheckpointStore.append` of a run's rows against raw `idb` puts of the same rows, each
 * in its own readwrite transaction with `durability: "strict"`, as the adapter does.
 */
import type { CheckpointRow } from "cano";
import { IndexedDbCheckpointStore, openCanoDatabase } from "cano/idb";
import { openDB } from "idb";
import type { DurableFigures, DurableTiming } from "./timing.ts";
import { measureWriters } from "./timing.ts";

async function run(rows: readonly CheckpointRow[], timing: DurableTiming): Promise<DurableFigures> {
  const suffix = crypto.randomUUID();
  const database = await openCanoDatabase(`bench-cano-${suffix}`);
  const store = new IndexedDbCheckpointStore(database);
  // The same layout as the adapter's object store: out-of-line keys `[workflowId, sequence]`.
  const raw = await openDB(`bench-raw-${suffix}`, 1, {
    upgrade: (db) => void db.createObjectStore("checkpoints"),
  });
  try {
    return await measureWriters(
      {
        adapter: async (batch) => {
          const id = `run-${batch}`;
          for (const row of rows) await store.append(id, row);
        },
        raw: async (batch) => {
          const id = `run-${batch}`;
          for (const row of rows) {
            const tx = raw.transaction("checkpoints", "readwrite", { durability: "strict" });
            await Promise.all([tx.store.put(row, [id, row.sequence]), tx.done]);
          }
        },
      },
      timing,
    );
  } finally {
    database.close();
    raw.close();
  }
}

declare global {
  interface Window {
    canoDurableBench?: { run: typeof run };
  }
}

window.canoDurableBench = { run };
