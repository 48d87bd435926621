import { CanoError, describeThrown } from "./errors.ts";

/**
 * @internal Runs a store's operations one at a time in call order (`MemoryStore` and the durable
 * stores), so concurrent `append`s from split branches never lose an item.
 */
export class SerialQueue {
  /** The last queued operation; every operation waits for the one before it. */
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * Runs `prepare` now (argument checks and copies belong to the moment of the call), then
   * `operation` after every operation called before it, whether that one succeeded or not.
   */
  run<TPrepared, T>(
    prepare: () => TPrepared,
    operation: (prepared: TPrepared) => T | Promise<T>,
  ): Promise<T> {
    let prepared: TPrepared;
    try {
      prepared = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    const result = this.#tail.then(() => operation(prepared));
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** @internal How a store words its errors: the component naming it, and how a refused value is described. */
export interface StoreErrorStyle {
  /** Starts every message, e.g. `Store` or `DurableObjectKeyValueStore`. */
  readonly component: string;
  /** Ends the "cannot be stored" message (after the list of cloneable kinds), from the value and the clone error. */
  readonly uncloneable: (value: unknown, error: unknown) => string;
  /** What the "cannot append" message says it received instead of an array. */
  readonly notAnArray: (value: unknown) => string;
}

/** `MemoryStore`'s wording: `Store: …`, describing the value received. */
const storeErrorStyle: StoreErrorStyle = {
  component: "Store",
  uncloneable: (value, error) => `, received ${describeReceived(value)} (${describeThrown(error)})`,
  notAnArray: describeReceived,
};

/** @internal A structured clone of `value`, or a `store` error naming the key. */
export function copyForStore<T>(name: string, value: T, style: StoreErrorStyle = storeErrorStyle): T {
  try {
    return structuredClone(value);
  } catch (error) {
    throw new CanoError(
      "store",
      `${style.component}: value for key "${name}" cannot be stored: values must be structured-cloneable ` +
        "(plain objects, arrays, Map, Set, Date, typed arrays; no functions or symbols)" +
        `${style.uncloneable(value, error)}.`,
      { cause: error, details: { key: name } },
    );
  }
}

/** @internal The `store` error of an `append` to a key whose value (`current`) is not an array. */
export function notAnArrayError(
  name: string,
  current: unknown,
  style: StoreErrorStyle = storeErrorStyle,
): CanoError {
  return new CanoError(
    "store",
    `${style.component}: cannot append to key "${name}": expected an array, received ` +
      `${style.notAnArray(current)}. Use put() to replace it, or append to a different key.`,
    { details: { key: name } },
  );
}

/** @internal A short description of a received value for messages: its type, plus the value when it is small. */
export function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return `a function${value.name === "" ? "" : ` (${value.name})`}`;
  if (typeof value === "object") {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof ctor === "string" && ctor !== "Object" ? `a ${ctor} object` : "an object";
  }
  if (typeof value === "symbol") return `a symbol (${String(value)})`;
  return `${typeof value} ${describeThrown(value)}`;
}
