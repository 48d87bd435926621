import type { SignalSource } from "./lazy-signal.ts";

/**
 * @internal The signals of a split's branches, made only when a branch reads its `ctx.signal`: most
 * branches never do, and an AbortController per branch would cost more than the branch itself.
 * Aborting goes through this list (no listener per branch on a shared signal).
 */
export class BranchSignals implements SignalSource {
  /** 1 for each branch started and not settled yet. */
  readonly #running: Uint8Array;
  #size = 0;
  /** The controllers of running branches that asked for their signal. */
  #controllers: Map<number, AbortController> | undefined;
  /** Why the branches still running were stopped, once they were. */
  #reason: { readonly value: unknown } | undefined;

  constructor(branches: number) {
    this.#running = new Uint8Array(branches);
  }

  /** How many branches are running. */
  get size(): number {
    return this.#size;
  }

  /** Marks a branch as running. */
  start(index: number): void {
    this.#running[index] = 1;
    this.#size++;
  }

  /** Marks a branch as settled; false when it was not running (a late result after the join decided). */
  settle(index: number): boolean {
    if (this.#running[index] !== 1) return false;
    this.#running[index] = 0;
    this.#size--;
    this.#controllers?.delete(index);
    return true;
  }

  /** The signal of branch `index`, made on first use; already aborted when the branch was stopped before asking. */
  signalOf(index: number): AbortSignal {
    const existing = this.#controllers?.get(index);
    if (existing !== undefined) return existing.signal;
    const controller = new AbortController();
    if (this.#running[index] === 1) {
      this.#controllers ??= new Map();
      this.#controllers.set(index, controller);
    } else if (this.#reason !== undefined) controller.abort(this.#reason.value);
    return controller.signal;
  }

  /** Stops every running branch with `reason()` (made only if a branch is running) and returns their indices. */
  stopAll(reason: () => unknown): number[] {
    if (this.#size === 0) return [];
    const stopped: number[] = [];
    for (let index = 0; index < this.#running.length; index++)
      if (this.#running[index] === 1) stopped.push(index);
    const value = reason();
    this.#reason = { value };
    const controllers = this.#controllers;
    this.#running.fill(0);
    this.#size = 0;
    this.#controllers = undefined;
    for (const index of stopped) controllers?.get(index)?.abort(value);
    return stopped;
  }
}
