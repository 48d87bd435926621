// IndexedDbKeyValueStore in Chromium: the same value semantics as MemoryStore (checked side by side on
// one script of operations), copies, namespaces, schemas, concurrent appends, and data that survives
// a reload.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserHarness } from "./harness/index.ts";
import { startHarness } from "./harness/index.ts";
import { labPages, openLab } from "./harness/lab.ts";

let harness: BrowserHarness;
let page: Page;

beforeAll(async () => {
  harness = await startHarness({ pages: labPages });
  page = await openLab(harness);
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

/** One step of the side-by-side script: an operation, its key and its value. */
type Operation = readonly [
  op: "put" | "get" | "delete" | "append" | "keys" | "clear",
  key?: string,
  value?: unknown,
];

const script: readonly Operation[] = [
  ["get", "missing"],
  ["put", "user", { name: "Ada", tags: ["x"], nested: { deep: [1, { two: 2 }] } }],
  ["get", "user"],
  ["put", "user", { name: "Grace" }],
  ["get", "user"],
  ["append", "log", "first"],
  ["append", "log", { second: true }],
  ["get", "log"],
  ["append", "user", "not an array"],
  ["get", "user"],
  ["put", "when", "$date"],
  ["get", "when"],
  ["put", "map", "$map"],
  ["get", "map"],
  ["put", "nothing", null],
  ["get", "nothing"],
  ["put", "fn", "$function"],
  ["get", "fn"],
  ["keys"],
  ["delete", "user"],
  ["delete", "never-there"],
  ["get", "user"],
  ["keys"],
  ["put", "", 1],
  ["clear"],
  ["keys"],
  ["get", "log"],
];

describe("IndexedDbKeyValueStore", () => {
  it("gives the same results as MemoryStore for the same operations", async () => {
    const results = await page.evaluate(async (ops) => {
      const { cano, adapter, describeError } = window.lab;
      const special: Record<string, () => unknown> = {
        $date: () => new Date(Date.UTC(2026, 0, 2)),
        $map: () => new Map<string, unknown>([["k", { v: [1, 2] }]]),
        $function: () => () => 1,
      };
      /** A value as comparable text: Maps, Dates and undefined spelled out. */
      const show = (value: unknown) =>
        JSON.stringify(value, (_key, field: unknown) => {
          if (field instanceof Map) return { map: [...field] };
          if (field === undefined) return "(undefined)";
          return field;
        }) ?? "(undefined)";
      const runScript = async (store: import("cano").KeyValueStore) => {
        const out: string[] = [];
        for (const [op, name = "", raw] of ops) {
          const value = typeof raw === "string" && raw in special ? special[raw]?.() : raw;
          try {
            if (op === "put") await store.put(name, value);
            else if (op === "append") await store.append(name, value);
            else if (op === "delete") await store.delete(name);
            else if (op === "clear") await store.clear();
            else if (op === "keys") out.push(show((await store.keys()).sort()));
            else {
              const got = await store.get(name);
              out.push(`${name}: ${show(got)}${got instanceof Date ? ` (Date ${got.toISOString()})` : ""}`);
            }
          } catch (error) {
            out.push(`${op} ${name}: error ${describeError(error).code}`);
          }
        }
        return out;
      };
      const db = await adapter.openCanoDatabase(`kv-${crypto.randomUUID()}`);
      const idb = await runScript(new adapter.IndexedDbKeyValueStore(db, "run-1"));
      db.close();
      return { memory: await runScript(new cano.MemoryStore()), idb };
    }, script);
    expect(results.idb).toEqual(results.memory);
    // The script does reach the interesting cases.
    expect(results.idb).toContain("append user: error store");
    expect(results.idb).toContain("put fn: error store");
    expect(results.idb).toContain("put : error store");
    expect(results.idb).toContain('when: "2026-01-02T00:00:00.000Z" (Date 2026-01-02T00:00:00.000Z)');
    expect(results.idb).toContain('map: {"map":[["k",{"v":[1,2]}]]}');
  });

  it("copies values: changing an object after put or after get changes nothing stored", async () => {
    const seen = await page.evaluate(async () => {
      const { adapter } = window.lab;
      const db = await adapter.openCanoDatabase(`kv-${crypto.randomUUID()}`);
      const store = new adapter.IndexedDbKeyValueStore(db, "run");
      const value = { list: [1, 2], note: "original" };
      const put = store.put("k", value);
      value.list.push(3); // before the put has settled
      value.note = "changed";
      await put;
      const first = await store.get<{ list: number[]; note: string }>("k");
      first?.list.push(4);
      const second = await store.get("k");
      db.close();
      return { second, same: first === second };
    });
    expect(seen).toEqual({ second: { list: [1, 2], note: "original" }, same: false });
  });

  it("keeps namespaces apart: keys, get and clear see only their own", async () => {
    const seen = await page.evaluate(async () => {
      const { adapter, describeError } = window.lab;
      const db = await adapter.openCanoDatabase(`kv-${crypto.randomUUID()}`);
      const names = ["run", "run:1", "run\u0000", "ru", "run/x"];
      const stores = names.map((name) => new adapter.IndexedDbKeyValueStore(db, name));
      for (const [index, store] of stores.entries()) {
        await store.put("shared", index);
        await store.put(`own-${index}`, true);
      }
      await stores[0]?.clear();
      const view = await Promise.all(
        stores.map(async (store) => ({ keys: await store.keys(), shared: await store.get("shared") })),
      );
      let empty: unknown;
      try {
        new adapter.IndexedDbKeyValueStore(db, "");
      } catch (error) {
        empty = describeError(error).code;
      }
      db.close();
      return { view, empty };
    });
    expect(seen.view).toEqual([
      { keys: [], shared: undefined },
      { keys: ["own-1", "shared"], shared: 1 },
      { keys: ["own-2", "shared"], shared: 2 },
      { keys: ["own-3", "shared"], shared: 3 },
      { keys: ["own-4", "shared"], shared: 4 },
    ]);
    expect(seen.empty).toBe("configuration");
  });

  it("keeps every item of concurrent appends, in call order", async () => {
    const items = await page.evaluate(async () => {
      const { adapter } = window.lab;
      const db = await adapter.openCanoDatabase(`kv-${crypto.randomUUID()}`);
      const store = new adapter.IndexedDbKeyValueStore(db, "run");
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.append("items", i)));
      const result = await store.get<number[]>("items");
      db.close();
      return result;
    });
    expect(items).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("checks typed keys with their schema on put and append; a rejected value leaves the old one", async () => {
    const seen = await page.evaluate(async () => {
      const { cano, adapter, describeError } = window.lab;
      const positives = {
        "~standard": {
          version: 1 as const,
          vendor: "test",
          types: { input: [] as unknown, output: [] as number[] },
          validate: (value: unknown) =>
            Array.isArray(value) && value.every((n) => typeof n === "number" && n > 0)
              ? { value: value as number[] }
              : { issues: [{ message: "expected positive numbers", path: [0] }] },
        },
      };
      const scores = cano.key("scores", positives);
      const db = await adapter.openCanoDatabase(`kv-${crypto.randomUUID()}`);
      const store = new adapter.IndexedDbKeyValueStore(db, "run");
      await store.put(scores, [1, 2]);
      await store.append(scores, 3);
      const errors = [];
      for (const attempt of [store.append(scores, -1), store.put(scores, [0])]) {
        errors.push(await attempt.then(() => undefined, describeError));
      }
      const kept = await store.get(scores);
      db.close();
      return { kept, errors: errors.map((e) => ({ code: e?.code, message: e?.message })) };
    });
    expect(seen.kept).toEqual([1, 2, 3]);
    expect(seen.errors).toEqual([
      {
        code: "store",
        message: 'Store: value for key "scores" does not match its schema: 0: expected positive numbers',
      },
      {
        code: "store",
        message: 'Store: value for key "scores" does not match its schema: 0: expected positive numbers',
      },
    ]);
  });

  it("keeps its data across a page reload", async () => {
    const name = `kv-reload-${Date.now()}`;
    await page.evaluate(async (database) => {
      const { adapter } = window.lab;
      const db = await adapter.openCanoDatabase(database);
      await new adapter.IndexedDbKeyValueStore(db, "agent-7").put("memory", { facts: ["sky is blue"] });
      db.close();
    }, name);
    await page.reload();
    await page.waitForFunction(() => document.title === "lab ready");
    const memory = await page.evaluate(async (database) => {
      const { adapter } = window.lab;
      const db = await adapter.openCanoDatabase(database);
      const value = await new adapter.IndexedDbKeyValueStore(db, "agent-7").get("memory");
      db.close();
      return value;
    }, name);
    expect(memory).toEqual({ facts: ["sky is blue"] });
  });
});
