import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: [
      "test/unit/**/*.test.ts",
      "test/conformance/**/*.test.ts",
      "test/examples/**/*.test.ts",
      "test/crash/**/*.test.ts",
      "test/browser/**/*.test.ts",
      "test/cron/**/*.test.ts",
      "test/http/**/*.test.ts",
      "test/otel/**/*.test.ts",
    ],
    typecheck: { enabled: false },
  },
});
