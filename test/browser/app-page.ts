// Helpers for tests driving the reload app page (test/browser/pages/reload-app.ts).
import type { Page } from "playwright-core";
import type { BrowserHarness } from "./harness/index.ts";
import type { AppResult, AppStatus, RunReport } from "./pages/reload-app.ts";

/** The page entries every reload test bundles. */
export const appPages = {
  "reload-app": "test/browser/pages/reload-app.ts",
  lab: "test/browser/pages/lab.ts",
} as const;

/** Statuses after which the page does nothing more. */
export const finalStatuses: readonly AppStatus[] = ["done", "failed", "lease-held"];

/** Query parameters of the app page. */
export interface AppParams {
  readonly run: string;
  readonly mode?: "succeed" | "fail";
  readonly lease?: "wait" | "fail";
  readonly tab?: string;
  readonly hold?: string;
  readonly pause?: number;
}

/** The app page's URL for `params`. */
export function appUrl(harness: BrowserHarness, params: AppParams): string {
  const query = new URLSearchParams(Object.entries(params).map(([name, value]) => [name, String(value)]));
  return harness.url(`/reload-app.html?${query}`);
}

/** Waits until the page's status is one of `statuses` and returns it. */
export async function waitForStatus(
  page: Page,
  statuses: readonly AppStatus[],
  timeout = 20_000,
): Promise<AppStatus> {
  await page.waitForFunction(
    (wanted: readonly string[]) => wanted.includes(document.body?.dataset.status ?? ""),
    statuses,
    { timeout, polling: 5 },
  );
  return (await page.evaluate(() => window.reloadApp.status)) as AppStatus;
}

/** The page's result, once it has one. */
export function resultOf(page: Page): Promise<AppResult | undefined> {
  return page.evaluate(() => window.reloadApp.result);
}

/** The ledger, memory and rows of the page's run. */
export function reportOf(page: Page): Promise<RunReport> {
  return page.evaluate(() => window.reloadApp.report());
}
