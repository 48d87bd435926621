// The browser test harness: bundle page entries from the sources, serve them on 127.0.0.1, and drive
// a real Chromium with Playwright. Every browser test (and later the playground's) starts here.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { findChromium, installAdvice } from "../../../scripts/ensure-chromium.ts";
import { bundlePages, pageFor } from "./bundle.ts";
import type { ServedFile, StaticServer } from "./server.ts";
import { startStaticServer } from "./server.ts";

/** Chromium flags that work on these machines (see ENVIRONMENT.md). */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
] as const;

/** Launches headless Chromium from `$CHROMIUM_PATH` or the usual install paths; fails with the install command. */
export async function launchChromium(): Promise<Browser> {
  const lookup = findChromium();
  if (!lookup.found) {
    throw new Error(
      `${lookup.problem} Browser tests need Chromium (npm test installs it when run as root).\n${installAdvice()}`,
    );
  }
  return chromium.launch({ executablePath: lookup.path, args: [...chromiumArgs], headless: true });
}

/** What a harness serves: page entries to bundle, and optionally a folder of static files. */
export interface HarnessOptions {
  /** Page name → TypeScript entry; each is bundled to `/<name>.js` with a page at `/<name>.html`. */
  readonly pages?: Readonly<Record<string, string>>;
  /** Extra files served from memory, by path. */
  readonly files?: ReadonlyMap<string, ServedFile>;
  /** A folder whose files are served as they are. */
  readonly root?: string;
}

/** A running harness: a server, a browser, and helpers to open pages on the server's origin. */
export interface BrowserHarness {
  readonly server: StaticServer;
  readonly browser: Browser;
  /** `http://127.0.0.1:<port>` + `path`. */
  url(path: string): string;
  /** A new page in a new browser context (its own profile: separate IndexedDB and locks). */
  newIsolatedPage(): Promise<Page>;
  /** A new context; pages opened in it share storage and locks, like tabs of one browser. */
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Bundles the pages, starts the server and launches Chromium. */
export async function startHarness(options: HarnessOptions): Promise<BrowserHarness> {
  const files = new Map(options.files);
  for (const [path, file] of await bundlePages(options.pages ?? {})) files.set(path, file);
  for (const name of Object.keys(options.pages ?? {})) files.set(`/${name}.html`, pageFor(name));
  const server = await startStaticServer(files, options.root);
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    await server.close();
    throw error;
  }
  const newContext = () => browser.newContext({ viewport: { width: 1000, height: 700 } });
  return {
    server,
    browser,
    url: (path) => `${server.origin}${path}`,
    newContext,
    newIsolatedPage: async () => (await newContext()).newPage(),
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

/** Collects uncaught page errors and console errors, so a test can show them when it fails. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console.error: ${message.text()}`);
  });
  return errors;
}
