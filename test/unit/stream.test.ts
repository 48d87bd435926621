import type { CancelTimer, Clock, Task, TaskContext } from "cano";
import { CanoError, MemoryStore, Workflow } from "cano";
import { VirtualClock } from "cano/testing";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import { MemoryCheckpointStore } from "../../core/checkpoint.ts";
import { failFast, retryOnError, skipAndContinue } from "../../core/error-policy.ts";
import { assertJson } from "../../core/json.ts";
import type { StreamErrorPolicy, StreamWindow } from "../../core/stream.ts";
import { stream } from "../../core/stream.ts";
import type { TaskRuntime } from "../../core/task.ts";
import { failure, settle } from "../support/runs.ts";

type S = "ingest" | "done" | "halt";

/** Runs `run` on `clock` to completion, letting virtual time pass until it settles. */

/** Lets every pending promise continuation run. */
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A source the test feeds by hand; it counts `next()` calls and notices `return()`. */
class ManualSource<T> implements AsyncIterableIterator<T> {
  readonly #queue: IteratorResult<T>[] = [];
  readonly #waiting: ((result: IteratorResult<T>) => void)[] = [];
  nextCalls = 0;
  returned = false;

  constructor(items: readonly T[] = [], ended = false) {
    for (const item of items) this.push(item);
    if (ended) this.end();
  }

  push(value: T): void {
    this.#deliver({ done: false, value });
  }

  end(): void {
    this.#deliver({ done: true, value: undefined });
  }

  next(): Promise<IteratorResult<T>> {
    this.nextCalls++;
    const ready = this.#queue.shift();
    return ready === undefined
      ? new Promise((resolve) => this.#waiting.push(resolve))
      : Promise.resolve(ready);
  }

  return(): Promise<IteratorResult<T>> {
    this.returned = true;
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #deliver(result: IteratorResult<T>): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) this.#queue.push(result);
    else waiter(result);
  }
}

/** A clock whose timers fire only when `fire()` is called, all in the same synchronous turn. */
class ManualClock implements Clock {
  readonly timers = new Set<() => void>();
  now(): number {
    return 0;
  }
  sleep(): Promise<void> {
    return new Promise(() => {});
  }
  schedule(_ms: number, callback: () => void): CancelTimer {
    this.timers.add(callback);
    return () => this.timers.delete(callback);
  }
  fire(): void {
    const due = [...this.timers];
    this.timers.clear();
    for (const callback of due) callback();
  }
}

/** A hand-made context and runtime that log every committed cursor. */
function harness(options: { cursor?: unknown; signal?: AbortSignal; clock?: Clock } = {}) {
  const log: string[] = [];
  const saved: unknown[] = [];
  const ctx: TaskContext = {
    state: "ingest",
    store: new MemoryStore(),
    resources: {},
    signal: options.signal ?? new AbortController().signal,
    attempt: 1,
    workflowId: "run-1",
    clock: options.clock ?? new VirtualClock(),
  };
  const runtime: TaskRuntime<unknown> = {
    attempts: async (body) => body(ctx),
    cursor: options.cursor,
    saveCursor: async (cursor) => {
      assertJson(cursor, 'the cursor saved by state "ingest"');
      log.push(`commit ${JSON.stringify(cursor)}`);
      saved.push(cursor);
    },
  };
  return { ctx, runtime, log, saved };
}

interface NumbersOptions {
  readonly window?: StreamWindow;
  readonly onItemError?: StreamErrorPolicy;
  /** Items for which processItem throws. */
  readonly failing?: readonly number[];
  /** 1-based index of the flush that stops with "halt". */
  readonly stopAt?: number;
  readonly failFlush?: boolean;
  readonly failClose?: boolean;
}

/** A stream of numbers whose callbacks log what they see into `log`; output `oN`, cursor N. */
function numbers(log: string[], source: AsyncIterable<number>, options: NumbersOptions = {}) {
  let flushes = 0;
  return stream({
    to: ["done", "halt"],
    ...(options.window === undefined ? {} : { window: options.window }),
    ...(options.onItemError === undefined ? {} : { onItemError: options.onItemError }),
    open: (_ctx, cursor: number | undefined) => {
      log.push(`open ${JSON.stringify(cursor)}`);
      return source;
    },
    processItem: (_ctx, n) => {
      log.push(`item ${n}`);
      if (options.failing?.includes(n)) throw new Error(`bad item ${n}`);
      return { output: `o${n}`, cursor: n };
    },
    flushWindow: (_ctx, outputs) => {
      log.push(`flush ${outputs.join(",")}`);
      if (options.failFlush) throw new Error("sink down");
      return ++flushes === options.stopAt ? { stop: "halt" } : "continue";
    },
    onClose: (_ctx, reason) => {
      log.push(`close ${reason}`);
      if (options.failClose) throw new Error("close failed");
      return "done";
    },
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Yields each `[atMs, value]` when the clock reaches `atMs`, then ends at `endMs` (or never). */
async function* timed(clock: Clock, items: readonly [number, number][], endMs?: number) {
  for (const [at, value] of items) {
    await clock.sleep(at - clock.now());
    yield value;
  }
  await (endMs === undefined ? new Promise<never>(() => {}) : clock.sleep(endMs - clock.now()));
}

function workflow(clock: VirtualClock, t: Task<"done" | "halt">) {
  return new Workflow<S>().withClock(clock).register("ingest", t).exit("done", "halt");
}

describe("stream windows, driven directly", () => {
  it("flushes a count window when it fills and commits the window's last cursor after the flush", async () => {
    const { ctx, runtime, log, saved } = harness();
    const t = numbers(log, new ManualSource([1, 2, 3, 4, 5], true), { window: { count: 2 } });
    await expect(t.execute(ctx, runtime)).resolves.toBe("done");
    expect(log).toEqual([
      "open undefined",
      "item 1",
      "item 2",
      "flush o1,o2",
      "commit 2",
      "item 3",
      "item 4",
      "flush o3,o4",
      "commit 4",
      "item 5",
      "flush o5",
      "commit 5",
      "close exhausted",
    ]);
    expect(saved).toEqual([2, 4, 5]);
  });

  it("defaults to a window of one item", async () => {
    const { ctx, runtime, saved } = harness();
    await numbers([], new ManualSource([7, 8], true)).execute(ctx, runtime);
    expect(saved).toEqual([7, 8]);
  });

  it("opens the source from runtime.cursor on resume", async () => {
    const { ctx, runtime, log } = harness({ cursor: 4 });
    await numbers(log, new ManualSource([5], true)).execute(ctx, runtime);
    expect(log[0]).toBe("open 4");
  });

  it("commits and transitions when a flush stops mid-stream, closing the source without onClose", async () => {
    const { ctx, runtime, log, saved } = harness();
    const source = new ManualSource([1, 2, 3, 4, 5, 6], true);
    const t = numbers(log, source, { window: { count: 2 }, stopAt: 2 });
    await expect(t.execute(ctx, runtime)).resolves.toBe("halt");
    expect(log.slice(-3)).toEqual(["item 4", "flush o3,o4", "commit 4"]);
    expect(saved).toEqual([2, 4]);
    expect(source.returned).toBe(true);
  });

  it("flushes the partial window when the source ends, then asks onClose for the next state", async () => {
    const { ctx, runtime, log, saved } = harness();
    await numbers(log, new ManualSource([1, 2, 3], true), { window: { count: 5 } }).execute(ctx, runtime);
    expect(log.slice(-3)).toEqual(["flush o1,o2,o3", "commit 3", "close exhausted"]);
    expect(saved).toEqual([3]);
  });

  it("honours a stop from the partial window at exhaustion and skips onClose", async () => {
    const { ctx, runtime, log } = harness();
    const t = numbers(log, new ManualSource([1], true), { window: { count: 5 }, stopAt: 1 });
    await expect(t.execute(ctx, runtime)).resolves.toBe("halt");
    expect(log).not.toContain("close exhausted");
  });

  it("calls onClose without a flush when the source is empty", async () => {
    const { ctx, runtime, log, saved } = harness();
    await numbers(log, new ManualSource([], true)).execute(ctx, runtime);
    expect(log).toEqual(["open undefined", "close exhausted"]);
    expect(saved).toEqual([]);
  });

  it("treats a string cursor and a 'stop'-looking output as plain data", async () => {
    const { ctx, runtime, saved } = harness();
    const t = stream({
      open: () => new ManualSource(["continue"], true),
      processItem: (_ctx, item) => ({ output: { stop: item }, cursor: item }),
      flushWindow: () => "continue",
      onClose: () => "done",
    });
    await expect(t.execute(ctx, runtime)).resolves.toBe("done");
    expect(saved).toEqual(["continue"]);
  });

  it("does not lose an item that arrives in the same turn as a tick", async () => {
    const clock = new ManualClock();
    const { ctx, runtime, log, saved } = harness({ clock });
    const source = new ManualSource<number>();
    const run = numbers(log, source, { window: { durationMs: 10 } }).execute(ctx, runtime);
    source.push(1);
    await macrotask();
    expect(log).toEqual(["open undefined", "item 1"]);
    // The tick and item 2 land together: the tick wins (flushing item 1) and item 2 waits its turn.
    clock.fire();
    source.push(2);
    await macrotask();
    expect(log.slice(2)).toEqual(["flush o1", "commit 1", "item 2"]);
    clock.fire(); // an empty-handed tick would skip; this one flushes item 2
    await macrotask();
    source.end();
    await expect(run).resolves.toBe("done");
    expect(log.slice(5)).toEqual(["flush o2", "commit 2", "close exhausted"]);
    expect(saved).toEqual([1, 2]);
    expect(source.nextCalls).toBe(3); // one per item plus the end: no next() was thrown away
  });

  it("re-arms an empty duration window without flushing", async () => {
    const clock = new ManualClock();
    const { ctx, runtime, log } = harness({ clock });
    const source = new ManualSource<number>();
    const run = numbers(log, source, { window: { durationMs: 10 } }).execute(ctx, runtime);
    await macrotask();
    clock.fire();
    await macrotask();
    expect(clock.timers.size).toBe(1);
    source.end();
    await run;
    expect(log).toEqual(["open undefined", "close exhausted"]);
    expect(clock.timers.size).toBe(0);
  });
});

describe("stream item errors, driven directly", () => {
  it("fail_fast (the default) fails on the first item error, closing the source and committing nothing more", async () => {
    const { ctx, runtime, log, saved } = harness();
    const source = new ManualSource([1, 2, 3, 4], true);
    const t = numbers(log, source, { window: { count: 2 }, failing: [3] });
    await expect(t.execute(ctx, runtime)).rejects.toThrow("bad item 3");
    expect(saved).toEqual([2]);
    expect(log).not.toContain("item 4");
    expect(source.returned).toBe(true);
  });

  it("skip_and_continue drops a failed item and never commits its cursor", async () => {
    const { ctx, runtime, log, saved } = harness();
    const t = numbers(log, new ManualSource([1, 2, 3, 4], true), {
      window: { count: 2 },
      onItemError: { kind: "skip_and_continue" },
      failing: [2, 4],
    });
    await expect(t.execute(ctx, runtime)).resolves.toBe("done");
    expect(log.filter((l) => !l.startsWith("item"))).toEqual([
      "open undefined",
      "flush o1,o3",
      "commit 3",
      "close exhausted",
    ]);
    expect(saved).toEqual([3]);
  });

  it("retry_on_error tolerates maxErrors consecutive errors, resets on success, never retries the item", async () => {
    const { ctx, runtime, log, saved } = harness();
    const t = numbers(log, new ManualSource([1, 2, 3, 4, 5, 6], true), {
      onItemError: { kind: "retry_on_error", maxErrors: 1 },
      failing: [2, 4, 5],
    });
    await expect(t.execute(ctx, runtime)).rejects.toThrow("bad item 5");
    expect(log.filter((l) => l.startsWith("item"))).toEqual([
      "item 1",
      "item 2",
      "item 3",
      "item 4",
      "item 5",
    ]);
    expect(saved).toEqual([1, 3]);
  });

  it("retry_on_error with maxErrors 0 fails on the first error", async () => {
    const { ctx, runtime } = harness();
    const t = numbers([], new ManualSource([1, 2], true), {
      onItemError: { kind: "retry_on_error", maxErrors: 0 },
      failing: [1],
    });
    await expect(t.execute(ctx, runtime)).rejects.toThrow("bad item 1");
  });

  it("fails when the source itself throws", async () => {
    const { ctx, runtime } = harness();
    async function* broken() {
      yield 1;
      throw new Error("connection reset");
    }
    await expect(numbers([], broken()).execute(ctx, runtime)).rejects.toThrow("connection reset");
  });

  it("fails with a workflow error when flushWindow returns something else", async () => {
    const { ctx, runtime, saved } = harness();
    const t = stream({
      open: () => new ManualSource([1], true),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: () => "stop" as "continue",
      onClose: () => "done",
    });
    const error = await failure(t.execute(ctx, runtime));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain('flushWindow returned "stop", expected "continue" or { stop: state }');
    expect(saved).toEqual([]);
  });
});

describe("stream error policy constructors", () => {
  it("build the same policies as the plain objects, which stay accepted", () => {
    expect(failFast()).toEqual({ kind: "fail_fast" });
    expect(skipAndContinue()).toEqual({ kind: "skip_and_continue" });
    expect(retryOnError(2)).toEqual({ kind: "retry_on_error", maxErrors: 2 });
    expect(() => retryOnError(-1)).toThrow(
      /retryOnError expects maxErrors to be an integer ≥ 0, received -1/,
    );
  });

  it("skipAndContinue() drops failed items", async () => {
    const { ctx, runtime, saved } = harness();
    const t = numbers([], new ManualSource([1, 2, 3], true), {
      onItemError: skipAndContinue(),
      failing: [2],
    });
    await expect(t.execute(ctx, runtime)).resolves.toBe("done");
    expect(saved).toEqual([1, 3]);
  });

  it("retryOnError(n) tolerates n errors in a row and failFast() none", async () => {
    const tolerant = harness();
    const t = numbers([], new ManualSource([1, 2, 3, 4], true), {
      onItemError: retryOnError(1),
      failing: [2, 3],
    });
    await expect(t.execute(tolerant.ctx, tolerant.runtime)).rejects.toThrow("bad item 3");
    expect(tolerant.saved).toEqual([1]);
    const strict = harness();
    const u = numbers([], new ManualSource([1, 2], true), { onItemError: failFast(), failing: [1] });
    await expect(u.execute(strict.ctx, strict.runtime)).rejects.toThrow("bad item 1");
  });
});

describe("stream cancellation, driven directly", () => {
  const cancelled = () => new CanoError("cancelled", "Workflow: the run was cancelled");

  it("drains: flushes the partial window, calls onClose('cancelled'), commits, then throws the reason", async () => {
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal });
    const source = new ManualSource([1, 2]);
    const run = numbers(log, source, { window: { count: 5 } }).execute(ctx, runtime);
    await macrotask();
    const reason = cancelled();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(log).toEqual(["open undefined", "item 1", "item 2", "flush o1,o2", "close cancelled", "commit 2"]);
    expect(saved).toEqual([2]);
    expect(source.returned).toBe(true);
  });

  it("commits nothing new when the window is empty at cancel", async () => {
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal });
    const run = numbers(log, new ManualSource([1]), { window: { count: 1 } }).execute(ctx, runtime);
    await macrotask();
    controller.abort(cancelled());
    await expect(run).rejects.toMatchObject({ code: "cancelled" });
    expect(log.slice(-2)).toEqual(["commit 1", "close cancelled"]);
    expect(saved).toEqual([1]);
  });

  it("surfaces a failed drain flush, still runs onClose (dropping its error), and commits nothing", async () => {
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal });
    const t = numbers(log, new ManualSource([1, 2]), {
      window: { count: 5 },
      failFlush: true,
      failClose: true,
    });
    const run = t.execute(ctx, runtime);
    await macrotask();
    controller.abort(cancelled());
    await expect(run).rejects.toThrow("sink down");
    expect(log.slice(-2)).toEqual(["flush o1,o2", "close cancelled"]);
    expect(saved).toEqual([]);
  });

  it("propagates onClose's error after a clean drain flush, without committing", async () => {
    const controller = new AbortController();
    const { ctx, runtime, saved } = harness({ signal: controller.signal });
    const run = numbers([], new ManualSource([1]), { window: { count: 5 }, failClose: true }).execute(
      ctx,
      runtime,
    );
    await macrotask();
    controller.abort(cancelled());
    await expect(run).rejects.toThrow("close failed");
    expect(saved).toEqual([]);
  });

  it("races open against the signal and closes a source that opens too late", async () => {
    const controller = new AbortController();
    const { ctx, runtime } = harness({ signal: controller.signal });
    const source = new ManualSource<number>();
    let opened!: (value: AsyncIterable<number>) => void;
    let closes = 0;
    const t = stream({
      open: () => new Promise<AsyncIterable<number>>((resolve) => (opened = resolve)),
      processItem: (_ctx, n: number) => ({ output: n, cursor: n }),
      flushWindow: () => "continue",
      onClose: () => {
        closes++;
        return "done";
      },
    });
    const run = t.execute(ctx, runtime);
    const reason = cancelled();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    opened(source);
    await macrotask();
    expect(source.returned).toBe(true);
    expect(closes).toBe(0);
  });
});

describe("stream callbacks that ignore the signal, driven directly", () => {
  const cancelled = () => new CanoError("cancelled", "Workflow: the run was cancelled");

  /** A stream of numbers whose flushWindow and onClose hang (never settle) where `hang` says so. */
  function stuck(
    log: string[],
    source: AsyncIterable<number>,
    hang: {
      readonly flush?: (aborted: boolean) => boolean;
      readonly close?: "exhausted" | "cancelled";
      readonly failDrainFlush?: boolean;
    },
    options: { readonly window?: StreamWindow; readonly drainTimeoutMs?: number } = {},
  ) {
    return stream({
      to: ["done"],
      window: options.window ?? { count: 5 },
      ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
      open: () => source,
      processItem: (_ctx, n) => ({ output: `o${n}`, cursor: n }),
      flushWindow: ({ signal }, outputs) => {
        log.push(`flush ${outputs.join(",")}`);
        if (hang.flush?.(signal.aborted)) return new Promise<never>(() => {});
        if (hang.failDrainFlush && signal.aborted) throw new Error("sink down");
        return "continue";
      },
      onClose: (_ctx, reason) => {
        log.push(`close ${reason}`);
        return hang.close === reason ? new Promise<never>(() => {}) : "done";
      },
    });
  }

  it("abandons a flush cut off by the signal: it is never committed, even if it resolves later", async () => {
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal });
    let finish!: (signal: "continue") => void;
    const t = stream({
      to: ["done"],
      window: { count: 2 },
      open: () => new ManualSource([1, 2, 3]),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: (_ctx, outputs) => {
        log.push(`flush ${outputs.join(",")}`);
        return new Promise<"continue">((resolve) => (finish = resolve)); // ignores the signal
      },
      onClose: (_ctx, reason) => {
        log.push(`close ${reason}`);
        return "done";
      },
    });
    const run = t.execute(ctx, runtime);
    await macrotask();
    const reason = cancelled();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    finish("continue");
    await macrotask();
    // The abandoned window is not flushed again by the drain, nor committed: a resumed run rereads it.
    expect(log).toEqual(["flush 1,2", "close cancelled"]);
    expect(saved).toEqual([]);
  });

  it("ends a drain whose flush hangs after drainTimeoutMs, with the reason, skipping onClose and the commit", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal, clock });
    const t = stuck(log, new ManualSource([1, 2]), { flush: (aborted) => aborted }, { drainTimeoutMs: 50 });
    const run = t.execute(ctx, runtime);
    const outcome = run.then(
      () => "resolved",
      (error: unknown) => error,
    );
    await macrotask();
    const reason = cancelled();
    controller.abort(reason);
    await clock.advance(49);
    expect(log).toEqual(["flush o1,o2"]);
    let settled = false;
    void outcome.then(() => (settled = true));
    await macrotask();
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await outcome).toBe(reason);
    expect(log).toEqual(["flush o1,o2"]);
    expect(saved).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("ends a drain whose onClose hangs after drainTimeoutMs, without committing the flushed window", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal, clock });
    const t = stuck(log, new ManualSource([1, 2]), { close: "cancelled" }, { drainTimeoutMs: 50 });
    const run = t.execute(ctx, runtime);
    await macrotask();
    const reason = cancelled();
    const rejected = expect(run).rejects.toBe(reason);
    controller.abort(reason);
    await clock.advance(50);
    await rejected;
    expect(log).toEqual(["flush o1,o2", "close cancelled"]);
    expect(saved).toEqual([]);
  });

  it("still reports a failed drain flush when onClose then hangs past drainTimeoutMs", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal, clock });
    const t = stuck(
      log,
      new ManualSource([1]),
      { close: "cancelled", failDrainFlush: true },
      { drainTimeoutMs: 50 },
    );
    const run = t.execute(ctx, runtime);
    await macrotask();
    const rejected = expect(run).rejects.toThrow("sink down");
    controller.abort(cancelled());
    await clock.advance(50);
    await rejected;
    expect(saved).toEqual([]);
  });

  it("does not wait for an onClose('exhausted') that ignores the signal", async () => {
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = harness({ signal: controller.signal });
    const t = stuck(log, new ManualSource([1], true), { close: "exhausted" }, { window: { count: 1 } });
    const run = t.execute(ctx, runtime);
    await macrotask();
    expect(log).toEqual(["flush o1", "commit 1", "close exhausted"]);
    const reason = cancelled();
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(saved).toEqual([1]);
  });
});

describe("stream in a workflow on a virtual clock", () => {
  it("runs count windows to the state onClose returns", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const t = numbers(
      log,
      timed(
        clock,
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
        5,
      ),
      { window: { count: 2 } },
    );
    await expect(settle(clock, workflow(clock, t).orchestrate("ingest"))).resolves.toBe("done");
    expect(log.filter((l) => !l.startsWith("item"))).toEqual([
      "open undefined",
      "flush o1,o2",
      "flush o3",
      "close exhausted",
    ]);
  });

  it("flushes duration windows on each tick, skipping empty windows", async () => {
    const clock = new VirtualClock();
    const flushes: [number, string[]][] = [];
    const items: [number, number][] = [
      [5, 5],
      [12, 12],
      [14, 14],
      [35, 35],
    ];
    const t = stream({
      to: ["done"],
      window: { durationMs: 10 },
      open: () => timed(clock, items, 45),
      processItem: (_ctx, n) => ({ output: `o${n}`, cursor: n }),
      flushWindow: ({ clock: c }, outputs) => {
        flushes.push([c.now(), outputs]);
        return "continue";
      },
      onClose: () => "done",
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("ingest"))).resolves.toBe("done");
    expect(flushes).toEqual([
      [10, ["o5"]],
      [20, ["o12", "o14"]],
      [40, ["o35"]],
    ]);
  });

  it("keeps an item that arrives exactly when a tick fires", async () => {
    const clock = new VirtualClock();
    const flushes: [number, number[]][] = [];
    const t = stream({
      to: ["done"],
      window: { durationMs: 10 },
      open: () =>
        timed(
          clock,
          [
            [10, 1],
            [20, 2],
            [30, 3],
          ],
          35,
        ),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: ({ clock: c }, outputs) => {
        flushes.push([c.now(), outputs]);
        return "continue";
      },
      onClose: () => "done",
    });
    await settle(clock, workflow(clock, t).orchestrate("ingest"));
    expect(flushes.flatMap(([, outputs]) => outputs)).toEqual([1, 2, 3]);
    expect(flushes).toEqual([
      [20, [1]],
      [30, [2]],
      [35, [3]],
    ]);
  });

  it("floors a sub-millisecond window at 1 ms", async () => {
    const clock = new VirtualClock();
    const t = stream({
      to: ["done"],
      window: { durationMs: 0.25 },
      open: () => timed(clock, [[0, 1]]),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: () => ({ stop: "done" }),
      onClose: () => "done",
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("ingest"))).resolves.toBe("done");
    expect(clock.now()).toBe(1);
  });

  it("ends at a stop with the stop's state", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const t = numbers(
      log,
      timed(clock, [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
      ]),
      { window: { count: 2 }, stopAt: 1 },
    );
    await expect(settle(clock, workflow(clock, t).orchestrate("ingest"))).resolves.toBe("halt");
    expect(log).toEqual(["open undefined", "item 1", "item 2", "flush o1,o2"]);
  });

  it("counts a processItem that exceeds attemptTimeoutMs as an item error", async () => {
    const clock = new VirtualClock();
    const outputs: number[] = [];
    const build = (onItemError: StreamErrorPolicy) =>
      stream({
        to: ["done"],
        attemptTimeoutMs: 50,
        onItemError,
        open: () =>
          timed(
            clock,
            [
              [1, 1],
              [2, 2],
              [3, 3],
            ],
            200,
          ),
        processItem: (_ctx, n) => (n === 2 ? new Promise<never>(() => {}) : { output: n, cursor: n }), // item 2 hangs
        flushWindow: (_ctx, window) => {
          outputs.push(...window);
          return "continue";
        },
        onClose: () => "done",
      });
    await expect(
      settle(clock, workflow(clock, build({ kind: "skip_and_continue" })).orchestrate("ingest")),
    ).resolves.toBe("done");
    expect(outputs).toEqual([1, 3]);
    const error = await failure(
      settle(clock, workflow(clock, build({ kind: "fail_fast" })).orchestrate("ingest")),
    );
    expect(error.code).toBe("timeout");
    expect(error.state).toBe("ingest");
    expect(error.message).toContain("exceeded attemptTimeoutMs (50 ms)");
  });

  it("drains on cancellation and fails the run with cancelled", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const log: string[] = [];
    const t = numbers(
      log,
      timed(clock, [
        [10, 1],
        [20, 2],
        [30, 3],
      ]),
      { window: { count: 5 } },
    );
    const run = workflow(clock, t).orchestrate("ingest", { signal: controller.signal });
    await clock.advance(25);
    controller.abort();
    const error = await failure(run);
    expect(error.code).toBe("cancelled");
    expect(error.state).toBe("ingest");
    expect(log).toEqual(["open undefined", "item 1", "item 2", "flush o1,o2", "close cancelled"]);
  });

  it("drains when the total timeout fires and fails the run with workflow_timeout", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const t = numbers(
      log,
      timed(clock, [
        [10, 1],
        [20, 2],
        [30, 3],
      ]),
      { window: { count: 5 } },
    );
    const run = workflow(clock, t).withTotalTimeout(25).orchestrate("ingest");
    const error = await failure(settle(clock, run));
    expect(error.code).toBe("workflow_timeout");
    expect(log.slice(-2)).toEqual(["flush o1,o2", "close cancelled"]);
  });

  it("rejects a cursor that is not plain JSON with a configuration error naming the state", async () => {
    const clock = new VirtualClock();
    const t = stream({
      to: ["done"],
      open: () => timed(clock, [[1, 1]], 2),
      processItem: (_ctx, n) => ({ output: n, cursor: new Date(n) }),
      flushWindow: () => "continue",
      onClose: () => "done",
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("ingest")));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain('state "ingest"');
  });
});

describe("stream callbacks that ignore the signal, in a workflow", () => {
  /** Items 1 and 2 at 10 and 20 ms; no more ever come. */
  const twoItems = (clock: VirtualClock) =>
    timed(clock, [
      [10, 1],
      [20, 2],
    ]);
  const cursorRows = async (store: MemoryCheckpointStore, workflowId: string) =>
    (await store.loadRun(workflowId)).filter((r) => r.kind === "cursor").map((r) => r.output);
  /** When `run` settled on `clock`'s time, however it settled. */
  const settledAt = (clock: VirtualClock, run: Promise<unknown>) =>
    run.then(
      () => clock.now(),
      () => clock.now(),
    );

  it("ends on cancel while processItem never settles, committing only the items before it", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const controller = new AbortController();
    const log: string[] = [];
    const t = stream({
      to: ["done"],
      window: { count: 5 },
      open: () => twoItems(clock),
      processItem: (_ctx, n) => {
        log.push(`item ${n}`);
        return n === 2 ? new Promise<never>(() => {}) : { output: `o${n}`, cursor: n }; // item 2 never settles
      },
      flushWindow: (_ctx, outputs) => {
        log.push(`flush ${outputs.join(",")}`);
        return "continue";
      },
      onClose: (_ctx, reason) => {
        log.push(`close ${reason}`);
        return "done";
      },
    });
    const run = workflow(clock, t)
      .withCheckpointStore(store)
      .orchestrate("ingest", { workflowId: "hang-item", signal: controller.signal });
    await clock.advance(25);
    controller.abort();
    const error = await failure(run);
    expect(error.code).toBe("cancelled");
    expect(error.state).toBe("ingest");
    expect(clock.now()).toBe(25);
    expect(log).toEqual(["item 1", "item 2", "flush o1", "close cancelled"]);
    expect(await cursorRows(store, "hang-item")).toEqual([1]); // item 2 is read again on resume
  });

  it("ends at the total timeout while flushWindow never settles, committing nothing for that window", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const log: string[] = [];
    const t = stream({
      to: ["done"],
      window: { count: 2 },
      open: () => twoItems(clock),
      processItem: (_ctx, n) => ({ output: `o${n}`, cursor: n }),
      flushWindow: (_ctx, outputs) => {
        log.push(`flush ${outputs.join(",")}`);
        return new Promise<never>(() => {}); // never settles, ignoring the signal
      },
      onClose: (_ctx, reason) => {
        log.push(`close ${reason}`);
        return "done";
      },
    });
    const run = workflow(clock, t)
      .withCheckpointStore(store)
      .withTotalTimeout(25)
      .orchestrate("ingest", { workflowId: "hang-flush" });
    const endedAt = settledAt(clock, run);
    const error = await failure(settle(clock, run));
    expect(error.code).toBe("workflow_timeout");
    expect(await endedAt).toBe(25);
    expect(log).toEqual(["flush o1,o2", "close cancelled"]);
    expect(await cursorRows(store, "hang-flush")).toEqual([]);
  });

  it("ends a drain whose flush hangs after drainTimeoutMs, with the run's reason, committing nothing", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const controller = new AbortController();
    const log: string[] = [];
    const t = stream({
      to: ["done"],
      window: { count: 5 },
      drainTimeoutMs: 100,
      open: () => twoItems(clock),
      processItem: (_ctx, n) => ({ output: `o${n}`, cursor: n }),
      flushWindow: ({ signal }, outputs) => {
        log.push(`flush ${outputs.join(",")}`);
        return signal.aborted ? new Promise<never>(() => {}) : "continue";
      },
      onClose: (_ctx, reason) => {
        log.push(`close ${reason}`);
        return "done";
      },
    });
    const run = workflow(clock, t)
      .withCheckpointStore(store)
      .orchestrate("ingest", { workflowId: "hang-drain", signal: controller.signal });
    const endedAt = settledAt(clock, run);
    await clock.advance(25);
    controller.abort();
    await clock.advance(99);
    expect(log).toEqual(["flush o1,o2"]);
    await clock.advance(1);
    expect(await endedAt).toBe(125);
    const error = await failure(run);
    expect(error.code).toBe("cancelled");
    expect(error.state).toBe("ingest");
    expect(log).toEqual(["flush o1,o2"]); // onClose was skipped with the rest of the drain
    expect(await cursorRows(store, "hang-drain")).toEqual([]);
  });

  it("ends a drain that hangs past the total timeout after drainTimeoutMs, with workflow_timeout", async () => {
    const clock = new VirtualClock();
    const t = stream({
      to: ["done"],
      window: { count: 5 },
      drainTimeoutMs: 1_000,
      open: () => twoItems(clock),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: () => new Promise<never>(() => {}),
      onClose: () => "done",
    });
    const run = workflow(clock, t).withTotalTimeout(25).orchestrate("ingest");
    const endedAt = settledAt(clock, run);
    expect((await failure(settle(clock, run))).code).toBe("workflow_timeout");
    expect(await endedAt).toBe(1_025);
  });

  it("lets a slow but well-behaved drain finish within drainTimeoutMs and commit as before", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const controller = new AbortController();
    const log: string[] = [];
    const t = stream({
      to: ["done"],
      window: { count: 5 },
      drainTimeoutMs: 100,
      open: () => twoItems(clock),
      processItem: (_ctx, n) => ({ output: `o${n}`, cursor: n }),
      flushWindow: async ({ signal }, outputs) => {
        if (signal.aborted) await clock.sleep(40); // a slow sink, still inside the budget
        log.push(`flush ${outputs.join(",")} at ${clock.now()}`);
        return "continue" as const;
      },
      onClose: (_ctx, reason) => {
        log.push(`close ${reason}`);
        return "done";
      },
    });
    const run = workflow(clock, t)
      .withCheckpointStore(store)
      .orchestrate("ingest", { workflowId: "slow-drain", signal: controller.signal });
    const endedAt = settledAt(clock, run);
    await clock.advance(25);
    controller.abort();
    await clock.advance(40);
    expect(await endedAt).toBe(65);
    expect((await failure(run)).code).toBe("cancelled");
    expect(log).toEqual(["flush o1,o2 at 65", "close cancelled"]);
    expect(await cursorRows(store, "slow-drain")).toEqual([2]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("stream with a checkpoint store", () => {
  it("commits a cursor row per flushed window and reopens a failed run after the last one", async () => {
    const store = new MemoryCheckpointStore();
    const opens: (number | undefined)[] = [];
    const processed: number[] = [];
    let crashes = 1;
    const build = () =>
      new Workflow<S>()
        .withCheckpointStore(store)
        .register(
          "ingest",
          stream({
            to: ["done"],
            window: { count: 2 },
            open: (_ctx, cursor: number | undefined) => {
              opens.push(cursor);
              return new ManualSource(
                [1, 2, 3, 4, 5].filter((n) => n > (cursor ?? 0)),
                true,
              );
            },
            processItem: (_ctx, n) => {
              processed.push(n);
              if (n === 4 && crashes-- > 0) throw new Error("crashed");
              return { output: n, cursor: n };
            },
            flushWindow: () => "continue",
            onClose: () => "done",
          }),
        )
        .exit("done", "halt");
    await failure(build().orchestrate("ingest", { workflowId: "run-1" }));
    const rows = await store.loadRun("run-1");
    expect(rows.filter((r) => r.kind === "cursor").map((r) => r.output)).toEqual([2]);
    await expect(build().resumeFrom("run-1")).resolves.toBe("done");
    expect(opens).toEqual([undefined, 2]);
    expect(processed).toEqual([1, 2, 3, 4, 3, 4, 5]); // item 3 is delivered again: at-least-once
  });

  it("commits the drained window on cancellation, so a resumed run reopens after it", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const controller = new AbortController();
    const log: string[] = [];
    const wf = workflow(
      clock,
      numbers(
        log,
        timed(clock, [
          [10, 1],
          [20, 2],
          [30, 3],
        ]),
        { window: { count: 5 } },
      ),
    );
    const run = wf
      .withCheckpointStore(store)
      .orchestrate("ingest", { workflowId: "run-2", signal: controller.signal });
    await clock.advance(25);
    controller.abort();
    expect((await failure(run)).code).toBe("cancelled");
    const rows = await store.loadRun("run-2");
    expect(rows.filter((r) => r.kind === "cursor").map((r) => r.output)).toEqual([2]);
  });
});

describe("stream properties", () => {
  it("commits the last cursor of each flushed window, in order, and processes each item once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        async (values, count) => {
          const { ctx, runtime, saved } = harness();
          const processed: number[] = [];
          const flushed: number[][] = [];
          const t = stream({
            window: { count },
            open: () =>
              new ManualSource(
                values.map((value, index) => ({ value, index })),
                true,
              ),
            processItem: (_ctx, { value, index }) => {
              processed.push(index);
              return { output: value, cursor: index };
            },
            flushWindow: (_ctx, outputs) => {
              flushed.push(outputs);
              return "continue";
            },
            onClose: () => "done",
          });
          await t.execute(ctx, runtime);
          const indices = values.map((_, index) => index);
          expect(processed).toEqual(indices);
          expect(flushed).toEqual(chunks(values, count));
          expect(saved).toEqual(chunks(indices, count).map((window) => window.at(-1)));
        },
      ),
    );
  });
});

describe("stream settings", () => {
  const phases = {
    open: () => new ManualSource<number>([], true),
    processItem: (_ctx: TaskContext, n: number) => ({ output: n, cursor: n }),
    flushWindow: () => "continue" as const,
    onClose: () => "done" as const,
  };

  it("is never retried and lets the engine cancel it cooperatively", () => {
    const t = stream(phases);
    expect(t).toMatchObject({ kind: "stream", retry: { kind: "none" }, cancellation: "cooperative" });
  });

  it.each([
    [{ count: 0 }, "window.count must be an integer ≥ 1, received 0"],
    [{ count: 1.5 }, "window.count must be an integer ≥ 1, received 1.5"],
    [{ durationMs: 0 }, "window.durationMs must be a finite number of milliseconds > 0, received 0"],
    [{ durationMs: Number.POSITIVE_INFINITY }, "received Infinity"],
    [{ durationMs: Number.NaN }, "received NaN"],
  ])("rejects window %o", (window, message) => {
    expect(() => stream({ ...phases, window })).toThrow(message);
  });

  it("rejects a bad maxErrors or policy, naming the stream", () => {
    const bad = () =>
      stream({ ...phases, name: "orders", onItemError: { kind: "retry_on_error", maxErrors: -1 } });
    expect(bad).toThrow(CanoError);
    expect(bad).toThrow('stream "orders": onItemError.maxErrors must be an integer ≥ 0, received -1');
    expect(() =>
      stream({ ...phases, onItemError: { kind: "retry" } as unknown as StreamErrorPolicy }),
    ).toThrow(/stream: onItemError must be .*received \{"kind":"retry"\}/);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("rejects drainTimeoutMs %s", (drainTimeoutMs) => {
    expect(() => stream({ ...phases, name: "orders", drainTimeoutMs })).toThrow(
      expect.objectContaining({
        code: "configuration",
        message: `stream "orders": drainTimeoutMs must be a finite number of milliseconds > 0, received ${drainTimeoutMs}`,
      }),
    );
  });

  it("accepts a drainTimeoutMs below 1 ms", () => {
    expect(stream({ ...phases, drainTimeoutMs: 0.5 }).kind).toBe("stream");
  });

  it("rejects a bad attemptTimeoutMs", () => {
    expect(() => stream({ ...phases, attemptTimeoutMs: 0 })).toThrow(/stream: attemptTimeoutMs must be/);
  });
});

describe("stream types", () => {
  it("infers item, output and cursor from the callbacks, and the targets from stop and onClose", () => {
    const declared = stream({
      to: ["done"],
      open: async function* (_ctx, cursor: number | undefined) {
        yield { id: cursor ?? 0 };
      },
      processItem: (_ctx, item) => {
        expectTypeOf(item).toEqualTypeOf<{ id: number }>();
        return { output: String(item.id), cursor: item.id };
      },
      flushWindow: (_ctx, outputs) => {
        expectTypeOf(outputs).toEqualTypeOf<string[]>();
        return "continue";
      },
      onClose: () => "done",
    });
    expectTypeOf(declared).toEqualTypeOf<Task<"done", unknown>>();
    const learned = stream({
      open: () => new ManualSource<number>(),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: (_ctx, outputs) => (outputs.length > 3 ? { stop: "halt" } : "continue"),
      onClose: (_ctx, reason) => (reason === "cancelled" ? "halt" : "done"),
    });
    expectTypeOf(learned).toEqualTypeOf<Task<"halt" | "done", unknown>>();
  });

  it("refuses undeclared states and mismatched cursors", () => {
    stream({
      // @ts-expect-error a flush may not stop at an undeclared state
      to: ["done"],
      open: () => new ManualSource<number>(),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: () => ({ stop: "elsewhere" }),
      onClose: () => "done",
    });
    stream({
      // @ts-expect-error onClose may not return an undeclared state
      to: ["done"],
      open: () => new ManualSource<number>(),
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: () => "continue",
      onClose: () => "elsewhere",
    });
    stream({
      open: (_ctx, _cursor: string | undefined) => new ManualSource<number>(),
      // @ts-expect-error processItem's cursor must be the type open resumes from
      processItem: (_ctx, n) => ({ output: n, cursor: n }),
      flushWindow: () => "continue",
      onClose: () => "done",
    });
    const _checks = (wf: Workflow<S>) => {
      // @ts-expect-error "elsewhere" is not a state of the workflow
      wf.register("ingest", stream({ ...phases, onClose: () => "elsewhere" }));
    };
    expectTypeOf(_checks).toBeFunction();
  });
});
