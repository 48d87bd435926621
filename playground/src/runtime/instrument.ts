import type { Task, TaskContext } from "cano";

/** What the playground does around every task it instruments. */
export interface TaskHooks {
  /** Before the task runs at all: the pause/step gate. Branches of a split share their state's gate. */
  readonly beforeTask: (state: string) => Promise<void>;
  /** Before each attempt of the retried part: fault injection (latency, failures). */
  readonly beforeAttempt: (taskId: string, ctx: TaskContext<unknown>) => Promise<void>;
}

type Runtime<TTo, TResources> = Parameters<Task<TTo, TResources>["execute"]>[1];

/**
 * The same task, with the playground's hooks around it: the gate before it runs, and fault injection
 * inside every attempt (so injected failures are retried, counted and shown like real ones).
 * Anything that is not a task is returned as is, for the engine to report.
 */
export function instrument<TTo, TResources>(
  task: Task<TTo, TResources>,
  taskId: string,
  hooks: TaskHooks,
): Task<TTo, TResources> {
  if (typeof task !== "object" || task === null || typeof task.execute !== "function") return task;
  // Without `body` the engine takes the general path through `execute`, where the hooks sit.
  const { body: _fastPath, execute, ...settings } = task;
  return {
    ...settings,
    execute: async (ctx: TaskContext<TResources>, runtime: Runtime<TTo, TResources>) => {
      await hooks.beforeTask(ctx.state);
      return execute(ctx, {
        ...runtime,
        attempts: <T>(body: (attemptCtx: TaskContext<TResources>) => T | Promise<T>) =>
          runtime.attempts(async (attemptCtx) => {
            await hooks.beforeAttempt(taskId, attemptCtx);
            return body(attemptCtx);
          }),
      });
    },
  };
}
