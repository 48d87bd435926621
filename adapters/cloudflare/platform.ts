// Small local shapes of the Cloudflare platform objects this adapter calls, so it type-checks with
// the DOM lib alone and never needs `@cloudflare/workers-types`. Each lists only what we call; the
// real objects (`ctx.storage`, `env.MY_KV`, a namespace binding) satisfy them structurally.

/** A value SQLite hands back or takes as a binding. */
export type SqlValueLike = string | number | null | ArrayBuffer;

/** The cursor `sql.exec` returns: iterate it or collect it with `toArray()`. */
export interface SqlCursorLike<TRow> extends Iterable<TRow> {
  /** Every remaining row. */
  toArray(): TRow[];
  /** How many rows the statement wrote (read after the cursor is consumed). */
  readonly rowsWritten: number;
}

/** `ctx.storage.sql` of a SQLite-backed Durable Object. */
export interface SqlStorageLike {
  /** Runs one statement synchronously with `?` bindings. */
  exec<TRow extends Record<string, SqlValueLike>>(
    query: string,
    ...bindings: SqlValueLike[]
  ): SqlCursorLike<TRow>;
}

/** The SQL part of `ctx.storage`: statements plus a synchronous transaction. */
export interface DurableObjectSqlStorageLike {
  /** The SQLite database of the object. */
  readonly sql: SqlStorageLike;
  /** Runs `closure` in one transaction: it commits when `closure` returns and rolls back when it throws. */
  transactionSync<T>(closure: () => T): T;
}

/** Options of the asynchronous key-value `list` of Durable Object storage. */
export interface DurableObjectListOptionsLike {
  readonly prefix?: string;
  /** Only keys after this one. */
  readonly startAfter?: string;
  readonly limit?: number;
}

/** The asynchronous key-value part of `ctx.storage` (structured-clone values). */
export interface DurableObjectKvStorageLike {
  /** The value under `key`, or `undefined`. */
  get(key: string): Promise<unknown>;
  /** Stores a structured clone of `value`. */
  put(key: string, value: unknown): Promise<void>;
  /** Deletes up to 128 keys; resolves with how many existed. */
  delete(keys: string[]): Promise<number>;
  /** Keys (and values) in ascending key order. */
  list(options: DurableObjectListOptionsLike): Promise<Map<string, unknown>>;
}

/** The alarm part of `ctx.storage`. */
export interface DurableObjectAlarmStorageLike {
  /** The scheduled alarm time in epoch milliseconds, or `null`. */
  getAlarm(): Promise<number | null>;
  /** Schedules (or moves) the object's one alarm. */
  setAlarm(scheduledTimeMs: number): Promise<void>;
  /** Cancels the alarm. */
  deleteAlarm(): Promise<void>;
}

/** Everything the run host uses of `ctx.storage`. */
export type DurableObjectStorageLike = DurableObjectSqlStorageLike &
  DurableObjectKvStorageLike &
  DurableObjectAlarmStorageLike;

/** A Durable Object id. */
export interface DurableObjectIdLike {
  /** The id as 64 hex digits. */
  toString(): string;
  /** The name the object was reached by (`idFromName`), also inside the object; absent for unique ids. */
  readonly name?: string;
}

/** The `ctx` (state) a Durable Object constructor receives. */
export interface DurableObjectStateLike {
  readonly id: DurableObjectIdLike;
  readonly storage: DurableObjectStorageLike;
}

/** A stub for one Durable Object: requests go to its `fetch`. */
export interface DurableObjectStubLike {
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
}

/** A Durable Object namespace binding (`env.RUN_HOST`). */
export interface DurableObjectNamespaceLike {
  /** The id for a name: the same name always reaches the same object. */
  idFromName(name: string): DurableObjectIdLike;
  /** A stub for the object with `id`. */
  get(id: DurableObjectIdLike): DurableObjectStubLike;
}

/** A key as `KVNamespace.list` reports it. */
export interface KvListKeyLike {
  readonly name: string;
}

/** One page of `KVNamespace.list`. */
export type KvListResultLike =
  | { readonly keys: readonly KvListKeyLike[]; readonly list_complete: true }
  | { readonly keys: readonly KvListKeyLike[]; readonly list_complete: false; readonly cursor: string };

/** A Workers KV namespace binding (`env.MY_KV`). */
export interface KvNamespaceLike {
  /** The text under `key`, or `null`. */
  get(key: string, type: "text"): Promise<string | null>;
  /** A bulk read of up to 100 keys (one KV operation): each key's text, or `null`. */
  get(keys: string[], type: "text"): Promise<Map<string, string | null>>;
  /** Stores `value` under `key`. */
  put(key: string, value: string): Promise<void>;
  /** Removes `key`. */
  delete(key: string): Promise<void>;
  /** A page of keys starting with `prefix`, in ascending UTF-8 order. */
  list(options: {
    readonly prefix: string;
    readonly cursor?: string;
    readonly limit?: number;
  }): Promise<KvListResultLike>;
}

/** The controller a `scheduled` handler receives. */
export interface ScheduledControllerLike {
  /** The cron expression that fired, exactly as written in `wrangler.toml`. */
  readonly cron: string;
  /** When the event was scheduled, in epoch milliseconds (the same on a retried delivery). */
  readonly scheduledTime: number;
}
