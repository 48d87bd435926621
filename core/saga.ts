import type { MaybePromise, Task, TaskContext, TaskOptions } from "./task.ts";
import { defineTask, requireFunctions } from "./task.ts";

/** What a saga step's `run` returns: the next state and the JSON output its compensation needs. */
export interface SagaOutcome<TTo, TOutput> {
  readonly next: TTo;
  /** Plain JSON: it is what a checkpoint keeps so a rollback can happen after a crash. */
  readonly output: TOutput;
}

/**
 * A forward step paired with the action that undoes it; register it with
 * `registerWithCompensation`. When a later state fails, completed steps are compensated in reverse.
 */
export interface SagaStep<TTo = string, TOutput = unknown, TResources = unknown> {
  /** The forward step as a task whose result is `{ next, output }`. Never interrupted once started. */
  readonly forward: Task<SagaOutcome<TTo, TOutput>, TResources>;
  /** Undoes the step from its output alone (it may run in another process after a crash); must be idempotent. */
  readonly compensate: (output: TOutput, ctx: TaskContext<TResources>) => unknown | Promise<unknown>;
  readonly to: readonly TTo[] | undefined;
  readonly name: string | undefined;
}

interface SagaDefinition<TTo, TOutput, TResources> {
  readonly run: (ctx: TaskContext<TResources>) => MaybePromise<SagaOutcome<TTo, TOutput>>;
  readonly compensate: (output: TOutput, ctx: TaskContext<TResources>) => unknown | Promise<unknown>;
}

/**
 * A saga step: `run` does the work and returns `{ next, output }`; `compensate(output)` undoes it.
 * `retry` and `attemptTimeoutMs` apply to the forward run only; a compensation is never retried
 * and is bounded by the same `attemptTimeoutMs`.
 *
 * @example
 * saga({ to: ["ship"], run: async () => ({ next: "ship", output: { chargeId: await charge() } }),
 *   compensate: async ({ chargeId }) => refund(chargeId) })
 */
export function saga<const TTo extends string, TOutput, TResources = unknown>(
  definition: TaskOptions<TTo> & { readonly to: readonly TTo[] } & SagaDefinition<
      NoInfer<TTo>,
      TOutput,
      TResources
    >,
): SagaStep<TTo, TOutput, TResources>;
export function saga<TTo extends string, TOutput, TResources = unknown>(
  definition: TaskOptions<never> & { readonly to?: undefined } & SagaDefinition<TTo, TOutput, TResources>,
): SagaStep<TTo, TOutput, TResources>;
export function saga<TTo extends string, TOutput, TResources>(
  definition: TaskOptions<TTo> & SagaDefinition<TTo, TOutput, TResources>,
): SagaStep<TTo, TOutput, TResources> {
  requireFunctions("saga", definition, ["run", "compensate"]);
  const { run, compensate } = definition;
  const forward: Task<SagaOutcome<TTo, TOutput>, TResources> = defineTask(
    "saga",
    { ...definition, to: undefined },
    { execute: (_ctx, { attempts }) => attempts(run) },
  );
  return { forward, compensate, to: definition.to, name: definition.name };
}
