import { raceAbort } from "./abort.ts";
import type { CancelTimer } from "./clock.ts";
import type { FailFastPolicy, RetryOnErrorPolicy, SkipAndContinuePolicy } from "./error-policy.ts";
import { failFast, isErrorBudget } from "./error-policy.ts";
import { CanoError, describeThrown, engineError } from "./errors.ts";
import { none } from "./retry.ts";
import type { MaybePromise, Task, TaskContext, TaskOptions, TaskRuntime } from "./task.ts";
import { defineTask, requireFunctions } from "./task.ts";

/** How a {@link stream} groups outputs before `flushWindow`: every `count` items, or every `durationMs`. */
export type StreamWindow = { readonly count: number } | { readonly durationMs: number };

/**
 * What a {@link stream} does when `processItem` fails (or exceeds `attemptTimeoutMs`): build one with
 * `failFast()`, `skipAndContinue()` or `retryOnError(maxErrors)`; the plain objects work too.
 */
export type StreamErrorPolicy = FailFastPolicy | SkipAndContinuePolicy | RetryOnErrorPolicy;

/** Why a {@link stream}'s `onClose` is called. */
export type CloseReason = "exhausted" | "cancelled";

/** What `flushWindow` decides: read on, or commit and leave for a state. */
export type WindowSignal<TTo extends string> = "continue" | { readonly stop: TTo };

/** What `processItem` returns: the output for the window and the cursor that resumes after this item. */
export interface ProcessedItem<TOutput, TCursor> {
  readonly output: TOutput;
  readonly cursor: TCursor;
}

/** The callbacks and knobs of a {@link stream}. */
interface StreamPhases<TTo extends string, TResources, TItem, TOutput, TCursor> {
  /** Opens the source after `cursor` (the last committed one on resume, else `undefined`); raced against `ctx.signal`. */
  readonly open: (
    ctx: TaskContext<TResources>,
    cursor: TCursor | undefined,
  ) => MaybePromise<AsyncIterable<TItem>>;
  /**
   * Handles one item; bounded by `attemptTimeoutMs`, never retried (see `onItemError`). One still
   * running when `ctx.signal` fires is abandoned: its cursor is not committed and the drain starts.
   */
  readonly processItem: (
    ctx: TaskContext<TResources>,
    item: TItem,
  ) => MaybePromise<ProcessedItem<TOutput, TCursor>>;
  /**
   * Writes a window's outputs; the window's last cursor is committed after it returns. One still
   * running when `ctx.signal` fires is abandoned uncommitted (a resumed run reads the window again).
   * In a cancellation drain `ctx.signal` has already fired and the returned signal is ignored.
   */
  readonly flushWindow: (ctx: TaskContext<TResources>, outputs: TOutput[]) => MaybePromise<WindowSignal<TTo>>;
  /** Called when the source ends (its state is the next one) or the run is cancelled (its state is ignored). */
  readonly onClose: (ctx: TaskContext<TResources>, reason: CloseReason) => MaybePromise<TTo>;
  /** Default `{ count: 1 }`: a flush and a commit per item. */
  readonly window?: StreamWindow;
  /** Default `failFast()`; also `skipAndContinue()` or `retryOnError(maxErrors)`. */
  readonly onItemError?: StreamErrorPolicy;
  /**
   * Upper bound, on the workflow's clock, for the cancellation drain (partial-window flush, then
   * `onClose("cancelled")`). When it passes, the rest of the drain is skipped, nothing more is
   * committed and the run ends with the signal's reason. A finite number of milliseconds > 0;
   * default 30 000.
   */
  readonly drainTimeoutMs?: number;
}

/** How long a cancellation drain may take when `drainTimeoutMs` is not given. */
const defaultDrainTimeoutMs = 30_000;

/** The task options a stream takes: no retries, and `attemptTimeoutMs` bounds each `processItem`. */
type StreamOptions<TTo extends string> = Pick<TaskOptions<TTo>, "to" | "attemptTimeoutMs" | "name">;
/** A stream with declared targets: `stop` and `onClose` may only name one of them. */
type Declared<TTo extends string> = StreamOptions<TTo> & { readonly to: readonly TTo[] };
/** A stream without declared targets: the targets are whatever `stop` and `onClose` name. */
type Undeclared = StreamOptions<never> & { readonly to?: undefined };

function configError(model: string, what: string, received: unknown): CanoError {
  const shown = typeof received === "object" ? JSON.stringify(received) : String(received);
  return new CanoError("configuration", `${model}: ${what}, received ${shown}`);
}

/** Validates the window; returns the count, or the tick length floored to 1 ms. */
function checkWindow(model: string, window: StreamWindow): { count: number } | { tickMs: number } {
  if (typeof window !== "object" || window === null) {
    throw configError(model, "window must be { count } or { durationMs }", window);
  }
  if ("count" in window) {
    const { count } = window;
    if (Number.isInteger(count) && count >= 1) return { count };
    throw configError(model, "window.count must be an integer ≥ 1", count);
  }
  const { durationMs } = window;
  if (Number.isFinite(durationMs) && durationMs > 0) return { tickMs: Math.max(1, durationMs) };
  throw configError(model, "window.durationMs must be a finite number of milliseconds > 0", durationMs);
}

function checkPolicy(model: string, policy: StreamErrorPolicy): StreamErrorPolicy {
  const kind: unknown = (policy as StreamErrorPolicy | null)?.kind;
  if (kind === "fail_fast" || kind === "skip_and_continue") return policy;
  if (kind === "retry_on_error" && policy.kind === "retry_on_error") {
    if (isErrorBudget(policy.maxErrors)) return policy;
    throw configError(model, "onItemError.maxErrors must be an integer ≥ 0", policy.maxErrors);
  }
  throw configError(
    model,
    "onItemError must be failFast(), skipAndContinue() or retryOnError(maxErrors) " +
      '(or { kind: "fail_fast" }, { kind: "skip_and_continue" }, { kind: "retry_on_error", maxErrors })',
    policy,
  );
}

function checkDrainTimeout(model: string, drainTimeoutMs: number): number {
  if (Number.isFinite(drainTimeoutMs) && drainTimeoutMs > 0) return drainTimeoutMs;
  throw configError(model, "drainTimeoutMs must be a finite number of milliseconds > 0", drainTimeoutMs);
}

/** Closes an iterator we stop reading; not awaited, since a pending `next()` may queue it forever. */
function closeQuietly(iterator: AsyncIterator<unknown>): void {
  try {
    Promise.resolve(iterator.return?.()).catch(() => {});
  } catch {
    // A source that cannot close has nothing left for us to do.
  }
}

/** The value's async iterator, or `undefined` when it is not an AsyncIterable. */
function iteratorOf<TItem>(value: unknown): AsyncIterator<TItem> | undefined {
  const get = (value as { [Symbol.asyncIterator]?: unknown } | null | undefined)?.[Symbol.asyncIterator];
  return typeof get === "function" ? (get as () => AsyncIterator<TItem>).call(value) : undefined;
}

/** `open` raced against the signal; a source that opens after the race was lost is closed at once. */
async function openSource<TItem>(
  ctx: TaskContext<unknown>,
  open: () => MaybePromise<AsyncIterable<TItem>>,
): Promise<AsyncIterator<TItem>> {
  const opening = new Promise<AsyncIterable<TItem>>((resolve) => resolve(open()));
  let iterable: unknown;
  try {
    iterable = await raceAbort(opening, ctx.signal);
  } catch (error) {
    const closeLate = (late: unknown) => {
      try {
        const iterator = iteratorOf(late);
        if (iterator !== undefined) closeQuietly(iterator);
      } catch {
        // Nothing was opened that we could close.
      }
    };
    if (ctx.signal.aborted) void opening.then(closeLate, () => {});
    throw error;
  }
  const iterator = iteratorOf<TItem>(iterable);
  if (iterator !== undefined) return iterator;
  throw engineError(
    "workflow",
    `Stream "${ctx.state}": open returned ${describeThrown(iterable)}, expected an AsyncIterable`,
  );
}

type Settled<TItem> =
  | { readonly ok: true; readonly result: IteratorResult<TItem> }
  | { readonly ok: false; readonly error: unknown };

/** How one phase of a drain ended: its value, its error, or cut off by `drainTimeoutMs`. */
type DrainPhase<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown }
  | "expired";

/** The settings {@link runStream} needs besides the callbacks, all validated. */
interface StreamSettings {
  readonly window: { count: number } | { tickMs: number };
  readonly policy: StreamErrorPolicy;
  readonly drainTimeoutMs: number;
}

/** @internal One stream run: the window loop of reference §4.8 with cancel, tick, item in that order. */
async function runStream<TTo extends string, TResources, TItem, TOutput, TCursor>(
  phases: StreamPhases<TTo, TResources, TItem, TOutput, TCursor>,
  { window, policy, drainTimeoutMs }: StreamSettings,
  ctx: TaskContext<TResources>,
  runtime: TaskRuntime<TResources>,
): Promise<TTo> {
  // Cancellation is cooperative: the engine waits for this function, so every user callback below
  // is raced against the signal (or, in the drain, bounded by drainTimeoutMs) and none can hang it.
  const { signal, state } = ctx;
  if (signal.aborted) throw signal.reason;
  const iterator = await openSource(ctx, () => phases.open(ctx, runtime.cursor as TCursor | undefined));

  let buffer: TOutput[] = [];
  /** The cursor of the window's last item, until a flush commits it. */
  let uncommitted: { readonly cursor: TCursor } | undefined;
  let consecutiveErrors = 0;
  let exhausted = false;
  // Events wake the loop; the one pending next() survives windows, so a tick never loses an item.
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  let pulling = false;
  let settled: Settled<TItem> | undefined;
  let tickDue = false;
  let cancelTick: CancelTimer | undefined;
  const armTick = () => {
    if ("tickMs" in window)
      cancelTick = ctx.clock.schedule(window.tickMs, () => {
        tickDue = true;
        notify();
      });
  };
  const pull = () => {
    if (pulling || settled !== undefined) return;
    pulling = true;
    // One handler sets both flags, so the loop never sees an item taken while a pull looks pending.
    const arrive = (result: Settled<TItem>) => {
      pulling = false;
      settled = result;
      notify();
    };
    new Promise<IteratorResult<TItem>>((resolve) => resolve(iterator.next())).then(
      (result) => arrive({ ok: true, result }),
      (error: unknown) => arrive({ ok: false, error }),
    );
  };

  const decide = (signalled: unknown): TTo | undefined => {
    if (signalled === "continue") return undefined;
    const stop = (signalled as { readonly stop?: unknown } | null)?.stop;
    if (typeof signalled === "object" && typeof stop === "string") return stop as TTo;
    throw engineError(
      "workflow",
      `Stream "${state}": flushWindow returned ${describeThrown(signalled)}, expected "continue" or { stop: state }`,
    );
  };
  /**
   * Flushes the window and commits its last cursor; returns a state when the flush stops. A flush cut
   * off by the signal returns `undefined` with nothing committed, and the loop drains next.
   */
  const flush = async (): Promise<TTo | undefined> => {
    const outputs = buffer;
    const committing = uncommitted;
    buffer = [];
    uncommitted = undefined;
    let signalled: WindowSignal<TTo>;
    try {
      signalled = await raceAbort(phases.flushWindow(ctx, outputs), signal);
    } catch (error) {
      if (signal.aborted) return undefined; // abandoned: a resumed run reads this window again
      throw error;
    }
    const next = decide(signalled);
    if (committing !== undefined) await runtime.saveCursor(committing.cursor);
    return next;
  };
  /**
   * Cancelled: flush what is buffered, close, commit only if both worked, end with the reason. The
   * whole drain is bounded by `drainTimeoutMs`: a phase still running then is abandoned, the rest is
   * skipped and nothing is committed.
   */
  const drain = async (): Promise<never> => {
    let cancelDeadline: CancelTimer | undefined;
    const expired = new Promise<"expired">((resolve) => {
      cancelDeadline = ctx.clock.schedule(drainTimeoutMs, () => resolve("expired"));
    });
    const bounded = <T>(phase: () => MaybePromise<T>): Promise<DrainPhase<T>> =>
      Promise.race([
        new Promise<T>((resolve) => resolve(phase())).then(
          (value): DrainPhase<T> => ({ ok: true, value }),
          (error: unknown): DrainPhase<T> => ({ ok: false, error }),
        ),
        expired,
      ]);
    try {
      const flushed = buffer.length > 0 ? await bounded(() => phases.flushWindow(ctx, buffer)) : undefined;
      if (flushed === "expired") throw signal.reason;
      const closed = await bounded(() => phases.onClose(ctx, "cancelled"));
      // A failed flush is the error to report, whatever onClose did (as when onClose throws).
      if (flushed?.ok === false) throw flushed.error;
      if (closed === "expired") throw signal.reason;
      if (!closed.ok) throw closed.error;
      if (uncommitted !== undefined) await runtime.saveCursor(uncommitted.cursor);
      throw signal.reason;
    } finally {
      cancelDeadline?.();
    }
  };
  /** Processes one item under the error policy; returns a state when its window's flush stops. */
  const handle = async (item: TItem): Promise<TTo | undefined> => {
    let processed: ProcessedItem<TOutput, TCursor>;
    try {
      // Raced: a processItem that ignores the signal must not keep the engine waiting.
      processed = await raceAbort(
        runtime.attempts((attemptCtx) => phases.processItem(attemptCtx, item)),
        signal,
      );
    } catch (error) {
      // Cut off by cancellation: the item is abandoned uncommitted and the loop drains next.
      if (signal.aborted) return undefined;
      consecutiveErrors++;
      if (policy.kind === "fail_fast") throw error;
      if (policy.kind === "retry_on_error" && consecutiveErrors > policy.maxErrors) throw error;
      return undefined;
    }
    if (typeof processed !== "object" || processed === null || !("cursor" in processed)) {
      throw engineError(
        "workflow",
        `Stream "${state}": processItem returned ${describeThrown(processed)}, expected { output, cursor }`,
      );
    }
    consecutiveErrors = 0;
    buffer.push(processed.output);
    uncommitted = { cursor: processed.cursor };
    return "count" in window && buffer.length >= window.count ? flush() : undefined;
  };

  signal.addEventListener("abort", notify);
  armTick();
  try {
    for (;;) {
      if (!(signal.aborted || tickDue)) pull();
      while (!(signal.aborted || tickDue || settled !== undefined)) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (signal.aborted) return await drain();
      if (tickDue) {
        tickDue = false;
        // An empty window is skipped: no flush, and the next window starts now.
        const next = buffer.length > 0 ? await flush() : undefined;
        if (next !== undefined) return next;
        armTick();
        continue;
      }
      const taken = settled as Settled<TItem>;
      settled = undefined;
      if (!taken.ok) {
        exhausted = true; // a source that threw is finished
        throw taken.error;
      }
      if (taken.result.done === true) {
        exhausted = true;
        const next = buffer.length > 0 ? await flush() : undefined;
        if (next !== undefined) return next;
        if (signal.aborted) return await drain();
        return await raceAbort(phases.onClose(ctx, "exhausted"), signal);
      }
      const next = await handle(taken.result.value);
      if (next !== undefined) return next;
    }
  } finally {
    signal.removeEventListener("abort", notify);
    cancelTick?.();
    if (!exhausted) closeQuietly(iterator);
  }
}

/**
 * A continuous source read in windows: `open` yields items, `processItem` turns each into an output
 * and a cursor, `flushWindow` writes a window's outputs, and then the window's last cursor is
 * committed, so a resumed run reopens the source after it (delivery is at-least-once). Cancellation
 * is cooperative: on cancel the partial window is flushed, `onClose("cancelled")` runs, the cursor is
 * committed, and the run ends `cancelled` (or `workflow_timeout`). A `processItem` or `flushWindow`
 * that ignores `ctx.signal` is abandoned when it fires (its item or window stays uncommitted), and
 * the drain itself is bounded by `drainTimeoutMs` (default 30 s), so a stuck callback cannot hang the
 * run. Never retried; `attemptTimeoutMs` bounds each `processItem`, and a failed item is handled by
 * `onItemError`.
 *
 * @example
 * stream({ to: ["done"], window: { count: 100 }, onItemError: skipAndContinue(),
 *   open: (_ctx, offset: number | undefined) => queue.read({ from: offset ?? 0 }),
 *   processItem: (_ctx, message) => ({ output: parse(message), cursor: message.offset + 1 }),
 *   flushWindow: async (_ctx, rows) => { await db.insert(rows); return "continue"; },
 *   onClose: () => "done" })
 */
export function stream<const TTo extends string, TItem, TOutput, TCursor, TResources = unknown>(
  definition: Declared<TTo> & StreamPhases<NoInfer<TTo>, TResources, TItem, TOutput, TCursor>,
): Task<TTo, TResources>;
export function stream<TTo extends string, TItem, TOutput, TCursor, TResources = unknown>(
  definition: Undeclared & StreamPhases<TTo, TResources, TItem, TOutput, TCursor>,
): Task<TTo, TResources>;
export function stream<TTo extends string, TItem, TOutput, TCursor, TResources>(
  definition: StreamOptions<TTo> & StreamPhases<TTo, TResources, TItem, TOutput, TCursor>,
): Task<TTo, TResources> {
  requireFunctions("stream", definition, ["open", "processItem", "flushWindow", "onClose"]);
  const { to, attemptTimeoutMs, name } = definition;
  const model = name === undefined ? "stream" : `stream "${name}"`;
  const streamSettings: StreamSettings = {
    window: checkWindow(model, definition.window ?? { count: 1 }),
    policy: checkPolicy(model, definition.onItemError ?? failFast()),
    drainTimeoutMs: checkDrainTimeout(model, definition.drainTimeoutMs ?? defaultDrainTimeoutMs),
  };
  return defineTask(
    "stream",
    { to, attemptTimeoutMs, name },
    { execute: (ctx, runtime) => runStream(definition, streamSettings, ctx, runtime) },
    { retry: none(), cancellation: "cooperative" },
  );
}
