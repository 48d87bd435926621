import { CanoError, describeThrown } from "./errors.ts";
import type {
  InferOutput,
  StandardSchemaV1,
  StandardSchemaV1Issue,
  StandardSchemaV1Result,
} from "./standard-schema.ts";
import { copyForStore, describeReceived, notAnArrayError, SerialQueue } from "./store-helpers.ts";

/**
 * A typed store key: a name plus, optionally, a Standard Schema checked on every `put`. Make one
 * with {@link key}.
 */
export interface Key<T> {
  /** The name the value is stored under. */
  readonly name: string;
  /**
   * Checked on `put` and `append`; `undefined` means any value is accepted. Its type also carries
   * `T`, so `Key<string>` and `Key<number>` never mix (keys are covariant: a `Key<T>` is a `Key<unknown>`).
   */
  readonly schema: StandardSchemaV1<unknown, T> | undefined;
}

/** A typed {@link Key} or a bare key name (untyped, unchecked). */
export type KeyLike<T> = Key<T> | string;

/**
 * The store every task sees as `ctx.store`. Adapters (IndexedDB, Durable Objects) implement it
 * too, so values have the same copy semantics everywhere: what you put is what you get back, never
 * the same object.
 */
export interface KeyValueStore {
  /** The value under `key`, or `undefined` when there is none. */
  get<T>(key: KeyLike<T>): Promise<T | undefined>;
  /** Stores `value` under `key`, replacing any previous value; checked against the key's schema. */
  put<T>(key: KeyLike<T>, value: T): Promise<void>;
  /** Removes `key`; deleting a missing key is a no-op. */
  delete(key: KeyLike<unknown>): Promise<void>;
  /** Adds `item` to the array under `key`, creating `[item]` when missing; a `store` error if it is not an array. */
  append<T>(key: KeyLike<T[]>, item: T): Promise<void>;
  /** Every key name currently stored. */
  keys(): Promise<string[]>;
  /** Removes every key. */
  clear(): Promise<void>;
}

/**
 * Makes a typed store key. Without a schema the type is only a promise you make to yourself; with
 * one (any Standard Schema, e.g. zod) every `put` is validated and the type is the schema's output.
 *
 * @example
 * const revisions = key<number>("revisions");
 * const user = key("user", z.object({ name: z.string() }));
 * await store.put(user, { name: "Ada" });
 * const ada = await store.get(user); // { name: string } | undefined
 */
export function key<T>(name: string): Key<T>;
export function key<TSchema extends StandardSchemaV1>(
  name: string,
  schema: TSchema,
): Key<InferOutput<TSchema>>;
export function key<T>(name: string, schema?: StandardSchemaV1<unknown, T>): Key<T> {
  keyName(name);
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw new CanoError(
      "configuration",
      `Store: the schema for key "${name}" is not a Standard Schema (expected an object with a "~standard" ` +
        `property holding a validate function), received ${describeThrown(schema)}. Pass a zod, valibot or arktype schema.`,
      { details: { key: name } },
    );
  }
  return Object.freeze({ name, schema });
}

/** The name behind a {@link KeyLike}; throws a `store` error unless it is a non-empty string. */
export function keyName(key: KeyLike<unknown>): string {
  const name: unknown = typeof key === "object" && key !== null ? (key as { name?: unknown }).name : key;
  if (typeof name === "string" && name !== "") return name;
  throw new CanoError(
    "store",
    `Store: expected a key name (a non-empty string) or a key made with key(), received ${describeReceived(key)}.`,
  );
}

/**
 * Validates `value` with the key's schema (sync or async) and returns the schema's output, which may
 * be transformed. A key without a schema returns `value` unchanged. Rejection is a `store` error
 * listing each issue as `path: message`.
 */
export async function checkValue<T>(key: KeyLike<T>, value: unknown): Promise<T> {
  const name = keyName(key);
  const schema = typeof key === "string" ? undefined : key.schema;
  if (schema === undefined) return value as T;
  let result: StandardSchemaV1Result<T>;
  try {
    result = await schema["~standard"].validate(value);
  } catch (error) {
    throw new CanoError(
      "store",
      `Store: the schema for key "${name}" threw while validating instead of returning issues: ${describeThrown(error)}`,
      { cause: error, details: { key: name } },
    );
  }
  if (result.issues === undefined) return result.value;
  const issues = result.issues.map(plainIssue);
  const listed = issues.map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`,
  );
  throw new CanoError(
    "store",
    `Store: value for key "${name}" does not match its schema: ${listed.join("; ")}`,
    {
      // The same value fails the same way on every attempt: retrying cannot help.
      details: { key: name, issues, retryable: false },
    },
  );
}

/**
 * The default store: a `Map` in memory with the same value semantics as the durable stores. `put`
 * and `get` copy with `structuredClone`, so mutating an object after `put` or after `get` never
 * changes what is stored. Values must be structured-cloneable: functions and symbols are rejected,
 * and a class instance comes back as a plain object without its prototype (and so without its
 * methods). Operations run one at a time in call order, so concurrent `append`s from split branches
 * never lose an item. `keys()` lists keys in first-insertion order (replacing a value keeps its place).
 */
export class MemoryStore implements KeyValueStore {
  readonly #values = new Map<string, unknown>();
  /** Every operation waits for the one called before it. */
  readonly #queue = new SerialQueue();

  /** The value under `key` (a copy), or `undefined` when there is none. */
  get<T>(key: KeyLike<T>): Promise<T | undefined> {
    return this.#queue.run(
      () => keyName(key),
      // Stored values were cloneable when they went in, so this copy cannot fail.
      (name) => (this.#values.has(name) ? (structuredClone(this.#values.get(name)) as T) : undefined),
    );
  }

  /** Stores a copy of `value` (the schema's output, if the key has a schema); on error the old value stays. */
  put<T>(key: KeyLike<T>, value: T): Promise<void> {
    return this.#queue.run(
      // Copy at call time: mutating `value` after calling put, even before it settles, changes nothing.
      () => {
        const name = keyName(key);
        return { name, snapshot: copyForStore(name, value) };
      },
      async ({ name, snapshot }) => {
        const checked = await checkValue(key, snapshot);
        this.#values.set(name, checked === snapshot ? snapshot : copyForStore(name, checked));
      },
    );
  }

  /** Removes `key`; a missing key is a no-op. */
  delete(key: KeyLike<unknown>): Promise<void> {
    return this.#queue.run(
      () => keyName(key),
      (name) => void this.#values.delete(name),
    );
  }

  /**
   * Adds a copy of `item` to the array under `key`, or stores `[item]` when missing. With a schema,
   * the whole resulting array is validated before it is stored; on error the old array stays.
   */
  append<T>(key: KeyLike<T[]>, item: T): Promise<void> {
    return this.#queue.run(
      () => {
        const name = keyName(key);
        return { name, copy: copyForStore(name, item) };
      },
      async ({ name, copy }) => {
        const exists = this.#values.has(name);
        const current = this.#values.get(name);
        if (exists && !Array.isArray(current)) throw notAnArrayError(name, current);
        const schema = typeof key === "string" ? undefined : key.schema;
        if (schema === undefined) {
          // The stored array is never handed out (get copies), so growing it in place is safe.
          if (exists) (current as unknown[]).push(copy);
          else this.#values.set(name, [copy]);
          return;
        }
        // Validate a separate array so a rejected append leaves the stored one exactly as it was.
        const candidate: unknown[] = exists ? [...structuredClone(current as unknown[]), copy] : [copy];
        const checked = await checkValue(key, candidate);
        this.#values.set(name, checked === candidate ? candidate : copyForStore(name, checked));
      },
    );
  }

  /** Every key name, in first-insertion order. */
  keys(): Promise<string[]> {
    return this.#queue.run(
      () => undefined,
      () => [...this.#values.keys()],
    );
  }

  /** Removes every key. */
  clear(): Promise<void> {
    return this.#queue.run(
      () => undefined,
      () => this.#values.clear(),
    );
  }
}

/** True when `value` looks like a Standard Schema (has `"~standard".validate`). */
function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props: unknown = (value as { "~standard"?: unknown })["~standard"];
  return (
    typeof props === "object" &&
    props !== null &&
    typeof (props as { validate?: unknown }).validate === "function"
  );
}

/** A schema issue as JSON-friendly data (`details.issues` of a `store` error). */
export interface StoreIssue {
  /** What is wrong, in the schema library's words. */
  readonly message: string;
  /** Where in the value: property names and array indexes; empty for the value itself. */
  readonly path: readonly (string | number)[];
}

/** An issue as JSON-friendly data: symbols in the path become their description. */
function plainIssue(issue: StandardSchemaV1Issue): StoreIssue {
  const path = (issue.path ?? []).map((segment) => {
    const step = typeof segment === "object" && segment !== null ? segment.key : segment;
    return typeof step === "symbol" ? String(step) : step;
  });
  return { message: issue.message, path };
}
