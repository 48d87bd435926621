// Runs test/workers/*.test.ts inside workerd (Cloudflare's runtime) with the Workers Vitest pool.
// "cano", "cano/cloudflare" and "cano/http" resolve to the TypeScript sources, as in the root wrangler.toml.
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: source("./wrangler.toml") } })],
  resolve: {
    alias: [
      { find: /^cano\/cloudflare$/, replacement: source("../../adapters/cloudflare/index.ts") },
      { find: /^cano\/http$/, replacement: source("../../adapters/http/index.ts") },
      { find: /^cano$/, replacement: source("../../core/index.ts") },
    ],
  },
  test: {
    name: "workers",
    root: source("."),
    include: ["*.test.ts"],
  },
});
