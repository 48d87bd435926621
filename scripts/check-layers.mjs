#!/usr/bin/env node
// Enforces the dependency rule of DESIGN.md as part of `npm test`:
// - core/ imports only core/ (no packages, no runtime built-ins, no Node-only globals);
// - an adapter imports core/, its own folder and packages, never another adapter;
// - examples/, playground/ and bench/ reach the library only through the package's own exports.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(process.argv[2] ?? ".");
const sourceFile = /\.(m?ts|tsx|m?js)$/;
const specifiers =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function filesUnder(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return sourceFile.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The layer a path belongs to: "core", "adapters/<name>", or the top-level folder. */
function layerOf(path) {
  const parts = relative(root, path).split(sep);
  return parts[0] === "adapters" && parts.length > 2 ? `adapters/${parts[1]}` : parts[0];
}

function withoutComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const problems = [];
for (const layer of ["core", "adapters", "examples", "playground", "bench"]) {
  for (const file of filesUnder(join(root, layer))) {
    const here = layerOf(file);
    const text = withoutComments(readFileSync(file, "utf8"));
    const where = relative(root, file);
    for (const match of text.matchAll(specifiers)) {
      const spec = match[1] ?? match[2] ?? match[3];
      if (!spec.startsWith(".")) {
        if (here === "core")
          problems.push(`${where}: imports "${spec}", but core/ takes no packages or built-ins`);
        continue;
      }
      const target = resolve(dirname(file), spec);
      const there = layerOf(target);
      if (here === "core" && there !== "core") problems.push(`${where}: imports "${spec}", outside core/`);
      if (here.startsWith("adapters/") && there !== "core" && there !== here)
        problems.push(`${where}: imports "${spec}" from ${there}; adapters never import each other`);
      const isLibrary = there === "core" || there.startsWith("adapters/");
      if (here !== "core" && !here.startsWith("adapters/") && isLibrary)
        problems.push(`${where}: imports "${spec}"; import the package ("cano", "cano/testing", …) instead`);
    }
    if (here === "core" && /\b(process\.|Buffer\.|require\(|__dirname)/.test(text))
      problems.push(`${where}: uses a Node-only global (process, Buffer, require or __dirname)`);
  }
}

if (problems.length > 0) {
  console.error(`layering: ${problems.length} problem(s)`);
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log("layering: core/ is self-contained, adapters stay in their lanes, examples use public entries");
