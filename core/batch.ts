import { CanoError, isCanoError, toCanoError } from "./errors.ts";
import type { Random } from "./random.ts";
import { createCryptoRandom } from "./random.ts";
import type { RetryPolicy } from "./retry.ts";
import { checkRetryPolicy, maxAttempts, none, retryDelayMs } from "./retry.ts";
import { isRetryable } from "./retryable.ts";
import type { Declared, MaybePromise, Task, TaskContext, TaskOptions, Undeclared } from "./task.ts";
import { defineTask, requireFunctions } from "./task.ts";

/** How one item of a batch ended: its output, or the error it failed with after `itemRetry`. */
export type BatchItemResult<TOutput> =
  | { readonly ok: true; readonly value: TOutput }
  | { readonly ok: false; readonly error: CanoError };

/** The batch-specific settings of a {@link batch} task. */
export interface BatchOptions {
  /** How many items are processed at once; an integer ≥ 1. Default 1. */
  readonly concurrency?: number;
  /**
   * Retries of each item: attempt count and delays only, no breaker, no timeout, no `retryIf`.
   * `configuration` errors, errors with `details.retryable === false` and `PermanentError`s are never
   * retried, as for a task. Default `none()`.
   */
  readonly itemRetry?: RetryPolicy;
  /**
   * Jitter source for `itemRetry` delays, uniform in [0, 1). Default: `crypto.getRandomValues`, not
   * the workflow's `random` (a task runtime does not hand that to tasks).
   */
  readonly random?: Random;
}

/** The parts of a {@link batch} task besides its options. */
interface BatchHooks<TTo extends string, TResources, TItem, TOutput> {
  /** Produces the items; a throw fails the cycle and `finish` is not called. */
  readonly load: (ctx: TaskContext<TResources>) => MaybePromise<readonly TItem[]>;
  /** Processes one item; `ctx.attempt` is the item's attempt. A throw fills the item's slot. */
  readonly processItem: (item: TItem, ctx: TaskContext<TResources>) => MaybePromise<TOutput>;
  /** Gets one result per item in input order, decides what partial failure means, picks the next state. */
  readonly finish: (ctx: TaskContext<TResources>, results: BatchItemResult<TOutput>[]) => MaybePromise<TTo>;
}

function checkConcurrency(concurrency: number): number {
  if (Number.isInteger(concurrency) && concurrency >= 1) return concurrency;
  // Deliberate change: the seed clamps values below 1 to 1; a bad number here is a bug to report.
  throw new CanoError(
    "configuration",
    `batch: concurrency must be an integer ≥ 1, received ${String(concurrency)}. Use 1 to process one item at a time.`,
  );
}

/** Validates `itemRetry` like a task's `retry`, naming the option in the message. */
function checkItemRetry(policy: RetryPolicy): RetryPolicy {
  try {
    return checkRetryPolicy(policy);
  } catch (error) {
    if (!isCanoError(error)) throw error;
    throw new CanoError("configuration", `batch: itemRetry: ${error.message}`, { cause: error });
  }
}

/** One item under `itemRetry`: its result, or the abort reason once the attempt's signal fired. */
async function settleItem<TResources, TItem, TOutput>(
  processItem: (item: TItem, ctx: TaskContext<TResources>) => MaybePromise<TOutput>,
  item: TItem,
  index: number,
  retry: RetryPolicy,
  random: Random,
  ctx: TaskContext<TResources>,
): Promise<BatchItemResult<TOutput>> {
  const limit = maxAttempts(retry);
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await processItem(item, { ...ctx, signal: ctx.signal, attempt }) };
    } catch (thrown) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const error = toCanoError(thrown, `Batch item ${index} of state "${ctx.state}"`);
      if (attempt >= limit || !isRetryable(error)) return { ok: false, error };
      const delayMs = retryDelayMs(retry, attempt - 1, random());
      if (delayMs > 0) await ctx.clock.sleep(delayMs, ctx.signal);
    }
  }
}

/** One load → process → finish cycle (reference §4.6), run as one attempt. */
async function runBatch<TTo extends string, TResources, TItem, TOutput>(
  hooks: BatchHooks<TTo, TResources, TItem, TOutput>,
  concurrency: number,
  retry: RetryPolicy,
  random: Random,
  ctx: TaskContext<TResources>,
): Promise<TTo> {
  const items = await hooks.load(ctx);
  if (!Array.isArray(items)) {
    throw new CanoError(
      "configuration",
      `batch: load must return an array of items, received ${items === null ? "null" : typeof items}`,
    );
  }
  const results = new Array<BatchItemResult<TOutput>>(items.length);
  let next = 0;
  // Each worker takes the next unstarted item, so at most `concurrency` are in flight; none starts
  // once the signal has fired (cancellation, attempt timeout).
  const worker = async () => {
    while (next < items.length && !ctx.signal.aborted) {
      const index = next++;
      results[index] = await settleItem(hooks.processItem, items[index]!, index, retry, random, ctx);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (ctx.signal.aborted) throw ctx.signal.reason;
  return hooks.finish(ctx, results);
}

/**
 * Fan out over data inside one state: `load` the items, `processItem` each (at most `concurrency`
 * at once, each under `itemRetry`), then `finish` with the results in input order. An item error
 * fills its slot; a `load` or `finish` error fails the cycle, which `retry` (default
 * `exponential(3)`) and `attemptTimeoutMs` wrap as a whole.
 *
 * @example
 * batch({ to: ["done", "failed"], concurrency: 4, itemRetry: fixed(2, 500),
 *   load: async ({ store }) => (await store.get(urlsKey)) ?? [],
 *   processItem: async (url, { signal }) => (await fetch(url, { signal })).status,
 *   finish: (_ctx, results) => (results.every((r) => r.ok) ? "done" : "failed") })
 */
export function batch<const TTo extends string, TResources = unknown, TItem = unknown, TOutput = unknown>(
  definition: Declared<TTo> & BatchOptions & BatchHooks<NoInfer<TTo>, TResources, TItem, TOutput>,
): Task<TTo, TResources>;
export function batch<TTo extends string, TResources = unknown, TItem = unknown, TOutput = unknown>(
  definition: Undeclared & BatchOptions & BatchHooks<TTo, TResources, TItem, TOutput>,
): Task<TTo, TResources>;
export function batch<TTo extends string, TResources, TItem, TOutput>(
  definition: TaskOptions<TTo> & BatchOptions & BatchHooks<TTo, TResources, TItem, TOutput>,
): Task<TTo, TResources> {
  requireFunctions("batch", definition, ["load", "processItem", "finish"]);
  const concurrency = checkConcurrency(definition.concurrency ?? 1);
  // Checked now, so a hand-built policy with `retries: NaN` fails when the workflow is built.
  const itemRetry = checkItemRetry(definition.itemRetry ?? none());
  const hooks = { load: definition.load, processItem: definition.processItem, finish: definition.finish };
  return defineTask("batch", definition, {
    execute(_ctx, { attempts }) {
      // One jitter source per run of the state, shared by its items.
      const random = definition.random ?? createCryptoRandom();
      return attempts((ctx) => runBatch(hooks, concurrency, itemRetry, random, ctx));
    },
  });
}
