// A tiny static HTTP server on 127.0.0.1 (random port) for browser tests: IndexedDB and Web Locks need
// a real origin, so pages are never opened from file: or data: URLs.
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";

/** A file served from memory: its body and content type. */
export interface ServedFile {
  readonly body: string | Uint8Array;
  readonly type: string;
}

/** A running server; `close()` stops it. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>` without a trailing slash. */
  readonly origin: string;
  /** Adds or replaces a file served from memory at `path` (e.g. `/app.js`). */
  set(path: string, file: ServedFile): void;
  close(): Promise<void>;
}

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** The content type for a file name. */
export function contentType(path: string): string {
  return types[extname(path)] ?? "application/octet-stream";
}

/**
 * Serves in-memory files first, then files under `folder` (if given); `/` means `/index.html`.
 * Listens on 127.0.0.1 on a free port chosen by the OS.
 */
export async function startStaticServer(
  files: ReadonlyMap<string, ServedFile>,
  folder?: string,
): Promise<StaticServer> {
  const memory = new Map(files);
  const root = folder === undefined ? undefined : resolve(folder);
  const server: Server = createServer((request, response) => {
    void (async () => {
      let path: string;
      try {
        path = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
      } catch {
        response.writeHead(400).end("malformed path");
        return;
      }
      const wanted = path === "/" ? "/index.html" : path;
      let file = memory.get(wanted);
      if (file === undefined && root !== undefined) {
        const full = normalize(join(root, wanted));
        if (full.startsWith(root + sep)) {
          file = await readFile(full).then(
            (body) => ({ body: new Uint8Array(body), type: contentType(full) }),
            () => undefined,
          );
        }
      }
      if (file === undefined && wanted === "/favicon.ico") {
        response.writeHead(204).end(); // no icon, and no 404 in the page's console
        return;
      }
      if (file === undefined) {
        response.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${wanted}`);
        return;
      }
      response.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("static server: no TCP address");
  return {
    origin: `http://127.0.0.1:${address.port}`,
    set: (path, file) => void memory.set(path, file),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
