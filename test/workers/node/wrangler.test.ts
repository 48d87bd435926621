// The root wrangler.toml, checked from Node with the real wrangler CLI: the crons the example
// Worker uses are declared, `wrangler deploy --dry-run` bundles it, and `wrangler dev` serves it
// locally with no account (with a dev token passed as `--var`, as the README says).
import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { assertCronsDeclared, readRunStream } from "cano/cloudflare";
import { afterAll, describe, expect, it } from "vitest";
import { triggers } from "../../../examples/worker/triggers.ts";
import { freePort, waitForOutput } from "../../support/processes.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..", "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");
const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
const scratch = mkdtempSync(join(tmpdir(), "cano-wrangler-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("wrangler.toml at the root", () => {
  it("lists every cron used in code under [triggers] crons", () => {
    expect(triggers.crons.length).toBeGreaterThan(0);
    assertCronsDeclared(triggers.crons, toml);
  });

  it("a cron missing from it is a clear error naming the cron", () => {
    const without = toml.replace(/^crons = .*$/m, "crons = []");
    expect(() => assertCronsDeclared(triggers.crons, without)).toThrow(
      /"0 3 \* \* \*" is used in code but missing from wrangler.toml \[triggers\] crons/,
    );
  });

  it("deploys the example Worker in a dry run", { timeout: 120_000 }, async () => {
    const outdir = join(scratch, "dry-run");
    const { stdout } = await run(wrangler, ["deploy", "--dry-run", "--outdir", outdir], {
      cwd: root,
      env: wranglerEnv,
      timeout: 110_000,
    });
    expect(stdout).toContain("env.RUN_HOST (RunHost)");
    expect(stdout).toContain("--dry-run: exiting now.");
    const bundle = readFileSync(
      join(outdir, readdirSync(outdir).find((f) => f.endsWith(".js")) ?? ""),
      "utf8",
    );
    expect(bundle).toContain("cano_host_meta");
  });
});

/** Stops the child's process group: SIGTERM, then SIGKILL if it is still there after 10 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

describe("npx wrangler dev", () => {
  it("serves the example Worker on 127.0.0.1 with no account, behind its token", {
    timeout: 90_000,
  }, async () => {
    const port = await freePort();
    const token = `dev-${crypto.randomUUID()}`;
    const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--test-scheduled"];
    const child = spawn(
      wrangler,
      [...args, "--var", `CANO_API_TOKEN:${token}`, "--persist-to", join(scratch, "state")],
      {
        cwd: root,
        env: wranglerEnv,
        detached: true, // its own process group, so workerd goes down with it
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      await waitForOutput(child, /Ready on/, "wrangler dev");
      const base = `http://127.0.0.1:${port}`;
      const signal = AbortSignal.timeout(30_000);
      const auth = { authorization: `Bearer ${token}` };
      const home = await fetch(`${base}/`, { signal });
      expect(await home.json()).toMatchObject({ workflows: ["greet", "order", "nightly-report"] });

      const start = (headers: Record<string, string>) =>
        fetch(`${base}/workflows/greet/runs`, {
          method: "POST",
          body: JSON.stringify({ input: { name: "Ada" } }),
          headers: { "content-type": "application/json", ...headers },
          signal,
        });
      expect((await start({})).status).toBe(401);
      const started = await start(auth);
      expect(started.status).toBe(201);
      const { run } = (await started.json()) as { run: { id: string } };
      let end: unknown;
      const events = await fetch(`${base}/runs/${run.id}/events`, { headers: auth, signal });
      for await (const item of readRunStream(events)) {
        if (item.kind === "end") end = item.run;
      }
      expect(end).toMatchObject({ run: { status: "completed", state: "done" } });

      const unknown = await fetch(`${base}/workflows/nope/runs`, { method: "POST", headers: auth, signal });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: { code: "unknown_workflow" } });

      const scheduled = await fetch(`${base}/__scheduled?cron=${encodeURIComponent("0 3 * * *")}`, {
        signal,
      });
      expect(await scheduled.text()).toContain("Ran scheduled event");
    } finally {
      await stop(child);
    }
  });
});
