import { engineError } from "./errors.ts";
import type { Declared, MaybePromise, Task, TaskContext, TaskOptions, Undeclared } from "./task.ts";
import { defineTask, requireFunctions } from "./task.ts";

/** What one step of a {@link stepped} task decided: go on from a new cursor, or leave for a state. */
export type StepOutcome<TCursor, TTo extends string> = { readonly more: TCursor } | { readonly done: TTo };

/** A {@link StepOutcome} that saves `cursor` and runs the next step from it. */
export function more<TCursor>(cursor: TCursor): { readonly more: TCursor } {
  return { more: cursor };
}

/** A {@link StepOutcome} that ends the loop and moves the machine to `state`. */
export function done<const TTo extends string>(state: TTo): { readonly done: TTo } {
  return { done: state };
}

/** The step function of a {@link stepped} task: `cursor` is `undefined` on the first step of a fresh entry. */
type StepFunction<TCursor, TTo extends string, TResources> = (
  ctx: TaskContext<TResources>,
  cursor: TCursor | undefined,
) => MaybePromise<StepOutcome<TCursor, TTo>>;

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  const keys = Object.keys(value);
  return keys.length === 0 ? "{}" : `an object with ${keys.map((k) => `"${k}"`).join(", ")}`;
}

/** Throws a `workflow` error unless `step` returned exactly one of `more(cursor)` and `done(state)`. */
function assertOutcome<TCursor, TTo extends string>(
  outcome: unknown,
  state: string,
): asserts outcome is StepOutcome<TCursor, TTo> {
  const ok =
    typeof outcome === "object" &&
    outcome !== null &&
    Object.hasOwn(outcome, "more") !== Object.hasOwn(outcome, "done");
  if (ok) return;
  throw engineError(
    "workflow",
    `Stepped "${state}": step returned ${describe(outcome)}, expected more(cursor) or done(state)`,
  );
}

/**
 * A resumable loop: `step` runs again and again, each time from the cursor the previous step
 * returned with `more(cursor)`, until it returns `done(state)`. Retries and `attemptTimeoutMs` apply
 * to each step (a retried step gets the same cursor). After each `more` the cursor (plain JSON) is
 * saved before the next step, so a resumed run continues from the last saved cursor instead of
 * starting over: steps must be idempotent.
 *
 * @example
 * stepped({ to: ["done"], retry: exponential(3),
 *   step: async ({ store }, page: number | undefined) => {
 *     const { items, next } = await api.list(page ?? 0);
 *     await store.append(itemsKey, items);
 *     return next === undefined ? done("done") : more(next);
 *   } })
 */
export function stepped<const TTo extends string, TCursor, TResources = unknown>(
  definition: Declared<TTo> & { readonly step: StepFunction<TCursor, NoInfer<TTo>, TResources> },
): Task<TTo, TResources>;
export function stepped<TTo extends string, TCursor, TResources = unknown>(
  definition: Undeclared & { readonly step: StepFunction<TCursor, TTo, TResources> },
): Task<TTo, TResources>;
export function stepped<TTo extends string, TCursor, TResources>(
  definition: TaskOptions<TTo> & { readonly step: StepFunction<TCursor, TTo, TResources> },
): Task<TTo, TResources> {
  requireFunctions("stepped", definition, ["step"]);
  const { step } = definition;
  return defineTask("stepped", definition, {
    async execute(ctx, { attempts, cursor: resumed, saveCursor }) {
      let cursor = resumed as TCursor | undefined;
      for (;;) {
        // The engine stops waiting once the signal fires; this keeps the loop from running on unseen.
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const from = cursor;
        const outcome: unknown = await attempts((attemptCtx) => step(attemptCtx, from));
        // A step that ignored the signal may finish after the engine stopped waiting: it must not
        // save a cursor row behind the run's back, nor start another step.
        ctx.signal.throwIfAborted();
        assertOutcome<TCursor, TTo>(outcome, ctx.state);
        if ("done" in outcome) return outcome.done;
        await saveCursor(outcome.more);
        cursor = outcome.more;
      }
    },
  });
}
