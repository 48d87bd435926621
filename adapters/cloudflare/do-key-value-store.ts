import { CanoError, describeThrown } from "../../core/errors.ts";
import type { KeyLike, KeyValueStore } from "../../core/store.ts";
import { checkValue, keyName } from "../../core/store.ts";
import type { StoreErrorStyle } from "../../core/store-helpers.ts";
import { copyForStore, notAnArrayError, SerialQueue } from "../../core/store-helpers.ts";
import type { DurableObjectKvStorageLike } from "./platform.ts";

const component = "DurableObjectKeyValueStore";

/** How this store words its `store` errors: under its own name, the value described as thrown values are. */
const errorStyle: StoreErrorStyle = {
  component,
  uncloneable: (value) => `, received ${describeThrown(value)}`,
  notAnArray: describeThrown,
};

/** Options of {@link DurableObjectKeyValueStore}. */
export interface DurableObjectKeyValueStoreOptions {
  /** Prepended to every key in the object's storage, so several stores can share one object. Default `cano:store:`. */
  readonly prefix?: string;
}

/** Durable Object storage deletes at most this many keys per call. */
const deleteBatch = 128;

/** Keys listed per storage call. */
const listPage = 512;

/**
 * A {@link KeyValueStore} in a Durable Object's transactional storage (`ctx.storage` get/put/list),
 * so what tasks keep in `ctx.store` survives eviction and restarts. Values are structured clones, as
 * in `MemoryStore` (Map, Set, Date and typed arrays round-trip; functions are refused); operations run
 * one at a time in call order, so concurrent `append`s from split branches never lose an item.
 * `keys()` lists keys in ascending order.
 *
 * @example
 * const store = new DurableObjectKeyValueStore(ctx.storage);
 * const wf = new Workflow<S>({ store });
 */
export class DurableObjectKeyValueStore implements KeyValueStore {
  readonly #storage: DurableObjectKvStorageLike;
  readonly #prefix: string;
  /** Every operation waits for the one called before it. */
  readonly #queue = new SerialQueue();

  constructor(storage: DurableObjectKvStorageLike, options: DurableObjectKeyValueStoreOptions = {}) {
    const prefix = options.prefix ?? "cano:store:";
    if (typeof prefix !== "string" || prefix === "") {
      throw new CanoError(
        "configuration",
        `${component}: prefix must be a non-empty string, received ${describeThrown(prefix)}`,
      );
    }
    this.#storage = storage;
    this.#prefix = prefix;
  }

  /** The value under `key` (a fresh copy), or `undefined`. */
  get<T>(key: KeyLike<T>): Promise<T | undefined> {
    return this.#queue.run(
      () => keyName(key),
      async (name) =>
        (await this.#io(`reading key "${name}"`, () => this.#storage.get(this.#key(name)))) as T,
    );
  }

  /** Stores a copy of `value` (the schema's output, if the key has one); on error the old value stays. */
  put<T>(key: KeyLike<T>, value: T): Promise<void> {
    return this.#queue.run(
      () => {
        const name = keyName(key);
        return { name, snapshot: copyForStore(name, value, errorStyle) };
      },
      async ({ name, snapshot }) => {
        const checked = await checkValue(key, snapshot);
        await this.#io(`writing key "${name}"`, () => this.#storage.put(this.#key(name), checked));
      },
    );
  }

  /** Removes `key`; a missing key is a no-op. */
  delete(key: KeyLike<unknown>): Promise<void> {
    return this.#queue.run(
      () => keyName(key),
      async (name) => {
        await this.#io(`deleting key "${name}"`, () => this.#storage.delete([this.#key(name)]));
      },
    );
  }

  /** Adds a copy of `item` to the array under `key`, or stores `[item]`; a `store` error if it is not an array. */
  append<T>(key: KeyLike<T[]>, item: T): Promise<void> {
    return this.#queue.run(
      () => {
        const name = keyName(key);
        return { name, copy: copyForStore(name, item, errorStyle) };
      },
      async ({ name, copy }) => {
        const current = await this.#io(`reading key "${name}"`, () => this.#storage.get(this.#key(name)));
        if (current !== undefined && !Array.isArray(current))
          throw notAnArrayError(name, current, errorStyle);
        const candidate: unknown[] = current === undefined ? [copy] : [...(current as unknown[]), copy];
        const checked = await checkValue(key, candidate);
        await this.#io(`writing key "${name}"`, () => this.#storage.put(this.#key(name), checked));
      },
    );
  }

  /** Every key name of this store, in ascending order. */
  keys(): Promise<string[]> {
    return this.#queue.run(
      () => undefined,
      async () => (await this.#storedKeys()).map((stored) => stored.slice(this.#prefix.length)),
    );
  }

  /** Removes every key of this store (and nothing else in the object). */
  clear(): Promise<void> {
    return this.#queue.run(
      () => undefined,
      async () => {
        const stored = await this.#storedKeys();
        for (let i = 0; i < stored.length; i += deleteBatch) {
          const batch = stored.slice(i, i + deleteBatch);
          await this.#io("clearing", () => this.#storage.delete(batch));
        }
      },
    );
  }

  #key(name: string): string {
    return `${this.#prefix}${name}`;
  }

  /** Every stored key of this store, a page at a time so values never all sit in memory at once. */
  async #storedKeys(): Promise<string[]> {
    const keys: string[] = [];
    for (;;) {
      const after = keys.at(-1);
      const page = await this.#io("listing keys", () =>
        this.#storage.list({
          prefix: this.#prefix,
          limit: listPage,
          ...(after === undefined ? {} : { startAfter: after }),
        }),
      );
      keys.push(...page.keys());
      if (page.size < listPage) return keys;
    }
  }

  async #io<T>(doing: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new CanoError("store", `${component}: ${doing} failed: ${describeThrown(error)}`, {
        cause: error,
      });
    }
  }
}
