/**
 * `npm run bench`: builds the package, bundles this file to dist/bench/run.mjs (importing "cano"
 * resolves to dist/ through the package's exports) and runs every case of issue 10.
 *
 *   npm run bench                      the table
 *   npm run bench -- --json            the table, and bench/results.json
 *   npm run bench -- --only split      only the groups whose title contains "split"
 *   npm run bench -- --profile engine  a CPU profile of one runner (see `runners` below)
 *   npm run bench -- --sizes canoMinimal  the minified bytes per module of one bundle of case 7
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleBreakdown, bundleRows, entries } from "./bundle-size.ts";
import type { Skipped } from "./durable/index.ts";
import { durableRows } from "./durable/index.ts";
import type { Judged, Row } from "./harness.ts";
import { formatTable, judge, machine } from "./harness.ts";
import { memoryRows } from "./memory.ts";
import { loop, profileRunner } from "./profile.ts";
import { resilienceRows, resilienceRunners } from "./resilience.ts";
import { splitRows, splitRunners } from "./split-join.ts";
import { transitionRows, transitionRunners } from "./transitions.ts";

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

function runners(): Record<string, () => Promise<unknown>> {
  return { ...transitionRunners(), ...resilienceRunners(), ...splitRunners() };
}

function runner(name: string): () => Promise<unknown> {
  const all = runners();
  const found = all[name];
  if (found === undefined)
    throw new Error(`bench: unknown runner "${name}"; expected one of ${Object.keys(all).join(", ")}`);
  return found;
}

async function benchmarks(json: boolean, only: string | undefined): Promise<void> {
  const { nproc, cpu, node } = machine();
  console.log(`Cano benchmarks: ${nproc} cores, ${cpu}, Node ${node}\n`);
  const skipped: Skipped[] = [];
  const groups: readonly [string, () => Promise<Row[]>][] = [
    ["cases 1, 2, 5: transitions", () => transitionRows()],
    ["case 3: retry + breaker + timeout", () => resilienceRows()],
    ["case 4: split/join", () => splitRows()],
    ["case 6: memory", memoryRows],
    ["case 7: bundle size", bundleRows],
    // Last: once Chromium and workerd have been started, everything this process measures after
    // them runs 2-4x slower (the split rows did), so nothing in-process comes after them.
    [
      "case 5: Chromium and workerd adapters",
      async () => {
        const durable = await durableRows();
        skipped.push(...durable.skipped);
        return durable.rows;
      },
    ],
  ];
  const chosen = groups.filter(([title]) => only === undefined || title.includes(only));
  if (chosen.length === 0)
    throw new Error(`bench: --only "${only}" matches no group; groups: ${groups.map(([t]) => t).join("; ")}`);
  const rows: Judged[] = [];
  for (const [title, measure] of chosen) {
    const started = performance.now();
    rows.push(...(await measure()).map(judge));
    console.error(`  ${title} (${((performance.now() - started) / 1_000).toFixed(1)} s)`);
  }
  console.log(`\n${formatTable(rows)}\n`);
  for (const { case: name, reason } of skipped) console.log(`skipped: ${name}: ${reason}`);
  const met = rows.filter((row) => row.met === true).length;
  console.log(`\n${met} of ${rows.filter((row) => row.met !== null).length} targets met`);
  if (json) {
    const file = "bench/results.json";
    const results = { date: new Date().toISOString(), machine: { nproc, cpu, node }, rows, skipped };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
}

const loopName = option("--loop");
const sizesOf = option("--sizes");
const profileName = option("--profile");
const seconds = Number(option("--seconds") ?? 10);
if (loopName !== undefined) {
  const calls = await loop(runner(loopName), seconds);
  console.log(`${loopName}: ${calls} calls in ${seconds} s`);
} else if (sizesOf !== undefined) {
  if (!(sizesOf in entries))
    throw new Error(`bench: --sizes expects one of ${Object.keys(entries).join(", ")}`);
  const breakdown = await bundleBreakdown(sizesOf as keyof typeof entries);
  const total = breakdown.reduce((sum, [, bytes]) => sum + bytes, 0);
  for (const [path, bytes] of breakdown)
    console.log(
      `${String(bytes).padStart(7)} B  ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${path}`,
    );
  console.log(`${String(total).padStart(7)} B  minified, before gzip`);
} else if (profileName !== undefined) {
  runner(profileName); // fail here, not in the child, on a typo
  const top = profileRunner(fileURLToPath(import.meta.url), profileName, seconds);
  for (const { name, where, percent, hotLines } of top) {
    console.log(`${percent.toFixed(1).padStart(5)} %  ${name.padEnd(28)} ${where}`);
    if (where.startsWith("core/")) for (const line of hotLines) console.log(`           ${line}`);
  }
} else {
  await benchmarks(process.argv.includes("--json"), option("--only"));
}
