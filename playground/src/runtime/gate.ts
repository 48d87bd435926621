import type { PlaygroundEvent } from "./events.ts";

interface Waiter {
  readonly state: string;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
}

/** What the gate is doing, for the controls. */
export type GateStatus =
  | { readonly mode: "running" }
  | { readonly mode: "paused"; readonly waitingAt?: string }
  | { readonly mode: "stepping" };

/**
 * Pause and step: every task waits here before it runs. Pausing freezes the clock; one `step()` lets
 * exactly one transition through (all branches of a split count as one) with the clock running, then
 * holds the next task. A new transition is recognised from the event stream (`state_enter`), so loops
 * back to a state count too.
 */
export class Gate {
  #paused = false;
  /** True while the tasks of the current state may pass (a step was granted for it). */
  #open = false;
  /** True after a step until the next task is held: the clock runs meanwhile. */
  #stepping = false;
  #waiters: Waiter[] = [];
  readonly #listeners = new Set<(status: GateStatus) => void>();

  /** Whether the gate is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True while paused and a step is still travelling to the next gate (the clock must run). */
  get stepping(): boolean {
    return this.#paused && this.#stepping;
  }

  /** The state whose task is held, when one is. */
  get waitingAt(): string | undefined {
    return this.#waiters[0]?.state;
  }

  /** The gate's status, for the controls. */
  status(): GateStatus {
    if (!this.#paused) return { mode: "running" };
    if (this.stepping) return { mode: "stepping" };
    const waitingAt = this.waitingAt;
    return waitingAt === undefined ? { mode: "paused" } : { mode: "paused", waitingAt };
  }

  /** Calls `listener` whenever the status may have changed; returns the unsubscribe function. */
  onChange(listener: (status: GateStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Feeds the gate the run's events: a new state closes it again while paused. */
  observe(event: PlaygroundEvent): void {
    if (event.type === "state_enter") {
      this.#open = false;
      this.#changed();
    }
  }

  /** Waits until the task of `state` may run; rejects with `signal.reason` if the run is cancelled first. */
  enter(state: string, signal: AbortSignal): Promise<void> {
    if (!this.#paused || this.#open) return Promise.resolve();
    this.#stepping = false;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(signal.reason);
        this.#changed();
      };
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push({ state, resolve: done, reject });
      this.#changed();
    });
  }

  /** Freezes the clock and holds every task of the next transitions before it runs. */
  pause(): void {
    this.#paused = true;
    this.#stepping = false;
    this.#open = true; // the state already entered finishes its transition on the next step
    this.#changed();
  }

  /** Lets everything run freely again. */
  resume(): void {
    this.#paused = false;
    this.#stepping = false;
    this.#release();
    this.#changed();
  }

  /** While paused: runs the held (or current) transition, then holds the next task again. */
  step(): void {
    if (!this.#paused) return;
    this.#stepping = true;
    if (this.#waiters.length > 0) {
      this.#open = true;
      this.#release();
    }
    this.#changed();
  }

  /** Forgets any held task and step (a new run starts); keeps the paused setting. */
  reset(): void {
    this.#waiters = [];
    this.#stepping = false;
    this.#open = false;
    this.#changed();
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  #changed(): void {
    const status = this.status();
    for (const listener of this.#listeners) listener(status);
  }
}
