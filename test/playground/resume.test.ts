// Crash and resume in Chromium: runs checkpoint to IndexedDB; after a reload (the page's own "Reload
// tab" button, or a real one mid-task) the run is listed as unfinished, and Resume replays its history
// from the checkpoint log into the picture and finishes it, its data intact.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Playground } from "./support/playground.ts";
import {
  nodeStatus,
  screenshot,
  setSpeed,
  startPlayground,
  statesEntered,
  timeline,
  waitForEnd,
} from "./support/playground.ts";

let playground: Playground;

beforeAll(async () => {
  playground = await startPlayground();
}, 120_000);

afterAll(async () => {
  await playground?.close();
});

async function waitForStatus(page: Page, text: string): Promise<void> {
  await page.waitForFunction((wanted) => document.querySelector("#run-status")?.textContent === wanted, text);
}

/** Reloads the page through `reload` and waits for the new page to be ready. */
async function reloaded(page: Page, reload: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForEvent("load"), reload()]);
  await page.waitForSelector("body[data-ready=true]");
}

describe("crash and resume", () => {
  it("lists a run stopped by the Reload tab button and resumes it where it stopped", async () => {
    const { page } = await playground.open("#example=agent-chain");
    await setSpeed(page, "max");
    await page.click("#pause");
    await page.click("#run");
    for (const next of ["research", "draft", "critique"]) {
      await page.click("#step");
      await waitForStatus(page, `paused before “${next}”`);
    }
    expect(await page.isHidden("#unfinished")).toBe(true); // this tab's own run is not offered
    await reloaded(page, () => page.click("#reload"));
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const row = page.locator("#unfinished .run", { hasText: "AI-agent chain" });
    await row.waitFor();
    expect(await row.textContent()).toContain("stopped in “critique”");
    await screenshot(page, "unfinished-after-reload");
    await row.locator("button", { hasText: "Resume" }).click();
    expect(await waitForEnd(page)).toBe("completed in “done”");
    const rows = await timeline(page);
    expect(rows.filter((r) => r.startsWith("replayed: ") && r.includes("entered"))).toHaveLength(4);
    expect(rows).toContain('resume: resumed at "critique" after checkpoint #3');
    expect(await statesEntered(page)).toEqual(["critique", "draft", "critique", "publish", "done"]);
    expect(await page.getAttribute('svg.graph [data-state="plan"]', "class")).toContain("replayed");
    expect(await nodeStatus(page, "plan")).toBe("visited");
    expect(await nodeStatus(page, "done")).toBe("reached");
    // The agent's memory was in IndexedDB too: the notes gathered before the reload are still there.
    expect(await page.textContent("#store-body")).toContain("fact about state machines");
    await page.locator("#unfinished").waitFor({ state: "hidden" });
    await screenshot(page, "resumed");
    expect(errors).toEqual([]);
    await page.context().close();
  }, 90_000);

  it("resumes after a real reload in the middle of a task", async () => {
    const { page } = await playground.open("#example=saga-payment");
    await setSpeed(page, "1×");
    await page.click("#run");
    await page.waitForSelector('svg.graph [data-state="charge"][data-status="current"]');
    await reloaded(page, () => page.reload());
    const row = page.locator("#unfinished .run", { hasText: "Saga payment" });
    await row.waitFor();
    await setSpeed(page, "max");
    await row.locator("button", { hasText: "Resume" }).click();
    // The saga resumes at "charge", then "ship" fails: the charge and the reservation recorded
    // before the reload are compensated, newest first.
    expect(await waitForEnd(page)).toMatch(/^failed: carrier rejected the address/);
    const rows = await timeline(page);
    expect(rows).toContain('resume: resumed at "charge" after checkpoint #2');
    const undo = rows.filter((r) => r.startsWith("compensate_done: "));
    expect(undo).toEqual(["compensate_done: charge: compensated", "compensate_done: reserve: compensated"]);
    expect(await nodeStatus(page, "reserve")).toBe("compensated");
    await page.context().close();
  }, 90_000);
});
