/**
 * Case 5 in Chromium: bundles bench/durable/idb-page.ts for the browser (no "source" condition, so
 * "cano/idb" is the built dist/ like the rest of the bench), serves it with the browser tests'
 * static server on 127.0.0.1 and runs it in headless Chromium through playwright-core.
 *
 * Not `startHarness` itself: its module imports scripts/ensure-chromium.ts, whose "run as a script"
 * check is true inside the bench's bundle (and would print, or even apt-get install Chromium).
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import type { CheckpointRow } from "cano";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { pageFor } from "../../test/browser/harness/bundle.ts";
import type { ServedFile } from "../../test/browser/harness/server.ts";
import { startStaticServer } from "../../test/browser/harness/server.ts";
import type { DurableFigures, DurableTiming } from "./timing.ts";

/** `$CHROMIUM_PATH`, else the usual install paths (as scripts/ensure-chromium.ts looks). */
function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  const candidates =
    configured !== undefined && configured !== ""
      ? [configured]
      : [
          "/usr/bin/chromium",
          "/usr/bin/chromium-browser",
          "/usr/bin/google-chrome",
          "/usr/bin/google-chrome-stable",
        ];
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `no Chromium at ${candidates.join(", ")} (set CHROMIUM_PATH, or run npm test once as root)`,
  );
}

async function pageFiles(): Promise<Map<string, ServedFile>> {
  const result = await build({
    entryPoints: [join(process.cwd(), "bench", "durable", "idb-page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "warning",
  });
  return new Map([
    ["/bench.js", { body: result.outputFiles[0]!.text, type: "text/javascript; charset=utf-8" }],
    ["/bench.html", pageFor("bench")],
  ]);
}

/** Measures the adapter and raw `idb` in one fresh page; µs per row. */
export async function measureInChromium(
  rows: readonly CheckpointRow[],
  timing: DurableTiming,
): Promise<DurableFigures> {
  const server = await startStaticServer(await pageFiles());
  try {
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
      headless: true,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
      await page.goto(`${server.origin}/bench.html`);
      try {
        await page.waitForFunction(() => window.canoDurableBench !== undefined, undefined, {
          timeout: 10_000,
        });
        return await page.evaluate(({ rows, timing }) => window.canoDurableBench!.run(rows, timing), {
          rows: [...rows],
          timing,
        });
      } catch (error) {
        throw new Error(`bench page failed: ${String(error)}\n${errors.join("\n")}`);
      }
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }
}
