import { defaultClientConditions, defineConfig } from "vite";

/** The playground: bundled from the library's TypeScript sources (the `source` export condition). */
export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  resolve: { conditions: ["source", ...defaultClientConditions] },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 1_500 },
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 8787, strictPort: true },
});
