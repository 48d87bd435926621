import type { Task, TaskContext } from "cano";
import { exponential, fixed, MemoryStore, none, saga, Workflow } from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import { describe, expect, expectTypeOf, it } from "vitest";
import { MemoryCheckpointStore } from "../../core/checkpoint.ts";
import { assertJson } from "../../core/json.ts";
import type { StepOutcome } from "../../core/stepped.ts";
import { done, more, stepped } from "../../core/stepped.ts";
import type { TaskRuntime } from "../../core/task.ts";
import { failure, settle } from "../support/runs.ts";

type S = "pages" | "done" | "failed";

/** Runs `run` on `clock` to completion, letting virtual time pass until it settles. */

function workflow(clock: VirtualClock, t: Task<"done" | "failed">) {
  return new Workflow<S>({ random: () => 0.5 }).withClock(clock).register("pages", t).exit("done", "failed");
}

/** A hand-made context and runtime: `attempts` retries up to `retries` times per call, like the engine should. */
function direct(options: { cursor?: unknown; retries?: number; signal?: AbortSignal } = {}) {
  const log: string[] = [];
  const saved: unknown[] = [];
  const ctx: TaskContext = {
    state: "pages",
    store: new MemoryStore(),
    resources: {},
    signal: options.signal ?? new AbortController().signal,
    attempt: 1,
    workflowId: "run-1",
    clock: new VirtualClock(),
  };
  const runtime: TaskRuntime<unknown> = {
    attempts: async (body) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await body({ ...ctx, attempt });
        } catch (error) {
          if (attempt > (options.retries ?? 0)) throw error;
        }
      }
    },
    cursor: options.cursor,
    saveCursor: async (cursor) => {
      assertJson(cursor, `the cursor saved by state "pages"`);
      log.push(`save ${JSON.stringify(cursor)}`);
      saved.push(cursor);
    },
  };
  return { ctx, runtime, log, saved };
}

/** Counts from the cursor to `last`, logging each step it is given. */
function counter(log: string[], last = 3) {
  return stepped({
    to: ["done"],
    retry: none(),
    step: (_ctx, cursor: number | undefined) => {
      log.push(`step ${JSON.stringify(cursor)}`);
      const next = (cursor ?? 0) + 1;
      return next > last ? done("done") : more(next);
    },
  });
}

describe("stepped in a workflow", () => {
  it("loops from undefined through each returned cursor until done", async () => {
    const clock = new VirtualClock();
    const seen: (number | undefined)[] = [];
    const t = stepped({
      to: ["done"],
      step: async ({ clock: c }, cursor: number | undefined) => {
        seen.push(cursor);
        await c.sleep(10);
        return cursor === 3 ? done("done") : more((cursor ?? 0) + 1);
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("pages"))).resolves.toBe("done");
    expect(seen).toEqual([undefined, 1, 2, 3]);
    expect(clock.now()).toBe(40);
  });

  it("retries a failed step with the same cursor", async () => {
    const clock = new VirtualClock();
    const calls: [number | undefined, number][] = [];
    const t = stepped({
      to: ["done"],
      retry: fixed(1, 10),
      step: ({ attempt }, cursor: number | undefined) => {
        calls.push([cursor, attempt]);
        if (attempt === 1 && cursor === undefined) throw new Error("flaky");
        return cursor === 1 ? done("done") : more(1);
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("pages"))).resolves.toBe("done");
    expect(calls.map(([cursor]) => cursor)).toEqual([undefined, undefined, 1]);
    expect(clock.now()).toBe(10);
  });

  it("gives every step its own retry budget and attempt numbers", async () => {
    const clock = new VirtualClock();
    const calls: [number | undefined, number][] = [];
    const t = stepped({
      to: ["done"],
      retry: fixed(1, 10),
      step: ({ attempt }, cursor: number | undefined) => {
        calls.push([cursor, attempt]);
        if (attempt === 1) throw new Error("flaky");
        return cursor === 2 ? done("done") : more((cursor ?? 0) + 1);
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("pages"))).resolves.toBe("done");
    expect(calls).toEqual([
      [undefined, 1],
      [undefined, 2],
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
  });

  it("bounds each step, not the whole loop, with attemptTimeoutMs", async () => {
    const clock = new VirtualClock();
    const t = stepped({
      to: ["done"],
      retry: none(),
      attemptTimeoutMs: 10,
      step: async ({ clock: c }, cursor: number | undefined) => {
        await c.sleep(8);
        return cursor === 4 ? done("done") : more((cursor ?? 0) + 1);
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("pages"))).resolves.toBe("done");
    expect(clock.now()).toBe(40);
  });

  it("fails a step that overruns attemptTimeoutMs with a timeout error", async () => {
    const clock = new VirtualClock();
    const t = stepped({
      to: ["done"],
      retry: none(),
      attemptTimeoutMs: 10,
      step: async ({ clock: c }, cursor: number | undefined) => {
        await c.sleep(cursor === 1 ? 50 : 1);
        return more((cursor ?? 0) + 1);
      },
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("pages")));
    expect(error.code).toBe("timeout");
    expect(error.state).toBe("pages");
  });

  it("rejects a cursor that is not plain JSON with a configuration error naming the state", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const t = stepped({
      to: ["done"],
      step: () => {
        calls++;
        return more(new Map([["page", 2]]));
      },
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("pages")));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain('state "pages"');
    expect(error.message).toContain("plain JSON");
    expect(calls).toBe(1); // a bad cursor is a bug, not a transient failure: never retried
  });

  it("fails with a workflow error when step returns something other than more() or done()", async () => {
    const clock = new VirtualClock();
    const t = stepped({
      step: () => "done" as unknown as StepOutcome<number, "done">,
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("pages")));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain("step returned done, expected more(cursor) or done(state)");
  });

  it("stops stepping once the run is cancelled", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const seen: (number | undefined)[] = [];
    const t = stepped({
      to: ["done"],
      step: async ({ clock: c }, cursor: number | undefined) => {
        seen.push(cursor);
        await c.sleep(10); // ignores the signal on purpose
        return more((cursor ?? 0) + 1);
      },
    });
    const run = workflow(clock, t).orchestrate("pages", { signal: controller.signal });
    await clock.advance(25);
    controller.abort();
    expect((await failure(run)).code).toBe("cancelled");
    await clock.runAll();
    expect(seen).toEqual([undefined, 1, 2]);
  });
});

describe("stepped with a checkpoint store", () => {
  it("saves a cursor row per step and resumes a failed run from the last one", async () => {
    const store = new MemoryCheckpointStore();
    const seen: (number | undefined)[] = [];
    let crashes = 1;
    const build = () =>
      new Workflow<S>()
        .withCheckpointStore(store)
        .register(
          "pages",
          stepped({
            to: ["done"],
            retry: none(),
            step: (_ctx, cursor: number | undefined) => {
              seen.push(cursor);
              if (cursor === 2 && crashes-- > 0) throw new Error("crashed");
              return cursor === 3 ? done("done") : more((cursor ?? 0) + 1);
            },
          }),
        )
        .exit("done", "failed");
    await failure(build().orchestrate("pages", { workflowId: "run-1" }));
    const rows = await store.loadRun("run-1");
    expect(rows.filter((r) => r.kind === "cursor").map((r) => [r.state, r.output])).toEqual([
      ["pages", 1],
      ["pages", 2],
    ]);
    await expect(build().resumeFrom("run-1")).resolves.toBe("done");
    expect(seen).toEqual([undefined, 1, 2, 2, 3]);
  });
});

describe("stepped after the engine stopped waiting", () => {
  it("saves no cursor row and runs no step once a late step finishes after cancel", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const recorder = new RecordingObserver();
    const controller = new AbortController();
    const seen: (number | undefined)[] = [];
    const t = stepped({
      to: ["done"],
      retry: none(),
      step: async (_ctx, cursor: number | undefined) => {
        seen.push(cursor);
        await clock.sleep(10); // ignores the signal on purpose
        return more((cursor ?? 0) + 1);
      },
    });
    const run = workflow(clock, t)
      .withCheckpointStore(store)
      .withObserver(recorder)
      .orchestrate("pages", { workflowId: "run-1", signal: controller.signal });
    await clock.advance(25);
    controller.abort();
    expect((await failure(run)).code).toBe("cancelled");
    const endedAt = recorder.ofType("run_end")[0]?.at;
    expect(endedAt).toBe(25);
    const atEnd = await store.loadRun("run-1");
    // The step started at 20 finishes at 30, after run_end: it must leave no trace.
    await clock.runAll();
    const rows = await store.loadRun("run-1");
    expect(rows).toEqual(atEnd);
    expect(rows.filter((r) => r.kind === "cursor").map((r) => r.output)).toEqual([1, 2]);
    expect(rows.every((r) => r.at <= 25)).toBe(true);
    expect(seen).toEqual([undefined, 1, 2]);
  });

  it("writes no cursor row after the cancel, even while the run is still rolling back", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    const recorder = new RecordingObserver();
    const controller = new AbortController();
    const seen: (number | undefined)[] = [];
    const wf = new Workflow<"reserve" | "pages" | "done">()
      .withClock(clock)
      .withCheckpointStore(store)
      .withObserver(recorder)
      .registerWithCompensation(
        "reserve",
        saga({
          to: ["pages"],
          run: () => ({ next: "pages", output: { id: 1 } }),
          compensate: () => clock.sleep(100), // the run ends only after this rollback, at 125
        }),
      )
      .register(
        "pages",
        stepped({
          to: ["done"],
          retry: none(),
          step: async (_ctx, cursor: number | undefined) => {
            seen.push(cursor);
            await clock.sleep(10); // ignores the signal on purpose
            return more((cursor ?? 0) + 1);
          },
        }),
      )
      .exit("done");
    const outcome = failure(wf.orchestrate("reserve", { workflowId: "run-2", signal: controller.signal }));
    await clock.advance(25);
    controller.abort();
    // The step started at 20 finishes at 30, inside the rollback: it must not save cursor 3.
    await clock.advance(10);
    const cursors = (await store.loadRun("run-2")).filter((r) => r.kind === "cursor");
    expect(cursors.map((r) => [r.output, r.at])).toEqual([
      [1, 10],
      [2, 20],
    ]);
    await clock.runAll();
    expect((await outcome).code).toBe("cancelled");
    expect(recorder.ofType("run_end")[0]?.at).toBe(125);
    expect(seen).toEqual([undefined, 1, 2]);
  });
});

describe("stepped, driven directly", () => {
  it("saves each cursor before the next step runs", async () => {
    const { ctx, runtime, log, saved } = direct();
    await expect(counter(log).execute(ctx, runtime)).resolves.toBe("done");
    expect(log).toEqual(["step undefined", "save 1", "step 1", "save 2", "step 2", "save 3", "step 3"]);
    expect(saved).toEqual([1, 2, 3]);
  });

  it("resumes from runtime.cursor", async () => {
    const { ctx, runtime, log } = direct({ cursor: 2 });
    await expect(counter(log).execute(ctx, runtime)).resolves.toBe("done");
    expect(log).toEqual(["step 2", "save 3", "step 3"]);
  });

  it("runs each step through runtime.attempts, so a retried step sees the same cursor", async () => {
    const { ctx, runtime, log, saved } = direct({ retries: 1 });
    const t = stepped({
      to: ["done"],
      step: ({ attempt }, cursor: string | undefined) => {
        log.push(`step ${cursor} #${attempt}`);
        if (attempt === 1) throw new Error("flaky");
        return cursor === "b" ? done("done") : more(cursor === undefined ? "a" : "b");
      },
    });
    await expect(t.execute(ctx, runtime)).resolves.toBe("done");
    expect(log).toEqual([
      "step undefined #1",
      "step undefined #2",
      'save "a"',
      "step a #1",
      "step a #2",
      'save "b"',
      "step b #1",
      "step b #2",
    ]);
    expect(saved).toEqual(["a", "b"]);
  });

  it("treats a string cursor as a cursor, not a state", async () => {
    const { ctx, runtime, saved } = direct();
    const t = stepped({
      step: (_ctx, cursor: string | undefined) => (cursor === "done" ? done("done") : more("done")),
    });
    await expect(t.execute(ctx, runtime)).resolves.toBe("done");
    expect(saved).toEqual(["done"]);
  });

  it("stops at the failed save and does not run the next step", async () => {
    const { ctx, runtime, log } = direct();
    const t = stepped({
      to: ["done"],
      step: (_ctx, cursor: number | undefined) => {
        log.push(`step ${cursor}`);
        return more(cursor === undefined ? 1 : Number.NaN);
      },
    });
    const error = await failure(t.execute(ctx, runtime));
    expect(error.code).toBe("configuration");
    expect(log).toEqual(["step undefined", "save 1", "step 1"]);
  });

  it("neither saves the cursor nor steps again when a step resolves after the signal fired", async () => {
    const controller = new AbortController();
    const { ctx, runtime, log, saved } = direct({ signal: controller.signal });
    let finish!: () => void;
    const t = stepped({
      to: ["done"],
      step: async (_ctx, cursor: number | undefined) => {
        log.push(`step ${JSON.stringify(cursor)}`);
        if (cursor === 1) await new Promise<void>((resolve) => (finish = resolve)); // ignores the signal
        return more((cursor ?? 0) + 1);
      },
    });
    const run = t.execute(ctx, runtime);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(log).toEqual(["step undefined", "save 1", "step 1"]);
    controller.abort("stop");
    finish();
    await expect(run).rejects.toBe("stop");
    expect(log).toEqual(["step undefined", "save 1", "step 1"]);
    expect(saved).toEqual([1]);
  });

  it("does not start a step once the signal has fired", async () => {
    const controller = new AbortController();
    controller.abort("stop");
    const { ctx, runtime, log } = direct({ signal: controller.signal });
    await expect(counter(log).execute(ctx, runtime)).rejects.toBe("stop");
    expect(log).toEqual([]);
  });
});

describe("stepped settings", () => {
  it("defaults to exponential(3) retries and race cancellation", () => {
    const t = stepped({ step: () => done("done") });
    expect(t.kind).toBe("stepped");
    expect(t.retry).toEqual(exponential(3));
    expect(t.cancellation).toBe("race");
    expect(t.to).toBeUndefined();
  });

  it("keeps the declared targets, name and resilience options", () => {
    const t = stepped({
      to: ["done"],
      name: "pager",
      retry: none(),
      attemptTimeoutMs: 5,
      step: () => done("done"),
    });
    expect(t).toMatchObject({ to: ["done"], name: "pager", retry: { kind: "none" }, attemptTimeoutMs: 5 });
  });

  it("rejects a bad attemptTimeoutMs when built", () => {
    expect(() => stepped({ attemptTimeoutMs: -1, step: () => done("done") })).toThrow(
      /stepped: attemptTimeoutMs must be .* > 0, received -1/,
    );
  });
});

describe("stepped types", () => {
  it("infers the cursor from step's parameter and the targets from done()", () => {
    const declared = stepped({
      to: ["done", "failed"],
      step: (_ctx, cursor: number | undefined) => (cursor === undefined ? more(1) : done("done")),
    });
    expectTypeOf(declared).toEqualTypeOf<Task<"done" | "failed", unknown>>();
    const learned = stepped({
      step: async (_ctx, cursor: { page: number } | undefined) =>
        cursor === undefined ? more({ page: 1 }) : cursor.page > 3 ? done("done") : done("failed"),
    });
    expectTypeOf(learned).toEqualTypeOf<Task<"done" | "failed", unknown>>();
  });

  it("refuses undeclared states and cursors of the wrong type", () => {
    stepped({
      // @ts-expect-error "elsewhere" is not among the declared targets (reported on the call's `to`)
      to: ["done"],
      step: (_ctx, c: number | undefined) => (c === undefined ? more(1) : done("elsewhere")),
    });
    // @ts-expect-error more() must carry the cursor type step receives
    stepped({ step: (_ctx, c: number | undefined) => (c === undefined ? more("one") : done("done")) });
    const _checks = (wf: Workflow<S>) => {
      // @ts-expect-error "elsewhere" is not a state of the workflow
      wf.register("pages", stepped({ step: () => done("elsewhere") }));
    };
    expectTypeOf(_checks).toBeFunction();
  });
});
