import type { CheckpointRow, CheckpointStore, KeyLike, KeyValueStore, RunSummary } from "cano";

/**
 * Counts real I/O in flight (IndexedDB reads and writes). Virtual time stands still while any is
 * pending, so a fast clock never fires a timeout while the engine waits on storage.
 */
export class IoTracker {
  #inFlight = 0;

  /** True when no tracked operation is pending. */
  get idle(): boolean {
    return this.#inFlight === 0;
  }

  /** Runs `operation`, counting it as in flight until it settles. */
  async track<T>(operation: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await operation();
    } finally {
      this.#inFlight--;
    }
  }
}

/** A key-value store whose every operation is counted by `io`. */
export class TrackedKeyValueStore implements KeyValueStore {
  readonly #inner: KeyValueStore;
  readonly #io: IoTracker;

  constructor(inner: KeyValueStore, io: IoTracker) {
    this.#inner = inner;
    this.#io = io;
  }

  /** See `KeyValueStore.get`. */
  get<T>(key: KeyLike<T>): Promise<T | undefined> {
    return this.#io.track(() => this.#inner.get(key));
  }

  /** See `KeyValueStore.put`. */
  put<T>(key: KeyLike<T>, value: T): Promise<void> {
    return this.#io.track(() => this.#inner.put(key, value));
  }

  /** See `KeyValueStore.delete`. */
  delete(key: KeyLike<unknown>): Promise<void> {
    return this.#io.track(() => this.#inner.delete(key));
  }

  /** See `KeyValueStore.append`. */
  append<T>(key: KeyLike<T[]>, item: T): Promise<void> {
    return this.#io.track(() => this.#inner.append(key, item));
  }

  /** See `KeyValueStore.keys`. */
  keys(): Promise<string[]> {
    return this.#io.track(() => this.#inner.keys());
  }

  /** See `KeyValueStore.clear`. */
  clear(): Promise<void> {
    return this.#io.track(() => this.#inner.clear());
  }
}

/** A checkpoint store whose every operation is counted by `io`. */
export class TrackedCheckpointStore implements CheckpointStore {
  readonly #inner: CheckpointStore;
  readonly #io: IoTracker;

  constructor(inner: CheckpointStore, io: IoTracker) {
    this.#inner = inner;
    this.#io = io;
  }

  /** See `CheckpointStore.append`. */
  append(workflowId: string, row: CheckpointRow): Promise<void> {
    return this.#io.track(() => this.#inner.append(workflowId, row));
  }

  /** See `CheckpointStore.loadRun`. */
  loadRun(workflowId: string): Promise<CheckpointRow[]> {
    return this.#io.track(() => this.#inner.loadRun(workflowId));
  }

  /** See `CheckpointStore.clear`. */
  clear(workflowId: string): Promise<void> {
    return this.#io.track(() => this.#inner.clear(workflowId));
  }

  /** See `CheckpointStore.listRuns`. */
  listRuns(): Promise<RunSummary[]> {
    return this.#io.track(async () => (await this.#inner.listRuns?.()) ?? []);
  }
}
