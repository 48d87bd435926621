/**
 * Case 7: minified + gzipped bundle sizes, built with esbuild (bundle, minify, format=esm,
 * platform=browser) and gzipped with zlib, of the whole core and of a minimal workflow, beside
 * XState and cockatiel built the same way.
 */
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import type { Row } from "./harness.ts";

/** Entry modules, as source text resolved from the package root ("cano" is the package itself). */
export const entries = {
  canoWhole: `export * from "cano";`,
  canoMinimal: `
    import { exponential, task, Workflow } from "cano";
    export const run = () => new Workflow()
      .register("call", task({ to: ["done"], retry: exponential(3), run: async () => "done" }))
      .exit("done")
      .orchestrate("call");`,
  xstateWhole: `export * from "xstate";`,
  xstateMinimal: `
    import { createActor, createMachine, fromPromise, toPromise } from "xstate";
    const machine = createMachine({ initial: "call", states: {
      call: { invoke: { src: fromPromise(async () => "done"), onDone: "done" } },
      done: { type: "final" },
    } });
    export const run = () => { const actor = createActor(machine); actor.start(); return toPromise(actor); };`,
  cockatielWhole: `export * from "cockatiel";`,
  cockatielMinimal: `
    import { ExponentialBackoff, handleAll, retry } from "cockatiel";
    const policy = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
    export const run = (call) => policy.execute(call);`,
} as const;

function bundle(contents: string) {
  return build({
    stdin: { contents, resolveDir: process.cwd(), loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "warning",
  });
}

/** The minified + gzipped size of one entry, in KB (1,024 bytes). */
export async function gzippedKb(contents: string): Promise<number> {
  const { outputFiles } = await bundle(contents);
  const bytes = outputFiles.reduce((sum, file) => sum + gzipSync(file.contents, { level: 9 }).length, 0);
  return bytes / 1_024;
}

/** The minified bytes each input module contributes to the bundle of `entry`, largest first. */
export async function bundleBreakdown(entry: keyof typeof entries): Promise<[string, number][]> {
  const { metafile } = await bundle(entries[entry]);
  const inputs = Object.values(metafile.outputs).flatMap((output) => Object.entries(output.inputs));
  return inputs
    .map(([path, { bytesInOutput }]): [string, number] => [path, bytesInOutput])
    .sort((a, b) => b[1] - a[1]);
}

/** The rows of case 7 (sizes are not timings: this case is exact and repeatable). */
export async function bundleRows(): Promise<Row[]> {
  const kb: Partial<Record<keyof typeof entries, number>> = {};
  for (const [name, contents] of Object.entries(entries)) {
    kb[name as keyof typeof entries] = await gzippedKb(contents);
  }
  const row = (whole: boolean, engineName: string, baselineName: string, baseline: number): Row => ({
    case: whole ? "7 bundle, whole core" : "7 bundle, minimal",
    engineName,
    baselineName,
    unit: "KB gz",
    engine: (whole ? kb.canoWhole : kb.canoMinimal)!,
    baseline,
    target: { kind: "engine-max", max: whole ? 12 : 5 },
  });
  return [
    row(true, "export * from cano", "export * from xstate", kb.xstateWhole!),
    row(true, "export * from cano", "export * from cockatiel", kb.cockatielWhole!),
    row(false, "one task, exponential(3)", "xstate: one fromPromise state", kb.xstateMinimal!),
    row(false, "one task, exponential(3)", "cockatiel: retry(exponential)", kb.cockatielMinimal!),
  ];
}
