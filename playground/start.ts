// `npm start`: builds the playground (from the library's TypeScript sources), then serves it with the
// example Worker under `wrangler dev` on http://127.0.0.1:8787: the built page as static assets
// (`--assets`), everything else (`/workflows`, `/runs/…`) answered by the Worker's HTTP API. The API's
// token is made fresh for each start and handed to the page once, in the printed URL (`?token=`);
// the page keeps it for the tab's session and drops it from the address bar.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { build } from "vite";

const root = join(import.meta.dirname, "..");
const configFile = join(import.meta.dirname, "vite.config.ts");
const outDir = process.env.PLAYGROUND_OUT_DIR ?? join(import.meta.dirname, "dist");
const port = process.env.PLAYGROUND_PORT ?? "8787";

/** Starts `wrangler dev` on 127.0.0.1 with the built page as assets and `token` as the API token. */
function startWorker(options: {
  readonly assets: string;
  readonly port: string;
  readonly token: string;
  readonly persistTo?: string;
  readonly stdio?: "inherit" | "pipe";
}): ChildProcess {
  const wrangler = join(root, "node_modules", ".bin", "wrangler");
  const args = ["dev", "--ip", "127.0.0.1", "--port", options.port, "--assets", options.assets];
  args.push("--var", `CANO_API_TOKEN:${options.token}`);
  if (options.persistTo !== undefined) args.push("--persist-to", options.persistTo);
  return spawn(wrangler, args, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    detached: true, // its own process group, so workerd goes down with it
    stdio: ["ignore", options.stdio ?? "pipe", options.stdio ?? "pipe"],
  });
}

async function main(): Promise<void> {
  await build({ configFile, logLevel: "warn", build: { outDir, emptyOutDir: true } });
  const token = randomBytes(24).toString("base64url");
  const child = startWorker({ assets: outDir, port, token });
  const stop = () => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let output = "";
  let printed = false;
  const onData = (chunk: Buffer) => {
    if (printed) {
      // After startup, only wrangler's errors are worth showing.
      const text = chunk.toString();
      if (/error/i.test(text) && !/Request\.cf/.test(text)) process.stderr.write(text);
      return;
    }
    output += chunk.toString();
    if (!output.includes("Ready on")) return;
    printed = true;
    const base = `http://127.0.0.1:${port}`;
    console.log(
      `\n  Cano playground: ${base}/?token=${token}\n` +
        `  (the page and the local Worker's HTTP API; the token is new on every start)\n` +
        `  API: curl ${base}/workflows\n  (Ctrl+C stops it)\n`,
    );
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  child.once("exit", (code) => {
    if (!printed) process.stderr.write(output);
    process.exit(code ?? 0);
  });
}

await main();
