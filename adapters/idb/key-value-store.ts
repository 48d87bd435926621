import { CanoError, describeThrown } from "../../core/errors.ts";
import type { KeyLike, KeyValueStore } from "../../core/store.ts";
import { checkValue, keyName } from "../../core/store.ts";
import type { StoreErrorStyle } from "../../core/store-helpers.ts";
import { copyForStore, notAnArrayError, SerialQueue } from "../../core/store-helpers.ts";
import type { CanoDatabase, FailureMapper } from "./database.ts";
import { storageError } from "./errors.ts";
import { keyValueStore } from "./schema.ts";

const component = "IndexedDbKeyValueStore";

/** How this store words its `store` errors (as MemoryStore does, with less about the value). */
const errorStyle: StoreErrorStyle = {
  component: "Store",
  uncloneable: (_value, error) => ` (${describeThrown(error)})`,
  notAnArray: () => "another value",
};

/**
 * A `KeyValueStore` in IndexedDB, so a workflow's data (an agent's memory) survives a reload. Keys
 * live under a namespace, usually the run's id, so runs never see each other's data and `clear()`
 * only empties its own namespace. Values behave as in `MemoryStore`: copied with `structuredClone`
 * when you call `put` (later mutations change nothing), fresh copies on every `get`, schemas of typed
 * keys checked on `put` and `append`, operations applied one at a time in call order. `keys()` is in
 * key-name order. One writer per namespace at a time: hold the run's tab lease (`withTabLease`).
 * Storage failures are `store` errors with the browser's error as `cause`.
 *
 * @example
 * const memory = new IndexedDbKeyValueStore(await openCanoDatabase("my-app"), runId);
 * const wf = new Workflow<State>({ store: memory, name: "agent" });
 */
export class IndexedDbKeyValueStore implements KeyValueStore {
  /** The namespace every key of this store lives under. */
  readonly namespace: string;
  readonly #database: CanoDatabase;
  /** Every operation waits for the one called before it. */
  readonly #queue = new SerialQueue();

  /** Keeps values in `database` under `namespace` (a non-empty string, such as the run's id). */
  constructor(database: CanoDatabase, namespace: string) {
    if (typeof namespace !== "string" || namespace === "") {
      throw new CanoError(
        "configuration",
        `${component}: expected a namespace (a non-empty string such as the run's id), received ${describeThrown(namespace)}.`,
      );
    }
    this.#database = database;
    this.namespace = namespace;
  }

  /** The value under `key` (a fresh copy), or `undefined` when there is none. */
  get<T>(key: KeyLike<T>): Promise<T | undefined> {
    return this.#queue.run(
      () => keyName(key),
      (name) =>
        this.#database.run(
          keyValueStore,
          "readonly",
          (tx) => tx.store.get([this.namespace, name]) as Promise<T | undefined>,
          this.#fail(`read key "${name}"`),
        ),
    );
  }

  /** Stores a copy of `value` (the schema's output, if the key has a schema); on error the old value stays. */
  put<T>(key: KeyLike<T>, value: T): Promise<void> {
    return this.#queue.run(
      // Copy at call time: mutating `value` after calling put, even before it settles, changes nothing.
      () => {
        const name = keyName(key);
        return { name, snapshot: copyForStore(name, value, errorStyle) };
      },
      async ({ name, snapshot }) => {
        const checked = await checkValue(key, snapshot);
        await this.#write(name, `write key "${name}"`, checked);
      },
    );
  }

  /** Removes `key`; a missing key is a no-op. */
  delete(key: KeyLike<unknown>): Promise<void> {
    return this.#queue.run(
      () => keyName(key),
      (name) =>
        this.#database.run(
          keyValueStore,
          "readwrite",
          (tx) => tx.store.delete([this.namespace, name]),
          this.#fail(`delete key "${name}"`),
        ),
    );
  }

  /**
   * Adds a copy of `item` to the array under `key`, or stores `[item]` when missing. Without a
   * schema the read and the write are one transaction; with one, the whole resulting array is
   * validated between them. On error the old array stays.
   */
  append<T>(key: KeyLike<T[]>, item: T): Promise<void> {
    return this.#queue.run(
      () => {
        const name = keyName(key);
        return { name, copy: copyForStore(name, item, errorStyle) };
      },
      async ({ name, copy }) => {
        const storeKey = [this.namespace, name];
        const fail = this.#fail(`append to key "${name}"`);
        const schema = typeof key === "string" ? undefined : key.schema;
        if (schema === undefined) {
          await this.#database.run(
            keyValueStore,
            "readwrite",
            async (tx) => {
              const current: unknown = await tx.store.get(storeKey);
              if (current !== undefined && !Array.isArray(current))
                throw notAnArrayError(name, current, errorStyle);
              await tx.store.put(current === undefined ? [copy] : [...current, copy], storeKey);
            },
            fail,
          );
          return;
        }
        const current: unknown = await this.#database.run(
          keyValueStore,
          "readonly",
          (tx) => tx.store.get(storeKey),
          fail,
        );
        if (current !== undefined && !Array.isArray(current))
          throw notAnArrayError(name, current, errorStyle);
        const checked = await checkValue(key, current === undefined ? [copy] : [...current, copy]);
        await this.#write(name, `append to key "${name}"`, checked);
      },
    );
  }

  /** Every key name in this namespace, in key-name order. */
  keys(): Promise<string[]> {
    return this.#queue.run(
      () => undefined,
      async () => {
        const keys = await this.#database.run(
          keyValueStore,
          "readonly",
          (tx) => tx.store.getAllKeys(this.#range()),
          this.#fail("list keys"),
        );
        return keys.map((key) => (Array.isArray(key) ? String(key[1]) : String(key)));
      },
    );
  }

  /** Removes every key of this namespace (other namespaces are untouched). */
  clear(): Promise<void> {
    return this.#queue.run(
      () => undefined,
      () =>
        this.#database.run(
          keyValueStore,
          "readwrite",
          (tx) => tx.store.delete(this.#range()),
          this.#fail("clear the namespace"),
        ),
    );
  }

  #write(name: string, action: string, value: unknown): Promise<void> {
    return this.#database.run(
      keyValueStore,
      "readwrite",
      async (tx) => void (await tx.store.put(value, [this.namespace, name])),
      this.#fail(action),
    );
  }

  /** Every key of this namespace: `[ns]` sorts before `[ns, name]`, and arrays after any name. */
  #range(): IDBKeyRange {
    return IDBKeyRange.bound([this.namespace], [this.namespace, []]);
  }

  #fail(action: string): FailureMapper {
    const database = this.#database.name;
    const where = `${action} in namespace "${this.namespace}"`;
    return (error, lost, reason) =>
      storageError(
        "store",
        { component, action: where, database, ...(lost === undefined ? {} : { lost }) },
        error,
        reason,
      );
  }
}
