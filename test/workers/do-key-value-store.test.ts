import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DurableObjectKeyValueStore } from "../../adapters/cloudflare/index.ts";
import type { StandardSchemaV1 } from "../../core/index.ts";
import { isCanoError, key } from "../../core/index.ts";
import { freshHarness, rejection, withStorage } from "./harness.ts";

const positive: StandardSchemaV1<unknown, number> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof value === "number" && value > 0 ? { value } : { issues: [{ message: "must be > 0" }] },
  },
};

describe("DurableObjectKeyValueStore", () => {
  it("round-trips structured-clone values as copies, and survives an eviction", async () => {
    const stub = freshHarness("kv");
    const when = new Date(1_700_000_000_000);
    await withStorage(stub, async (state) => {
      const store = new DurableObjectKeyValueStore(state.storage);
      const value = { when, tags: new Set(["a"]), byId: new Map([[1, "one"]]), list: [1, 2] };
      await store.put("value", value);
      value.list.push(3);
      const loaded = await store.get<typeof value>("value");
      expect(loaded).toEqual({ when, tags: new Set(["a"]), byId: new Map([[1, "one"]]), list: [1, 2] });
      expect(loaded).not.toBe(value);
    });
    await evictDurableObject(stub);
    await withStorage(stub, async (state) => {
      const store = new DurableObjectKeyValueStore(state.storage);
      expect((await store.get<{ when: Date }>("value"))?.when).toEqual(when);
      expect(await store.keys()).toEqual(["value"]);
    });
  });

  it("never loses an item to concurrent appends, and refuses appending to a non-array", () =>
    withStorage(freshHarness("kv"), async (state) => {
      const store = new DurableObjectKeyValueStore(state.storage);
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.append("items", i)));
      expect(((await store.get<number[]>("items")) ?? []).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
      await store.put("scalar", 1);
      const error = await rejection(store.append("scalar", 2));
      expect(isCanoError(error) && error.code).toBe("store");
      expect(await store.get("scalar")).toBe(1);
    }));

  it("checks typed keys' schemas and keeps the old value on rejection; refuses functions", () =>
    withStorage(freshHarness("kv"), async (state) => {
      const store = new DurableObjectKeyValueStore(state.storage);
      const amount = key("amount", positive);
      await store.put(amount, 5);
      expect(isCanoError(await rejection(store.put(amount, -1)))).toBe(true);
      expect(await store.get(amount)).toBe(5);
      const fn = await rejection(store.put("fn", () => 1));
      expect(isCanoError(fn) && fn.code).toBe("store");
      expect(await store.get("fn")).toBeUndefined();
    }));

  it("keys(), delete() and clear() touch only its own prefix, across many keys", () =>
    withStorage(freshHarness("kv"), async (state) => {
      const mine = new DurableObjectKeyValueStore(state.storage, { prefix: "mine:" });
      const theirs = new DurableObjectKeyValueStore(state.storage, { prefix: "theirs:" });
      await Promise.all(Array.from({ length: 600 }, (_, i) => mine.put(`k${String(i).padStart(3, "0")}`, i)));
      await theirs.put("kept", true);
      const keys = await mine.keys();
      expect(keys).toHaveLength(600);
      expect(keys.slice(0, 2)).toEqual(["k000", "k001"]);
      await mine.delete("k000");
      await mine.delete("never-there");
      expect(await mine.keys()).toHaveLength(599);
      await mine.clear();
      expect(await mine.keys()).toEqual([]);
      expect(await theirs.keys()).toEqual(["kept"]);
    }));
});
