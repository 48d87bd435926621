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
    /** Samples per 1-based line of the script, when V8 recorded them. */
    readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
  }[];
  readonly samples: readonly number[];
}

/** One function's share of the samples. */
export interface SelfTime {
  readonly name: string;
  /** `core/<file>.ts:<line>` for engine code, else the script and line the profile names. */
  readonly where: string;
  readonly percent: number;
  /** Its hottest lines: where, the line's text, and the share of the function's samples. */
  readonly hotLines: readonly string[];
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

/** A `dist/core/<file>.js` script and its `core/<file>.ts` source, line by line. */
interface Mapped {
  readonly relative: string;
  readonly dist: readonly string[];
  readonly source: readonly string[];
}

const mappedFiles = new Map<string, Mapped | undefined>();

function mapped(distPath: string): Mapped | undefined {
  if (!mappedFiles.has(distPath)) {
    const source = distPath.replace(/[/\\]dist[/\\]core[/\\]/, "/core/").replace(/\.js$/, ".ts");
    mappedFiles.set(
      distPath,
      existsSync(source)
        ? {
            relative: `core/${source.split("/core/")[1]}`,
            dist: readFileSync(distPath, "utf8").split("\n"),
            source: readFileSync(source, "utf8").split("\n"),
          }
        : undefined,
    );
  }
  return mappedFiles.get(distPath);
}

/**
 * The 0-based source line of 0-based dist line `line`: tsc only erases types, so the same text
 * usually appears in the source, at or after `from`; -1 when it does not.
 */
function sameText(file: Mapped, line: number, from = 0): number {
  const wanted = file.dist[line]?.trim();
  if (wanted === undefined || wanted === "") return -1;
  const after = file.source.findIndex((text, i) => i >= from && text.trim() === wanted);
  return after >= 0 ? after : file.source.findIndex((text) => text.trim() === wanted);
}

/** The 0-based source line where the function `name` starting at dist line `line` is declared. */
function functionLine(file: Mapped, line: number, name: string): number {
  const escaped = name.replace(/[$#]/g, "\\$&");
  const patterns =
    name === ""
      ? []
      : [
          new RegExp(`\\bfunction\\*?\\s+${escaped}\\b`),
          new RegExp(`\\bclass\\s+${escaped}\\b`), // a constructor is profiled under its class name
          new RegExp(`^\\s*(?:(?:static|async|get|set|readonly)\\s+)*${escaped}\\s*[<(]`),
          new RegExp(`(?:^|[\\s.])${escaped}\\s*[:=]\\s*(?:async\\s*)?(?:\\(|function|[a-z]\\w*\\s*=>)`),
        ];
  // A name can match an interface member or a call too: take the match nearest where the line should be.
  const expected = (line * file.source.length) / file.dist.length;
  for (const pattern of patterns) {
    const matches = file.source.flatMap((text, i) => (pattern.test(text) ? [i] : []));
    if (matches.length > 0)
      return matches.reduce((best, i) => (Math.abs(i - expected) < Math.abs(best - expected) ? i : best));
  }
  return sameText(file, line);
}

/** The functions with the most self time in `profile`, as percentages of all samples. */
export function topSelfTime(profile: CpuProfile, count: number): SelfTime[] {
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byFunction = new Map<
    string,
    { name: string; where: string; hits: number; lines: Map<string, number> }
  >();
  for (const { id, callFrame, positionTicks = [] } of profile.nodes) {
    const n = hits.get(id) ?? 0;
    if (n === 0) continue;
    const { functionName, url, lineNumber } = callFrame;
    const path = url.startsWith("file://") ? fileURLToPath(url) : url;
    const file = /[/\\]dist[/\\]core[/\\]/.test(path) ? mapped(path) : undefined;
    const start = file === undefined ? -1 : functionLine(file, lineNumber, functionName);
    const shortPath = path.replace(`${process.cwd()}/`, "");
    const where =
      file === undefined
        ? path === ""
          ? ""
          : `${shortPath}:${lineNumber + 1}`
        : start >= 0
          ? `${file.relative}:${start + 1}`
          : `${shortPath}:${lineNumber + 1}`;
    const name = functionName === "" ? "(anonymous)" : functionName;
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0, lines: new Map<string, number>() };
    entry.hits += n;
    for (const { line, ticks } of positionTicks) {
      const at = file === undefined ? -1 : sameText(file, line - 1, Math.max(0, start));
      const label =
        file === undefined
          ? `${shortPath}:${line}`
          : at >= 0
            ? `${file.relative}:${at + 1}  ${file.source[at]!.trim().slice(0, 70)}`
            : `${shortPath}:${line}  ${file.dist[line - 1]?.trim().slice(0, 70) ?? ""}`;
      entry.lines.set(label, (entry.lines.get(label) ?? 0) + ticks);
    }
    byFunction.set(key, entry);
  }
  const total = profile.samples.length;
  return [...byFunction.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, count)
    .map(({ name, where, hits: n, lines }) => {
      const lineTotal = [...lines.values()].reduce((sum, ticks) => sum + ticks, 0);
      const hotLines = [...lines.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([label, ticks]) => `${((100 * ticks) / lineTotal).toFixed(0).padStart(3)} %  ${label}`);
      return { name, where, percent: (100 * n) / total, hotLines };
    });
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
