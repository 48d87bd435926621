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
    ],
    typecheck: { enabled: false },
  },
});
