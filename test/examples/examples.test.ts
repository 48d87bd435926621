import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");

/** What each example must print: its outcome, not just "it exited". */
const expectations: Record<string, RegExp[]> = {
  "cancellation.ts": [
    /user cancels[\s\S]*charge: done after 1 attempt/,
    /cancelled at "ship"/,
    /charge: compensated[\s\S]*reserve: compensated/,
    /run ended with cancelled before "ship"/,
    /signal aborted inside the step: false/,
    /^(?![\s\S]*\bshipped\b)/,
  ],
  "etl-split-join.ts": [
    /north 135[\s\S]*south 140[\s\S]*east +255[\s\S]*west +390/,
    /aggregate: 920 over 4 regions/,
    /max concurrent transforms: 2 \(bulkhead 2\); east calls: 2/,
    /final state: done/,
  ],
  "poll-until-ready.ts": [
    /status check 2 of job-r1: HTTP 502[\s\S]*status check 6 of job-r1: done/,
    /run 1 reached "done"/,
    /status check 4 of job-r2: HTTP 503/,
    /run 2 failed with task_execution in "wait"/,
  ],
  "recovery.ts": [
    /failed with task_execution in "enrich"/,
    /#0 state "fetch"\s+#1 state "enrich"/,
    /resumed at "enrich" after checkpoint #1/,
    /final state: done; resumed path: enrich → publish → done/,
    /task calls: fetch 1, enrich 2, publish 1/,
    /log rows left: 0/,
  ],
  "saga-payment.ts": [
    /ship: failed \[task_execution\] carrier rejected the address/,
    /charge: compensating[\s\S]*charge: compensated[\s\S]*reserve: compensating[\s\S]*reserve: compensated/,
    /final error: task_execution in "ship"/,
    /refunded 4999 cents on ch-42\s+released rsv-7/,
  ],
  "scatter-gather.ts": [
    /quorum\(2\): swift 42, slowpoke 37; best slowpoke at 37/,
    /failed: broken/,
    /slowpoke: request aborted/,
    /partialTimeout\(\) after 100 ms: swift 42; best swift at 42\s+failed: broken.*\s+cancelled: \[slowpoke\]/,
    /final state: done/,
  ],
  "scheduler.ts": [
    /preview of cron "30 2 \* \* \*" \(Europe\/Berlin\) from 2026-03-27:\s+2026-03-27T01:30:00\.000Z\s+2026-03-28T01:30:00\.000Z\s+2026-03-29T01:00:00\.000Z/,
    /tick:1-[0-9a-f]{8} started \(schedule\)/,
    /reindex:1-[0-9a-f]{8} started \(manual\)\s+second trigger refused \(workflow\)/,
    /status while reindex runs:[\s\S]*reindex\s+manual\s+running\s+runs 1/,
    /stopped: 0 timed out, 0 teardown errors/,
    /runs: heartbeat ([5-9]|\d{2,}), tick [1-9]\d*, reindex 1$/m,
  ],
  "stream-windows.ts": [
    /window of 3: ORDER-0 ORDER-1 ORDER-2\s+committed cursor 3[\s\S]*window of 3: ORDER-3 ORDER-4 ORDER-5\s+committed cursor 6[\s\S]*window of 2: ORDER-6 ORDER-7\s+committed cursor 8/,
    /duration window[\s\S]*window of 3: ORDER-0 ORDER-1 ORDER-2[\s\S]*window of 2: ORDER-3 ORDER-4\s+committed cursor 5[\s\S]*window of 1: ORDER-5\s+committed cursor 6/,
    /source closed: exhausted/,
  ],
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

/** Examples that keep serving until stopped; each has its own test below. */
const servers = ["http-server.ts"];

describe("examples", () => {
  it("has an expectation for every example file", () => {
    const files = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".ts"));
    expect(files.sort()).toEqual([...Object.keys(expectations), ...servers].sort());
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

/** Resolves with the child's output once it matches `pattern`; rejects if the child exits or `ms` pass first. */
function printed(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const deadline = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms:\n${output}`)), ms);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(deadline);
        resolve(output);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(deadline);
      reject(new Error(`exited with ${code} before printing ${pattern}:\n${output}`));
    });
  });
}

describe("examples that serve", () => {
  it("http-server.ts prints curl commands and answers them over its socket until stopped", async () => {
    const { CANO_API_TOKEN: _ignored, ...env } = process.env;
    const child = spawn(tsx, ["--conditions=source", join("examples", "http-server.ts"), "--port", "0"], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const output = await printed(child, /Press Ctrl\+C to stop\./, 30_000);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      expect(output).toMatch(
        /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/workflows\/order\/runs -H 'Authorization: Bearer demo-token'/,
      );
      const listed = await fetch(`${url}/workflows`);
      expect(await listed.json()).toMatchObject({ workflows: [{ name: "order", initial: "reserve" }] });
      const started = await fetch(`${url}/workflows/order/runs`, {
        method: "POST",
        headers: { authorization: "Bearer demo-token", "content-type": "application/json" },
        body: JSON.stringify({ input: { sku: "A-1", quantity: 2 } }),
      });
      expect(started.status).toBe(201);
      const { run } = (await started.json()) as { run: { id: string } };
      const events = await (await fetch(`${url}/runs/${run.id}/events`)).text();
      expect(events).toMatch(/"type":"retry"/);
      expect(events).toMatch(/event: end\ndata: \{"run":\{.*"status":"completed","state":"done"/);
    } finally {
      child.kill("SIGTERM");
      if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    }
  }, 60_000);
});

describe("README", () => {
  it("has a quick start that runs as written", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const code = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(code?.split("\n").length).toBeLessThanOrEqual(21);
    const dir = join(root, ".tmp");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `quickstart-${process.pid}.ts`);
    writeFileSync(file, code ?? "");
    try {
      const { stdout } = await run(tsx, ["--conditions=source", file], { cwd: root, timeout: 60_000 });
      expect(stdout.trim().split("\n").slice(0, 2)).toEqual([
        "Cano runs state machines.",
        "done flowchart TD",
      ]);
      expect(stdout).toContain("s0 --> s1");
      // It must also type-check as written, with the strict settings users are told to use.
      const tsc = join(root, "node_modules", ".bin", "tsc");
      const flags = [
        "--ignoreConfig",
        "--noEmit",
        "--strict",
        "--allowImportingTsExtensions",
        "--target",
        "es2022",
        "--module",
        "esnext",
        "--moduleResolution",
        "bundler",
      ];
      await run(tsc, [...flags, "--customConditions", "source", "--skipLibCheck", "--types", "node", file], {
        cwd: root,
      });
    } finally {
      rmSync(file);
    }
  });
});
