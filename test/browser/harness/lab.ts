import type { BrowserContext, Page } from "playwright-core";
import type { BrowserHarness } from "./index.ts";

/** The page entry that puts the library, raw `idb` and the conformance cases on `window.lab`. */
export const labPages = { lab: "test/browser/pages/lab.ts" } as const;

/** Opens the lab page (in `context`, or in a fresh profile of its own) and waits until it is ready. */
export async function openLab(harness: BrowserHarness, context?: BrowserContext): Promise<Page> {
  const page = context === undefined ? await harness.newIsolatedPage() : await context.newPage();
  await page.goto(harness.url("/lab.html"));
  await page.waitForFunction(() => document.title === "lab ready");
  return page;
}
