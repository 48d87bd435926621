import type { KeyLike, KeyValueStore } from "cano";
import { MemoryStore } from "cano";
import type { CronOptions } from "cano/cron";
import { catchUpRuns, cron, defaultGraceMs } from "cano/cron";
import { VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";
import { failure } from "../support/runs.ts";
import { hour, iso, job, minute, SleepyClock, scheduler } from "../support/schedules.ts";

/** Saturday 2026-03-07, 12:00 UTC. */
const noon = Date.UTC(2026, 2, 7, 12);

/**
 * An hourly flow started at 12:10 whose process sleeps from 12:30 to 17:30 (wall time): the fire
 * times 13:00 … 17:00 pass unseen, and the scheduler's next chunked wait wakes at 17:30:30.
 */
async function sleepThrough(options: CronOptions) {
  const clock = new SleepyClock(noon + 10 * minute);
  const { workflow, startedAt } = job(clock);
  const { scheduler: s, ofType } = scheduler(clock);
  const running = await s.add("hourly", workflow, "work", cron("0 * * * *", options)).start();
  await clock.advance(20 * minute);
  clock.jump(5 * hour);
  await clock.advance(30_000);
  const info = running.status("hourly");
  await running.stop();
  const skips = ofType("flow_skipped").map((e) => [iso(e.plannedAt), e.count, e.reason]);
  const causes = ofType("flow_start").map((e) => e.cause);
  return { startedAt: startedAt(), info, skips, causes };
}

describe("cron: catch-up after the process slept past fire times", () => {
  it("skip: runs none of the five missed fire times, and counts them", async () => {
    const { startedAt, info, skips } = await sleepThrough({ catchUp: "skip" });
    expect(startedAt).toEqual([]);
    expect(skips).toEqual([["2026-03-07T13:00:00.000Z", 5, "missed"]]);
    expect(info).toMatchObject({ runs: 0, skipped: 5, nextFireAt: Date.UTC(2026, 2, 7, 18) });
  });

  it("skip is the default", async () => {
    const { startedAt, info } = await sleepThrough({});
    expect(startedAt).toEqual([]);
    expect(info.skipped).toBe(5);
  });

  it("once: runs one catch-up run at the wake-up", async () => {
    const { startedAt, info, skips, causes } = await sleepThrough({ catchUp: "once" });
    expect(startedAt).toEqual(["2026-03-07T17:30:30.000Z"]);
    expect(causes).toEqual(["schedule"]);
    expect(skips).toEqual([["2026-03-07T13:00:00.000Z", 4, "missed"]]);
    expect(info).toMatchObject({ runs: 1, skipped: 4, nextFireAt: Date.UTC(2026, 2, 7, 18) });
  });

  it("all: runs every missed fire time, one after another", async () => {
    const { startedAt, info, skips, causes } = await sleepThrough({ catchUp: "all" });
    expect(startedAt).toEqual(Array(5).fill("2026-03-07T17:30:30.000Z"));
    expect(causes).toEqual(["schedule", "catch-up", "catch-up", "catch-up", "catch-up"]);
    expect(skips).toEqual([]);
    expect(info).toMatchObject({ runs: 5, skipped: 0 });
  });

  it("all with maxCatchUp: runs at most that many, and counts the rest as missed", async () => {
    const { startedAt, info, skips } = await sleepThrough({ catchUp: "all", maxCatchUp: 3 });
    expect(startedAt).toHaveLength(3);
    expect(skips).toEqual([["2026-03-07T13:00:00.000Z", 2, "missed"]]);
    expect(info).toMatchObject({ runs: 3, skipped: 2 });
  });

  it("all runs at most 10 by default", async () => {
    const clock = new SleepyClock(noon);
    const { workflow, starts } = job(clock);
    const running = await scheduler(clock)
      .scheduler.add("m", workflow, "work", cron("* * * * *", { catchUp: "all" }))
      .start();
    clock.jump(hour);
    await clock.advance(30_000);
    expect(starts).toHaveLength(10);
    expect(running.status("m").skipped).toBe(50);
    await running.stop();
  });
});

describe("cron: a wake-up that is only late (throttled timers)", () => {
  /** An hourly flow whose wake-up for 13:00 comes `lateMs` late; returns the run start times. */
  async function lateBy(lateMs: number, options: CronOptions = {}, expression = "0 * * * *") {
    const clock = new SleepyClock(Date.UTC(2026, 2, 7, 12, 59, 30));
    const { workflow, startedAt } = job(clock);
    const running = await scheduler(clock)
      .scheduler.add("f", workflow, "work", cron(expression, options))
      .start();
    clock.jump(lateMs); // the timer due at 13:00 fires `lateMs` after it, by the wall clock
    await clock.advance(30_000);
    await running.stop();
    return startedAt();
  }

  it("skip still runs an hourly fire time up to 60 s late", async () => {
    expect(await lateBy(20_000)).toEqual(["2026-03-07T13:00:20.000Z"]);
    expect(await lateBy(60_000)).toEqual(["2026-03-07T13:01:00.000Z"]);
    expect(await lateBy(60_001)).toEqual([]);
  });

  it("skip runs a per-second fire time up to 1 s late", async () => {
    // Starts 12:59:30: the fire time 12:59:31 is seen at 12:59:31.999 by the wall clock.
    const clock = new SleepyClock(Date.UTC(2026, 2, 7, 12, 59, 30));
    const { workflow, starts } = job(clock);
    const running = await scheduler(clock).scheduler.add("s", workflow, "work", cron("* * * * * *")).start();
    clock.jump(999);
    await clock.advance(1_000);
    expect(starts.map(iso)).toEqual(["2026-03-07T12:59:31.999Z"]);
    await running.stop();
  });

  it("graceMs replaces the default grace", async () => {
    expect(await lateBy(20_000, { graceMs: 0 })).toEqual([]);
    expect(await lateBy(5 * minute, { graceMs: 10 * minute })).toEqual(["2026-03-07T13:05:00.000Z"]);
  });

  it("once and all run a late fire time whatever the grace", async () => {
    expect(await lateBy(30 * minute, { catchUp: "once", graceMs: 0 })).toEqual(["2026-03-07T13:30:00.000Z"]);
    expect(await lateBy(30 * minute, { catchUp: "all" })).toEqual(["2026-03-07T13:30:00.000Z"]);
  });
});

describe("cron: catch-up after a restart, from a persisted last fire time", () => {
  /**
   * Runs an hourly flow from 12:05 to 14:05 (fires at 13:00 and 14:00), stops, and starts a new
   * scheduler (a new process) at 19:20 with the same store: 15:00 … 19:00 were missed while down.
   */
  async function restart(options: CronOptions, store: KeyValueStore | null = new MemoryStore()) {
    const trigger = () => cron("0 * * * *", { ...options, ...(store === null ? {} : { store }) });
    const first = new VirtualClock({ startMs: noon + 5 * minute });
    const before = job(first);
    const one = await scheduler(first).scheduler.add("report", before.workflow, "work", trigger()).start();
    await first.advance(2 * hour);
    await one.stop();
    expect(before.startedAt()).toEqual(["2026-03-07T13:00:00.000Z", "2026-03-07T14:00:00.000Z"]);

    const second = new VirtualClock({ startMs: Date.UTC(2026, 2, 7, 19, 20) });
    const after = job(second);
    const { scheduler: s, ofType } = scheduler(second);
    const two = await s.add("report", after.workflow, "work", trigger()).start();
    await second.advance(0);
    const info = two.status("report");
    await two.stop();
    const skips = ofType("flow_skipped").map((e) => [iso(e.plannedAt), e.count, e.reason]);
    return { startedAt: after.startedAt(), info, skips, causes: ofType("flow_start").map((e) => e.cause) };
  }

  it("all with maxCatchUp: runs three of the five missed fire times at start", async () => {
    const store = new MemoryStore();
    const { startedAt, info, skips, causes } = await restart(
      { catchUp: "all", maxCatchUp: 3, key: "report" },
      store,
    );
    expect(startedAt).toEqual(Array(3).fill("2026-03-07T19:20:00.000Z"));
    expect(causes).toEqual(["schedule", "catch-up", "catch-up"]);
    expect(skips).toEqual([["2026-03-07T15:00:00.000Z", 2, "missed"]]);
    expect(info).toMatchObject({ runs: 3, skipped: 2, nextFireAt: Date.UTC(2026, 2, 7, 20) });
    expect(iso((await store.get<number>("report"))!)).toBe("2026-03-07T19:00:00.000Z");
  });

  it("once: runs one catch-up run at start", async () => {
    const { startedAt, skips } = await restart({ catchUp: "once" });
    expect(startedAt).toEqual(["2026-03-07T19:20:00.000Z"]);
    expect(skips).toEqual([["2026-03-07T15:00:00.000Z", 4, "missed"]]);
  });

  it("skip: runs nothing at start, and counts the missed fire times", async () => {
    const { startedAt, skips, info } = await restart({ catchUp: "skip" });
    expect(startedAt).toEqual([]);
    expect(skips).toEqual([["2026-03-07T15:00:00.000Z", 5, "missed"]]);
    expect(info).toMatchObject({ runs: 0, skipped: 5, nextFireAt: Date.UTC(2026, 2, 7, 20) });
  });

  it("without a store, a new process knows of no missed fire time", async () => {
    const { startedAt, skips } = await restart({ catchUp: "all" }, null);
    expect(startedAt).toEqual([]);
    expect(skips).toEqual([]);
  });

  it("keeps the last fire time under a default key made of the flow id, the time zone and the expression", async () => {
    const store = new MemoryStore();
    await restart({ catchUp: "once", timezone: "Europe/Berlin" }, store);
    expect(await store.keys()).toEqual(["cano:cron:report:Europe/Berlin:0 * * * *"]);
    expect(cron("0 * * * *", { timezone: "Europe/Berlin" }).storeKey("report")).toBe(
      "cano:cron:report:Europe/Berlin:0 * * * *",
    );
  });

  it("gives two flows with the same expression and store a key each, also when they share one trigger", async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock({ startMs: noon + 5 * minute });
    const shared = cron("0 * * * *", { store });
    const running = await scheduler(clock)
      .scheduler.add("a", job(clock).workflow, "work", shared)
      .add("b", job(clock).workflow, "work", shared)
      .add("c", job(clock).workflow, "work", cron("0 * * * *", { store }))
      .start();
    await clock.advance(hour);
    await running.stop();
    expect((await store.keys()).sort()).toEqual([
      "cano:cron:a:UTC:0 * * * *",
      "cano:cron:b:UTC:0 * * * *",
      "cano:cron:c:UTC:0 * * * *",
    ]);
  });

  it("refuses at start a key option shared by two flows through one trigger", async () => {
    const clock = new VirtualClock({ startMs: noon });
    const shared = cron("0 * * * *", { store: new MemoryStore(), key: "report" });
    const s = scheduler(clock)
      .scheduler.add("a", job(clock).workflow, "work", shared)
      .add("b", job(clock).workflow, "work", shared);
    const error = await failure(s.start());
    expect(error.code).toBe("configuration");
    expect(error.message).toBe(
      'Scheduler: restoring the last fire time of flow "b" (cron "0 * * * *" (UTC)) failed: CanoError: cron "0 * * * *" (UTC): the store key "report" is already used by flow "a", so flow "b" would share its last fire time; give each flow its own cron() with its own key, or leave key out for a key per flow',
    );
  });

  it("saves one fire time at a time, in order, and stop() waits for the last save", async () => {
    const clock = new VirtualClock({ startMs: noon + 59 * minute });
    const puts: string[] = [];
    /** The first write takes 150 s, later ones 1 s: unchained, a later write would land first. */
    class SlowStore extends MemoryStore {
      override async put<T>(k: KeyLike<T>, value: T): Promise<void> {
        puts.push(`start ${iso(value as number)}`);
        await clock.sleep(puts.length === 1 ? 150_000 : 1_000);
        await super.put(k, value);
        puts.push(`end ${iso(value as number)}`);
      }
    }
    const store = new SlowStore();
    const running = await scheduler(clock)
      .scheduler.add("m", job(clock).workflow, "work", cron("* * * * *", { store, key: "m" }))
      .start();
    await clock.advance(3 * minute + 31_000); // fires at 13:00, 13:01, 13:02; now 13:02:31
    expect(puts).toEqual([
      "start 2026-03-07T13:00:00.000Z",
      "end 2026-03-07T13:00:00.000Z",
      // 13:01 was superseded by 13:02 while the first write was in progress.
      "start 2026-03-07T13:02:00.000Z",
      "end 2026-03-07T13:02:00.000Z",
    ]);
    await clock.advance(29_000); // 13:03:00: fired; its write takes 1 s
    let stopped = false;
    const stopping = running.stop().then((result) => {
      stopped = true;
      return result;
    });
    await clock.advance(999);
    expect(stopped).toBe(false);
    await clock.advance(1);
    expect(await stopping).toEqual({ timedOut: [], teardownErrors: [] });
    expect(iso((await store.get<number>("m"))!)).toBe("2026-03-07T13:03:00.000Z");
  });

  it("reports a save that did not end within stop's timeout as timed out", async () => {
    const clock = new VirtualClock({ startMs: noon + 59 * minute });
    class StuckStore extends MemoryStore {
      override put<T>(_key: KeyLike<T>, _value: T): Promise<void> {
        return new Promise(() => {});
      }
    }
    const running = await scheduler(clock)
      .scheduler.add(
        "m",
        job(clock).workflow,
        "work",
        cron("0 * * * *", { store: new StuckStore(), key: "m" }),
      )
      .start();
    await clock.advance(minute);
    const stopping = running.stop({ timeoutMs: 500 });
    await clock.advance(500);
    expect(await stopping).toEqual({ timedOut: ["m"], teardownErrors: [] });
  });

  it("fails start() when the stored last fire time is not a time", async () => {
    const store = new MemoryStore();
    await store.put("report", "yesterday");
    const clock = new VirtualClock({ startMs: noon });
    const { workflow } = job(clock);
    const s = scheduler(clock).scheduler.add(
      "r",
      workflow,
      "work",
      cron("0 * * * *", { store, key: "report" }),
    );
    const error = await failure(s.start());
    expect(error.code).toBe("store");
    expect(error.message).toBe(
      'Scheduler: restoring the last fire time of flow "r" (cron "0 * * * *" (UTC)) failed: CanoError: cron "0 * * * *" (UTC): the last fire time under key "report" is "yesterday", expected a time in ms since the epoch; delete the key to start afresh',
    );
  });
});

describe("cron: the catch-up decision, as a pure function", () => {
  it("decides by policy, lateness and grace", () => {
    const base = { planned: 5, lateMs: 90_000, graceMs: 60_000, maxCatchUp: 3 } as const;
    expect(catchUpRuns({ ...base, policy: "skip" })).toBe(0);
    expect(catchUpRuns({ ...base, policy: "skip", lateMs: 60_000 })).toBe(1);
    expect(catchUpRuns({ ...base, policy: "once" })).toBe(1);
    expect(catchUpRuns({ ...base, policy: "all" })).toBe(3);
    expect(catchUpRuns({ ...base, policy: "all", planned: 2 })).toBe(2);
    expect(catchUpRuns({ ...base, policy: "all", planned: 0 })).toBe(0);
  });

  it("grants half the gap to the next fire time as grace, between 1 s and 60 s", () => {
    expect(defaultGraceMs(1_000)).toBe(1_000);
    expect(defaultGraceMs(30_000)).toBe(15_000);
    expect(defaultGraceMs(hour)).toBe(60_000);
    expect(defaultGraceMs(undefined)).toBe(1_000);
  });
});
