import type { RetryPolicy, Task } from "cano";
import { CanoError, exponential, fixed, isCanoError, none, PermanentError, Workflow } from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { BatchItemResult } from "../../core/batch.ts";
import { batch } from "../../core/batch.ts";
import { isRetryable } from "../../core/retryable.ts";
import { failure, settle } from "../support/runs.ts";

type S = "process" | "done" | "partial";

/** Runs `run` on `clock` to completion: lets virtual time pass until it settles. */

function workflow(clock: VirtualClock, t: Task<"done" | "partial">) {
  return new Workflow<S>({ random: () => 0.5 })
    .withClock(clock)
    .register("process", t)
    .exit("done", "partial");
}

/** Items that each sleep `durations[i]` ms on the clock, tracking how many are in flight. */
function timed(clock: VirtualClock, durations: readonly number[], concurrency: number) {
  const seen = {
    inFlight: 0,
    maxInFlight: 0,
    completed: [] as number[],
    results: [] as BatchItemResult<number>[],
  };
  const t = batch({
    to: ["done"],
    concurrency,
    load: () => durations.map((_, index) => index),
    processItem: async (index, { signal }) => {
      seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
      try {
        await clock.sleep(durations[index] ?? 0, signal);
      } finally {
        seen.inFlight--;
      }
      seen.completed.push(index);
      return index * 10;
    },
    finish: (_ctx, results) => {
      seen.results = results;
      return "done";
    },
  });
  return { t, seen };
}

describe("batch: order and concurrency", () => {
  it("keeps input order when items finish in reverse order (concurrency 3)", async () => {
    const clock = new VirtualClock();
    const { t, seen } = timed(clock, [60, 50, 40, 30, 20, 10], 3);
    await expect(settle(clock, workflow(clock, t).orchestrate("process"))).resolves.toBe("done");
    expect(seen.completed).not.toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.results).toEqual([0, 10, 20, 30, 40, 50].map((value) => ({ ok: true, value })));
    expect(seen.maxInFlight).toBe(3);
    expect(clock.pendingTimers).toBe(0);
  });

  it("processes one item at a time by default", async () => {
    const clock = new VirtualClock();
    const t = batch({
      to: ["done"],
      load: () => [10, 20, 30],
      processItem: (ms, { signal }) => clock.sleep(ms, signal).then(() => clock.now()),
      finish: (_ctx, results) => {
        expect(results).toEqual([10, 30, 60].map((value) => ({ ok: true, value })));
        return "done";
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("process"))).resolves.toBe("done");
    expect(clock.now()).toBe(60);
  });

  it("calls finish with no results for an empty load", async () => {
    const clock = new VirtualClock();
    let processed = 0;
    const t = batch({
      to: ["done", "partial"],
      concurrency: 4,
      load: () => [],
      processItem: () => processed++,
      finish: (_ctx, results) => (results.length === 0 ? "done" : "partial"),
    });
    await expect(workflow(clock, t).orchestrate("process")).resolves.toBe("done");
    expect(processed).toBe(0);
  });

  it("keeps input order and never exceeds concurrency, for any durations (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 6 }),
        async (durations, concurrency) => {
          const clock = new VirtualClock();
          const { t, seen } = timed(clock, durations, concurrency);
          await settle(clock, workflow(clock, t).orchestrate("process"));
          expect(seen.results).toEqual(durations.map((_, i) => ({ ok: true, value: i * 10 })));
          expect(seen.maxInFlight).toBe(Math.min(concurrency, durations.length));
          expect([...seen.completed].sort((a, b) => a - b)).toEqual(durations.map((_, i) => i));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("batch: item errors and item retries", () => {
  it("puts an item's error in its slot and still calls finish", async () => {
    const clock = new VirtualClock();
    let results: BatchItemResult<string>[] = [];
    const t = batch({
      to: ["done", "partial"],
      concurrency: 2,
      load: () => ["a", "b", "c", "d"],
      processItem: (item) => {
        if (item === "b") throw new Error("bad b");
        if (item === "d") throw "bad d";
        return item.toUpperCase();
      },
      finish: (_ctx, r) => {
        results = r;
        return r.every((x) => x.ok) ? "done" : "partial";
      },
    });
    await expect(workflow(clock, t).orchestrate("process")).resolves.toBe("partial");
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false]);
    expect(results[0]).toEqual({ ok: true, value: "A" });
    const [b, d] = [results[1], results[3]];
    if (b?.ok !== false || d?.ok !== false) throw new Error("expected failed slots");
    expect(isCanoError(b.error) && b.error.code).toBe("task_execution");
    expect((b.error.cause as Error).message).toBe("bad b");
    expect(b.error.message).toBe('Batch item 1 of state "process" threw: Error: bad b');
    expect(d.error.message).toContain('threw a non-Error value (string): "bad d"');
  });

  it("retries an item under itemRetry with its delays on the clock", async () => {
    const clock = new VirtualClock();
    const attempts: [number, number][] = [];
    const t = batch({
      to: ["done", "partial"],
      itemRetry: fixed(3, 100),
      load: () => ["flaky"],
      processItem: (_item, { attempt }) => {
        attempts.push([attempt, clock.now()]);
        if (attempt < 3) throw new Error(`try ${attempt}`);
        return "ok";
      },
      finish: (_ctx, results) => (results[0]?.ok ? "done" : "partial"),
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("process"))).resolves.toBe("done");
    expect(attempts).toEqual([
      [1, 0],
      [2, 100],
      [3, 200],
    ]);
  });

  it("uses exponential delays with jitter from the injected random source", async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const t = batch({
      to: ["done", "partial"],
      itemRetry: exponential(2, { baseMs: 100 }),
      random: () => 0.5,
      load: () => [1],
      processItem: () => {
        times.push(clock.now());
        throw new Error("down");
      },
      finish: (_ctx, results) => (results[0]?.ok ? "done" : "partial"),
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("process"))).resolves.toBe("partial");
    expect(times).toEqual([0, 100, 300]);
  });

  it("fills the slot with the last error once item retries run out, without retry_exhausted", async () => {
    const clock = new VirtualClock();
    let slot: BatchItemResult<never> | undefined;
    let calls = 0;
    const t = batch({
      to: ["partial"],
      retry: none(),
      itemRetry: fixed(2, 5),
      load: () => [1],
      processItem: (): never => {
        throw new Error(`failure ${++calls}`);
      },
      finish: (_ctx, results) => {
        slot = results[0];
        return "partial";
      },
    });
    await settle(clock, workflow(clock, t).orchestrate("process"));
    expect(calls).toBe(3);
    expect(slot?.ok === false && slot.error.code).toBe("task_execution");
    expect(slot?.ok === false && (slot.error.cause as Error).message).toBe("failure 3");
  });

  it("never retries an item that throws a PermanentError", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const t = batch({
      to: ["partial"],
      itemRetry: fixed(5, 10),
      load: () => [1],
      processItem: (): never => {
        calls++;
        throw new PermanentError("invalid row");
      },
      finish: () => "partial",
    });
    await settle(clock, workflow(clock, t).orchestrate("process"));
    expect(calls).toBe(1);
    expect(clock.now()).toBe(0);
  });
});

describe("batch: errors an item never retries", () => {
  /** A batch of one item that throws `thrown` every time, counting the calls. */
  function failingWith(thrown: unknown) {
    const seen = { calls: 0, slot: undefined as BatchItemResult<never> | undefined };
    const t = batch({
      to: ["partial"],
      retry: none(),
      itemRetry: fixed(5, 10),
      load: () => [1],
      processItem: (): never => {
        seen.calls++;
        throw thrown;
      },
      finish: (_ctx, results) => {
        seen.slot = results[0];
        return "partial";
      },
    });
    return { t, seen };
  }

  it.each([
    ["a configuration error", new CanoError("configuration", "bad settings")],
    [
      "an error with details.retryable false",
      new CanoError("task_execution", "bad row", { details: { retryable: false } }),
    ],
    ["a PermanentError", new PermanentError("gone")],
  ])("fills the slot at once with %s", async (_label, thrown) => {
    const clock = new VirtualClock();
    const { t, seen } = failingWith(thrown);
    await expect(settle(clock, workflow(clock, t).orchestrate("process"))).resolves.toBe("partial");
    expect(seen.calls).toBe(1);
    expect(seen.slot).toEqual({ ok: false, error: thrown });
    expect(clock.now()).toBe(0);
  });

  it("still retries an error with details.retryable true", async () => {
    const clock = new VirtualClock();
    const { t, seen } = failingWith(
      new CanoError("task_execution", "busy", { details: { retryable: true } }),
    );
    await settle(clock, workflow(clock, t).orchestrate("process"));
    expect(seen.calls).toBe(6);
    expect(clock.now()).toBe(50);
  });

  it("shares the engine's rule for what is retryable", () => {
    expect(isRetryable(new CanoError("task_execution", "flaky"))).toBe(true);
    expect(isRetryable(new CanoError("timeout", "slow"))).toBe(true);
    expect(isRetryable(new CanoError("configuration", "bug"))).toBe(false);
    expect(isRetryable(new CanoError("task_execution", "no", { details: { retryable: false } }))).toBe(false);
    expect(isRetryable(new PermanentError("no"))).toBe(false);
  });
});

describe("batch: the whole cycle", () => {
  it("aborts on a load error without processing items or calling finish", async () => {
    const clock = new VirtualClock();
    const calls = { process: 0, finish: 0 };
    const t = batch({
      to: ["done"],
      retry: none(),
      load: (): number[] => {
        throw new Error("no input");
      },
      processItem: () => calls.process++,
      finish: () => {
        calls.finish++;
        return "done";
      },
    });
    const error = await failure(workflow(clock, t).orchestrate("process"));
    expect((error.cause as Error).message).toBe("no input");
    expect(calls).toEqual({ process: 0, finish: 0 });
  });

  it("retries the whole load → process → finish cycle with exponential(3) by default", async () => {
    const clock = new VirtualClock();
    const recorder = new RecordingObserver();
    const calls = { load: 0, process: 0, finish: 0 };
    const t = batch({
      to: ["done"],
      load: () => {
        if (++calls.load === 1) throw new Error("store busy");
        return [1, 2];
      },
      processItem: () => calls.process++,
      finish: () => {
        if (++calls.finish === 1) throw new Error("finish failed");
        return "done";
      },
    });
    expect(t.retry).toEqual(exponential(3));
    const run = workflow(clock, t).withObserver(recorder).orchestrate("process");
    await expect(settle(clock, run)).resolves.toBe("done");
    expect(calls).toEqual({ load: 3, process: 4, finish: 2 });
    expect(recorder.ofType("retry").map((e) => e.delayMs)).toEqual([100, 200]);
    expect(clock.now()).toBe(300);
  });

  it("bounds the whole cycle with attemptTimeoutMs and starts no item after it", async () => {
    const clock = new VirtualClock();
    const started: number[] = [];
    const t = batch({
      to: ["done"],
      retry: none(),
      attemptTimeoutMs: 250,
      load: () => [0, 1, 2, 3, 4],
      processItem: (item, { signal }) => {
        started.push(item);
        return clock.sleep(100, signal);
      },
      finish: () => "done",
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("process")));
    expect(error.code).toBe("timeout");
    expect(started).toEqual([0, 1, 2]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("stops starting items once the run is cancelled", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const started: number[] = [];
    let finished = false;
    const t = batch({
      to: ["done"],
      concurrency: 2,
      load: () => [0, 1, 2, 3],
      processItem: (item) => {
        started.push(item);
        return clock.sleep(1_000); // ignores the signal: the engine must stop anyway
      },
      finish: () => {
        finished = true;
        return "done";
      },
    });
    const run = workflow(clock, t).orchestrate("process", { signal: controller.signal });
    await clock.advance(500);
    controller.abort();
    expect((await failure(run)).code).toBe("cancelled");
    await clock.runAll();
    expect(started).toEqual([0, 1]);
    expect(finished).toBe(false);
  });
});

describe("batch: configuration", () => {
  const hooks = { load: () => [1], processItem: (n: number) => n, finish: () => "done" as const };

  it("rejects a concurrency below 1 or not an integer", () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      expect(() => batch({ ...hooks, concurrency })).toThrow(
        expect.objectContaining({
          code: "configuration",
          message: `batch: concurrency must be an integer ≥ 1, received ${concurrency}. Use 1 to process one item at a time.`,
        }),
      );
    }
  });

  it("validates itemRetry when the task is built, naming the option", () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: "fixed", retries: Number.NaN, delayMs: 10 }, /retries must be an integer ≥ 0, received NaN/],
      [{ kind: "fixed", retries: 2, delayMs: -1 }, /fixed delayMs must be a finite number ≥ 0, received -1/],
      [{ kind: "exponential", retries: 2, jitter: 3 }, /exponential jitter must be in \[0, 1\], received 3/],
      [{ kind: "sometimes" }, /expected a policy made by none\(\), fixed\(\) or exponential\(\)/],
    ];
    for (const [itemRetry, message] of cases) {
      const build = () => batch({ ...hooks, itemRetry: itemRetry as RetryPolicy });
      expect(build).toThrow(expect.objectContaining({ code: "configuration" }));
      expect(build).toThrow(/^batch: itemRetry: Retry: /);
      expect(build).toThrow(message);
    }
  });

  it("fills in the defaults of a hand-built exponential itemRetry", async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const t = batch({
      to: ["done", "partial"],
      itemRetry: { kind: "exponential", retries: 1 } as RetryPolicy,
      random: () => 0.5,
      load: () => [1],
      processItem: () => {
        times.push(clock.now());
        throw new Error("down");
      },
      finish: () => "partial",
    });
    await settle(clock, workflow(clock, t).orchestrate("process"));
    expect(times).toEqual([0, 100]);
  });

  it("fails the run when load does not return an array", async () => {
    const clock = new VirtualClock();
    const t = batch({
      to: ["done"],
      retry: none(),
      load: () => "1,2,3" as unknown as number[],
      processItem: (n) => n,
      finish: () => "done",
    });
    const error = await failure(workflow(clock, t).orchestrate("process"));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain("batch: load must return an array of items, received string");
  });
});

describe("batch: types", () => {
  it("infers item and output types and refuses undeclared targets", () => {
    const t = batch({
      to: ["done", "partial"],
      load: async () => [{ url: "a" }],
      processItem: async (item) => {
        expectTypeOf(item).toEqualTypeOf<{ url: string }>();
        return item.url.length;
      },
      finish: (_ctx, results) => {
        expectTypeOf(results).toEqualTypeOf<BatchItemResult<number>[]>();
        return "done";
      },
    });
    expectTypeOf(t).toEqualTypeOf<Task<"done" | "partial", unknown>>();
    // @ts-expect-error "elsewhere" is not among the declared targets
    batch({ to: ["done"], load: () => [1], processItem: (n) => n, finish: () => "elsewhere" });
    const inferred = batch({ load: () => [1], processItem: (n) => n, finish: () => "partial" });
    expectTypeOf(inferred).toEqualTypeOf<Task<"partial", unknown>>();
  });
});
