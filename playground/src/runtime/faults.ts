import type { TaskContext } from "cano";

/** Fault injection for one task: each attempt first waits `latencyMs`, then fails with `failureRate`. */
export interface Fault {
  /** Probability in [0, 1] that an attempt fails. */
  readonly failureRate: number;
  /** Added latency per attempt, in virtual milliseconds. */
  readonly latencyMs: number;
}

/** No fault. */
export const noFault: Fault = { failureRate: 0, latencyMs: 0 };

/** The faults set in the controls, by task id; kept across runs of the same workflow. */
export class FaultTable {
  readonly #faults = new Map<string, Fault>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** The fault of `taskId` (no fault when unset). */
  get(taskId: string): Fault {
    return this.#faults.get(taskId) ?? noFault;
  }

  /** Sets (or with {@link noFault}, removes) the fault of `taskId`. */
  set(taskId: string, fault: Fault): void {
    if (fault.failureRate <= 0 && fault.latencyMs <= 0) this.#faults.delete(taskId);
    else this.#faults.set(taskId, fault);
  }

  /** Removes every fault. */
  clear(): void {
    this.#faults.clear();
  }

  /** Applies the fault of `taskId` to one attempt: waits on the run's clock, then maybe throws. */
  async inject(taskId: string, ctx: TaskContext<unknown>): Promise<void> {
    const { failureRate, latencyMs } = this.get(taskId);
    if (latencyMs > 0) await ctx.clock.sleep(latencyMs, ctx.signal);
    if (failureRate > 0 && this.#random() < failureRate) {
      throw new Error(
        `injected fault: attempt ${ctx.attempt} of "${taskId}" failed (failure rate ${Math.round(failureRate * 100)} %)`,
      );
    }
  }
}
