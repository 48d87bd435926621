import { CanoError, describeThrown } from "../../core/errors.ts";
import type { KeyValueStore } from "../../core/store.ts";
import { didYouMean } from "../../core/suggest.ts";
import type { CatchUp } from "./catch-up.ts";
import { catchUpPolicies, defaultMaxCatchUp } from "./catch-up.ts";

/** How a {@link cron} schedule is read and what it does about missed fire times; all optional. */
export interface CronOptions {
  /** The IANA time zone the expression is read in (`"Europe/Berlin"`). Default `"UTC"`, as Cloudflare's Cron Triggers. */
  readonly timezone?: string;
  /** What a wake-up after missed fire times runs; see {@link CatchUp}. Default `"skip"`, as cron. */
  readonly catchUp?: CatchUp;
  /** With `catchUp: "all"`: the most runs one wake-up starts, an integer ≥ 1. Default 10. */
  readonly maxCatchUp?: number;
  /**
   * How late a wake-up may be and still run its fire time under `catchUp: "skip"` (throttled timers
   * fire late). Default: half the time to the following fire time, clamped to [1 s, 60 s].
   */
  readonly graceMs?: number;
  /**
   * Where the last fire time is kept, so a process or tab that was down past fire times catches up
   * on start (`IndexedDbKeyValueStore` in a browser, a Durable Object's store at the edge).
   */
  readonly store?: KeyValueStore;
  /**
   * The store key of the last fire time. Default `cano:cron:<flowId>:<timezone>:<expression>`, one
   * per flow. A key given here is for one flow only: a trigger restored for a second flow refuses it.
   */
  readonly key?: string;
}

/** @internal {@link CronOptions} after checking, with defaults filled in. */
export interface CronSettings {
  readonly timezone: string;
  readonly catchUp: CatchUp;
  readonly maxCatchUp: number;
  readonly graceMs: number | undefined;
  readonly store: KeyValueStore | undefined;
  /** The key given, if any; otherwise each flow gets its default key. */
  readonly key: string | undefined;
}

const optionNames: readonly (keyof CronOptions)[] = [
  "timezone",
  "catchUp",
  "maxCatchUp",
  "graceMs",
  "store",
  "key",
];

/** @internal A received value for messages: numbers as written (`NaN`, not `null`), the rest as {@link describeThrown}. */
export function received(value: unknown): string {
  return typeof value === "number" || value instanceof Date ? String(value) : describeThrown(value);
}

/** @internal A `configuration` error from `cron()`, naming the expression. */
export function cronError(expression: string, message: string, cause?: unknown): CanoError {
  return new CanoError("configuration", `cron(${JSON.stringify(expression)}): ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { expression },
  });
}

/** @internal Checks `options` (unknown names, types, ranges) and fills in the defaults. */
export function checkOptions(expression: string, options: unknown): CronSettings {
  const fail = (message: string) => cronError(expression, message);
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw fail(`expected an options object, received ${received(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!(optionNames as readonly string[]).includes(name)) {
      throw fail(`unknown option "${name}".${didYouMean(name, optionNames)}`);
    }
  }
  const { timezone = "UTC", catchUp = "skip", maxCatchUp, graceMs, store, key } = options as CronOptions;
  if (typeof timezone !== "string" || timezone === "") {
    throw fail(
      `timezone must be an IANA time zone name such as "Europe/Berlin", received ${received(timezone)}`,
    );
  }
  if (!catchUpPolicies.includes(catchUp)) {
    const known = catchUpPolicies.map((policy) => `"${policy}"`).join(", ");
    throw fail(`catchUp must be one of ${known}, received ${received(catchUp)}`);
  }
  if (maxCatchUp !== undefined) {
    if (catchUp !== "all") {
      throw fail(
        `maxCatchUp only applies to catchUp: "all" (catchUp is "${catchUp}"); remove it or use "all"`,
      );
    }
    if (typeof maxCatchUp !== "number" || !Number.isInteger(maxCatchUp) || maxCatchUp < 1) {
      throw fail(`maxCatchUp must be an integer ≥ 1, received ${received(maxCatchUp)}`);
    }
  }
  if (graceMs !== undefined && (typeof graceMs !== "number" || !(Number.isFinite(graceMs) && graceMs >= 0))) {
    throw fail(`graceMs must be a finite number of milliseconds ≥ 0, received ${received(graceMs)}`);
  }
  if (store !== undefined && (typeof store?.get !== "function" || typeof store.put !== "function")) {
    throw fail(`store must be a KeyValueStore (with get and put), received ${received(store)}`);
  }
  if (key !== undefined && (typeof key !== "string" || key === "")) {
    throw fail(`key must be a non-empty string, received ${received(key)}`);
  }
  return {
    timezone,
    catchUp,
    maxCatchUp: maxCatchUp ?? defaultMaxCatchUp,
    graceMs,
    store,
    key,
  };
}
