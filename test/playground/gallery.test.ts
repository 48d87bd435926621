// Every gallery example, run in Chromium at max speed: the states light up in the right order (read
// from the page's own timeline and graph), and the page logs no error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Playground } from "./support/playground.ts";
import {
  nodeStatus,
  screenshot,
  setSpeed,
  startPlayground,
  statesEntered,
  waitForEnd,
} from "./support/playground.ts";

const once = (states: string) => states.split(" ");
const expected: Record<
  string,
  { readonly states: string[]; readonly status: RegExp; readonly exit?: string }
> = {
  "agent-chain": {
    states: once("plan research draft critique draft critique publish done"),
    status: /^completed in “done”/,
    exit: "done",
  },
  "etl-split-join": {
    states: once("load transform aggregate done"),
    status: /^completed in “done”/,
    exit: "done",
  },
  "scatter-gather": {
    states: once("quote_all pick quote_fast pick_fast done"),
    status: /^completed in “done”/,
    exit: "done",
  },
  "saga-payment": {
    states: once("reserve charge hold ship"),
    status: /^failed: carrier rejected the address/,
  },
  "retry-circuit-breaker": {
    states: once("call call call done call done"),
    status: /^failed: 2 of 4 scheduled runs failed/,
    exit: "done",
  },
  "poll-until-ready": {
    states: once("submit wait download done"),
    status: /^completed in “done”/,
    exit: "done",
  },
  "stream-windows": { states: once("consume done"), status: /^completed in “done”/, exit: "done" },
  "scheduled-report": {
    states: once("collect summarize send done ".repeat(3).trim()),
    status: /^completed 3 scheduled runs/,
    exit: "done",
  },
};

let playground: Playground;

beforeAll(async () => {
  playground = await startPlayground();
}, 120_000);

afterAll(async () => {
  await playground?.close();
});

describe("the playground's gallery", () => {
  it("offers every example, loads one with a click and draws its graph", async () => {
    const { page, errors } = await playground.open();
    const ids = await page.$$eval("[data-example]", (buttons) =>
      buttons.map((b) => b.getAttribute("data-example")),
    );
    expect(ids).toEqual(Object.keys(expected));
    await page.click('[data-example="etl-split-join"]');
    await page.waitForSelector('svg.graph [data-state="transform/total-east[2]"]');
    expect(page.url()).toContain("#example=etl-split-join");
    expect(await page.textContent(".source-title")).toContain("ETL split/join");
    await screenshot(page, "gallery");
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it.each(Object.entries(expected))(
    "runs %s and lights its states in order",
    async (id, { states, status, exit }) => {
      const { page, errors } = await playground.open(`#example=${id}`);
      await setSpeed(page, "max");
      await page.click("#run");
      expect(await waitForEnd(page)).toMatch(status);
      expect(await statesEntered(page)).toEqual(states);
      if (exit !== undefined) expect(await nodeStatus(page, exit)).toBe("reached");
      for (const state of new Set(states)) expect(await nodeStatus(page, state)).not.toBe("idle");
      expect(errors).toEqual([]);
      await page.context().close();
    },
    60_000,
  );
});
