// The proof of `cano/idb`: a checkpointed workflow (nine states, a split, two saga steps) runs in a
// Chromium page that is reloaded at seeded random moments; each new page load resumes the run from
// IndexedDB under its tab lease. Every trial must end with the right final state, the right memory,
// an empty log, every effect exactly once, undos exactly once and newest first, and no state run
// again unless the log the page resumed from ended in it.
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../support/faulty-checkpoint-store.ts";
import type { AppParams } from "./app-page.ts";
import { appPages, appUrl, finalStatuses, reportOf, resultOf, waitForStatus } from "./app-page.ts";
import type { BrowserHarness } from "./harness/index.ts";
import { collectPageErrors, startHarness } from "./harness/index.ts";
import type { ReloadMode } from "./pages/reload-workflow.ts";
import { expectedMemory, landings, ledgerProblems } from "./reload-checks.ts";

/** Trials in one test run; even ones succeed, odd ones fail in review and roll back. */
const trials = 24;
/** Real milliseconds each step pauses before and after its effect (a run takes ~0.3 s). */
const pauseMs = 8;
/**
 * Rows a run writes without reloads: a succeeding one 11 (the last is the exit state's), a failing
 * one 8 before review fails and the rollback starts. Reload targets are spread over them.
 */
const rowsPerRun: Record<ReloadMode, number> = { succeed: 11, fail: 8 };

let harness: BrowserHarness;
const summary: { landings: string[]; reloads: number; startedAt: number } = {
  landings: [],
  reloads: 0,
  startedAt: Date.now(),
};

beforeAll(async () => {
  harness = await startHarness({ pages: appPages });
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

/**
 * Reloads `page` at a seeded moment: as soon as the page's script runs (before it can have written a
 * row), or once the page load has written the row with sequence `target` (or a later one), plus a
 * random slice of a step. The waits are synchronisation on the page's own state; the extra
 * milliseconds are the random reload point itself, not a wait for something to happen.
 */
async function reloadAtRandom(page: Page, mode: ReloadMode, random: () => number): Promise<void> {
  // -1 .. the last row (succeed), or one past it (fail: the rollback after the last row).
  const target = Math.floor(random() * (rowsPerRun[mode] + (mode === "fail" ? 2 : 1))) - 1;
  await page.waitForFunction(
    ({ target, finals }) =>
      target < 0
        ? (document.body?.dataset.status ?? "") !== ""
        : (window.reloadApp?.sequence ?? -1) >= target ||
          finals.includes(document.body?.dataset.status ?? ""),
    { target, finals: finalStatuses as readonly string[] },
    { polling: 1, timeout: 20_000 },
  );
  if (target >= 0) {
    const sliceMs = random() * pauseMs * 2;
    await new Promise((resolve) => setTimeout(resolve, sliceMs));
  }
  await page.reload({ waitUntil: "commit" });
  summary.reloads++;
}

async function trial(page: Page, index: number, random: () => number): Promise<void> {
  const mode: ReloadMode = index % 2 === 0 ? "succeed" : "fail";
  const params: AppParams = { run: `reload-${index}-${randomUUID()}`, mode, pause: pauseMs };
  await page.goto(appUrl(harness, params), { waitUntil: "commit" });
  const reloads = 1 + (random() < 0.4 ? 1 : 0) + (random() < 0.15 ? 1 : 0);
  for (let n = 0; n < reloads; n++) await reloadAtRandom(page, mode, random);

  const status = await waitForStatus(page, finalStatuses);
  const result = await resultOf(page);
  const report = await reportOf(page);
  const context = `trial ${index} (${mode}): ${JSON.stringify({ status, result })}`;
  if (mode === "succeed") {
    expect({ status, final: result?.final }, context).toEqual({ status: "done", final: "done" });
  } else if (result?.how === "ended-earlier") {
    expect({ status, final: result.final }, context).toEqual({ status: "done", final: "rolled_back" });
  } else {
    expect({ status, final: result?.final }, context).toEqual({ status: "failed", final: "task_execution" });
    expect(result?.message, context).toContain("review: the reviewer rejected the order");
  }
  expect(ledgerProblems(report.ledger, params.run, mode), context).toEqual([]);
  expect(report.memory, context).toEqual(expectedMemory(report.ledger, params.run, mode));
  expect({ rows: report.rows, listed: report.listed }, `${context}: the log is cleared`).toEqual({
    rows: [],
    listed: false,
  });
  summary.landings.push(...landings(report));
}

describe("reload a page mid-run: the run resumes from IndexedDB and completes", () => {
  it(`completes ${trials} runs reloaded at seeded random moments, every effect once`, async () => {
    const page = await (await harness.newContext()).newPage();
    const errors = collectPageErrors(page);
    const random = seededRandom(0x1dba);
    for (let index = 0; index < trials; index++) await trial(page, index, random);
    expect(errors, "no uncaught page errors").toEqual([]);

    const tally: Record<string, number> = {};
    for (const landing of summary.landings) tally[landing] = (tally[landing] ?? 0) + 1;
    console.log(
      `reload trials: ${trials} runs, ${summary.reloads} reloads in ${Date.now() - summary.startedAt} ms; ` +
        `where the resuming page found the log: ${JSON.stringify(tally)}`,
    );
    // The reload points must be spread over the run: mid-saga, mid-split and in plain states.
    const states = new Set(summary.landings.map((landing) => landing.split(":")[0]));
    expect(states.size, JSON.stringify(tally)).toBeGreaterThanOrEqual(5);
    expect(
      [...states].some((state) => state === "reserve" || state === "charge"),
      JSON.stringify(tally),
    ).toBe(true);
    expect(
      [...states].some((state) => state === "fanout" || state === "merge"),
      JSON.stringify(tally),
    ).toBe(true);
  }, 150_000);
});
