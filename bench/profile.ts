/**
 * `npm run bench -- --profile <runner>`: loops over one runner under `node --cpu-prof` in a child
 * process, then prints the top self-time functions, mapped from dist/core/*.js back to core/*.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The parts of a V8 `.cpuprofile` the summary reads. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
}

/** One function's share of the samples. */
export interface SelfTime {
  readonly name: string;
  /** `core/<file>.ts:<line>` for engine code, else the script and line the profile names. */
  readonly where: string;
  readonly percent: number;
}

/** Calls `run` back to back for `seconds` (the child process being profiled). */
export async function loop(run: () => Promise<unknown>, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1_000;
  let calls = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) await run();
    calls += 100;
  }
  return calls;
}

/** Where a function of `dist/core/<file>.js` starting at 0-based `line` is in `core/<file>.ts`. */
function sourceLine(distPath: string, line: number, name: string): string | undefined {
  const source = distPath.replace(/[/\\]dist[/\\]core[/\\]/, "/core/").replace(/\.js$/, ".ts");
  if (!existsSync(source)) return undefined;
  const lines = readFileSync(source, "utf8").split("\n");
  const relative = `core/${source.split("/core/")[1]}`;
  const escaped = name.replace(/[$#]/g, "\\$&");
  const byName =
    name === "" || name === "(anonymous)"
      ? []
      : [
          new RegExp(`\\bfunction\\*?\\s+${escaped}\\b`),
          new RegExp(`^\\s*(?:(?:static|async|get|set|readonly)\\s+)*${escaped}\\s*[<(]`),
          new RegExp(`(?:^|[\\s.])${escaped}\\s*[:=]\\s*(?:async\\s*)?(?:\\(|function|[a-z]\\w*\\s*=>)`),
        ];
  for (const pattern of byName) {
    const index = lines.findIndex((text) => pattern.test(text));
    if (index >= 0) return `${relative}:${index + 1}`;
  }
  // Anonymous: tsc only erases types, so the line that starts the function usually reads the same.
  const distLines = readFileSync(distPath, "utf8").split("\n");
  const wanted = distLines[line]?.trim();
  if (wanted === undefined || wanted === "") return undefined;
  const index = lines.findIndex((text) => text.trim() === wanted);
  return index >= 0 ? `${relative}:${index + 1}` : `${relative} (near dist line ${line + 1})`;
}

/** The functions with the most self time in `profile`, as percentages of all samples. */
export function topSelfTime(profile: CpuProfile, count: number): SelfTime[] {
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  for (const { id, callFrame } of profile.nodes) {
    const n = hits.get(id) ?? 0;
    if (n === 0) continue;
    const { functionName, url, lineNumber } = callFrame;
    const name = functionName === "" ? "(anonymous)" : functionName;
    const path = url.startsWith("file://") ? fileURLToPath(url) : url;
    const where =
      (/[/\\]dist[/\\]core[/\\]/.test(path) ? sourceLine(path, lineNumber, functionName) : undefined) ??
      (path === "" ? "" : `${path.replace(`${process.cwd()}/`, "")}:${lineNumber + 1}`);
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0 };
    entry.hits += n;
    byFunction.set(key, entry);
  }
  const total = profile.samples.length;
  return [...byFunction.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, count)
    .map(({ name, where, hits: n }) => ({ name, where, percent: (100 * n) / total }));
}

/** Profiles `runner` for `seconds` in a child `node --cpu-prof`, and returns its top self-time functions. */
export function profileRunner(script: string, runner: string, seconds: number): SelfTime[] {
  const dir = resolve("dist/bench/profiles");
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const child = spawnSync(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${dir}`, script, "--loop", runner, "--seconds", String(seconds)],
    { stdio: "inherit" },
  );
  if (child.status !== 0) throw new Error(`bench: profiling "${runner}" exited with ${child.status}`);
  const newest = readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).mtimeMs >= started)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (newest === undefined) throw new Error(`bench: no .cpuprofile written in ${dir}`);
  console.log(`profile: ${newest}`);
  return topSelfTime(JSON.parse(readFileSync(newest, "utf8")) as CpuProfile, 25);
}
