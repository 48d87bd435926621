import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DurableObjectCheckpointStore } from "../../adapters/cloudflare/index.ts";
import type { CheckpointRow } from "../../core/index.ts";
import { isCanoError } from "../../core/index.ts";
import { checkpointStoreCases } from "../conformance/checkpoint-store-cases.ts";
import { freshHarness, rejection, withStorage } from "./harness.ts";

const row = (sequence: number, fields: Partial<CheckpointRow> = {}): CheckpointRow => ({
  sequence,
  state: `s${sequence}`,
  taskId: `t${sequence}`,
  kind: "state",
  version: 0,
  at: sequence,
  ...fields,
});

describe("CheckpointStore conformance: DurableObjectCheckpointStore (workerd SQLite)", () => {
  for (const c of checkpointStoreCases) {
    it(c.name, () =>
      withStorage(freshHarness(), (state) => c.run(new DurableObjectCheckpointStore(state.storage))),
    );
  }

  it("runs every case on one shared object too", () =>
    withStorage(freshHarness(), async (state) => {
      const store = new DurableObjectCheckpointStore(state.storage);
      for (const c of checkpointStoreCases) await c.run(store);
    }));
});

describe("DurableObjectCheckpointStore in a Durable Object", () => {
  it("keeps rows across an eviction of the object", async () => {
    const stub = freshHarness();
    await withStorage(stub, async (state) => {
      const store = new DurableObjectCheckpointStore(state.storage);
      await store.append("run", row(0));
      await store.append("run", row(1, { kind: "completion", output: { id: "r-1" } }));
    });
    await evictDurableObject(stub);
    const loaded = await withStorage(stub, (state) =>
      new DurableObjectCheckpointStore(state.storage).loadRun("run"),
    );
    expect(loaded).toEqual([row(0), row(1, { kind: "completion", output: { id: "r-1" } })]);
  });

  it("reports a corrupt row as checkpoint_corrupt naming the run and sequence, and deletes nothing", () =>
    withStorage(freshHarness(), async (state) => {
      const store = new DurableObjectCheckpointStore(state.storage);
      await store.append("run", row(0));
      await store.append("run", row(1));
      state.storage.sql.exec("UPDATE cano_checkpoints SET body = ? WHERE sequence = 1", "{not json");
      const garbage = await rejection(store.loadRun("run"));
      expect(isCanoError(garbage) && garbage.code).toBe("checkpoint_corrupt");
      expect(isCanoError(garbage) && garbage.message).toContain(
        'run "run" row 1 is corrupt: the stored text is not JSON',
      );
      expect(isCanoError(garbage) && garbage.sequence).toBe(1);

      state.storage.sql.exec(
        "UPDATE cano_checkpoints SET body = ? WHERE sequence = 1",
        JSON.stringify({ ...row(1), kind: "bogus" }),
      );
      const bad = await rejection(store.loadRun("run"));
      expect(isCanoError(bad) && bad.message).toContain('row 1 is corrupt: field "kind"');

      state.storage.sql.exec(
        "UPDATE cano_checkpoints SET body = ? WHERE sequence = 1",
        JSON.stringify(row(7)),
      );
      const moved = await rejection(store.loadRun("run"));
      expect(isCanoError(moved) && moved.message).toContain("stored under sequence 1 but says it is row 7");
      expect((await rejection(store.listRuns())) instanceof Error).toBe(true);

      const left = state.storage.sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM cano_checkpoints")
        .toArray();
      expect(left).toEqual([{ n: 2 }]);
    }));

  it("keeps separate tables apart and refuses a table name that is not an identifier", () =>
    withStorage(freshHarness(), async (state) => {
      const a = new DurableObjectCheckpointStore(state.storage);
      const b = new DurableObjectCheckpointStore(state.storage, { table: "archive_rows" });
      await a.append("run", row(0, { state: "in-a" }));
      await b.append("run", row(0, { state: "in-b" }));
      expect((await a.loadRun("run"))[0]?.state).toBe("in-a");
      expect((await b.loadRun("run"))[0]?.state).toBe("in-b");
      const refused = await rejection(
        () => new DurableObjectCheckpointStore(state.storage, { table: "x; DROP TABLE y" }),
      );
      expect(isCanoError(refused) && refused.code).toBe("configuration");
    }));

  it("turns a storage failure into a checkpoint_store error", () =>
    withStorage(freshHarness(), async (state) => {
      const store = new DurableObjectCheckpointStore(state.storage, { table: "doomed" });
      state.storage.sql.exec("DROP TABLE doomed");
      const error = await rejection(store.append("run", row(0)));
      expect(isCanoError(error) && error.code).toBe("checkpoint_store");
      expect(isCanoError(error) && error.message).toMatch(
        /appending row 0 of run "run" failed: .*no such table/,
      );
    }));
});
