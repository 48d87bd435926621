import type { CircuitBreakerOptions, SagaStep, SplitOptions, Task, WorkflowOptions } from "cano";
import * as cano from "cano";
import * as testing from "cano/testing";
import type { ProgramEnv } from "./env.ts";
import { instrument } from "./instrument.ts";

/**
 * The `Workflow` class the code in the editor gets: the real one, on the run's virtual clock and
 * store, with every task instrumented (gate, faults) and its structure recorded for the view.
 */
function playgroundWorkflow(env: ProgramEnv) {
  const { hooks, structure } = env;
  const noteBreaker = (task: Task<unknown, unknown> | undefined, taskId: string) => {
    const breaker = task?.circuitBreaker;
    if (breaker === undefined) return;
    const name = structure.useBreaker(breaker, taskId);
    const state = breaker.state;
    env.emit({ type: "breaker", at: env.clock.now(), name, from: state, to: state });
  };
  return class Workflow<TState extends string, TResources = Record<string, never>> extends cano.Workflow<
    TState,
    TResources
  > {
    constructor(options: WorkflowOptions<TResources> = {}) {
      super({ ...options, clock: env.clock, store: options.store ?? env.store });
    }

    override register<TTo extends TState>(state: TState, task: Task<TTo, TResources>): this {
      const taskId = task?.name ?? state;
      structure.addTask({ taskId, state, kind: task?.kind ?? "task" });
      noteBreaker(task as Task<unknown, unknown>, taskId);
      return super.register(state, instrument(task, taskId, hooks));
    }

    override registerRouter<TTo extends TState>(state: TState, router: Task<TTo, TResources>): this {
      const taskId = router?.name ?? state;
      structure.addTask({ taskId, state, kind: "router" });
      return super.registerRouter(state, instrument(router, taskId, hooks));
    }

    override registerSplit(
      state: TState,
      tasks: readonly Task<unknown, TResources>[],
      options: SplitOptions<TState>,
    ): this {
      if (!Array.isArray(tasks)) return super.registerSplit(state, tasks, options);
      const ids = tasks.map((task, index) => `${task?.name ?? state}[${index}]`);
      structure.splits.set(state, ids);
      const wrapped = tasks.map((task, index) => {
        const taskId = ids[index] ?? state;
        structure.addTask({ taskId, state, kind: "branch" });
        noteBreaker(task as Task<unknown, unknown>, taskId);
        return instrument(task, taskId, hooks);
      });
      return super.registerSplit(state, wrapped, options);
    }

    override registerWithCompensation<TTo extends TState, TOutput>(
      state: TState,
      step: SagaStep<TTo, TOutput, TResources>,
    ): this {
      if (typeof step !== "object" || step === null) return super.registerWithCompensation(state, step);
      const taskId = step.name ?? state;
      structure.addTask({ taskId, state, kind: "saga" });
      return super.registerWithCompensation(state, {
        ...step,
        forward: instrument(step.forward, taskId, hooks),
      });
    }
  };
}

/**
 * The `CircuitBreaker` class the code gets: on the run's clock, reporting every change as an event
 * (a breaker shows up in the view once a task uses it, or at its first change).
 */
function playgroundBreaker(env: ProgramEnv) {
  let count = 0;
  return class CircuitBreaker extends cano.CircuitBreaker {
    constructor(options: CircuitBreakerOptions = {}) {
      super({ clock: env.clock, ...options });
      const fallback = `breaker ${++count}`;
      this.onStateChange((to, from) =>
        env.emit({
          type: "breaker",
          at: env.clock.now(),
          name: env.structure.breakerName(this, fallback),
          from,
          to,
        }),
      );
    }
  };
}

/** The modules `import` can reach from the editor's code, by specifier. */
export function sandboxModules(env: ProgramEnv): Readonly<Record<string, unknown>> {
  return {
    cano: { ...cano, Workflow: playgroundWorkflow(env), CircuitBreaker: playgroundBreaker(env) },
    "cano/testing": testing,
  };
}
