// The browser agent example, as a user runs it: `npm run example:browser` serves it, a page asks a
// question, the tab is reloaded mid-run (during the parallel tool calls), and the run resumes from
// IndexedDB and finishes with the deterministic answer. Screenshots go to .tmp/screenshots/.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeModel, toolNames } from "../../examples/browser-agent/agent.ts";
import { collectPageErrors, launchChromium } from "./harness/index.ts";

const root = join(import.meta.dirname, "..", "..");
const shots = join(root, ".tmp", "screenshots");
const question = "What should I pack for a day hike near Lisbon?";

let server: ChildProcess | undefined;
let url = "";
let browser: Browser;

/** Starts the example's own server (as `npm run example:browser` does) and reads the URL it prints. */
function startExample(): Promise<string> {
  const child = spawn(
    join(root, "node_modules", ".bin", "tsx"),
    ["--conditions=source", "examples/browser-agent/serve.ts", "--port", "0"],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  server = child;
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const found = /Browser agent: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) =>
      reject(new Error(`example server exited (${code}) before printing its URL:\n${output}`)),
    );
  });
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  url = await startExample();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.kill();
});

/** The chip states shown on the page, e.g. `{ plan: "done", search: "active", … }`. */
function chips(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll<HTMLElement>("[data-step]")].map((chip) => [
        chip.dataset.step,
        chip.dataset.state ?? "",
      ]),
    ),
  );
}

describe("examples/browser-agent", () => {
  it("answers, survives a reload during the tool calls, and resumes from IndexedDB", async () => {
    const page = await (await browser.newContext({ viewport: { width: 1000, height: 760 } })).newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${url}?latency=400`);
    await page.waitForSelector("body[data-status=idle]");
    await page.click("button[type=submit]");
    // Mid-run: the plan is made and the parallel tool calls are under way.
    await page.waitForSelector("[data-step=plan][data-state=done]");
    await page.waitForSelector("[data-group=tools][data-state=active]");
    await page.screenshot({ path: join(shots, "browser-agent-1-mid-run.png") });
    const before = await chips(page);
    expect(before.answer).toBe("");

    await page.reload();
    await page.waitForSelector("body[data-resumed]");
    await page.screenshot({ path: join(shots, "browser-agent-2-resumed.png") });
    expect(await page.textContent("#banner")).toMatch(
      /Resumed after a reload: re-entering "(tools|reflect|answer)" from checkpoint #\d+/,
    );

    await page.waitForSelector("body[data-status=done]", { timeout: 30_000 });
    await page.screenshot({ path: join(shots, "browser-agent-3-done.png"), fullPage: true });
    const plan = fakeModel.plan(question);
    const observations = toolNames.map((tool) => {
      const input = plan.find((call) => call.tool === tool)?.input ?? "";
      return { tool, input, output: fakeModel.call(tool, input) };
    });
    expect(await page.textContent("#answer")).toBe(fakeModel.answer(question, observations));
    expect(await page.textContent("#status")).toBe('Done (final state "done").');
    expect(await chips(page)).toEqual({
      plan: "done",
      search: "done",
      calculator: "done",
      weather: "done",
      reflect: "done",
      answer: "done",
    });
    const memory = (await page.textContent("#memory")) ?? "";
    for (const name of [
      "answer",
      "plan",
      "question",
      "reflection",
      "tool:calculator",
      "tool:search",
      "tool:weather",
    ]) {
      expect(memory).toContain(`${name}: `);
    }

    // Another reload shows the finished answer from IndexedDB, without running anything again.
    await page.reload();
    await page.waitForSelector("body[data-status=done]");
    expect(await page.textContent("#status")).toBe("Last answer (from IndexedDB).");
    expect(await page.textContent("#answer")).toBe(fakeModel.answer(question, observations));
    expect(await page.evaluate(() => document.body.dataset.resumed)).toBeUndefined();
    expect(errors).toEqual([]);
  }, 60_000);
});
