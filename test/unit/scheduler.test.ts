import type { Resource, RunningScheduler, SchedulerEvent } from "cano";
import { CanoError, MemoryCheckpointStore, none, saga, task, Workflow } from "cano";
import { VirtualClock } from "cano/testing";
import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { backoffPolicy } from "../../core/backoff.ts";
import { Scheduler } from "../../core/scheduler.ts";
import { decideOutcome } from "../../core/scheduler-status.ts";
import type { Trigger, TriggerWake } from "../../core/trigger.ts";
import { every } from "../../core/trigger.ts";
import { configurationError, failure } from "../support/runs.ts";
import type { S } from "../support/schedules.ts";
import { day, job, minute, runIdOf, SleepyClock, scheduler } from "../support/schedules.ts";

/** Fires every `periodMs` from its first call, whatever the flow is doing; records each wake-up. */
function ticker(periodMs: number, onWake?: (wake: TriggerWake) => number) {
  const wakes: TriggerWake[] = [];
  const trigger: Trigger = {
    description: `tick every ${periodMs} ms`,
    next: ({ now, lastFireAt }) => (lastFireAt === undefined ? now : lastFireAt + periodMs),
    onWake: (wake) => {
      wakes.push(wake);
      return onWake?.(wake) ?? 1;
    },
  };
  return { trigger, wakes };
}

describe("Scheduler: every", () => {
  it("runs at start, then a fixed delay after each run ends", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { ms: 300 });
    const running = await new Scheduler<S>({ clock }).every("sync", workflow, "work", 1_000).start();
    expect(running.status("sync").status).toBe("running");
    await clock.advance(5_000);
    expect(starts).toEqual([0, 1_300, 2_600, 3_900]);
    expect(running.status("sync")).toEqual({
      id: "sync",
      status: "completed",
      trigger: "every 1000 ms",
      streak: 0,
      runs: 4,
      failures: 0,
      cancelled: 0,
      skipped: 0,
      lastRunId: expect.stringMatching(runIdOf("sync", 4)),
      lastRunAt: 3_900,
      nextFireAt: 5_200,
    });
    await running.stop();
  });

  it("keeps hours of schedule on the virtual clock", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { ms: 60_000 });
    const running = await new Scheduler<S>({ clock }).every("hourly", workflow, "work", 3_540_000).start();
    await clock.advance(24 * 3_600_000 - 1);
    expect(starts).toHaveLength(24);
    expect(starts.at(-1)).toBe(23 * 3_600_000);
    await running.stop();
  });
});

describe("Scheduler: manual flows and trigger()", () => {
  it("runs a manual flow only when triggered, and refuses a second run while one is going", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { ms: 300 });
    const running = await new Scheduler<S>({ clock }).manual("reindex", workflow, "work").start();
    await clock.advance(10_000);
    expect(starts).toEqual([]);
    expect(running.status("reindex")).toMatchObject({ status: "idle", trigger: "manual", runs: 0 });
    const first = running.trigger("reindex");
    expect(first).toMatch(runIdOf("reindex", 1));
    expect(running.status("reindex")).toMatchObject({ status: "running", lastRunId: first });
    const refused = thrown(() => running.trigger("reindex"));
    expect(refused.code).toBe("workflow");
    expect(refused.message).toContain(`trigger("reindex") was refused: run "${first}" is still going`);
    await clock.advance(300);
    expect(running.status("reindex").status).toBe("completed");
    expect(running.trigger("reindex")).toMatch(runIdOf("reindex", 2));
    await clock.advance(300);
    expect(starts).toEqual([10_000, 10_300]);
    await running.stop();
  });

  it("bypasses a backoff window", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { fails: () => true });
    const { scheduler: s } = scheduler(clock);
    const running = await s.manual("m", workflow, "work").start();
    running.trigger("m");
    await clock.advance(0);
    expect(running.status("m")).toMatchObject({ status: "backoff", until: 1_000, streak: 1 });
    running.trigger("m");
    await clock.advance(0);
    expect(running.status("m")).toMatchObject({ status: "backoff", until: 2_000, streak: 2 });
    expect(starts).toEqual([0, 0]);
    await running.stop();
  });
});

describe("Scheduler: failures", () => {
  it("backs off 1 s, 2 s, 4 s, trips at the limit, refuses trigger() until reset", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { fails: () => true });
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s
      .every("flaky", workflow, "work", 100)
      .backoff("flaky", backoffPolicy({ trip: 4 }))
      .start();
    await clock.advance(7_000);
    expect(starts).toEqual([0, 1_000, 3_000, 7_000]);
    expect(ofType("flow_backoff").map((e) => [e.streak, e.delayMs, e.until])).toEqual([
      [1, 1_000, 1_000],
      [2, 2_000, 3_000],
      [3, 4_000, 7_000],
    ]);
    const tripped = running.status("flaky");
    expect(tripped).toMatchObject({ status: "tripped", streak: 4, failures: 4, runs: 4 });
    expect(tripped.status === "tripped" && tripped.lastError.code).toBe("task_execution");
    expect(ofType("flow_tripped")).toMatchObject([{ flowId: "flaky", streak: 4, at: 7_000 }]);
    const error = thrown(() => running.trigger("flaky"));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain("tripped after 4 failure(s) in a row");
    expect(error.message).toContain('call reset("flaky") first');
    // A tripped every flow plans nothing: no tick, no skip, no event.
    await clock.advance(1_000);
    expect(starts).toHaveLength(4);
    expect(running.status("flaky")).toMatchObject({ skipped: 0 });
    expect(running.status("flaky").nextFireAt).toBeUndefined();
    expect(ofType("flow_skipped")).toEqual([]);
    // reset plans again: the interval has long passed, so the flow runs at once.
    running.reset("flaky");
    expect(running.status("flaky")).toMatchObject({ status: "running", streak: 0 });
    await clock.advance(0);
    expect(starts).toEqual([0, 1_000, 3_000, 7_000, 8_000]);
    expect(running.status("flaky")).toMatchObject({ status: "backoff", streak: 1, until: 9_000 });
    await running.stop();
  });

  it("completes after a failure with the streak back at 0", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { fails: (run) => run <= 2 });
    const { scheduler: s } = scheduler(clock);
    // The wait after a failure is the longer of the interval and the backoff.
    const running = await s.every("f", workflow, "work", 100).start();
    await clock.advance(3_000);
    expect(starts).toEqual([0, 1_000, 3_000]);
    expect(running.status("f")).toMatchObject({ status: "completed", streak: 0, failures: 2, runs: 3 });
    await running.stop();
  });

  it("reset clears a backoff window, so the next tick is not pushed back", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { fails: (run) => run === 1 });
    const { scheduler: s } = scheduler(clock);
    const running = await s
      .every("f", workflow, "work", 500)
      .backoff("f", backoffPolicy({ initialMs: 60_000, jitter: 0 }))
      .start();
    await clock.advance(0);
    expect(running.status("f")).toMatchObject({ status: "backoff", until: 60_000, nextFireAt: 60_000 });
    running.reset("f");
    expect(running.status("f")).toMatchObject({ status: "idle", streak: 0, nextFireAt: 500 });
    await clock.advance(500);
    expect(starts).toEqual([0, 500]);
    await running.stop();
  });

  it("treats a clean cancellation as no failure, but one whose saga rollback failed as a failure", () => {
    const policy = backoffPolicy({ trip: 3 });
    const cancelled = new CanoError("cancelled", "stop");
    expect(decideOutcome(cancelled, 2, policy, 0, 0.5)).toEqual({
      outcome: "cancelled",
      status: { status: "idle" },
      streak: 2,
    });
    const dirty = new CanoError("compensation_failed", "dirty", {
      errors: [cancelled, new CanoError("task_execution", "refund broke")],
    });
    expect(decideOutcome(dirty, 1, policy, 0, 0.5)).toEqual({
      outcome: "failed",
      status: { status: "backoff", until: 2_000, streak: 2, lastError: dirty.toJSON() },
      streak: 2,
      delayMs: 2_000,
    });
    expect(decideOutcome(dirty, 2, policy, 0, 0.5)).toMatchObject({
      outcome: "failed",
      status: { status: "tripped", streak: 3, lastError: { code: "compensation_failed" } },
    });
    expect(decideOutcome(new CanoError("timeout", "slow"), 0, policy, 0, 0.5)).toMatchObject({
      outcome: "failed",
      status: { status: "backoff", streak: 1 },
    });
  });

  it("counts a cancelled run whose rollback failed as a failure: backoff, streak and last error", async () => {
    const clock = new VirtualClock();
    const workflow = new Workflow<"charge" | "ship" | "done">()
      .withClock(clock)
      .registerWithCompensation(
        "charge",
        saga({
          to: ["ship"],
          run: async () => ({ next: "ship", output: { amount: 5 } }),
          compensate: async () => {
            throw new Error("refund API down");
          },
        }),
      )
      .register(
        "ship",
        task({
          to: ["done"],
          retry: none(),
          run: ({ signal }) => clock.sleep(10_000, signal).then(() => "done" as const),
        }),
      )
      .exit("done");
    const events: string[] = [];
    const running = await new Scheduler<"charge" | "ship" | "done">({
      clock,
      random: () => 0.5,
      onEvent: (e) => events.push(e.type === "flow_end" ? `${e.outcome} ${e.error?.code}` : e.type),
    })
      .manual("pay", workflow, "charge")
      .start();
    running.trigger("pay");
    await clock.advance(100);
    expect(running.cancel("pay")).toBe(true);
    await clock.advance(0);
    const info = running.status("pay");
    expect(info).toMatchObject({ status: "backoff", streak: 1, failures: 1, cancelled: 0, until: 1_100 });
    expect(info.status === "backoff" && info.lastError.code).toBe("compensation_failed");
    expect(events).toEqual(["flow_start", "failed compensation_failed", "flow_backoff"]);
    await running.stop();
  });
});

describe("Scheduler: cancel", () => {
  it("cancels the run through its signal; the flow goes back to idle and it is no failure", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { ms: 10_000 });
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.every("long", workflow, "work", 1_000).start();
    await clock.advance(500);
    expect(running.cancel("long")).toBe(true);
    // The run is still ending: a second cancel does nothing, and says so.
    expect(running.cancel("long")).toBe(false);
    await clock.advance(0);
    expect(running.status("long")).toMatchObject({
      status: "idle",
      streak: 0,
      failures: 0,
      cancelled: 1,
      nextFireAt: 1_500,
    });
    expect(ofType("flow_end")).toMatchObject([
      { outcome: "cancelled", runId: expect.stringMatching(runIdOf("long", 1)), durationMs: 500 },
    ]);
    expect(ofType("flow_end")[0]?.error?.code).toBe("cancelled");
    expect(running.cancel("long")).toBe(false);
    await clock.advance(1_000);
    expect(starts).toEqual([0, 1_500]);
    await running.stop();
  });
});

describe("Scheduler: no overlap", () => {
  it("skips and counts ticks that fall inside a run", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { ms: 350 });
    const { trigger } = ticker(100);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("busy", workflow, "work", trigger).start();
    await clock.advance(850);
    expect(starts).toEqual([0, 400, 800]);
    expect(running.status("busy")).toMatchObject({ runs: 3, skipped: 6, status: "running" });
    expect(ofType("flow_skipped").map((e) => [e.plannedAt, e.reason, e.count])).toEqual([
      [100, "running", 1],
      [200, "running", 1],
      [300, "running", 1],
      [500, "running", 1],
      [600, "running", 1],
      [700, "running", 1],
    ]);
    await running.stop();
  });

  it("skips and counts ticks that fall inside a backoff window", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock, { fails: (run) => run === 1 });
    const { trigger } = ticker(100);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("f", workflow, "work", trigger).start();
    await clock.advance(1_000);
    expect(starts).toEqual([0, 1_000]);
    expect(running.status("f")).toMatchObject({ status: "completed", skipped: 9 });
    expect(new Set(ofType("flow_skipped").map((e) => e.reason))).toEqual(new Set(["backoff"]));
    await running.stop();
  });
});

describe("Scheduler: commands from onEvent", () => {
  /** The most runs of one flow going at once, from its flow_start and flow_end events. */
  function mostAtOnce(events: readonly SchedulerEvent[]): number {
    let going = 0;
    let most = 0;
    for (const event of events) {
      if (event.type === "flow_start") most = Math.max(most, ++going);
      if (event.type === "flow_end") going--;
    }
    return most;
  }

  it("refuses a trigger() made while a wake-up that starts a run reports its missed times", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock, { ms: 100 });
    const { trigger } = ticker(1_000, () => 1); // one run per wake-up; the other times are missed
    const events: SchedulerEvent[] = [];
    const refusals: string[] = [];
    let running: RunningScheduler | undefined;
    running = await new Scheduler<S>({
      clock,
      onEvent: (event) => {
        events.push(event);
        if (event.type !== "flow_skipped") return;
        try {
          running?.trigger("t");
        } catch (error) {
          refusals.push((error as Error).message);
        }
      },
    })
      .add("t", workflow, "work", trigger)
      .start();
    await clock.advance(200);
    clock.jump(3_000); // 1 000 … 4 000 pass unseen by the wall clock
    await clock.advance(1_000);
    expect(starts).toEqual([0, 4_000]);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(
      /^Scheduler: trigger\("t"\) was refused: run "t:2-[0-9a-f]{8}" is still going/,
    );
    expect(mostAtOnce(events)).toBe(1);
    await running.stop();
  });

  it("does not start an owed catch-up run next to a run a flow_end handler triggered", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock, { ms: 100 });
    const { trigger } = ticker(1_000, (wake) => wake.planned.length);
    const events: SchedulerEvent[] = [];
    let running: RunningScheduler | undefined;
    running = await new Scheduler<S>({
      clock,
      onEvent: (event) => {
        events.push(event);
        if (event.type === "flow_end" && event.at === 3_100) running?.trigger("t");
      },
    })
      .add("t", workflow, "work", trigger)
      .start();
    await clock.advance(200);
    clock.jump(2_000); // 1 000, 2 000, 3 000: three runs owed at the wake-up
    await clock.advance(1_000);
    expect(starts).toEqual([0, 3_000, 3_100]);
    const causes = events.flatMap((e) => (e.type === "flow_start" ? [e.cause] : []));
    expect(causes).toEqual(["schedule", "schedule", "manual"]);
    const skips = events.flatMap((e) => (e.type === "flow_skipped" ? [[e.count, e.reason]] : []));
    expect(skips).toEqual([[2, "running"]]);
    expect(mostAtOnce(events)).toBe(1);
    await running.stop();
  });
});

describe("Scheduler: run ids and checkpoints", () => {
  it("gives each run of a checkpointed flow its own id, so a failed run's log survives the next run", async () => {
    const clock = new VirtualClock();
    const store = new MemoryCheckpointStore();
    let calls = 0;
    const workflow = new Workflow<S>()
      .withClock(clock)
      .withCheckpointStore(store)
      .withWorkflowId("shared")
      .register(
        "work",
        task({
          to: ["done"],
          retry: none(),
          run: () => {
            if (++calls === 1) throw new Error("first run broke");
            return "done";
          },
        }),
      )
      .exit("done");
    const { scheduler: s } = scheduler(clock);
    const running = await s.every("etl", workflow, "work", 100).start();
    await clock.advance(0);
    const failed = running.status("etl").lastRunId!;
    expect(failed).toMatch(runIdOf("etl", 1));
    expect(running.status("etl")).toMatchObject({ status: "backoff", lastRunAt: 0 });
    expect((await store.loadRun(failed)).map((row) => row.state)).toEqual(["work"]);
    await clock.advance(1_000);
    const second = running.status("etl").lastRunId!;
    expect(second).toMatch(runIdOf("etl", 2));
    expect(running.status("etl")).toMatchObject({ status: "completed", runs: 2 });
    // The failed run's log is still there under its own id, and can be resumed.
    expect(await store.loadRun(failed)).toHaveLength(1);
    await expect(workflow.resumeFrom(failed)).resolves.toBe("done");
    expect(await store.loadRun(second)).toEqual([]);
    await running.stop();
  });

  it("keeps default run ids apart across a restart that shares one checkpoint store", async () => {
    const store = new MemoryCheckpointStore(); // stands for IndexedDB or a Durable Object that outlives the process
    const ids: string[] = [];
    for (const process of [1, 2]) {
      const clock = new VirtualClock({ startMs: process * 1_000_000 });
      let calls = 0;
      const workflow = new Workflow<S>()
        .withClock(clock)
        .withCheckpointStore(store)
        .register(
          "work",
          task({
            to: ["done"],
            retry: none(),
            run: () => {
              if (process === 1 && ++calls === 1) throw new Error("first run broke");
              return "done";
            },
          }),
        )
        .exit("done");
      const running = await scheduler(clock).scheduler.every("etl", workflow, "work", 100).start();
      await clock.advance(0);
      const info = running.status("etl");
      ids.push(info.lastRunId!);
      // The new process's first run is "etl:1-…" too, yet it does not meet the kept log of the old one.
      expect(info).toMatchObject({ status: process === 1 ? "backoff" : "completed", runs: 1 });
      await running.stop();
    }
    expect(ids[0]).toMatch(runIdOf("etl", 1));
    expect(ids[1]).toMatch(runIdOf("etl", 1));
    expect(ids[1]).not.toBe(ids[0]);
    expect(await store.loadRun(ids[0]!)).toHaveLength(1);
  });

  it("gives catch-up runs started in the same millisecond ids of their own", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock);
    const { trigger } = ticker(1_000, (wake) => wake.planned.length);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("t", workflow, "work", trigger).start();
    clock.jump(3_500); // 1 000, 2 000 and 3 000 pass unseen: three runs at 3 500, back to back
    await clock.advance(0);
    const ids = ofType("flow_start").map((e) => e.runId);
    expect(starts).toEqual([0, 3_500, 3_500, 3_500]);
    for (const [i, id] of ids.entries()) expect(id).toMatch(runIdOf("t", i + 1));
    expect(new Set(ids).size).toBe(4);
    await running.stop();
  });

  it("takes a runId option for ids that stay unique across processes", async () => {
    const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
    const { workflow } = job(clock);
    const running = await new Scheduler<S>({ clock, runId: (id, run, at) => `${id}@${at}#${run}` })
      .manual("m", workflow, "work")
      .start();
    expect(running.trigger("m")).toBe("m@1700000000000#1");
    await running.stop();
  });
});

describe("Scheduler: resources", () => {
  function recorded(
    log: string[],
    name: string,
    fail = false,
  ): Required<Pick<Resource, "setup" | "teardown">> {
    return {
      async setup() {
        log.push(`setup ${name}`);
        if (fail) throw new Error(`${name} is down`);
      },
      async teardown() {
        log.push(`teardown ${name}`);
      },
    };
  }

  function withResources(clock: VirtualClock, log: string[], flow: string, failSetup = false) {
    const resources = { db: recorded(log, `${flow}.db`), cache: recorded(log, `${flow}.cache`, failSetup) };
    return new Workflow<S, typeof resources>({ resources })
      .withClock(clock)
      .register(
        "work",
        task({
          to: ["done"],
          run: () => {
            log.push(`run ${flow}`);
            return "done";
          },
        }),
      )
      .exit("done");
  }

  it("sets each flow's resources up once for many runs, and tears them down last first at stop", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const a = withResources(clock, log, "a");
    const running = await new Scheduler<S>({ clock })
      .every("a", a, "work", 100)
      .every("a-again", a, "work", 100) // same workflow: its resources are set up once
      .every("b", withResources(clock, log, "b"), "work", 100)
      .start();
    await clock.advance(1_000);
    expect(log.filter((line) => line.startsWith("run a"))).toHaveLength(22);
    const result = await running.stop();
    expect(result).toEqual({ timedOut: [], teardownErrors: [] });
    expect(log.filter((line) => !line.startsWith("run"))).toEqual([
      "setup a.db",
      "setup a.cache",
      "setup b.db",
      "setup b.cache",
      "teardown b.cache",
      "teardown b.db",
      "teardown a.cache",
      "teardown a.db",
    ]);
  });

  it("tears down the flows already set up, last first, when a setup fails, and can start again", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const s = new Scheduler<S>({ clock })
      .every("a", withResources(clock, log, "a"), "work", 100)
      .every("b", withResources(clock, log, "b", true), "work", 100)
      .every("c", withResources(clock, log, "c"), "work", 100);
    const error = await failure(s.start());
    expect(error.code).toBe("resource");
    expect(error.message).toContain('Scheduler: setting up the resources of flow "b" failed');
    expect(error.message).toContain("b.cache is down");
    expect(log).toEqual([
      "setup a.db",
      "setup a.cache",
      "setup b.db",
      "setup b.cache",
      "teardown b.db",
      "teardown a.cache",
      "teardown a.db",
    ]);
    expect(clock.pendingTimers).toBe(0);
    expect((await failure(s.start())).code).toBe("resource");
  });
});

describe("Scheduler: stop", () => {
  function chargeThenShip(
    clock: VirtualClock,
    effects: string[],
    ship: (signal: AbortSignal) => Promise<"done">,
  ) {
    return new Workflow<"charge" | "ship" | "done">()
      .withClock(clock)
      .registerWithCompensation(
        "charge",
        saga({
          to: ["ship"],
          run: async () => {
            effects.push("charged");
            return { next: "ship", output: { amount: 5 } };
          },
          compensate: async ({ amount }) => {
            await clock.sleep(200);
            effects.push(`refunded ${amount}`);
          },
        }),
      )
      .register("ship", task({ to: ["done"], retry: none(), run: ({ signal }) => ship(signal) }))
      .exit("done");
  }

  it("cancels a run in flight and waits for its saga to roll back before tearing down", async () => {
    const clock = new VirtualClock();
    const effects: string[] = [];
    const workflow = chargeThenShip(clock, effects, (signal) =>
      clock.sleep(60_000, signal).then(() => "done" as const),
    );
    const running = await new Scheduler<"charge" | "ship" | "done">({ clock })
      .every("pay", workflow, "charge", 1_000)
      .start();
    await clock.advance(100);
    let result: unknown;
    const stopping = running.stop().then((r) => {
      result = r;
    });
    expect(() => running.trigger("pay")).toThrow("the scheduler is stopping");
    await clock.advance(199);
    expect(effects).toEqual(["charged"]);
    expect(result).toBeUndefined();
    await clock.advance(1);
    await stopping;
    expect(effects).toEqual(["charged", "refunded 5"]);
    expect(result).toEqual({ timedOut: [], teardownErrors: [] });
    expect(running.status("pay")).toMatchObject({ status: "idle", cancelled: 1, failures: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("bounds the wait for a run that does not stop, and returns the same result when called again", async () => {
    const clock = new VirtualClock();
    const effects: string[] = [];
    // A saga step is never interrupted: this one ignores the stop for a minute.
    const workflow = new Workflow<"charge" | "done">()
      .withClock(clock)
      .registerWithCompensation(
        "charge",
        saga({
          to: ["done"],
          run: async () => {
            await clock.sleep(60_000);
            effects.push("charged late");
            return { next: "done", output: null };
          },
          compensate: () => {},
        }),
      )
      .exit("done");
    const running = await new Scheduler<"charge" | "done">({ clock })
      .every("slow", workflow, "charge", 10)
      .start();
    const first = running.stop({ timeoutMs: 1_000 });
    const second = running.stop();
    expect(second).toBe(first);
    await clock.advance(1_000);
    expect(await first).toEqual({ timedOut: ["slow"], teardownErrors: [] });
    expect(await running.stop({ timeoutMs: 5 })).toEqual({ timedOut: ["slow"], teardownErrors: [] });
    await clock.advance(60_000);
    expect(effects).toEqual(["charged late"]);
    expect(running.status("slow")).toMatchObject({ status: "idle", cancelled: 1 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("refuses reset() and trigger() once stopping; cancel() then has nothing to cancel", async () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock);
    const running = await new Scheduler<S>({ clock }).manual("m", workflow, "work").start();
    await running.stop();
    const refused = thrown(() => running.reset("m"));
    expect(refused.code).toBe("workflow");
    expect(refused.message).toBe(
      'Scheduler: reset("m") was refused: the scheduler is stopping or has stopped',
    );
    expect(thrown(() => running.trigger("m")).message).toContain("the scheduler is stopping");
    expect(running.cancel("m")).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it("reports teardown failures in the result", async () => {
    const clock = new VirtualClock();
    const resources = {
      db: {
        teardown: () => {
          throw new Error("db would not close");
        },
      },
    };
    const workflow = new Workflow<S, typeof resources>({ resources })
      .withClock(clock)
      .register("work", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    const running = await new Scheduler<S>({ clock }).manual("m", workflow, "work").start();
    const result = await running.stop();
    expect(result.timedOut).toEqual([]);
    expect(result.teardownErrors.map((e) => [e.code, e.message])).toEqual([
      ["resource", 'Resources: teardown of "db" failed: Error: db would not close'],
    ]);
  });
});

describe("Scheduler: the Trigger port", () => {
  it("hands a late wake-up every planned time that passed and the real wake time", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock, { ms: 10 });
    const { trigger, wakes } = ticker(1_000, (wake) => wake.planned.length);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("t", workflow, "work", trigger).start();
    await clock.virtual.advance(500);
    clock.jump(3_200); // asleep from 500 to 3 700 (wall time); the timer for 1 000 has not fired
    await clock.virtual.advance(500);
    expect(wakes.map((w) => [w.planned, w.now, w.truncated])).toEqual([
      [[0], 0, false],
      [[1_000, 2_000, 3_000, 4_000], 4_200, false],
    ]);
    // "All" missed runs: one at once, the others back to back while they succeed.
    await clock.virtual.advance(40);
    expect(starts).toEqual([0, 4_200, 4_210, 4_220, 4_230]);
    expect(ofType("flow_start").map((e) => e.cause)).toEqual([
      "schedule",
      "schedule",
      "catch-up",
      "catch-up",
      "catch-up",
    ]);
    expect(running.status("t")).toMatchObject({ runs: 5, skipped: 0, nextFireAt: 5_000 });
    await running.stop();
  });

  it("drops the catch-up runs still owed when one fails, counting them as skipped", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock, { ms: 10, fails: (run) => run === 3 });
    const { trigger } = ticker(1_000, (wake) => wake.planned.length);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("t", workflow, "work", trigger).start();
    await clock.virtual.advance(100);
    clock.jump(4_000);
    await clock.virtual.advance(900);
    expect(starts).toEqual([0, 5_000]);
    await clock.virtual.advance(100);
    // Planned 1 000 … 5 000: the first two runs started, the second failed, three were owed.
    expect(starts).toEqual([0, 5_000, 5_010]);
    expect(ofType("flow_skipped").map((e) => [e.count, e.reason])).toEqual([[3, "backoff"]]);
    expect(running.status("t")).toMatchObject({ status: "backoff", runs: 3, skipped: 3, failures: 1 });
    await running.stop();
  });

  it("counts the planned times a late wake-up does not run as skipped (missed)", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock);
    const { trigger } = ticker(1_000, () => 0);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("t", workflow, "work", trigger).start();
    clock.jump(2_500);
    await clock.virtual.advance(1_000);
    expect(starts).toEqual([]);
    expect(ofType("flow_skipped").map((e) => [e.plannedAt, e.count, e.reason])).toEqual([
      [0, 1, "missed"],
      [1_000, 3, "missed"],
    ]);
    expect(running.status("t").skipped).toBe(4);
    await running.stop();
  });

  it("re-reads the clock at a wake-up that comes too early, and waits for the rest", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock);
    const { trigger, wakes } = ticker(1_000);
    const running = await new Scheduler<S>({ clock }).add("t", workflow, "work", trigger).start();
    clock.jump(-300); // the wall clock was set back
    await clock.virtual.advance(1_000);
    expect(starts).toEqual([0]);
    await clock.virtual.advance(300);
    expect(starts).toEqual([0, 1_000]);
    expect(wakes.at(-1)).toEqual({ planned: [1_000], now: 1_000, truncated: false });
    await running.stop();
  });

  it("keeps an every flow going when the wall clock is set back, one interval after it noticed", async () => {
    const clock = new SleepyClock(10 * day);
    const { workflow, starts } = job(clock);
    const running = await scheduler(clock).scheduler.every("h", workflow, "work", minute).start();
    await clock.advance(30_000);
    clock.jump(-day); // an NTP correction sets the wall clock back one day
    await clock.advance(10 * minute);
    // Noticed at the wake-up due 60 s after the first run; then every minute, by the new wall time.
    const back = 9 * day;
    expect(starts).toEqual([10 * day, ...[2, 3, 4, 5, 6, 7, 8, 9, 10].map((m) => back + m * minute)]);
    expect(running.status("h")).toMatchObject({ status: "completed", runs: 10, skipped: 0 });
    expect(running.status("h").nextFireAt).toBe(back + 11 * minute);
    await running.stop();
  });

  it("keeps what was left of a backoff window when the wall clock is set back", async () => {
    const clock = new SleepyClock(10 * day);
    const { workflow, starts } = job(clock, { fails: (run) => run === 1 });
    const running = await scheduler(clock)
      .scheduler.every("h", workflow, "work", 1_000)
      .backoff("h", backoffPolicy({ initialMs: minute, jitter: 0 }))
      .start();
    await clock.advance(30_000);
    clock.jump(-day);
    await clock.advance(minute);
    // The window of 60 s ended 60 s after the failure (by the timers), not a day later; the next
    // run came one interval after that.
    expect(starts.slice(0, 2)).toEqual([10 * day, 9 * day + 61_000]);
    expect(running.status("h")).toMatchObject({ status: "completed", streak: 0, failures: 1 });
    await running.stop();
  });

  it("waits in chunks of maxWaitMs, so a long sleep is noticed within one chunk", async () => {
    const clock = new SleepyClock();
    const { workflow, starts } = job(clock);
    const { trigger, wakes } = ticker(3_600_000);
    const running = await new Scheduler<S>({ clock, maxWaitMs: 30_000 })
      .add("t", workflow, "work", trigger)
      .start();
    await clock.virtual.advance(60_000);
    clock.jump(2 * 3_600_000); // asleep for two hours
    await clock.virtual.advance(30_000);
    expect(wakes.at(-1)).toEqual({ planned: [3_600_000, 7_200_000], now: 7_290_000, truncated: false });
    expect(starts).toEqual([0, 7_290_000]);
    await running.stop();
  });

  it("restores the last fire time at start, so fires missed while the process was down reach onWake", async () => {
    const clock = new VirtualClock({ startMs: 5_500 });
    const { workflow, starts } = job(clock);
    const saved: number[] = [];
    const wakes: TriggerWake[] = [];
    const trigger: Trigger = {
      description: "every second, persisted",
      next: ({ now, lastFireAt }) => (lastFireAt === undefined ? now : lastFireAt + 1_000),
      onWake: (wake) => {
        wakes.push(wake);
        return Math.min(1, wake.planned.length);
      },
      restore: async () => 1_000,
      save: async (lastFireAt) => {
        saved.push(lastFireAt);
      },
    };
    const running = await new Scheduler<S>({ clock }).add("t", workflow, "work", trigger).start();
    expect(wakes).toEqual([{ planned: [2_000, 3_000, 4_000, 5_000], now: 5_500, truncated: false }]);
    await clock.advance(1_000);
    expect(saved).toEqual([5_000, 6_000]);
    expect(starts).toEqual([5_500, 6_000]);
    expect(running.status("t").skipped).toBe(3);
    await running.stop();
  });

  it("lists at most 1 000 planned times per wake-up and says the list was truncated", async () => {
    const clock = new SleepyClock();
    const { workflow } = job(clock);
    const { trigger, wakes } = ticker(1);
    const running = await new Scheduler<S>({ clock }).add("t", workflow, "work", trigger).start();
    clock.jump(5_000);
    await clock.virtual.advance(1);
    expect(wakes[1]?.planned).toHaveLength(1_000);
    expect(wakes[1]).toMatchObject({ now: 5_000, truncated: true });
    // Everything up to the wake-up counts as handled: the next planned time is the one after it.
    expect(wakes[2]).toEqual({ planned: [5_001], now: 5_001, truncated: false });
    expect(running.status("t")).toMatchObject({ runs: 3, skipped: 999 });
    await running.stop();
  });

  it("trips a flow whose trigger answers nonsense, and says so in status and events", async () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock);
    const { scheduler: s, ofType } = scheduler(clock);
    let answer = Number.NaN;
    const trigger: Trigger = { description: "broken", next: () => answer };
    const running = await s.add("b", workflow, "work", trigger).start();
    const status = running.status("b");
    expect(status.status).toBe("tripped");
    expect(status.status === "tripped" && status.lastError.message).toContain(
      'Scheduler: the trigger of flow "b" (broken) returned NaN from next()',
    );
    expect(ofType("trigger_failed")).toMatchObject([{ flowId: "b", method: "next" }]);
    answer = 100;
    running.reset("b");
    expect(running.status("b")).toMatchObject({ status: "idle", nextFireAt: 100 });
    await running.stop();
  });

  it("counts the due time as skipped when next() fails while a wake-up lists the times that passed", async () => {
    const clock = new VirtualClock();
    const { workflow, starts } = job(clock);
    let broken = false;
    const trigger: Trigger = {
      description: "flaky next",
      next: ({ now, lastFireAt }) => {
        if (broken) throw new Error("next broke");
        return lastFireAt === undefined ? now : lastFireAt + 1_000;
      },
    };
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("n", workflow, "work", trigger).start();
    await clock.advance(500);
    broken = true;
    await clock.advance(500);
    const info = running.status("n");
    expect(info).toMatchObject({ status: "tripped", skipped: 1, runs: 1 });
    expect(info.status === "tripped" && info.lastError.message).toContain(
      "failed in next(): Error: next broke",
    );
    expect(ofType("flow_skipped").map((e) => [e.plannedAt, e.count, e.reason])).toEqual([
      [1_000, 1, "tripped"],
    ]);
    // The skipped time counts as handled: after a reset the flow goes on from the time after it.
    broken = false;
    running.reset("n");
    await clock.advance(1_000);
    expect(starts).toEqual([0, 2_000]);
    await running.stop();
  });

  it("falls back to no jitter when the random option throws, reporting it once", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const clock = new VirtualClock();
      const { workflow, starts } = job(clock, { fails: () => true });
      const random = () => {
        throw new Error("rng broke");
      };
      const running = await new Scheduler<S>({ clock, random }).every("k", workflow, "work", 100).start();
      await clock.advance(5_000);
      expect(starts).toEqual([0, 1_000, 3_000]);
      expect(running.status("k")).toMatchObject({ status: "backoff", streak: 3, until: 7_000 });
      expect(errors).toHaveBeenCalledTimes(1);
      expect(String(errors.mock.calls[0]?.[0])).toContain("random option failed (Error: rng broke)");
      expect(await running.stop()).toEqual({ timedOut: [], teardownErrors: [] });
    } finally {
      errors.mockRestore();
    }
  });

  it("emits plain JSON events with times from the clock", async () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock, { ms: 50, fails: (run) => run === 1 });
    const { scheduler: s, events } = scheduler(clock);
    const running = await s.every("e", workflow, "work", 100).start();
    await clock.advance(1_050);
    await running.stop();
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
    expect(events.map((e) => `${e.type}@${e.at}`)).toEqual([
      "flow_start@0",
      "flow_end@50",
      "flow_backoff@50",
      "flow_start@1050",
      "flow_end@1050",
    ]);
  });

  it("keeps the state types of each flow", () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock);
    const s = new Scheduler<S>({ clock });
    // @ts-expect-error "nope" is not a state of the workflow
    expect(() => s.every("x", workflow, "nope", 1_000)).not.toThrow();
    expectTypeOf(s.manual("y", workflow, "work")).toEqualTypeOf<Scheduler<S>>();
    expect(every(5).description).toBe("every 5 ms");
  });
});

describe("Scheduler: bad input", () => {
  it("refuses a duplicate id, naming it", () => {
    const { workflow } = job(new VirtualClock());
    const s = new Scheduler<S>().manual("a", workflow, "work");
    expect(configurationError(() => s.every("a", workflow, "work", 1_000)).message).toBe(
      'Scheduler: flow "a" already exists; give every flow its own id',
    );
  });

  it("refuses an interval that is not a positive number of milliseconds, naming the id and the value", () => {
    const { workflow } = job(new VirtualClock());
    const s = new Scheduler<S>();
    for (const interval of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(configurationError(() => s.every("tick", workflow, "work", interval)).message).toBe(
        `Scheduler: every("tick") expects intervalMs to be a finite number of milliseconds > 0, received ${interval}`,
      );
    }
    expect(configurationError(() => every(0)).message).toContain("every() expects intervalMs");
    expect(s.size).toBe(0);
  });

  it("refuses unknown ids before and after start", async () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock);
    const s = new Scheduler<S>({ clock }).manual("reindex", workflow, "work");
    expect(configurationError(() => s.backoff("reindx", backoffPolicy())).message).toBe(
      'Scheduler: backoff("reindx") names no registered flow; register it first. Did you mean "reindex"?',
    );
    const running = await s.start();
    for (const command of [
      () => running.trigger("nope"),
      () => running.cancel("nope"),
      () => running.status("nope"),
      () => running.reset("nope"),
    ]) {
      expect(configurationError(command).message).toMatch(
        /^Scheduler: (trigger|cancel|status|reset)\("nope"\) names no registered flow\. Known: "reindex"\.$/,
      );
    }
    await running.stop();
  });

  it("refuses a bad trigger, workflow or backoff policy, and changes after start", async () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock);
    const s = new Scheduler<S>({ clock });
    const notATrigger = { description: "x" } as unknown as Trigger;
    expect(configurationError(() => s.add("t", workflow, "work", notATrigger)).message).toContain(
      'flow "t" was given {"description":"x"} as its trigger',
    );
    expect(configurationError(() => s.add("", workflow, "work", every(1))).message).toContain(
      "flow ids must be non-empty strings",
    );
    s.manual("m", workflow, "work");
    expect(configurationError(() => s.backoff("m", { ...backoffPolicy(), jitter: 3 })).message).toBe(
      'Scheduler: backoff("m"): Backoff: jitter must be in [0, 1], received 3',
    );
    expect(configurationError(() => new Scheduler({ maxWaitMs: 0 })).message).toContain("maxWaitMs");
    const running = await s.start();
    expect(configurationError(() => s.manual("late", workflow, "work")).message).toContain(
      "add() after start()",
    );
    expect((await failure(s.start())).message).toContain("start() after start()");
    expect((await failure(running.stop({ timeoutMs: -1 }))).code).toBe("configuration");
    await running.stop();
  });

  it("validates every flow at start, naming the flow", async () => {
    const clock = new VirtualClock();
    const { workflow } = job(clock);
    const noExit = new Workflow<S>().register("work", task({ to: ["done"], run: () => "done" }));
    const bad = await failure(
      new Scheduler<S>({ clock }).manual("ok", workflow, "work").manual("x", noExit, "work").start(),
    );
    expect(bad.code).toBe("configuration");
    expect(bad.message).toContain('Scheduler: flow "x" cannot run: Workflow: 2 configuration problems');
    expect(bad.message).toContain("no exit states are defined");
    const unknown = await failure(
      new Scheduler<string>({ clock }).manual("y", workflow as Workflow<string>, "wrk").start(),
    );
    expect(unknown.message).toBe(
      'Scheduler: flow "y" cannot run: initial state "wrk" is neither registered nor an exit state of its workflow. Did you mean "work"?',
    );
  });
});

/** The CanoError `command` throws synchronously, whatever its code. */
function thrown(command: () => unknown): CanoError {
  try {
    command();
  } catch (error) {
    if (error instanceof CanoError) return error;
    throw error;
  }
  throw new Error("expected an error");
}
