// The shared CheckpointStore conformance suite, run inside Chromium against IndexedDbCheckpointStore:
// each case on its own fresh database, then every case on one shared database.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointStoreCases } from "../conformance/checkpoint-store-cases.ts";
import type { BrowserHarness } from "./harness/index.ts";
import { startHarness } from "./harness/index.ts";
import { labPages, openLab } from "./harness/lab.ts";

let harness: BrowserHarness;
let page: Page;

beforeAll(async () => {
  harness = await startHarness({ pages: labPages });
  page = await openLab(harness);
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

describe("CheckpointStore conformance: IndexedDbCheckpointStore in Chromium", () => {
  it("the page runs the same cases as Node", async () => {
    expect(await page.evaluate(() => window.lab.caseNames)).toEqual(checkpointStoreCases.map((c) => c.name));
  });

  for (const { name } of checkpointStoreCases) {
    it(name, async () => {
      const failure = await page.evaluate((caseName) => window.lab.runCase(caseName), name);
      expect(failure, failure ?? "").toBeNull();
    });
  }

  it("runs every case on one shared store too", async () => {
    const failures = await page.evaluate(async () => {
      const { adapter, cases } = window.lab;
      const db = await adapter.openCanoDatabase(`conformance-shared-${crypto.randomUUID()}`);
      const store = new adapter.IndexedDbCheckpointStore(db);
      const failed: string[] = [];
      for (const c of cases)
        await c.run(store).catch((error: unknown) => failed.push(`${c.name}: ${String(error)}`));
      db.close();
      return failed;
    });
    expect(failures).toEqual([]);
  });
});
