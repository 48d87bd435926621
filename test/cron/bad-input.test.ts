import type { CronOptions } from "cano/cron";
import { cron } from "cano/cron";
import { describe, expect, it } from "vitest";
import { configurationError } from "../support/runs.ts";

/** The configuration error `cron(expression, options)` throws at registration. */
function refused(expression: unknown, options?: unknown) {
  return configurationError(() => cron(expression as string, options as CronOptions));
}

describe("cron: bad expressions and time zones, refused when cron() is called", () => {
  it("names the expression and croner's reason", () => {
    const error = refused("61 * * * *");
    expect(error.message).toBe(
      'cron("61 * * * *"): not a valid cron expression: CronPattern: Invalid value for minute: 61. Expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), e.g. "0 9 * * 1-5"',
    );
    expect(error.details).toEqual({ expression: "61 * * * *" });
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("accepts 5 or 6 fields only", () => {
    expect(refused("* * *").message).toContain(
      "exactly five, six, or seven space separated parts are required",
    );
    expect(refused("0 0 9 * * * 2027").message).toContain("requires exactly 5 or 6 parts");
    expect(refused("0 9 * * mon-fry").message).toMatch(
      /^cron\("0 9 \* \* mon-fry"\): not a valid cron expression: /,
    );
  });

  it("refuses an expression that never fires", () => {
    expect(refused("0 0 30 2 *").message).toBe(
      'cron("0 0 30 2 *"): never fires: no date matches it (is the day of month past the end of the month, e.g. 30 in February?)',
    );
  });

  it("refuses an unknown time zone, with croner's reason", () => {
    const error = refused("0 9 * * *", { timezone: "Mars/Olympus_Mons" });
    expect(error.message).toMatch(/^cron\("0 9 \* \* \*"\): unknown time zone "Mars\/Olympus_Mons": /);
    expect(error.message).toContain("Invalid timezone 'Mars/Olympus_Mons'");
    expect(error.message).toMatch(/Expected an IANA name such as "Europe\/Berlin" or "UTC"$/);
    expect(refused("0 9 * * *", { timezone: "" }).message).toContain(
      "timezone must be an IANA time zone name",
    );
  });

  it("refuses something that is not an expression", () => {
    for (const expression of [undefined, 42, "", "   "]) {
      expect(refused(expression).message).toMatch(
        /^cron\(\): expected a cron expression such as "0 9 \* \* 1-5"/,
      );
    }
  });
});

describe("cron: bad options", () => {
  it("refuses maxCatchUp below 1 or not an integer", () => {
    for (const maxCatchUp of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3"]) {
      expect(refused("0 * * * *", { catchUp: "all", maxCatchUp }).message).toMatch(
        /^cron\("0 \* \* \* \*"\): maxCatchUp must be an integer ≥ 1, received /,
      );
    }
  });

  it("refuses maxCatchUp without catchUp: all", () => {
    expect(refused("0 * * * *", { catchUp: "once", maxCatchUp: 3 }).message).toBe(
      'cron("0 * * * *"): maxCatchUp only applies to catchUp: "all" (catchUp is "once"); remove it or use "all"',
    );
    expect(refused("0 * * * *", { maxCatchUp: 3 }).message).toContain('(catchUp is "skip")');
  });

  it("refuses an unknown catchUp policy", () => {
    expect(refused("0 * * * *", { catchUp: "sometimes" }).message).toBe(
      'cron("0 * * * *"): catchUp must be one of "skip", "once", "all", received "sometimes"',
    );
  });

  it("refuses unknown option names, suggesting the right one", () => {
    expect(refused("0 * * * *", { timeZone: "Europe/Berlin" }).message).toBe(
      'cron("0 * * * *"): unknown option "timeZone". Did you mean "timezone"?',
    );
    expect(refused("0 * * * *", "Europe/Berlin").message).toContain("expected an options object");
  });

  it("refuses a bad grace, store or key", () => {
    expect(refused("0 * * * *", { graceMs: -1 }).message).toContain("graceMs must be a finite number");
    expect(refused("0 * * * *", { store: {} }).message).toContain("store must be a KeyValueStore");
    expect(refused("0 * * * *", { key: "" }).message).toContain("key must be a non-empty string");
  });

  it("refuses a bad preview request", () => {
    const trigger = cron("0 * * * *");
    expect(configurationError(() => trigger.nextRuns(-1)).message).toBe(
      'cron("0 * * * *"): nextRuns expects n to be an integer from 0 to 1000, received -1',
    );
    expect(configurationError(() => trigger.nextRuns(1.5)).message).toContain("integer from 0 to 1000");
    expect(configurationError(() => trigger.nextRuns(1, Number.NaN)).message).toContain(
      "nextRuns expects from to be a time in ms or a Date, received NaN",
    );
    expect(configurationError(() => trigger.nextRuns(1, new Date("nope"))).message).toContain(
      "nextRuns expects from",
    );
  });
});
