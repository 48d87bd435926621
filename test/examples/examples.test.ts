import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");

/** What each example must print: its outcome, not just "it exited". */
const expectations: Record<string, RegExp[]> = {
  "agent-chain.ts": [
    /attempt 1 failed \(.*search API 503/,
    /critique: done after 1 attempt\(s\), next "draft"/,
    /final state: done/,
  ],
  "linear-pipeline.ts": [/loaded total = 42/, /final state: done; path: extract → transform → load → done/],
  "node-summarize.ts": [
    /exec attempt 3/,
    /summary: State machines make workflows explicit/,
    /model calls: 3/,
  ],
  "retry-circuit-breaker.ts": [
    /breaker: closed → open/,
    /failed with circuit_open/,
    /breaker: half_open → closed/,
    /run 4 reached "done"/,
  ],
};

describe("examples", () => {
  it("has an expectation for every example file", () => {
    const files = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".ts"));
    expect(files.sort()).toEqual(Object.keys(expectations).sort());
  });

  it.each(Object.entries(expectations))(
    "%s runs to completion and prints its outcome",
    async (file, patterns) => {
      const { stdout } = await run(tsx, ["--conditions=source", join("examples", file)], {
        cwd: root,
        timeout: 60_000,
      });
      for (const pattern of patterns) expect(stdout).toMatch(pattern);
    },
  );
});

describe("README", () => {
  it("has a quick start that runs as written", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const code = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(code?.split("\n").length).toBeLessThanOrEqual(26);
    const dir = join(root, ".tmp");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `quickstart-${process.pid}.ts`);
    writeFileSync(file, code ?? "");
    try {
      const { stdout } = await run(tsx, ["--conditions=source", file], { cwd: root, timeout: 60_000 });
      expect(stdout.trim().split("\n")).toEqual(["Cano runs state machines.", "done"]);
    } finally {
      rmSync(file);
    }
  });
});
