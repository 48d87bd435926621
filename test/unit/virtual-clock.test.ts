import { VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";

/** Tracks whether `promise` has settled, without awaiting it. */
function track(promise: Promise<unknown>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => {
      state.settled = true;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe("VirtualClock", () => {
  it("starts at startMs (0 by default) and does not move on its own", async () => {
    expect(new VirtualClock().now()).toBe(0);
    const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
    await clock.flush();
    expect(clock.now()).toBe(1_700_000_000_000);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it("fires timers in due order, each at its due time", async () => {
    const clock = new VirtualClock({ startMs: 100 });
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.now()}`);
    clock.schedule(30, at("c"));
    clock.schedule(10, at("a"));
    clock.schedule(20, at("b"));
    clock.schedule(50, at("late"));
    expect(clock.pendingTimers).toBe(4);
    expect(clock.nextTimerAt()).toBe(110);
    await clock.advance(30);
    expect(fired).toEqual(["a@110", "b@120", "c@130"]);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(150);
  });

  it("fires timers due at the same time in scheduling order", async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    for (let i = 0; i < 20; i++) clock.schedule(i % 2 === 0 ? 5 : 10, () => fired.push(i));
    await clock.advance(10);
    expect(fired).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  });

  it("treats negative and NaN delays as 0, after timers already due now", async () => {
    const clock = new VirtualClock({ startMs: 50 });
    const fired: string[] = [];
    clock.schedule(0, () => fired.push("zero"));
    clock.schedule(-5, () => fired.push("negative"));
    clock.schedule(Number.NaN, () => fired.push("nan"));
    expect(clock.nextTimerAt()).toBe(50);
    await clock.advance(0);
    expect(fired).toEqual(["zero", "negative", "nan"]);
    expect(clock.now()).toBe(50);
  });

  it("never fires a cancelled timer, nor counts it as pending", async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const cancels = ["a", "b", "c", "d", "e"].map((label, i) =>
      clock.schedule(10 * (i + 1), () => fired.push(label)),
    );
    cancels[1]!();
    cancels[3]!();
    cancels[3]!(); // a second call does nothing
    expect(clock.pendingTimers).toBe(3);
    cancels[0]!();
    expect(clock.nextTimerAt()).toBe(30);
    await clock.runAll();
    expect(fired).toEqual(["c", "e"]);
    expect(clock.pendingTimers).toBe(0);
    cancels[2]!(); // cancelling after the timer fired does nothing
    expect(clock.pendingTimers).toBe(0);
  });

  it("keeps due order across many timers with interleaved cancels", async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const due = (i * 7_919) % 1_000;
      const cancel = clock.schedule(due, () => fired.push(i));
      if (i % 3 === 0) cancel();
      else expected.push(i);
    }
    expect(clock.pendingTimers).toBe(expected.length);
    expected.sort((a, b) => ((a * 7_919) % 1_000) - ((b * 7_919) % 1_000) || a - b);
    await clock.runAll({ maxTimers: 20_000 });
    expect(fired).toEqual(expected);
  });

  it("resolves sleep only once time has been advanced far enough", async () => {
    const clock = new VirtualClock();
    const slept = track(clock.sleep(100));
    await clock.flush();
    expect(slept.settled).toBe(false);
    await clock.advance(99);
    expect(slept.settled).toBe(false);
    await clock.advance(1);
    expect(slept).toEqual({ settled: true, error: undefined });
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects sleep on an already aborted signal with its reason, scheduling nothing", async () => {
    const clock = new VirtualClock();
    const reason = new Error("stop");
    await expect(clock.sleep(100, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects sleep when its signal aborts later, and drops its timer", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const slept = clock.sleep(100, controller.signal);
    const outcome = track(slept);
    await clock.advance(50);
    expect(outcome.settled).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error("cancelled by user");
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it("runs a chain of sleeps to the end in one advance, but not one millisecond short", async () => {
    const chain = (clock: VirtualClock) =>
      track(
        (async function f() {
          await clock.sleep(10);
          await clock.sleep(10);
          await clock.sleep(10);
        })(),
      );

    const short = new VirtualClock();
    const unfinished = chain(short);
    await short.advance(29);
    expect(unfinished.settled).toBe(false);
    expect(short.now()).toBe(29);
    expect(short.nextTimerAt()).toBe(30);

    const exact = new VirtualClock();
    const finished = chain(exact);
    await exact.advance(30);
    expect(finished).toEqual({ settled: true, error: undefined });
    expect(exact.now()).toBe(30);
  });

  it("settles awaits several async functions deep before choosing the next timer", async () => {
    const clock = new VirtualClock();
    const steps: string[] = [];
    const leaf = async (label: string) => {
      await clock.sleep(5);
      steps.push(`${label}@${clock.now()}`);
    };
    const middle = async (label: string) => {
      await Promise.resolve();
      await leaf(label);
      await Promise.resolve();
    };
    const outer = async () => {
      for (const label of ["a", "b", "c", "d"]) await middle(label);
    };
    const done = track(outer());
    await clock.advance(20);
    expect(steps).toEqual(["a@5", "b@10", "c@15", "d@20"]);
    expect(done.settled).toBe(true);
  });

  it("fires timers that callbacks schedule inside the window, in the same advance", async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.schedule(10, () => {
      fired.push(`first@${clock.now()}`);
      clock.schedule(5, () => fired.push(`nested@${clock.now()}`));
      clock.schedule(50, () => fired.push(`outside@${clock.now()}`));
    });
    clock.schedule(20, () => fired.push(`second@${clock.now()}`));
    await clock.advance(20);
    expect(fired).toEqual(["first@10", "nested@15", "second@20"]);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(60);
  });

  it("never moves time backwards and ends each advance exactly at start + ms", async () => {
    const clock = new VirtualClock({ startMs: 1_000 });
    const seen: number[] = [];
    for (const delay of [3, 250, 7, 7, 90]) clock.schedule(delay, () => seen.push(clock.now()));
    await clock.advance(100);
    expect(clock.now()).toBe(1_100);
    await clock.advance(0);
    expect(clock.now()).toBe(1_100);
    await clock.advance(400);
    expect(clock.now()).toBe(1_500);
    expect(seen).toEqual([1_003, 1_007, 1_007, 1_090, 1_250]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it("rejects a negative or non-finite advance with a configuration error", async () => {
    const clock = new VirtualClock();
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await clock.advance(ms).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ name: "CanoError", code: "configuration" });
    }
    expect(clock.now()).toBe(0);
  });

  it("lets pending continuations run on flush without moving time", async () => {
    const clock = new VirtualClock({ startMs: 5 });
    let scheduled = false;
    void (async () => {
      await Promise.resolve();
      await Promise.resolve();
      await null;
      clock.schedule(10, () => {});
      scheduled = true;
    })();
    await clock.flush();
    expect(scheduled).toBe(true);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.now()).toBe(5);
  });

  it("runs a 1,000-step chain of sleeps to completion with runAll", async () => {
    const clock = new VirtualClock();
    let steps = 0;
    const done = track(
      (async () => {
        for (let i = 0; i < 1_000; i++) {
          await clock.sleep(i % 2 === 0 ? 1 : 2);
          steps++;
        }
      })(),
    );
    await clock.runAll();
    expect(done).toEqual({ settled: true, error: undefined });
    expect(steps).toBe(1_000);
    expect(clock.now()).toBe(1_500);
    expect(clock.pendingTimers).toBe(0);
  });

  it("stops an endless chain of timers in runAll with a clear configuration error", async () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const tick = () => {
      ticks++;
      clock.schedule(1_000, tick);
    };
    clock.schedule(1_000, tick);
    const error = await clock.runAll({ maxTimers: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "CanoError", code: "configuration" });
    expect(error instanceof Error && error.message).toMatch(/VirtualClock\.runAll: fired 500 timers/);
    expect(error instanceof Error && error.message).toMatch(/endless loop/);
    expect(error instanceof Error && error.message).toMatch(/maxTimers/);
    expect(ticks).toBe(500);
    expect(clock.now()).toBe(500_000);
    expect(clock.pendingTimers).toBe(1);
  });

  it("does not throw when runAll fires exactly maxTimers timers", async () => {
    const clock = new VirtualClock();
    for (let i = 0; i < 3; i++) clock.schedule(i, () => {});
    await expect(clock.runAll({ maxTimers: 3 })).resolves.toBeUndefined();
    expect(clock.now()).toBe(2);
  });

  it("guards runAll with 10,000 timers by default", async () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const tick = () => {
      ticks++;
      clock.schedule(1, tick);
    };
    clock.schedule(1, tick);
    const error = await clock.runAll().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "CanoError", code: "configuration" });
    expect(ticks).toBe(10_000);
  });

  it("rejects sleep with the default AbortError when the signal aborts without a reason", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const slept = clock.sleep(1_000, controller.signal);
    const outcome = track(slept);
    controller.abort();
    await clock.flush();
    expect(outcome.settled).toBe(true);
    expect(outcome.error).toBe(controller.signal.reason);
    expect(outcome.error instanceof Error && outcome.error.name).toBe("AbortError");
    expect(clock.pendingTimers).toBe(0);
  });
});
