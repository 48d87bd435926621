import { checkDelay, shownValue } from "./delay.ts";
import { CanoError } from "./errors.ts";
import { none } from "./retry.ts";
import type { Declared, MaybePromise, Task, TaskContext, TaskOptions, Undeclared } from "./task.ts";
import { defineTask, requireFunctions } from "./task.ts";

/**
 * How long a timer waits: a number of milliseconds, `{ delayMs }`, or `{ untilMs }`, an epoch time
 * in milliseconds on the workflow's clock (a past one fires at once).
 */
export type TimerWait = number | { readonly delayMs: number } | { readonly untilMs: number };

function invalid(where: string, expected: string, received: unknown): CanoError {
  return new CanoError("configuration", `timer: ${where} ${expected}, received ${shownValue(received)}`);
}

/** A relative wait, checked: a finite number of milliseconds ≥ 0. */
function checkWait(delayMs: unknown, where: string): number {
  return checkDelay(
    delayMs,
    (shown) => `timer: ${where} must be a finite number of milliseconds ≥ 0, received ${shown}`,
  );
}

/** The milliseconds to sleep for `wait` when the clock reads `nowMs`; throws on a malformed wait. */
function delayOf(wait: unknown, nowMs: number, where: string): number {
  if (typeof wait === "number") return checkWait(wait, where);
  if (typeof wait === "object" && wait !== null) {
    const hasDelay = "delayMs" in wait;
    const hasUntil = "untilMs" in wait;
    if (hasDelay && !hasUntil) return checkWait(wait.delayMs, `${where}.delayMs`);
    if (hasUntil && !hasDelay) {
      const { untilMs } = wait;
      if (typeof untilMs === "number" && Number.isFinite(untilMs)) return Math.max(0, untilMs - nowMs);
      throw invalid(`${where}.untilMs`, "must be a finite epoch time in milliseconds", untilMs);
    }
  }
  throw invalid(where, "must be milliseconds ≥ 0, { delayMs } or { untilMs } (exactly one of them)", wait);
}

/** The parts of a {@link timer} task besides the common {@link TaskOptions}. */
interface TimerHooks<TTo extends string, TResources> {
  /** How long to wait, or a function computing it when the state is entered. */
  readonly wait: TimerWait | ((ctx: TaskContext<TResources>) => MaybePromise<TimerWait>);
  /** Runs once the wait is over and picks the next state. */
  readonly afterWait: (ctx: TaskContext<TResources>) => MaybePromise<TTo>;
}

/**
 * "Wait, then transition": sleeps once on the workflow's clock, then calls `afterWait`. The wait
 * and `afterWait` form one attempt: `attemptTimeoutMs` caps both and a configured `retry` waits
 * again. A resumed run re-waits from scratch. Default retry: `none()`.
 *
 * @example
 * timer({ to: ["remind"], wait: ({ clock }) => ({ untilMs: clock.now() + 24 * 3_600_000 }),
 *   afterWait: () => "remind" })
 */
export function timer<const TTo extends string, TResources = unknown>(
  definition: Declared<TTo> & TimerHooks<NoInfer<TTo>, TResources>,
): Task<TTo, TResources>;
export function timer<TTo extends string, TResources = unknown>(
  definition: Undeclared & TimerHooks<TTo, TResources>,
): Task<TTo, TResources>;
export function timer<TTo extends string, TResources>(
  definition: TaskOptions<TTo> & TimerHooks<TTo, TResources>,
): Task<TTo, TResources> {
  requireFunctions("timer", definition, ["afterWait"]);
  const { wait, afterWait } = definition;
  // A fixed wait is checked now, so a typo fails when the workflow is built, not when it runs.
  if (typeof wait !== "function") delayOf(wait, 0, "wait");
  // Built once per timer rather than on every run of it (and no async frame per parked run).
  const sleepThenAfterWait = (delayMs: number, ctx: TaskContext<TResources>) =>
    delayMs > 0 ? ctx.clock.sleep(delayMs, ctx.signal).then(() => afterWait(ctx)) : afterWait(ctx);
  const body = (ctx: TaskContext<TResources>): MaybePromise<TTo> => {
    if (typeof wait !== "function") return sleepThenAfterWait(delayOf(wait, ctx.clock.now(), "wait"), ctx);
    return Promise.resolve(wait(ctx)).then((at) =>
      sleepThenAfterWait(delayOf(at, ctx.clock.now(), "wait(ctx)"), ctx),
    );
  };
  return defineTask(
    "timer",
    definition,
    { body, execute: (_ctx, { attempts }) => attempts(body) },
    { retry: none() },
  );
}
