import { cron } from "cano/cron";
import { VirtualClock } from "cano/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { day, hour, iso, job, minute, runIdOf, SleepyClock, scheduler } from "../support/schedules.ts";

/** Saturday 2026-03-07, 12:00 UTC. */
const start = Date.UTC(2026, 2, 7, 12);

describe("cron: fire times on the scheduler", () => {
  it("fires a 5-field expression at its exact times, and shows it in status", async () => {
    const clock = new VirtualClock({ startMs: start });
    const { workflow, startedAt } = job(clock);
    const { scheduler: s } = scheduler(clock);
    const running = await s.add("sixhourly", workflow, "work", cron("0 */6 * * *")).start();
    expect(running.status("sixhourly")).toMatchObject({
      status: "idle",
      trigger: 'cron "0 */6 * * *" (UTC)',
      nextFireAt: Date.UTC(2026, 2, 7, 18),
    });
    await clock.advance(day);
    expect(startedAt()).toEqual([
      "2026-03-07T18:00:00.000Z",
      "2026-03-08T00:00:00.000Z",
      "2026-03-08T06:00:00.000Z",
      "2026-03-08T12:00:00.000Z",
    ]);
    expect(running.status("sixhourly")).toMatchObject({
      status: "completed",
      runs: 4,
      skipped: 0,
      lastRunId: expect.stringMatching(runIdOf("sixhourly", 4)),
      nextFireAt: Date.UTC(2026, 2, 8, 18),
    });
    await running.stop();
  });

  it("fires a 6-field expression to the second", async () => {
    const clock = new VirtualClock({ startMs: start });
    const { workflow, startedAt } = job(clock);
    const { scheduler: s } = scheduler(clock);
    const running = await s.add("seconds", workflow, "work", cron("15,45 * * * * *")).start();
    await clock.advance(2 * minute);
    expect(startedAt()).toEqual([
      "2026-03-07T12:00:15.000Z",
      "2026-03-07T12:00:45.000Z",
      "2026-03-07T12:01:15.000Z",
      "2026-03-07T12:01:45.000Z",
    ]);
    await running.stop();
  });

  it("reads the expression in its time zone: a half-hour offset, weekdays only", async () => {
    const clock = new VirtualClock({ startMs: start });
    const { workflow, startedAt } = job(clock);
    const { scheduler: s } = scheduler(clock, { maxWaitMs: hour });
    const trigger = cron("0 9 * * 1-5", { timezone: "Asia/Kolkata" });
    const running = await s.add("standup", workflow, "work", trigger).start();
    await clock.advance(3 * day);
    // Saturday and Sunday pass; 09:00 IST is 03:30 UTC.
    expect(startedAt()).toEqual(["2026-03-09T03:30:00.000Z", "2026-03-10T03:30:00.000Z"]);
    await running.stop();
  });

  it("skips and counts fire times that fall inside a run", async () => {
    const clock = new VirtualClock({ startMs: start });
    const { workflow, starts } = job(clock, { ms: 2_500 });
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("busy", workflow, "work", cron("* * * * * *")).start();
    await clock.advance(7_000);
    expect(starts.map((at) => (at - start) / 1_000)).toEqual([1, 4, 7]);
    expect(ofType("flow_skipped").map((e) => [(e.plannedAt - start) / 1_000, e.reason])).toEqual([
      [2, "running"],
      [3, "running"],
      [5, "running"],
      [6, "running"],
    ]);
    expect(running.status("busy")).toMatchObject({ runs: 3, skipped: 4, status: "running" });
    await running.stop();
  });

  it("never fires a fire time twice when the wall clock is set back, and goes on once it is reached again", async () => {
    const clock = new SleepyClock(start + 30_000);
    const { workflow, starts } = job(clock);
    const { scheduler: s, ofType } = scheduler(clock);
    const running = await s.add("m", workflow, "work", cron("* * * * *")).start();
    await clock.advance(minute); // fires at 12:01
    clock.jump(-10 * minute); // the wall clock now reads 11:51:30
    await clock.advance(10 * minute); // 12:01:30 again by the wall clock
    expect(starts.map(iso)).toEqual(["2026-03-07T12:01:00.000Z"]);
    expect(running.status("m")).toMatchObject({ skipped: 0, nextFireAt: start + 2 * minute });
    await clock.advance(minute);
    expect(starts.map(iso)).toEqual(["2026-03-07T12:01:00.000Z", "2026-03-07T12:02:00.000Z"]);
    expect(ofType("trigger_failed")).toEqual([]);
    await running.stop();
  });

  describe("the adapter never sets a timer itself", () => {
    afterEach(() => vi.restoreAllMocks());

    /** Records the stack of every call to `globalThis[name]`, still calling through. */
    function watch(name: "setTimeout" | "setInterval"): string[] {
      const stacks: string[] = [];
      const original = globalThis[name] as unknown as (...args: unknown[]) => unknown;
      const recording = (...args: unknown[]) => {
        stacks.push(new Error().stack ?? "");
        return original(...args);
      };
      // `never`: one plain signature stands in for the overloads of setTimeout and setInterval.
      vi.spyOn(globalThis, name).mockImplementation(recording as never);
      return stacks;
    }

    it("leaves all waiting to the scheduler's clock", async () => {
      // Only calls from croner or the adapter count: the test runner may set timers of its own.
      const ours = (stack: string) => /croner|adapters\/cron/.test(stack);
      const timeouts = watch("setTimeout");
      const intervals = watch("setInterval");
      const clock = new VirtualClock({ startMs: start });
      const { workflow, starts } = job(clock);
      const trigger = cron("0 0 1 1 *", { timezone: "Europe/Berlin" }); // once a year: a very long wait
      trigger.nextRuns(5);
      const running = await scheduler(clock, { maxWaitMs: day })
        .scheduler.add("y", workflow, "work", trigger)
        .start();
      await clock.advance(366 * day);
      await running.stop();
      expect(starts.map(iso)).toEqual(["2026-12-31T23:00:00.000Z"]);
      expect([...timeouts, ...intervals].filter(ours)).toEqual([]);
    });
  });
});

describe("cron: next fire time and preview", () => {
  it("plans the first fire time strictly after the last one, or after now", () => {
    const trigger = cron("0 * * * *");
    const at = Date.UTC(2026, 2, 7, 12);
    const context = {
      now: at,
      lastFireAt: undefined,
      lastEndAt: undefined,
      running: false,
      tripped: false,
      backoffUntil: undefined,
    };
    expect(iso(trigger.next(context)!)).toBe("2026-03-07T13:00:00.000Z");
    expect(iso(trigger.next({ ...context, now: at - 1 })!)).toBe("2026-03-07T12:00:00.000Z");
    // The last fire time wins over now, also when it is in the past (fires missed while down).
    expect(iso(trigger.next({ ...context, now: at + 5 * hour, lastFireAt: at })!)).toBe(
      "2026-03-07T13:00:00.000Z",
    );
    // A last fire time that is not on the schedule (a truncated wake-up records its wake time).
    expect(iso(trigger.next({ ...context, lastFireAt: at + 1_234 })!)).toBe("2026-03-07T13:00:00.000Z");
  });

  it("previews the next fire times with nextRuns(n, from)", () => {
    // Friday 2026-03-06, 12:00 UTC; 09:00 in Berlin is 08:00 UTC in March.
    const weekdays = cron("0 9 * * 1-5", { timezone: "Europe/Berlin" });
    const from = Date.UTC(2026, 2, 6, 12);
    const expected = ["2026-03-09T08:00:00.000Z", "2026-03-10T08:00:00.000Z", "2026-03-11T08:00:00.000Z"];
    expect(weekdays.nextRuns(3, from).map(iso)).toEqual(expected);
    expect(weekdays.nextRuns(3, new Date(from)).map(iso)).toEqual(expected);
    expect(weekdays.nextRuns(0, from)).toEqual([]);
    expect(cron("*/20 * * * * *").nextRuns(4, start).map(iso)).toEqual([
      "2026-03-07T12:00:20.000Z",
      "2026-03-07T12:00:40.000Z",
      "2026-03-07T12:01:00.000Z",
      "2026-03-07T12:01:20.000Z",
    ]);
  });

  it("previews from the system clock when no start is given", () => {
    const before = Date.now();
    const [first, second] = cron("* * * * * *").nextRuns(2);
    expect(first).toBeGreaterThan(before);
    expect(first).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(second! - first!).toBe(1_000);
  });

  it("matches day of month or day of week (Vixie cron), and knows nicknames", () => {
    // Friday the 13th or... any Friday, or any 13th: February 2026 starts on a Sunday.
    expect(
      cron("0 0 13 * 5")
        .nextRuns(4, Date.UTC(2026, 1, 1))
        .map(iso),
    ).toEqual([
      "2026-02-06T00:00:00.000Z",
      "2026-02-13T00:00:00.000Z",
      "2026-02-20T00:00:00.000Z",
      "2026-02-27T00:00:00.000Z",
    ]);
    expect(
      cron("0 0 13 * *")
        .nextRuns(1, Date.UTC(2026, 1, 14))
        .map(iso),
    ).toEqual(["2026-03-13T00:00:00.000Z"]);
    expect(cron("@hourly").nextRuns(2, start).map(iso)).toEqual([
      "2026-03-07T13:00:00.000Z",
      "2026-03-07T14:00:00.000Z",
    ]);
  });

  it("exposes what it was built with", () => {
    const trigger = cron("30 2 * * *", { timezone: "America/New_York", catchUp: "once" });
    expect(trigger).toMatchObject({
      expression: "30 2 * * *",
      timezone: "America/New_York",
      catchUp: "once",
      description: 'cron "30 2 * * *" (America/New_York)',
    });
  });
});
