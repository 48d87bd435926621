import { describe, expect, it } from "vitest";
import type { CheckpointRow } from "../../core/checkpoint.ts";
import { MemoryCheckpointStore } from "../../core/checkpoint.ts";
import { isCanoError } from "../../core/errors.ts";
import { FaultyCheckpointStore, seededRandom } from "../support/faulty-checkpoint-store.ts";
import { checkpointStoreCases } from "./checkpoint-store-cases.ts";

describe("CheckpointStore conformance: MemoryCheckpointStore", () => {
  for (const c of checkpointStoreCases) it(c.name, () => c.run(new MemoryCheckpointStore()));

  it("runs every case on one shared store too", async () => {
    const store = new MemoryCheckpointStore();
    for (const c of checkpointStoreCases) await c.run(store);
  });
});

describe("CheckpointStore conformance: FaultyCheckpointStore with no faults", () => {
  for (const c of checkpointStoreCases) {
    it(c.name, () => c.run(new FaultyCheckpointStore(new MemoryCheckpointStore())));
  }
});

const row = (sequence: number): CheckpointRow => ({
  sequence,
  state: `s${sequence}`,
  taskId: `t${sequence}`,
  kind: "state",
  version: 0,
  at: sequence,
});

/** Appends rows 0..count-1, keeping going after failures; returns the sequences that failed. */
async function appendAll(store: FaultyCheckpointStore, id: string, count: number): Promise<number[]> {
  const failed: number[] = [];
  for (let sequence = 0; sequence < count; sequence++) {
    try {
      await store.append(id, row(sequence));
    } catch (error) {
      expect(isCanoError(error) && error.code === "checkpoint_store").toBe(true);
      expect(isCanoError(error) && error.details?.injected).toBe(true);
      failed.push(sequence);
    }
  }
  return failed;
}

describe("FaultyCheckpointStore", () => {
  it("fails appends with the given probability, deterministically, before touching the inner store", async () => {
    const runOnce = async () => {
      const store = new FaultyCheckpointStore(new MemoryCheckpointStore(), { random: seededRandom(42) });
      store.failAppends(0.3);
      const failed = await appendAll(store, "run", 200);
      const stored = (await store.inner.loadRun("run")).map((r) => r.sequence);
      return { failed, stored, failures: store.failures, appends: store.appends };
    };
    const first = await runOnce();
    expect(await runOnce()).toEqual(first);
    expect(first.failures).toBe(first.failed.length);
    expect(first.appends).toBe(200);
    expect(first.failures).toBeGreaterThan(30);
    expect(first.failures).toBeLessThan(90);
    // Exactly the rows whose append succeeded are stored: nothing half-written.
    const all = Array.from({ length: 200 }, (_, i) => i);
    expect(first.stored).toEqual(all.filter((s) => !first.failed.includes(s)));
  });

  it("fails on a predicate, and a retry of the failed row succeeds", async () => {
    const store = new FaultyCheckpointStore(new MemoryCheckpointStore());
    store.failAppends((_id, r, call) => r.sequence === 2 && call === 3);
    expect(await appendAll(store, "run", 4)).toEqual([2]);
    await store.append("run", row(2));
    expect((await store.loadRun("run")).map((r) => r.sequence)).toEqual([0, 1, 2, 3]);
    expect(store.failures).toBe(1);
  });

  it("failAppends(0) and failAppends(1) never and always fail; a bad probability is refused", async () => {
    const store = new FaultyCheckpointStore(new MemoryCheckpointStore());
    expect(await appendAll(store.failAppends(1), "run", 3)).toEqual([0, 1, 2]);
    expect(await store.loadRun("run")).toEqual([]);
    expect(await appendAll(store.failAppends(0), "run", 3)).toEqual([]);
    expect(() => store.failAppends(1.5)).toThrow(RangeError);
    expect(() => store.failAppends(Number.NaN)).toThrow(RangeError);
  });

  it("has listRuns exactly when the inner store has it", () => {
    expect(new FaultyCheckpointStore(new MemoryCheckpointStore()).listRuns).toBeTypeOf("function");
    const inner = new MemoryCheckpointStore();
    const bare = {
      append: inner.append.bind(inner),
      loadRun: inner.loadRun.bind(inner),
      clear: inner.clear.bind(inner),
    };
    expect(new FaultyCheckpointStore(bare).listRuns).toBeUndefined();
  });
});
