import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KvNamespaceLike } from "../../adapters/cloudflare/index.ts";
import { KvCheckpointStore } from "../../adapters/cloudflare/index.ts";
import type { CheckpointRow } from "../../core/index.ts";
import { isCanoError } from "../../core/index.ts";
import { checkpointStoreCases } from "../conformance/checkpoint-store-cases.ts";
import { rejection } from "./harness.ts";

/**
 * Workers KV has no atomic insert: `append` reads the key, then writes it, so concurrent appends of
 * the same (id, sequence) can all "succeed" (last write wins). The store's docs say so; this is the
 * one case KV cannot satisfy: instead of it, the test below pins what KV does guarantee.
 */
const kvCannot = new Set(["concurrent appends of the same (id, sequence): exactly one wins"]);

let prefixes = 0;
/** A store over the test namespace under a prefix no other test uses. */
const freshStore = () =>
  new KvCheckpointStore(env.CHECKPOINTS, { prefix: `test-${prefixes++}-${crypto.randomUUID()}:` });

const row = (sequence: number): CheckpointRow => ({
  sequence,
  state: `s${sequence}`,
  taskId: `t${sequence}`,
  kind: "state",
  version: 0,
  at: sequence,
});

describe("CheckpointStore conformance: KvCheckpointStore (workerd local KV)", () => {
  it("leaves out exactly the cases it names, and they exist", () => {
    const names = new Set(checkpointStoreCases.map((c) => c.name));
    for (const name of kvCannot) expect(names.has(name)).toBe(true);
  });

  for (const c of checkpointStoreCases.filter((c) => !kvCannot.has(c.name))) {
    it(c.name, () => c.run(freshStore()));
  }

  it("keeps exactly one row when concurrent appends race for one sequence (last write wins, as documented)", async () => {
    const store = freshStore();
    const contenders = Array.from({ length: 5 }, (_, i) => ({ ...row(0), state: `contender-${i}` }));
    await Promise.allSettled(contenders.map((r) => store.append("race", r)));
    const loaded = await store.loadRun("race");
    expect(loaded).toHaveLength(1);
    expect(contenders.map((r) => r.state)).toContain(loaded[0]?.state);
  });

  it("runs every other case on one shared prefix too", async () => {
    const store = freshStore();
    for (const c of checkpointStoreCases) if (!kvCannot.has(c.name)) await c.run(store);
  });
});

describe("KvCheckpointStore in Workers KV", () => {
  it("keeps one key per row, zero-padded so keys list in numeric order", async () => {
    const prefix = `layout-${crypto.randomUUID()}:`;
    const store = new KvCheckpointStore(env.CHECKPOINTS, { prefix });
    await store.append("a:b", row(10));
    await store.append("a:b", row(2));
    const { keys } = await env.CHECKPOINTS.list({ prefix });
    expect(keys.map((k) => k.name)).toEqual([
      `${prefix}a%3Ab:0000000000000002`,
      `${prefix}a%3Ab:0000000000000010`,
    ]);
  });

  it("reports a corrupt value as checkpoint_corrupt naming the run and sequence, and deletes nothing", async () => {
    const prefix = `corrupt-${crypto.randomUUID()}:`;
    const store = new KvCheckpointStore(env.CHECKPOINTS, { prefix });
    await store.append("run", row(0));
    await store.append("run", row(1));
    await env.CHECKPOINTS.put(`${prefix}run:0000000000000001`, "{torn");
    const error = await rejection(store.loadRun("run"));
    expect(isCanoError(error) && error.code).toBe("checkpoint_corrupt");
    expect(isCanoError(error) && error.message).toContain(
      'run "run" row 1 is corrupt: the stored text is not JSON',
    );
    expect(isCanoError(error) && error.message).toContain("Nothing was deleted");
    await env.CHECKPOINTS.put(`${prefix}run:0000000000000001`, JSON.stringify(row(4)));
    const moved = await rejection(store.loadRun("run"));
    expect(isCanoError(moved) && moved.message).toContain("stored under sequence 1 but says it is row 4");
    expect((await env.CHECKPOINTS.list({ prefix })).keys).toHaveLength(2);
  });

  it("refuses ids KV cannot key (too long, lone surrogates) with checkpoint_store, writing nothing", async () => {
    const prefix = `ids-${crypto.randomUUID()}:`;
    const store = new KvCheckpointStore(env.CHECKPOINTS, { prefix });
    for (const id of ["x".repeat(600), "lone \ud800 surrogate"]) {
      const error = await rejection(store.append(id, row(0)));
      expect(isCanoError(error) && error.code).toBe("checkpoint_store");
    }
    expect((await env.CHECKPOINTS.list({ prefix })).keys).toEqual([]);
  });

  it("loads a run with bulk reads: one list and one KV operation per 100 rows", async () => {
    const prefix = `bulk-${crypto.randomUUID()}:`;
    const writer = new KvCheckpointStore(env.CHECKPOINTS, { prefix });
    for (let sequence = 0; sequence < 250; sequence++) await writer.append("run", row(sequence));
    const operations: string[] = [];
    const counted: KvNamespaceLike = {
      get: ((keys: string | string[], type: "text") => {
        operations.push(Array.isArray(keys) ? `get ${keys.length}` : "get 1");
        return env.CHECKPOINTS.get(keys as string[], type);
      }) as KvNamespaceLike["get"],
      put: (key, value) => env.CHECKPOINTS.put(key, value),
      delete: (key) => env.CHECKPOINTS.delete(key),
      list: (options) => {
        operations.push("list");
        return env.CHECKPOINTS.list(options);
      },
    };
    const rows = await new KvCheckpointStore(counted, { prefix }).loadRun("run");
    expect(rows.map((loaded) => loaded.sequence)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(operations).toEqual(["list", "get 100", "get 100", "get 50"]);
  });

  it("refuses a prefix that does not end in a colon", async () => {
    const error = await rejection(() => new KvCheckpointStore(env.CHECKPOINTS, { prefix: "runs" }));
    expect(isCanoError(error) && error.code).toBe("configuration");
  });
});
