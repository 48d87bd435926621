// Builds the playground with Vite (from the library's sources) into a temporary folder, serves it
// with the browser harness of test/browser, and drives it through its DOM in a real Chromium.
import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { build } from "vite";
import type { BrowserHarness } from "../../browser/harness/index.ts";
import { collectPageErrors, startHarness } from "../../browser/harness/index.ts";

const repo = join(import.meta.dirname, "..", "..", "..");

/** Where screenshots go: `$PLAYGROUND_SCREENSHOTS`, else test-results/playground (git-ignored). */
export const screenshotDir = process.env.PLAYGROUND_SCREENSHOTS ?? join(repo, "test-results", "playground");

/** A served playground build and the browser driving it. */
export interface Playground {
  readonly harness: BrowserHarness;
  /** Opens the page at `hash` (e.g. `#example=saga-payment`) in a new tab of `context` (a new one by default). */
  open(hash?: string, page?: Page): Promise<OpenedPage>;
  close(): Promise<void>;
}

/** A page of the playground, and the errors it logged. */
export interface OpenedPage {
  readonly page: Page;
  readonly errors: string[];
}

/** Builds the playground and starts the harness. */
export async function startPlayground(): Promise<Playground> {
  const outDir = join(repo, ".tmp", `playground-test-${process.pid}-${randomUUID().slice(0, 8)}`);
  await build({
    configFile: join(repo, "playground", "vite.config.ts"),
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
  const harness = await startHarness({ root: outDir });
  return {
    harness,
    open: async (hash = "", existing) => {
      const page =
        existing ??
        (await (await harness.browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage());
      const errors = collectPageErrors(page);
      await page.goto(harness.url(`/${hash}`));
      await page.waitForSelector("body[data-ready=true]");
      return { page, errors };
    },
    close: async () => {
      await harness.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as `<name>.png` in {@link screenshotDir}; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The run status line. */
export async function status(page: Page): Promise<string> {
  return (await page.textContent("#run-status")) ?? "";
}

/** Waits until the run (or schedule) has ended, and returns the status line (`#worker-status`: the Worker's). */
export async function waitForEnd(page: Page, timeout = 30_000, line = "#run-status"): Promise<string> {
  await page.waitForFunction(
    (selector) => {
      const text = document.querySelector(selector)?.textContent ?? "";
      return /^(completed|failed|cancelled)/.test(text);
    },
    line,
    { timeout },
  );
  return (await page.textContent(line)) ?? "";
}

/** Picks the speed button labelled `label` (`1×`, `max`, …). */
export async function setSpeed(page: Page, label: string): Promise<void> {
  await page.click(`[data-speed="${label}"]`);
}

/** The states entered, in order, from the timeline (of the lane `within`, e.g. `#worker-lane`, if given). */
export async function statesEntered(page: Page, within?: string): Promise<string[]> {
  return page.$$eval(scoped(within, '.event[data-kind="state_enter"] .text'), (rows) =>
    rows.map((row) => (row.textContent ?? "").replace(/^→\s*/, "")),
  );
}

/** `selector` inside `within`, if given. */
const scoped = (within: string | undefined, selector: string) =>
  within === undefined ? selector : `${within} ${selector}`;

/** The timeline rows as `kind: text`, in order (of the lane `within`, if given). */
export async function timeline(page: Page, within?: string): Promise<string[]> {
  return page.$$eval(scoped(within, ".event"), (rows) =>
    rows.map((row) => `${row.getAttribute("data-kind")}: ${row.querySelector(".text")?.textContent ?? ""}`),
  );
}

/** The `data-status` of a state's node in the graph (of the lane `within`, if given). */
export async function nodeStatus(page: Page, state: string, within?: string): Promise<string | null> {
  return page.getAttribute(scoped(within, `svg.graph [data-state="${state}"]`), "data-status");
}
