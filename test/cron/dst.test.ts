import { cron } from "cano/cron";
import { VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";
import { day, hour, job, scheduler } from "../support/schedules.ts";

/**
 * Daylight-saving transitions of 2026, run on the virtual clock through a real Scheduler. The
 * expected instants follow croner's documented rules (OCPS 1.4): a fixed-time job (one value each
 * for second, minute and hour, e.g. `30 2 * * *`) whose local time falls in the spring-forward gap
 * runs at the first valid time after the gap, and runs once, at the first occurrence, when its
 * local time happens twice at fall-back. Other jobs (`0,30 2 * * *`, `0 * * * *`) skip the times in
 * the gap and run on both occurrences of a repeated time.
 */
async function fireTimes(
  startMs: number,
  days: number,
  flows: Record<string, { readonly expression: string; readonly timezone: string }>,
): Promise<Record<string, string[]>> {
  const clock = new VirtualClock({ startMs });
  // Waits of up to an hour: fewer wake-ups to simulate; chunked waiting is tested in the core.
  const { scheduler: s } = scheduler(clock, { maxWaitMs: hour });
  const recorders = Object.entries(flows).map(([id, { expression, timezone }]) => {
    const { workflow, startedAt } = job(clock);
    s.add(id, workflow, "work", cron(expression, { timezone }));
    return [id, startedAt] as const;
  });
  const running = await s.start();
  await clock.advance(days * day);
  await running.stop();
  return Object.fromEntries(recorders.map(([id, startedAt]) => [id, startedAt()]));
}

describe("cron: daylight saving in America/New_York", () => {
  it("spring-forward, Sunday 2026-03-08 (02:00 EST → 03:00 EDT)", async () => {
    const fired = await fireTimes(Date.UTC(2026, 2, 7, 12), 3, {
      fixed: { expression: "30 2 * * *", timezone: "America/New_York" },
      interval: { expression: "0,30 2 * * *", timezone: "America/New_York" },
    });
    expect(fired.fixed).toEqual([
      "2026-03-08T07:00:00.000Z", // 02:30 does not exist: 03:00 EDT, the first valid time after the gap
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
      "2026-03-10T06:30:00.000Z",
    ]);
    // Not a fixed-time job: its times in the gap are skipped that day.
    expect(fired.interval).toEqual([
      "2026-03-09T06:00:00.000Z",
      "2026-03-09T06:30:00.000Z",
      "2026-03-10T06:00:00.000Z",
      "2026-03-10T06:30:00.000Z",
    ]);
  });

  it("fall-back, Sunday 2026-11-01 (02:00 EDT → 01:00 EST: 01:00–01:59 happens twice)", async () => {
    const fired = await fireTimes(Date.UTC(2026, 9, 31, 12), 2.5, {
      twoThirty: { expression: "30 2 * * *", timezone: "America/New_York" },
      oneThirty: { expression: "30 1 * * *", timezone: "America/New_York" },
      interval: { expression: "0,30 1 * * *", timezone: "America/New_York" },
    });
    // 02:30 happens once in New York: after the repeated hour, in EST.
    expect(fired.twoThirty).toEqual(["2026-11-01T07:30:00.000Z", "2026-11-02T07:30:00.000Z"]);
    expect(fired.oneThirty).toEqual([
      "2026-11-01T05:30:00.000Z", // 01:30 EDT, the first occurrence; not again at 06:30Z (01:30 EST)
      "2026-11-02T06:30:00.000Z",
    ]);
    expect(fired.interval).toEqual([
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T05:30:00.000Z", // 01:30 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T06:30:00.000Z", // 01:30 EST
      "2026-11-02T06:00:00.000Z",
      "2026-11-02T06:30:00.000Z",
    ]);
  });
});

describe("cron: daylight saving in Europe/Berlin", () => {
  it("spring-forward, Sunday 2026-03-29 (02:00 CET → 03:00 CEST): a 23-hour day", async () => {
    const fired = await fireTimes(Date.UTC(2026, 2, 28, 12), 2.5, {
      fixed: { expression: "30 2 * * *", timezone: "Europe/Berlin" },
      hourly: { expression: "0 * * * *", timezone: "Europe/Berlin" },
    });
    expect(fired.fixed).toEqual([
      "2026-03-29T01:00:00.000Z", // 02:30 does not exist: 03:00 CEST
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
    ]);
    const localDay = fired.hourly!.filter((at) => at >= "2026-03-28T23:00" && at < "2026-03-29T22:00");
    expect(localDay).toHaveLength(23);
    expect(localDay.slice(0, 3)).toEqual([
      "2026-03-28T23:00:00.000Z", // 00:00 CET
      "2026-03-29T00:00:00.000Z", // 01:00 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
    ]);
  });

  it("fall-back, Sunday 2026-10-25 (03:00 CEST → 02:00 CET: 02:00–02:59 happens twice): a 25-hour day", async () => {
    const fired = await fireTimes(Date.UTC(2026, 9, 24, 12), 2.5, {
      fixed: { expression: "30 2 * * *", timezone: "Europe/Berlin" },
      interval: { expression: "0,30 2 * * *", timezone: "Europe/Berlin" },
      hourly: { expression: "0 * * * *", timezone: "Europe/Berlin" },
    });
    expect(fired.fixed).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST, the first occurrence; not again at 01:30Z (02:30 CET)
      "2026-10-26T01:30:00.000Z", // 02:30 CET
    ]);
    expect(fired.interval).toEqual([
      "2026-10-25T00:00:00.000Z", // 02:00 CEST
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:00:00.000Z", // 02:00 CET
      "2026-10-25T01:30:00.000Z",
      "2026-10-26T01:00:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
    const localDay = fired.hourly!.filter((at) => at >= "2026-10-24T22:00" && at < "2026-10-25T23:00");
    expect(localDay).toHaveLength(25);
    expect(localDay.slice(2, 5)).toEqual([
      "2026-10-25T00:00:00.000Z", // 02:00 CEST
      "2026-10-25T01:00:00.000Z", // 02:00 CET
      "2026-10-25T02:00:00.000Z", // 03:00 CET
    ]);
  });
});
