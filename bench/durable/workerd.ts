/**
 * Case 5 in workerd: bundles bench/durable/do-worker.ts for the Workers runtime ("cano/cloudflare"
 * from dist/), runs it in Miniflare (offline) with a SQLite-backed Durable Object, and asks the
 * object to time both writers in place, so no request crosses the timed code.
 */
import { join } from "node:path";
import type { CheckpointRow } from "cano";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import type { DurableBenchRequest } from "./do-worker.ts";
import type { DurableFigures, DurableTiming } from "./timing.ts";

/** Measures the adapter and raw SQL inserts in one Durable Object; µs per row. */
export async function measureInWorkerd(
  rows: readonly CheckpointRow[],
  timing: DurableTiming,
): Promise<DurableFigures> {
  const bundle = await build({
    entryPoints: [join(process.cwd(), "bench", "durable", "do-worker.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import"],
    mainFields: ["module", "main"],
    logLevel: "warning",
  });
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    compatibilityDate: "2025-09-01",
    durableObjects: { BENCH: { className: "CheckpointBench", useSQLite: true } },
  });
  try {
    const body: DurableBenchRequest = { rows, timing };
    const response = await mf.dispatchFetch("http://bench/", { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`bench object answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as DurableFigures;
  } finally {
    await mf.dispose();
  }
}
