// The editor in Chromium: the workflow's TypeScript is compiled in the page; an edit that adds a
// state shows up in the graph and runs; errors are shown inline at their line; the URL carries the
// code, compressed, so a link opens the same workflow.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editorText, replaceSource } from "./support/editor.ts";
import type { Playground } from "./support/playground.ts";
import { screenshot, setSpeed, startPlayground, statesEntered, waitForEnd } from "./support/playground.ts";

const agentSource = readFileSync(
  join(import.meta.dirname, "..", "..", "playground", "examples", "agent-chain.ts"),
  "utf8",
);

/** The agent chain with one more state, "audit", between "publish" and "done". */
const withAudit = agentSource
  .replace(/("publish",\s*task\(\{\s*to: \[)"done"\]/, '$1"audit"]')
  .replace(
    /return "done";\s*\},\s*\}\),\s*\)\s*\.exit/,
    'return "audit";\n      },\n    }),\n  )\n  .register("audit", task({ to: ["done"], run: () => "done" }))\n  .exit',
  );

let playground: Playground;

beforeAll(async () => {
  playground = await startPlayground();
}, 120_000);

afterAll(async () => {
  await playground?.close();
});

/** The 1-based editor line that carries the inline error mark. */
async function markedLine(page: Page): Promise<number> {
  await page.waitForSelector(".cm-lintRange-error");
  return page.$eval(".cm-lintRange-error", (mark) => {
    const line = mark.closest(".cm-line");
    return (
      [...(line?.parentElement?.children ?? [])]
        .filter((child) => child.classList.contains("cm-line"))
        .indexOf(line as Element) + 1
    );
  });
}

describe("the editor", () => {
  it("compiles an edit that adds a state, draws it, runs it, and puts the code in the URL", async () => {
    expect(withAudit).toContain('.register("audit"');
    expect(withAudit).toContain('to: ["audit"]');
    const { page, errors } = await playground.open("#example=agent-chain");
    await replaceSource(page, withAudit);
    await page.waitForSelector('svg.graph [data-state="audit"]');
    await page.waitForFunction(() => location.hash.startsWith("#code="));
    expect(await page.textContent(".source-title")).toContain("(edited)");
    await setSpeed(page, "max");
    await page.click("#run");
    expect(await waitForEnd(page)).toBe("completed in “done”");
    expect((await statesEntered(page)).slice(-3)).toEqual(["publish", "audit", "done"]);
    const link = page.url();
    expect(errors).toEqual([]);
    await page.context().close();

    const shared = await playground.open(new URL(link).hash);
    expect(await editorText(shared.page)).toContain('.register("audit"');
    await shared.page.waitForSelector('svg.graph [data-state="audit"]');
    expect(shared.errors).toEqual([]);
    await shared.page.context().close();
  }, 60_000);

  it("shows a syntax error inline at its line, and refuses to run", async () => {
    const { page } = await playground.open("#example=agent-chain");
    const lines = agentSource.split("\n");
    lines.splice(11, 0, "const broken = ;");
    await replaceSource(page, lines.join("\n"));
    expect(await markedLine(page)).toBe(12);
    expect(await page.textContent("#problem")).toMatch(/^Line 12: Unexpected token/);
    expect(await page.isDisabled("#run")).toBe(true);
    await page.click("#problem"); // jumps to the line
    await screenshot(page, "editor-error");
    await page.context().close();
  }, 60_000);

  it("points at the line of an error thrown while loading, and at a state the workflow does not know", async () => {
    const { page } = await playground.open("#example=agent-chain");
    const lines = agentSource.split("\n");
    lines.splice(16, 0, 'throw new Error("no API key");');
    await replaceSource(page, lines.join("\n"));
    expect(await markedLine(page)).toBe(17);
    expect(await page.textContent("#problem")).toBe("Line 17: no API key");
    await replaceSource(page, agentSource.replace('to: ["research"]', 'to: ["reserach"]'));
    await page.waitForFunction(() => /reserach/.test(document.querySelector("#problem")?.textContent ?? ""));
    const line = agentSource.split("\n").findIndex((text) => text.includes('to: ["research"]')) + 1;
    expect(await markedLine(page)).toBe(line);
    await page.context().close();
  }, 60_000);
});
