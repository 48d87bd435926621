// The live view in Chromium: a saga unwinding in reverse, injected faults retried and compensated,
// pause and step one transition at a time, a breaker opening. Screenshots of each view are saved
// (see support/playground.ts) to be looked at.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replaceSource } from "./support/editor.ts";
import type { Playground } from "./support/playground.ts";
import {
  nodeStatus,
  screenshot,
  setSpeed,
  startPlayground,
  status,
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

/** Waits until the status line matches `pattern`. */
async function waitForStatus(page: Page, pattern: RegExp): Promise<void> {
  await page.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector("#run-status")?.textContent ?? ""),
    pattern.source,
  );
}

/** The position of the first timeline row matching `pattern`, or -1. */
function rowIndex(rows: readonly string[], pattern: RegExp): number {
  return rows.findIndex((row) => pattern.test(row));
}

describe("the live view", () => {
  it("shows a saga's compensations unwinding newest first, on the graph and the timeline", async () => {
    const { page, errors } = await playground.open("#example=saga-payment");
    await setSpeed(page, "1×");
    await page.click("#run");
    await page.waitForSelector('svg.graph [data-state="charge"][data-status="compensating"]');
    expect(await nodeStatus(page, "ship")).toBe("failed");
    await screenshot(page, "saga-compensating");
    expect(await waitForEnd(page)).toMatch(/^failed: carrier rejected the address/);
    const rows = await timeline(page);
    const order = [
      /^compensate_start: charge: compensating/,
      /^compensate_done: charge: compensated/,
      /^compensate_start: reserve: compensating/,
      /^compensate_done: reserve: compensated/,
    ].map((pattern) => rowIndex(rows, pattern));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(await nodeStatus(page, "reserve")).toBe("compensated");
    expect(await nodeStatus(page, "charge")).toBe("compensated");
    expect(await nodeStatus(page, "done")).toBe("idle");
    expect(await page.getAttribute('svg.graph [data-edge="reserve→charge"]', "data-status")).toBe("visited");
    expect(await page.getAttribute('svg.graph [data-edge="ship→done"]', "data-status")).toBe("idle");
    const panel = await page.$$eval("#saga-body [data-compensation]", (items) =>
      items.map((item) => item.getAttribute("data-compensation")),
    );
    expect(panel).toEqual(["charge", "reserve"]);
    expect(await page.textContent("#store-body")).toContain("refunded 4999 cents on ch-1");
    await screenshot(page, "saga-done");
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("retries an injected failure, then compensates the step before it", async () => {
    const { page, errors } = await playground.open("#example=saga-payment");
    await page.fill('[data-fault-rate="charge"]', "100");
    expect(await page.textContent('output[for="fail-charge"]')).toBe("100 %");
    await setSpeed(page, "max");
    await page.click("#run");
    expect(await waitForEnd(page)).toMatch(/^failed: .*injected fault/);
    const rows = await timeline(page);
    expect(
      rows.filter((row) => /^retry: charge: attempt \d failed \(.*injected fault/.test(row)),
    ).toHaveLength(3);
    expect(rowIndex(rows, /^compensate_done: reserve: compensated/)).toBeGreaterThan(
      rowIndex(rows, /^task_failure: .*charge/),
    );
    expect(rowIndex(rows, /^state_enter: → ship/)).toBe(-1);
    expect(await page.textContent('#retries-body [data-task="charge"]')).toContain("failed after 4 attempts");
    expect(await nodeStatus(page, "charge")).toBe("failed");
    expect(await nodeStatus(page, "reserve")).toBe("compensated");
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("pauses before each transition and steps one at a time", async () => {
    const { page, errors } = await playground.open("#example=agent-chain");
    await setSpeed(page, "max");
    await page.click("#pause");
    await page.click("#run");
    await waitForStatus(page, /^paused before “plan”/);
    expect(await nodeStatus(page, "plan")).toBe("current");
    await page.click("#step");
    await waitForStatus(page, /^paused before “research”/);
    expect(await nodeStatus(page, "plan")).toBe("visited");
    expect(await nodeStatus(page, "research")).toBe("current");
    expect(await page.getAttribute('svg.graph [data-edge="plan→research"]', "data-status")).toBe("last");
    await page.click("#step");
    await waitForStatus(page, /^paused before “draft”/);
    await screenshot(page, "paused");
    await page.click("#pause");
    expect(await waitForEnd(page)).toMatch(/^completed in “done”/);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("shows a retry's backoff countdown and the breaker opening, half-opening and closing", async () => {
    const { page, errors } = await playground.open("#example=retry-circuit-breaker");
    await setSpeed(page, "10×");
    await page.click("#run");
    await page.waitForSelector('svg.graph [data-state="call"][data-status="retrying"]');
    await page.click("#pause");
    expect(await page.textContent('#retries-body [data-task="call"]')).toMatch(/attempt \d in \d+\.\d s/);
    await screenshot(page, "retry-countdown");
    await page.click("#pause");
    await page.waitForSelector('#breakers-body [data-breaker-status="open"]');
    await page.click("#pause");
    expect(await page.textContent("#breakers-body")).toMatch(/open, probes in \d+\.\d s/);
    await screenshot(page, "breaker-open");
    await page.click("#pause");
    await setSpeed(page, "max");
    expect(await waitForEnd(page)).toMatch(/^failed: 2 of 4 scheduled runs failed/);
    expect(await page.getAttribute("#breakers-body [data-breaker]", "data-breaker-status")).toBe("closed");
    const breakerRows = (await timeline(page)).filter((row) => row.startsWith("breaker:"));
    expect(
      breakerRows.map((row) => row.replace(/^breaker: breaker call: /, "").replace(/ \(.*?\)/g, "")),
    ).toEqual(["closed → open", "open → half-open", "half-open → closed"]);
    expect(await status(page)).toMatch(/^failed/);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("shows split branches racing toward their join", async () => {
    const { page, errors } = await playground.open("#example=scatter-gather");
    await setSpeed(page, "1×");
    await page.click("#run");
    await page.waitForFunction(() =>
      /1 of 2 for quorum\(2\)/.test(
        document.querySelector('#splits-body [data-split="quote_all"]')?.textContent ?? "",
      ),
    );
    await page.click("#pause");
    expect(await page.getAttribute('[data-branch="slowpoke[1]"]', "class")).toContain("status-running");
    await screenshot(page, "split-racing");
    await page.click("#pause");
    await setSpeed(page, "max");
    expect(await waitForEnd(page)).toMatch(/^completed in “done”/);
    expect(await page.textContent('#splits-body [data-split="quote_all"]')).toContain("2 of 2 for quorum(2)");
    expect(await page.textContent('#splits-body [data-split="quote_fast"]')).toContain("partialTimeout()");
    expect(
      await page.getAttribute('#splits-body [data-split="quote_fast"] [data-branch="slowpoke[1]"]', "class"),
    ).toContain("status-cancelled");
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("cancels a run: the engine stops at the next boundary and says so", async () => {
    const { page, errors } = await playground.open("#example=agent-chain");
    await setSpeed(page, "1×");
    await page.click("#run");
    await page.waitForSelector('svg.graph [data-state="research"][data-status="retrying"]');
    await page.click("#cancel"); // during the backoff
    expect(await waitForEnd(page)).toBe("cancelled");
    expect(await nodeStatus(page, "research")).toBe("cancelled");
    expect((await timeline(page)).at(-1)).toMatch(/^run_end: run cancelled/);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it("stays responsive through a burst of events (a split of 400 branches)", async () => {
    const { page, errors } = await playground.open("#example=etl-split-join");
    const source = [
      'import { all, task, Workflow } from "cano";',
      'type S = "fan" | "join" | "done";',
      'const branches = Array.from({ length: 400 }, (_, i) => task({ name: "b" + i, run: async () => i }));',
      "export const workflow = new Workflow<S>()",
      '  .registerSplit("fan", branches, { strategy: all(), joinState: "join" })',
      '  .register("join", task({ to: ["done"], run: () => "done" }))',
      '  .exit("done");',
      'export const initial: S = "fan";',
    ].join("\n");
    await replaceSource(page, source);
    await page.waitForSelector('svg.graph [data-state="fan/b399[399]"]');
    await setSpeed(page, "max");
    await page.click("#run");
    expect(await waitForEnd(page)).toBe("completed in “done”");
    expect(await page.textContent('#splits-body [data-split="fan"]')).toContain("400 of 400 for all()");
    const rows = await page.$$eval(".event", (items) => items.length);
    expect(rows).toBeGreaterThan(800);
    expect(rows).toBeLessThanOrEqual(1_500);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
