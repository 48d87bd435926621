import { raceAbort } from "./abort.ts";
import type { CancelTimer } from "./clock.ts";
import { CanoError, describeThrown, engineError } from "./errors.ts";
import { none } from "./retry.ts";
import type { MaybePromise, Task, TaskContext, TaskOptions, TaskRuntime } from "./task.ts";
import { requireFunctions, settings } from "./task.ts";

/** How a {@link stream} groups outputs before `flushWindow`: every `count` items, or every `durationMs`. */
export type StreamWindow = { readonly count: number } | { readonly durationMs: number };

/** What a {@link stream} does when `processItem` fails (or exceeds `attemptTimeoutMs`). */
export type StreamErrorPolicy =
  | { readonly kind: "fail_fast" }
  | { readonly kind: "skip_and_continue" }
  | { readonly kind: "retry_on_error"; readonly maxErrors: number };

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
  /** Handles one item; bounded by `attemptTimeoutMs`, never retried (see `onItemError`). */
  readonly processItem: (
    ctx: TaskContext<TResources>,
    item: TItem,
  ) => MaybePromise<ProcessedItem<TOutput, TCursor>>;
  /**
   * Writes a window's outputs; the window's last cursor is committed after it returns. In a
   * cancellation drain `ctx.signal` has already fired and the returned signal is ignored.
   */
  readonly flushWindow: (ctx: TaskContext<TResources>, outputs: TOutput[]) => MaybePromise<WindowSignal<TTo>>;
  /** Called when the source ends (its state is the next one) or the run is cancelled (its state is ignored). */
  readonly onClose: (ctx: TaskContext<TResources>, reason: CloseReason) => MaybePromise<TTo>;
  /** Default `{ count: 1 }`: a flush and a commit per item. */
  readonly window?: StreamWindow;
  /** Default `{ kind: "fail_fast" }`. */
  readonly onItemError?: StreamErrorPolicy;
}

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
    if (Number.isInteger(policy.maxErrors) && policy.maxErrors >= 0) return policy;
    throw configError(model, "onItemError.maxErrors must be an integer ≥ 0", policy.maxErrors);
  }
  throw configError(
    model,
    'onItemError must be { kind: "fail_fast" }, { kind: "skip_and_continue" } or { kind: "retry_on_error", maxErrors }',
    policy,
  );
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

/** @internal One stream run: the window loop of reference §4.8 with cancel, tick, item in that order. */
async function runStream<TTo extends string, TResources, TItem, TOutput, TCursor>(
  phases: StreamPhases<TTo, TResources, TItem, TOutput, TCursor>,
  window: { count: number } | { tickMs: number },
  policy: StreamErrorPolicy,
  ctx: TaskContext<TResources>,
  runtime: TaskRuntime<TResources>,
): Promise<TTo> {
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
  const flush = async (): Promise<TTo | undefined> => {
    const outputs = buffer;
    buffer = [];
    const next = decide(await phases.flushWindow(ctx, outputs));
    if (uncommitted !== undefined) await runtime.saveCursor(uncommitted.cursor);
    uncommitted = undefined;
    return next;
  };
  /** Cancelled: flush what is buffered, close, commit only if the flush worked, end with the reason. */
  const drain = async (): Promise<never> => {
    let flushFailure: { readonly error: unknown } | undefined;
    if (buffer.length > 0) {
      try {
        await phases.flushWindow(ctx, buffer);
      } catch (error) {
        flushFailure = { error };
      }
    }
    try {
      await phases.onClose(ctx, "cancelled");
    } catch (error) {
      if (flushFailure === undefined) throw error;
    }
    if (flushFailure !== undefined) throw flushFailure.error;
    if (uncommitted !== undefined) await runtime.saveCursor(uncommitted.cursor);
    throw signal.reason;
  };
  /** Processes one item under the error policy; returns a state when its window's flush stops. */
  const handle = async (item: TItem): Promise<TTo | undefined> => {
    let processed: ProcessedItem<TOutput, TCursor>;
    try {
      processed = await runtime.attempts((attemptCtx) => phases.processItem(attemptCtx, item));
    } catch (error) {
      if (signal.aborted) return undefined; // cut off by cancellation: the loop drains next
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
        return next ?? (await phases.onClose(ctx, "exhausted"));
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
 * committed, and the run ends `cancelled` (or `workflow_timeout`). Never retried; `attemptTimeoutMs`
 * bounds each `processItem`, and a failed item is handled by `onItemError`.
 *
 * @example
 * stream({ to: ["done"], window: { count: 100 }, onItemError: { kind: "skip_and_continue" },
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
  const window = checkWindow(model, definition.window ?? { count: 1 });
  const policy = checkPolicy(model, definition.onItemError ?? { kind: "fail_fast" });
  return {
    ...settings("stream", { to, attemptTimeoutMs, name }, { retry: none(), cancellation: "cooperative" }),
    execute: (ctx, runtime) => runStream(definition, window, policy, ctx, runtime),
  };
}
