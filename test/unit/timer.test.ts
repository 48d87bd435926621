import type { Task } from "cano";
import { fixed, key, MemoryStore, Workflow } from "cano";
import { VirtualClock } from "cano/testing";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { TimerWait } from "../../core/timer.ts";
import { timer } from "../../core/timer.ts";
import { failure, settle } from "../support/runs.ts";

type S = "sleep" | "done";

/** Runs `run` on `clock` to completion: lets virtual time pass until it settles. */

function workflow(clock: VirtualClock, t: Task<"done">) {
  return new Workflow<S>().withClock(clock).register("sleep", t).exit("done");
}

/** A timer that records the clock's time when `afterWait` runs. */
function recorded(clock: VirtualClock, wait: TimerWait) {
  const firedAt: number[] = [];
  const t = timer({
    to: ["done"],
    wait,
    afterWait: () => {
      firedAt.push(clock.now());
      return "done";
    },
  });
  return { t, firedAt };
}

describe("timer: wait forms", () => {
  it("waits a number of milliseconds, then calls afterWait once", async () => {
    const clock = new VirtualClock();
    const { t, firedAt } = recorded(clock, 5_000);
    const run = workflow(clock, t).orchestrate("sleep");
    await clock.advance(4_999);
    expect(firedAt).toEqual([]);
    await clock.advance(1);
    await expect(run).resolves.toBe("done");
    expect(firedAt).toEqual([5_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("waits { delayMs }", async () => {
    const clock = new VirtualClock({ startMs: 1_000 });
    const { t, firedAt } = recorded(clock, { delayMs: 250 });
    await expect(settle(clock, workflow(clock, t).orchestrate("sleep"))).resolves.toBe("done");
    expect(firedAt).toEqual([1_250]);
  });

  it("waits until { untilMs }, an epoch time on the workflow's clock", async () => {
    const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
    const { t, firedAt } = recorded(clock, { untilMs: 1_700_000_060_000 });
    await expect(settle(clock, workflow(clock, t).orchestrate("sleep"))).resolves.toBe("done");
    expect(firedAt).toEqual([1_700_000_060_000]);
  });

  it("fires at once for an untilMs in the past, without sleeping", async () => {
    const clock = new VirtualClock({ startMs: 10_000 });
    const { t, firedAt } = recorded(clock, { untilMs: 9_000 });
    // No settle: a sleeping timer would leave the run waiting on the clock.
    await expect(workflow(clock, t).orchestrate("sleep")).resolves.toBe("done");
    expect(firedAt).toEqual([10_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("computes the wait with a function when the state is entered", async () => {
    const clock = new VirtualClock({ startMs: 500 });
    const store = new MemoryStore();
    const delay = key<number>("delay");
    await store.put(delay, 750);
    const t = timer({
      to: ["done"],
      wait: async ({ store }) => ({ delayMs: (await store.get(delay)) ?? 0 }),
      afterWait: () => "done",
    });
    const wf = new Workflow<S>({ store }).withClock(clock).register("sleep", t).exit("done");
    await expect(settle(clock, wf.orchestrate("sleep"))).resolves.toBe("done");
    expect(clock.now()).toBe(1_250);
  });

  it("accepts a function returning a number or { untilMs }", async () => {
    const clock = new VirtualClock({ startMs: 100 });
    const t1 = timer({ to: ["done"], wait: () => 40, afterWait: () => "done" });
    await settle(clock, workflow(clock, t1).orchestrate("sleep"));
    expect(clock.now()).toBe(140);
    const t2 = timer({
      to: ["done"],
      wait: ({ clock: c }) => ({ untilMs: c.now() + 60 }),
      afterWait: () => "done",
    });
    await settle(clock, workflow(clock, t2).orchestrate("sleep"));
    expect(clock.now()).toBe(200);
  });
});

describe("timer: attempt timeout, retries, cancellation", () => {
  it("caps the wait with attemptTimeoutMs (timeout) and never calls afterWait", async () => {
    const clock = new VirtualClock();
    let afterWaitCalls = 0;
    const capped = timer({
      to: ["done"],
      wait: 10_000,
      attemptTimeoutMs: 1_000,
      afterWait: () => {
        afterWaitCalls++;
        return "done";
      },
    });
    expect(capped.kind).toBe("timer");
    expect(capped.retry).toEqual({ kind: "none" });
    const error = await failure(settle(clock, workflow(clock, capped).orchestrate("sleep")));
    expect(error.code).toBe("timeout");
    expect(clock.now()).toBe(1_000);
    expect(afterWaitCalls).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("caps the wait plus afterWait as one attempt", async () => {
    const clock = new VirtualClock();
    const t = timer({
      to: ["done"],
      wait: 600,
      attemptTimeoutMs: 1_000,
      afterWait: ({ signal }) => clock.sleep(600, signal).then(() => "done" as const),
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("sleep")));
    expect(error.code).toBe("timeout");
    expect(clock.now()).toBe(1_000);
  });

  it("waits again from scratch when a configured retry re-runs the attempt", async () => {
    const clock = new VirtualClock();
    const firedAt: number[] = [];
    const t = timer({
      to: ["done"],
      wait: 300,
      retry: fixed(1, 50),
      afterWait: () => {
        firedAt.push(clock.now());
        if (firedAt.length === 1) throw new Error("not yet");
        return "done";
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("sleep"))).resolves.toBe("done");
    expect(firedAt).toEqual([300, 650]);
  });

  it("stops waiting when the run is cancelled, leaving no timer behind", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { t, firedAt } = recorded(clock, 60_000);
    const run = workflow(clock, t).orchestrate("sleep", { signal: controller.signal });
    await clock.flush();
    expect(clock.pendingTimers).toBe(1);
    controller.abort();
    expect((await failure(run)).code).toBe("cancelled");
    expect(clock.pendingTimers).toBe(0);
    expect(firedAt).toEqual([]);
  });
});

describe("timer: configuration", () => {
  const afterWait = () => "done" as const;

  it("rejects a bad fixed wait when the task is built", () => {
    const cases: [TimerWait, RegExp][] = [
      [-1, /timer: wait must be a finite number of milliseconds ≥ 0, received -1/],
      [Number.NaN, /timer: wait must be .* received NaN/],
      [{ delayMs: Number.POSITIVE_INFINITY }, /timer: wait\.delayMs must be .* received Infinity/],
      [{ delayMs: -5 }, /timer: wait\.delayMs must be .* received -5/],
      [
        { untilMs: Number.NaN },
        /timer: wait\.untilMs must be a finite epoch time in milliseconds, received NaN/,
      ],
      [
        {} as TimerWait,
        /timer: wait must be milliseconds ≥ 0, \{ delayMs \} or \{ untilMs \}.* received \{\}/,
      ],
      [
        { delayMs: 1, untilMs: 2 } as TimerWait,
        /exactly one of them\), received \{"delayMs":1,"untilMs":2\}/,
      ],
    ];
    for (const [wait, message] of cases) {
      expect(() => timer({ wait, afterWait })).toThrow(expect.objectContaining({ code: "configuration" }));
      expect(() => timer({ wait, afterWait })).toThrow(message);
    }
  });

  it("fails the run with a configuration error when a wait function returns a bad value", async () => {
    const clock = new VirtualClock();
    const t = timer({ to: ["done"], wait: () => ({ delayMs: -10 }), afterWait });
    const error = await failure(workflow(clock, t).orchestrate("sleep"));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain(
      "timer: wait(ctx).delayMs must be a finite number of milliseconds ≥ 0, received -10",
    );
  });
});

describe("timer: types", () => {
  it("infers the declared targets and refuses undeclared ones", () => {
    const t = timer({ to: ["done"], wait: 1, afterWait: () => "done" });
    expectTypeOf(t).toEqualTypeOf<Task<"done", unknown>>();
    // @ts-expect-error "later" is not among the declared targets
    timer({ to: ["done"], wait: 1, afterWait: () => "later" });
    const inferred = timer({ wait: { delayMs: 1 }, afterWait: async () => "done" });
    expectTypeOf(inferred).toEqualTypeOf<Task<"done", unknown>>();
  });
});
