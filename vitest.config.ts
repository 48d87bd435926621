import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    typecheck: { enabled: false },
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: [
            "test/unit/**/*.test.ts",
            "test/conformance/**/*.test.ts",
            "test/examples/**/*.test.ts",
            "test/crash/**/*.test.ts",
            "test/browser/**/*.test.ts",
            "test/playground/**/*.test.ts",
            "test/cron/**/*.test.ts",
            "test/http/**/*.test.ts",
            "test/otel/**/*.test.ts",
            "test/workers/node/**/*.test.ts",
          ],
        },
      },
      // Inside workerd (Cloudflare's runtime), with the Workers pool.
      "test/workers/vitest.config.mts",
    ],
  },
});
