import type { SignalSource } from "./lazy-signal.ts";

/**
 * @internal The signals of a split's branches, made only when a branch reads its `ctx.signal`: most
 * branches never do, and an AbortController per branch would cost more than the branch itself.
 * Aborting goes through this list (no listener per branch on a shared signal).
 */
export class BranchSignals {
  /** The branches started and not settled yet, with their controller once one was asked for. */
  readonly #running = new Map<number, AbortController | undefined>();
  /** Why the branches still running were stopped, once they were. */
  #reason: { readonly value: unknown } | undefined;

  get size(): number {
    return this.#running.size;
  }

  /** Marks a branch as running. */
  start(index: number): void {
    this.#running.set(index, undefined);
  }

  /** Marks a branch as settled; false when it was not running (a late result after the join decided). */
  settle(index: number): boolean {
    return this.#running.delete(index);
  }

  /** The branch's signal, made on first use; already aborted when the branch was stopped before asking. */
  signalOf(index: number): AbortSignal {
    const existing = this.#running.get(index);
    if (existing !== undefined) return existing.signal;
    const controller = new AbortController();
    if (this.#running.has(index)) this.#running.set(index, controller);
    else if (this.#reason !== undefined) controller.abort(this.#reason.value);
    return controller.signal;
  }

  /** Stops every running branch with `reason()` (made only if a branch is running) and returns their indices. */
  stopAll(reason: () => unknown): number[] {
    const stopped = [...this.#running.keys()];
    if (stopped.length === 0) return stopped;
    const value = reason();
    this.#reason = { value };
    for (const controller of this.#running.values()) controller?.abort(value);
    this.#running.clear();
    return stopped;
  }
}

/** @internal The signal source of one split branch, for a {@link DerivedContext}. */
export class BranchSignal implements SignalSource {
  readonly #signals: BranchSignals;
  readonly #index: number;

  constructor(signals: BranchSignals, index: number) {
    this.#signals = signals;
    this.#index = index;
  }

  get signal(): AbortSignal {
    return this.#signals.signalOf(this.#index);
  }
}
