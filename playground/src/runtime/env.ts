import type { CircuitBreaker, KeyValueStore } from "cano";
import type { VirtualClock } from "cano/testing";
import type { EventSink } from "./events.ts";
import type { TaskHooks } from "./instrument.ts";

/** A task of the loaded workflow, as the fault controls list it. */
export interface TaskInfo {
  readonly taskId: string;
  readonly state: string;
  /** The task's processing model (`task`, `saga`, `poll`, …), or `branch` for a split branch. */
  readonly kind: string;
}

/** What the workflow's code declared, beyond `graph()`: split branches, tasks and breakers. */
export class ProgramStructure {
  /** The branch task ids of each split state, in branch order. */
  readonly splits = new Map<string, readonly string[]>();
  /** Every task, in registration order. */
  readonly tasks: TaskInfo[] = [];
  readonly #breakers = new Map<CircuitBreaker, string[]>();

  /** Records a task (a later registration of the same state replaces it). */
  addTask(info: TaskInfo): void {
    const index = this.tasks.findIndex((task) => task.state === info.state && task.taskId === info.taskId);
    if (index >= 0) this.tasks.splice(index, 1);
    this.tasks.push(info);
  }

  /** Records that `taskId` uses `breaker`; returns the breaker's name (the tasks using it). */
  useBreaker(breaker: CircuitBreaker, taskId: string): string {
    const users = this.#breakers.get(breaker) ?? [];
    if (!users.includes(taskId)) users.push(taskId);
    this.#breakers.set(breaker, users);
    return users.join(", ");
  }

  /** The name of `breaker`: the tasks using it, or `fallback` before any does. */
  breakerName(breaker: CircuitBreaker, fallback: string): string {
    return this.#breakers.get(breaker)?.join(", ") ?? fallback;
  }
}

/** Everything the workflow's code runs against in the playground. */
export interface ProgramEnv {
  /** The run's virtual clock, given to every workflow and breaker the code creates. */
  readonly clock: VirtualClock;
  /** The default key-value store of workflows the code creates without one. */
  readonly store: KeyValueStore;
  /** Gate and fault injection around every task. */
  readonly hooks: TaskHooks;
  /** Where breaker changes and console lines go. */
  readonly emit: EventSink;
  /** Filled while the code runs. */
  readonly structure: ProgramStructure;
}
