// Bundles page entries for the browser with esbuild, from the sources: "cano" and "cano/idb" resolve
// through the package's own exports with the "source" condition, so the page runs the code under test.
import { build } from "esbuild";
import type { ServedFile } from "./server.ts";

/** Bundles each entry (name → TypeScript file) to `/<name>.js`, in memory. */
export async function bundlePages(
  entries: Readonly<Record<string, string>>,
): Promise<Map<string, ServedFile>> {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["source"],
    outdir: "/bundles",
    write: false,
    sourcemap: "inline",
    logLevel: "warning",
  });
  const files = new Map<string, ServedFile>();
  for (const output of result.outputFiles) {
    files.set(output.path.replace(/^\/bundles/, ""), {
      body: output.text,
      type: "text/javascript; charset=utf-8",
    });
  }
  return files;
}

/** A minimal HTML page that loads `/<name>.js` as a module. */
export function pageFor(name: string, title = name): ServedFile {
  return {
    type: "text/html; charset=utf-8",
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><script type="module" src="/${name}.js"></script></body></html>`,
  };
}
