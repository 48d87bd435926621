/**
 * Serves the browser agent example on http://127.0.0.1: bundles `main.ts` (and through it `cano` and
 * `cano/idb`, from the sources) with esbuild, serves `index.html`, and prints the URL.
 * Usage: npm run example:browser [-- --port 5173]   (the default port is 5173; 0 picks a free one)
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const portFlag = process.argv.indexOf("--port");
const port = Number(portFlag === -1 ? (process.env.PORT ?? 5173) : process.argv[portFlag + 1]);

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [`${here}main.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["source"],
    write: false,
    sourcemap: "inline",
    logLevel: "warning",
  });
  return result.outputFiles[0]?.text ?? "";
}

const server = createServer((request, response) => {
  void (async () => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    // Bundled per request, so an edit shows on the next reload.
    if (path === "/main.js") {
      const js = await bundle();
      response
        .writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" })
        .end(js);
    } else if (path === "/" || path === "/index.html") {
      const html = await readFile(`${here}index.html`);
      response
        .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
        .end(html);
    } else if (path === "/favicon.ico") {
      response.writeHead(204).end();
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  })().catch((error: unknown) => {
    response.writeHead(500, { "content-type": "text/plain" }).end(String(error));
  });
});

await bundle(); // fail fast on a build error, before printing the URL
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  const actual = typeof address === "object" && address !== null ? address.port : port;
  console.log(`Browser agent: http://127.0.0.1:${actual}/  (Ctrl+C to stop)`);
});
