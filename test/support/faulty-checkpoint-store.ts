import type { CheckpointRow, CheckpointStore, RunSummary } from "../../core/checkpoint.ts";
import { CanoError } from "../../core/errors.ts";

/** Decides whether one `append` call fails: gets the call's arguments and its 1-based number. */
export type AppendFailurePredicate = (workflowId: string, row: CheckpointRow, call: number) => boolean;

/** Options of {@link FaultyCheckpointStore}. */
export interface FaultyCheckpointStoreOptions {
  /** Uniform numbers in [0, 1) for probability plans; default a fixed-seed generator, so runs repeat. */
  readonly random?: () => number;
}

/** A small seeded generator (mulberry32): deterministic default randomness for fault plans. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * A CheckpointStore wrapper that fails `append` on purpose. A failing append throws a
 * `checkpoint_store` error before the inner store is touched, so nothing is ever half-written;
 * `loadRun`, `clear` and `listRuns` pass straight through.
 *
 * @example
 * const store = new FaultyCheckpointStore(new MemoryCheckpointStore(), { random: seededRandom(7) });
 * store.failAppends(0.2); // one append in five fails, the same ones on every run
 */
export class FaultyCheckpointStore implements CheckpointStore {
  /** The wrapped store, for inspecting what was really written. */
  readonly inner: CheckpointStore;
  /** Present exactly when the inner store has it. */
  readonly listRuns?: () => Promise<RunSummary[]>;
  readonly #random: () => number;
  #plan: AppendFailurePredicate = () => false;
  #appends = 0;
  #failures = 0;

  constructor(inner: CheckpointStore, options: FaultyCheckpointStoreOptions = {}) {
    this.inner = inner;
    this.#random = options.random ?? seededRandom(1);
    const listRuns = inner.listRuns;
    if (listRuns !== undefined) this.listRuns = () => listRuns.call(inner);
  }

  /**
   * Makes later appends fail: with a probability in [0, 1] (drawn from the injected random function),
   * or whenever `predicate` returns true. `failAppends(0)` stops injecting failures.
   */
  failAppends(plan: number | AppendFailurePredicate): this {
    if (typeof plan === "number") {
      if (!(plan >= 0 && plan <= 1)) {
        throw new RangeError(`FaultyCheckpointStore: expected a probability in [0, 1], received ${plan}.`);
      }
      this.#plan = () => plan > 0 && this.#random() < plan;
    } else {
      this.#plan = plan;
    }
    return this;
  }

  /** How many times `append` was called, failed or not. */
  get appends(): number {
    return this.#appends;
  }

  /** How many append failures were injected. */
  get failures(): number {
    return this.#failures;
  }

  /** Appends through to the inner store, unless the plan says this call fails. */
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    const call = ++this.#appends;
    if (this.#plan(workflowId, row, call)) {
      const failure = ++this.#failures;
      throw new CanoError(
        "checkpoint_store",
        `FaultyCheckpointStore: injected failure #${failure} on append call ${call} (run "${workflowId}", ` +
          `row ${String(row.sequence)}); nothing was written.`,
        { workflowId, sequence: row.sequence, details: { injected: true, call } },
      );
    }
    await this.inner.append(workflowId, row);
  }

  /** The inner store's rows for the run. */
  loadRun(workflowId: string): Promise<CheckpointRow[]> {
    return this.inner.loadRun(workflowId);
  }

  /** Clears the run in the inner store. */
  clear(workflowId: string): Promise<void> {
    return this.inner.clear(workflowId);
  }
}
