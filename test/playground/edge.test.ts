// Edge mode against a real local Worker: `npm start`'s script (playground/start.ts) builds the page and
// starts `wrangler dev` serving it as static assets next to the example Worker's HTTP API, with a
// fresh token in the printed URL. The page, opened at that URL, runs the saga in the tab and the very
// same saga on the Worker, and draws each run from its own event stream (the Worker's over SSE) side
// by side.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectPageErrors, launchChromium } from "../browser/harness/index.ts";
import { freePort, waitForOutput } from "../support/processes.ts";
import { editorText, replaceSource } from "./support/editor.ts";
import { nodeStatus, screenshot, statesEntered, status, timeline, waitForEnd } from "./support/playground.ts";

const repo = join(import.meta.dirname, "..", "..");
const outDir = join(repo, ".tmp", `playground-edge-${process.pid}-${randomUUID().slice(0, 8)}`);

let child: ChildProcess | undefined;
let browser: Browser | undefined;
let printedUrl = "";

beforeAll(async () => {
  const port = await freePort();
  child = spawn(join(repo, "node_modules", ".bin", "tsx"), ["playground/start.ts"], {
    cwd: repo,
    env: { ...process.env, PLAYGROUND_PORT: String(port), PLAYGROUND_OUT_DIR: outDir, NO_COLOR: "1" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  printedUrl = (await waitForOutput(child, /Cano playground: (\S+)/, "npm start"))[1] ?? "";
  browser = await launchChromium();
}, 150_000);

afterAll(async () => {
  await browser?.close();
  const started = child;
  if (started?.pid !== undefined && started.exitCode === null) {
    const exited = new Promise<void>((resolve) => started.once("exit", () => resolve()));
    process.kill(-started.pid, "SIGTERM");
    const timer = setTimeout(
      () => started.pid !== undefined && process.kill(-started.pid, "SIGKILL"),
      10_000,
    );
    await exited;
    clearTimeout(timer);
  }
  rmSync(outDir, { recursive: true, force: true });
}, 30_000);

describe("npm start", () => {
  it("prints one URL that serves the page and the Worker's API, with a fresh token", async () => {
    const url = new URL(printedUrl);
    expect(url.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const token = url.searchParams.get("token") ?? "";
    expect(token.length).toBeGreaterThanOrEqual(24);
    const page = await fetch(`${url.origin}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("<!doctype html>");
    const listed = (await (await fetch(`${url.origin}/workflows`)).json()) as {
      workflows: { name: string }[];
    };
    expect(listed.workflows.map((entry) => entry.name)).toContain("order");
    const refused = await fetch(`${url.origin}/workflows/order/runs`, { method: "POST" });
    expect(refused.status).toBe(401);
  });
});

describe("edge mode", () => {
  it("runs the same saga in the tab and on the local Worker, side by side", async () => {
    const context = await browser!.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${printedUrl}#example=saga-payment`);
    await page.waitForSelector("body[data-ready=true]");
    // The token is kept for the tab, not left in the address bar.
    expect(page.url()).not.toContain("token=");
    expect(await page.textContent("#worker-note")).toContain(
      "Same code on the Worker: examples/worker/order.ts",
    );
    // Split view: the Worker's lane, with the Worker's own graph of the workflow, beside the tab's.
    await page.waitForSelector('#worker-lane:not([hidden]) svg.graph [data-state="hold"]');
    expect(await page.textContent("#local-lane .lane-head")).toContain("In this tab");
    expect(await page.textContent("#worker-lane .lane-head")).toContain("On the Worker");

    // One click starts both; each lane is drawn from its own event stream.
    await page.click("#run-both");
    await page.waitForSelector('#worker-lane svg.graph [data-state="reserve"][data-status="current"]');
    await page.waitForSelector('#local-lane svg.graph [data-status="current"]');
    await screenshot(page, "edge-side-by-side-running");
    const [local, remote] = await Promise.all([waitForEnd(page), waitForEnd(page, 30_000, "#worker-status")]);
    expect(local).toMatch(/^failed: carrier rejected the address/);
    expect(remote).toMatch(/^failed: carrier rejected the address/);
    for (const lane of ["#local-lane", "#worker-lane"]) {
      expect(await statesEntered(page, lane)).toEqual(["reserve", "charge", "hold", "ship"]);
      const rows = await timeline(page, lane);
      const unwinding = ["compensate_done: charge", "compensate_done: reserve"].map((prefix) =>
        rows.findIndex((row) => row.startsWith(prefix)),
      );
      expect(unwinding.every((index) => index >= 0)).toBe(true);
      expect(unwinding[0]).toBeLessThan(unwinding[1]!);
      expect(await nodeStatus(page, "reserve", lane)).toBe("compensated");
      expect(await nodeStatus(page, "ship", lane)).toBe("failed");
    }
    expect((await timeline(page, "#worker-lane")).some((row) => row.startsWith("run_end:"))).toBe(true);
    // The tab's run kept its ledger in IndexedDB: the same lines the Worker keeps in its object.
    expect(await page.textContent("#store-body")).toContain("refunded 4999 cents on ch-1");
    await screenshot(page, "edge-side-by-side");

    // Each runs alone too; a Worker run leaves the tab's picture where it was.
    await page.click("#run-worker");
    expect(await waitForEnd(page, 30_000, "#worker-status")).toMatch(/^failed: carrier rejected the address/);
    expect(await statesEntered(page, "#local-lane")).toEqual(["reserve", "charge", "hold", "ship"]);
    expect(await status(page)).toMatch(/^failed: carrier rejected the address/);

    // Edited code cannot run on the Worker, and the page says so; the view is one lane again.
    await replaceSource(page, `${await editorText(page)}\n// edited\n`);
    await page.waitForFunction(() => document.querySelector("#worker-note")?.textContent?.includes("Edited"));
    expect(await page.isDisabled("#run-worker")).toBe(true);
    expect(await page.isDisabled("#run-both")).toBe(true);
    expect(await page.isHidden("#worker-lane")).toBe(true);
    await page.click('[data-example="retry-circuit-breaker"]');
    expect(await page.isDisabled("#run-worker")).toBe(true);
    expect(await page.textContent("#worker-note")).toContain("Not compiled into the local Worker");
    expect(await status(page)).toBe("ready");
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);
});
