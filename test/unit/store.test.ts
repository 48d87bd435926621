import type { CanoError, Key, KeyValueStore, StandardSchemaV1 } from "cano";
import { checkValue, isCanoError, key, keyName, MemoryStore } from "cano";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";

/** The store error `action` rejects with; fails the test if it resolves or rejects with anything else. */
async function storeError(action: Promise<unknown>): Promise<CanoError> {
  try {
    await action;
  } catch (error) {
    if (isCanoError(error) && error.code === "store") return error;
    throw error;
  }
  throw new Error("expected a store error");
}

const user = key("user", z.object({ name: z.string(), age: z.number().optional() }));

/** A hand-made Standard Schema whose validate is asynchronous: accepts even numbers, doubles them. */
const evenDoubled: StandardSchemaV1<number, number> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: async (value) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return typeof value === "number" && value % 2 === 0
        ? { value: value * 2 }
        : { issues: [{ message: `expected an even number, received ${String(value)}` }] };
    },
  },
};

describe("key()", () => {
  it("infers the value type from the schema's output", () => {
    expectTypeOf(user).toEqualTypeOf<Key<{ name: string; age?: number | undefined }>>();
    expectTypeOf(
      key(
        "n",
        z.string().transform((s) => s.length),
      ),
    ).toEqualTypeOf<Key<number>>();
    expectTypeOf(key<string[]>("notes")).toEqualTypeOf<Key<string[]>>();
    expectTypeOf(new MemoryStore().get(user)).resolves.toEqualTypeOf<
      { name: string; age?: number | undefined } | undefined
    >();
  });

  it("rejects mismatched values and item types at compile time", () => {
    const store = new MemoryStore();
    const count = key<number>("count");
    const notes = key<string[]>("notes");
    // @ts-expect-error a string is not a number
    void store.put(count, "three").catch(() => undefined);
    // @ts-expect-error notes holds strings
    void store.append(notes, 42).catch(() => undefined);
    // Any typed key is accepted where the value type does not matter.
    void store.delete(count).catch(() => undefined);
    expect(keyName(user)).toBe("user");
    // @ts-expect-error a Key<number> is not a Key<string>
    const wrong: Key<string> = count;
    expect(wrong.name).toBe("count");
  });

  it("keeps the name and schema, and is frozen", () => {
    expect(user.name).toBe("user");
    expect(user.schema).toBeDefined();
    expect(key("plain").schema).toBeUndefined();
    expect(Object.isFrozen(user)).toBe(true);
  });

  it("rejects an empty name and a schema that is not a Standard Schema", () => {
    expect(() => key("")).toThrow(/Store: expected a key name/);
    expect(() => key("x", { parse: () => 1 } as unknown as StandardSchemaV1)).toThrow(
      /the schema for key "x" is not a Standard Schema/,
    );
  });
});

describe("keyName()", () => {
  it("returns the name of a key or a string", () => {
    expect(keyName("a")).toBe("a");
    expect(keyName(key("b"))).toBe("b");
  });

  it.each([
    ["", /received string ""/],
    [42, /received number 42/],
    [undefined, /received undefined/],
    [null, /received null/],
    [{ name: "" }, /received an object/],
  ])("throws a store error for %j", (bad, message) => {
    let thrown: unknown;
    try {
      keyName(bad as string);
    } catch (error) {
      thrown = error;
    }
    expect(isCanoError(thrown) && thrown.code).toBe("store");
    expect((thrown as Error).message).toMatch(/^Store: expected a key name \(a non-empty string\)/);
    expect((thrown as Error).message).toMatch(message);
  });

  it("makes every store method reject for a bad key", async () => {
    const store = new MemoryStore();
    await storeError(store.get(""));
    await storeError(store.put("", 1));
    await storeError(store.delete(""));
    await storeError(store.append("", 1));
  });
});

describe("checkValue()", () => {
  it("returns the value unchanged without a schema", async () => {
    const value = { a: 1 };
    expect(await checkValue("plain", value)).toBe(value);
    expect(await checkValue(key("typed"), value)).toBe(value);
  });

  it("returns the schema's output", async () => {
    expect(
      await checkValue(
        key(
          "len",
          z.string().transform((s) => s.length),
        ),
        "abcd",
      ),
    ).toBe(4);
    expect(await checkValue(key("even", evenDoubled), 4)).toBe(8);
  });

  it("lists each issue as path: message and keeps them as details", async () => {
    const error = await storeError(checkValue(user, { name: 42 }));
    expect(error.message).toMatch(/^Store: value for key "user" does not match its schema: name: /);
    expect(error.message).toMatch(/expected string, received number/i);
    expect(error.details).toMatchObject({ key: "user", issues: [{ path: ["name"] }] });
    expect(JSON.parse(JSON.stringify(error.toJSON()))).toEqual(error.toJSON());
  });

  it("joins nested paths with dots and several issues with semicolons", async () => {
    const rows = key("rows", z.array(z.object({ amount: z.number() })));
    const error = await storeError(checkValue(rows, [{ amount: 1 }, { amount: "2" }, {}]));
    expect(error.message).toMatch(/rows" does not match its schema: 1\.amount: .*; 2\.amount: /);
  });

  it("turns a schema that throws into a store error with the cause", async () => {
    const boom = new Error("boom");
    const throwing: StandardSchemaV1<unknown, unknown> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: () => {
          throw boom;
        },
      },
    };
    const error = await storeError(checkValue(key("t", throwing), 1));
    expect(error.message).toBe(
      'Store: the schema for key "t" threw while validating instead of returning issues: Error: boom',
    );
    expect(error.cause).toBe(boom);
  });
});

describe("MemoryStore", () => {
  it("is usable as a KeyValueStore", () => {
    expectTypeOf(new MemoryStore()).toMatchTypeOf<KeyValueStore>();
  });

  it("puts and gets by key or by name, and returns undefined for a missing key", async () => {
    const store = new MemoryStore();
    expect(await store.get("missing")).toBeUndefined();
    await store.put(key<number>("n"), 1);
    expect(await store.get("n")).toBe(1);
    await store.put("n", 2);
    expect(await store.get(key<number>("n"))).toBe(2);
  });

  describe("schemas", () => {
    it("stores a valid value", async () => {
      const store = new MemoryStore();
      await store.put(user, { name: "Ada" });
      expect(await store.get(user)).toEqual({ name: "Ada" });
    });

    it("rejects an invalid value naming key and issue path, and keeps the previous value", async () => {
      const store = new MemoryStore();
      await store.put(user, { name: "Ada", age: 36 });
      const error = await storeError(store.put(user, { name: 42 } as unknown as { name: string }));
      expect(error.message).toMatch(/key "user" does not match its schema: name: /);
      expect(await store.get(user)).toEqual({ name: "Ada", age: 36 });
    });

    it("stores the schema's output, so transforms and stripped fields apply", async () => {
      const store = new MemoryStore();
      const trimmed = key(
        "trimmed",
        z.string().transform((s) => s.trim().toUpperCase()),
      );
      await store.put(trimmed, "  hi " as unknown as string);
      expect(await store.get(trimmed)).toBe("HI");
      await store.put(user, { name: "Ada", extra: true } as { name: string });
      expect(await store.get(user)).toEqual({ name: "Ada" });
    });

    it("awaits an async schema, on success and on failure", async () => {
      const store = new MemoryStore();
      const even = key("even", evenDoubled);
      await store.put(even, 21 * 2);
      expect(await store.get(even)).toBe(84);
      const error = await storeError(store.put(even, 3));
      expect(error.message).toBe(
        'Store: value for key "even" does not match its schema: expected an even number, received 3',
      );
      expect(await store.get(even)).toBe(84);
    });

    it("does not check a value put under the bare name", async () => {
      const store = new MemoryStore();
      await store.put("user", 42);
      expect(await store.get("user")).toBe(42);
    });
  });

  describe("value semantics", () => {
    it("copies on put: mutating the caller's object later changes nothing", async () => {
      const store = new MemoryStore();
      const value = { list: [1, 2], nested: { deep: "a" } };
      await store.put("v", value);
      value.list.push(3);
      value.nested.deep = "b";
      expect(await store.get("v")).toEqual({ list: [1, 2], nested: { deep: "a" } });
    });

    it("copies on get: mutating what get returned changes nothing", async () => {
      const store = new MemoryStore();
      await store.put("v", { list: [1] });
      const first = (await store.get<{ list: number[] }>("v"))!;
      first.list.push(2);
      const second = await store.get<{ list: number[] }>("v");
      expect(second).toEqual({ list: [1] });
      expect(second).not.toBe(first);
    });

    it("copies a value while an async schema validates it", async () => {
      const store = new MemoryStore();
      const box = key("box", {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: async (value: unknown) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            return { value: value as { n: number } };
          },
        },
      } satisfies StandardSchemaV1<{ n: number }>);
      const value = { n: 1 };
      const pending = store.put(box, value);
      value.n = 2;
      await pending;
      expect(await store.get(box)).toEqual({ n: 1 });
    });

    it("keeps Map, Set, Date and nested structures; class instances lose their prototype", async () => {
      class Point {
        readonly x: number;
        readonly y: number;
        constructor(x: number, y: number) {
          this.x = x;
          this.y = y;
        }
        length(): number {
          return Math.hypot(this.x, this.y);
        }
      }
      const store = new MemoryStore();
      const value = { when: new Date(0), tags: new Set(["a"]), index: new Map([["k", [1]]]) };
      await store.put("rich", value);
      expect(await store.get("rich")).toEqual(value);
      await store.put("point", new Point(3, 4));
      const point = await store.get("point");
      expect(point).toEqual({ x: 3, y: 4 });
      expect(point).not.toBeInstanceOf(Point);
    });

    it.each([
      ["a function", () => 1],
      ["an object holding a function", { run: () => 1 }],
      ["a symbol", Symbol("s")],
    ])("rejects %s as not structured-cloneable and keeps the old value", async (_, bad) => {
      const store = new MemoryStore();
      await store.put("v", "old");
      const error = await storeError(store.put("v", bad));
      expect(error.message).toMatch(
        /^Store: value for key "v" cannot be stored: values must be structured-cloneable/,
      );
      expect(error.cause).toBeDefined();
      expect(error.details).toEqual({ key: "v" });
      expect(await store.get("v")).toBe("old");
    });

    it("rejects a schema output that is not cloneable and keeps the old value", async () => {
      const store = new MemoryStore();
      const fn = key(
        "fn",
        z.number().transform((n) => () => n),
      );
      await store.put("fn", "old");
      await storeError(store.put(fn, 1 as unknown as () => number));
      expect(await store.get("fn")).toBe("old");
    });
  });

  describe("append", () => {
    it("creates [item] when the key is missing, then extends it", async () => {
      const store = new MemoryStore();
      const notes = key<string[]>("notes");
      await store.append(notes, "a");
      expect(await store.get(notes)).toEqual(["a"]);
      await store.append(notes, "b");
      await store.append("notes", "c");
      expect(await store.get(notes)).toEqual(["a", "b", "c"]);
    });

    it("copies the item", async () => {
      const store = new MemoryStore();
      const item = { n: 1 };
      await store.append("items", item);
      item.n = 2;
      expect(await store.get("items")).toEqual([{ n: 1 }]);
    });

    it("rejects appending to a value that is not an array and leaves it intact", async () => {
      const store = new MemoryStore();
      await store.put("count", 3);
      const error = await storeError(store.append("count", 4));
      expect(error.message).toBe(
        'Store: cannot append to key "count": expected an array, received number 3. ' +
          "Use put() to replace it, or append to a different key.",
      );
      expect(await store.get("count")).toBe(3);
    });

    it("rejects a non-cloneable item and leaves the array intact", async () => {
      const store = new MemoryStore();
      await store.append("list", 1);
      await storeError(store.append("list", () => 2));
      expect(await store.get("list")).toEqual([1]);
    });

    it("validates the whole resulting array against the key's schema", async () => {
      const store = new MemoryStore();
      const scores = key("scores", z.array(z.number().int()).max(2));
      await store.append(scores, 1);
      await store.append(scores, 2);
      const tooMany = await storeError(store.append(scores, 3));
      expect(tooMany.message).toMatch(/key "scores" does not match its schema: /);
      const notInt = await storeError(store.put(scores, [1.5]));
      expect(notInt.message).toMatch(/key "scores" does not match its schema: 0: /);
      expect(await store.get(scores)).toEqual([1, 2]);
    });

    it("stores the schema's output for an append", async () => {
      const store = new MemoryStore();
      const sorted = key(
        "sorted",
        z.array(z.number()).transform((xs) => [...xs].sort((a, b) => a - b)),
      );
      await store.append(sorted, 3);
      await store.append(sorted, 1);
      await store.append(sorted, 2);
      expect(await store.get(sorted)).toEqual([1, 2, 3]);
    });

    it("never loses an item when many appends race, even with an async schema", async () => {
      const store = new MemoryStore();
      const slowPassThrough: StandardSchemaV1<number[]> = {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: async (value) => {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
            return { value: value as number[] };
          },
        },
      };
      const evens = key("evens", slowPassThrough);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(evens, i)));
      expect(await store.get(evens)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });
  });

  it("applies operations in call order even when not awaited one by one", async () => {
    const store = new MemoryStore();
    const even = key("even", evenDoubled);
    const writes = [store.put(even, 2), store.put("even", 100)];
    const read = store.get("even");
    await Promise.all(writes);
    expect(await read).toBe(100);
  });

  it("treats deleting a missing key as a no-op", async () => {
    const store = new MemoryStore();
    await store.put("a", 1);
    await expect(store.delete("missing")).resolves.toBeUndefined();
    await store.delete(key("a"));
    expect(await store.get("a")).toBeUndefined();
    expect(await store.keys()).toEqual([]);
  });

  it("lists keys in first-insertion order", async () => {
    const store = new MemoryStore();
    await store.put("b", 1);
    await store.put("a", 1);
    await store.append("c", 1);
    await store.put("b", 2);
    expect(await store.keys()).toEqual(["b", "a", "c"]);
    await store.delete("b");
    await store.put("b", 3);
    expect(await store.keys()).toEqual(["a", "c", "b"]);
  });

  it("clears every key", async () => {
    const store = new MemoryStore();
    await store.put("a", 1);
    await store.put("b", 2);
    await store.clear();
    expect(await store.keys()).toEqual([]);
    expect(await store.get("a")).toBeUndefined();
  });

  it("keeps working after a failed operation", async () => {
    const store = new MemoryStore();
    await storeError(store.put("f", () => 1));
    await store.put("ok", 1);
    expect(await store.keys()).toEqual(["ok"]);
  });
});
