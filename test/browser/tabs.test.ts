// Tabs of one browser (pages of one context share IndexedDB and Web Locks): a run abandoned by a tab
// that died is resumed by exactly one of two tabs, under either lease mode; a row corrupted in
// IndexedDB stops the resume with `checkpoint_corrupt` and stays where it is.
import { randomUUID } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppParams } from "./app-page.ts";
import { appPages, appUrl, reportOf, resultOf, waitForStatus } from "./app-page.ts";
import type { BrowserHarness } from "./harness/index.ts";
import { startHarness } from "./harness/index.ts";
import { openLab } from "./harness/lab.ts";
import { expectedMemory, ledgerProblems } from "./reload-checks.ts";

let harness: BrowserHarness;

beforeAll(async () => {
  harness = await startHarness({ pages: appPages });
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

/** A lab page in `context`, for raw IndexedDB access and `navigator.locks.query()`. */
const labPage = (context: BrowserContext): Promise<Page> => openLab(harness, context);

/** Whether the run's Web Lock is held by some tab of the context, as the browser reports it. */
function leaseHeld(lab: Page, run: string): Promise<boolean> {
  return lab.evaluate(
    async (name) => ((await navigator.locks.query()).held ?? []).some((lock) => lock.name === name),
    `cano:run:${run}`,
  );
}

/** Starts `run` in a tab that stops in `hold`, then closes that tab; checks the browser freed its lease. */
async function abandonMidway(context: BrowserContext, lab: Page, run: string, hold: string): Promise<void> {
  const first = await context.newPage();
  await first.goto(appUrl(harness, { run, hold, tab: "first" }));
  expect(await waitForStatus(first, ["held", "failed"])).toBe("held");
  expect(await leaseHeld(lab, run), "the driving tab holds the lease").toBe(true);
  await first.close();
  await lab.waitForFunction(
    async (name) => !((await navigator.locks.query()).held ?? []).some((lock) => lock.name === name),
    `cano:run:${run}`,
    { polling: 10, timeout: 10_000 },
  );
}

/** Opens two tabs on the run at once. */
async function twoTabs(context: BrowserContext, params: Omit<AppParams, "tab">): Promise<[Page, Page]> {
  const tabs: [Page, Page] = [await context.newPage(), await context.newPage()];
  await Promise.all(
    tabs.map((page, index) => page.goto(appUrl(harness, { ...params, tab: `tab-${index}` }))),
  );
  return tabs;
}

describe("two tabs resume the same run: exactly one drives it", () => {
  it('with { mode: "fail" } the other tab is refused at once', async () => {
    const context = await harness.newContext();
    const lab = await labPage(context);
    const run = `tabs-fail-${randomUUID()}`;
    await abandonMidway(context, lab, run, "merge");

    const tabs = await twoTabs(context, { run, lease: "fail", hold: "charge" });
    const statuses = await Promise.all(
      tabs.map((page) => waitForStatus(page, ["held", "lease-held", "failed"])),
    );
    expect([...statuses].sort()).toEqual(["held", "lease-held"]);
    const driver = tabs[statuses.indexOf("held")]!;
    await driver.evaluate(() => window.reloadApp.release());
    expect(await waitForStatus(driver, ["done", "failed"])).toBe("done");
    expect(await resultOf(driver)).toEqual({ how: "resumed", final: "done" });

    const report = await reportOf(driver);
    const driverTab = await driver.evaluate(() => window.reloadApp.tab);
    const after = report.ledger.filter((entry) => entry.tab !== "first" && entry.type !== "boot");
    expect(
      new Set(after.map((entry) => entry.tab)),
      "only the driving tab took the lease and ran tasks",
    ).toEqual(new Set([driverTab]));
    expect(ledgerProblems(report.ledger, run, "succeed")).toEqual([]);
    expect(report.memory).toEqual(expectedMemory(report.ledger, run, "succeed"));
    await context.close();
  }, 60_000);

  it('with { mode: "wait" } the other tab waits, then finds the run finished and runs nothing', async () => {
    const context = await harness.newContext();
    const lab = await labPage(context);
    const run = `tabs-wait-${randomUUID()}`;
    await abandonMidway(context, lab, run, "fanout");

    const tabs = await twoTabs(context, { run, lease: "wait", hold: "review" });
    const statuses = await Promise.all(
      tabs.map((page) => waitForStatus(page, ["held", "waiting", "failed"])),
    );
    expect([...statuses].sort()).toEqual(["held", "waiting"]);
    const driver = tabs[statuses.indexOf("held")]!;
    const waiter = tabs[statuses.indexOf("waiting")]!;
    await driver.evaluate(() => window.reloadApp.release());
    expect(await waitForStatus(driver, ["done", "failed"])).toBe("done");
    expect(await resultOf(driver)).toEqual({ how: "resumed", final: "done" });
    expect(await waitForStatus(waiter, ["done", "failed"])).toBe("done");
    expect(await resultOf(waiter)).toEqual({ how: "ended-earlier", final: "done" });

    const report = await reportOf(waiter);
    const waiterTab = await waiter.evaluate(() => window.reloadApp.tab);
    const waited = report.ledger.filter((entry) => entry.tab === waiterTab);
    expect(waited.map((entry) => entry.type)).toEqual(["boot", "load"]);
    expect(waited[1]?.rows, "the waiting tab took the lease after the log was cleared").toBe(0);
    expect(ledgerProblems(report.ledger, run, "succeed")).toEqual([]);
    await context.close();
  }, 60_000);
});

describe("a corrupted row in IndexedDB", () => {
  it("makes resume fail with checkpoint_corrupt and is still there afterwards", async () => {
    const context = await harness.newContext();
    const lab = await labPage(context);
    const corruptions = [
      { sequence: 2, value: { sequence: 2, state: 42, taskId: "fanout", kind: "state", version: 0, at: 1 } },
      { sequence: 1, value: "not a row at all" },
      {
        sequence: 3,
        value: { sequence: 9, state: "merge", taskId: "merge", kind: "state", version: 0, at: 1 },
      },
    ];
    for (const corruption of corruptions) {
      const run = `corrupt-${randomUUID()}`;
      await abandonMidway(context, lab, run, "charge");
      const readRows = (id: string) =>
        lab.evaluate(async (id) => {
          const db = await window.lab.raw.openDB("reload-app");
          const range = IDBKeyRange.bound([id], [id, []]);
          const rows = {
            keys: await db.getAllKeys("checkpoints", range),
            values: await db.getAll("checkpoints", range),
          };
          db.close();
          return rows;
        }, id);
      const before = await readRows(run);
      await lab.evaluate(
        async ({ run, sequence, value }) => {
          const db = await window.lab.raw.openDB("reload-app");
          await db.put("checkpoints", value, [run, sequence]);
          db.close();
        },
        { run, ...corruption },
      );

      const page = await context.newPage();
      await page.goto(appUrl(harness, { run, lease: "fail", tab: "resumer" }));
      expect(await waitForStatus(page, ["done", "failed"])).toBe("failed");
      const result = await resultOf(page);
      expect(result?.final, result?.message).toBe("checkpoint_corrupt");
      expect(result?.message).toContain(`run "${run}" row`);
      expect(result?.message).toContain("Nothing was deleted");

      const after = await readRows(run);
      const expected = before.values.map((row, index) =>
        index === corruption.sequence ? corruption.value : row,
      );
      expect(after).toEqual({ keys: before.keys, values: expected });
      const report = await reportOf(page).catch(() => undefined);
      expect(report, "report() fails too: loadRun refuses the corrupt log").toBeUndefined();
      const ran = await page.evaluate(() => window.reloadApp.events);
      expect(ran, "nothing ran").toEqual([]);
      await page.close();
    }
    await context.close();
  }, 60_000);
});
