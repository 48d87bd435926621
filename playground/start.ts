// `npm start`: builds the playground (from the library's TypeScript sources) and serves it on
// http://127.0.0.1:8787. Until the local Worker serves it as static assets, Vite's preview server does.
import { join } from "node:path";
import { build, preview } from "vite";

const configFile = join(import.meta.dirname, "vite.config.ts");
await build({ configFile, logLevel: "warn" });
const server = await preview({ configFile, logLevel: "warn" });
const url = server.resolvedUrls?.local[0] ?? "http://127.0.0.1:8787/";
console.log(`\n  Cano playground: ${url.replace(/\/$/, "")}\n  (Ctrl+C stops it)\n`);
