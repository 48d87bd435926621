#!/usr/bin/env -S npx tsx
// Finds the Chromium the browser tests drive (test/browser), installing Debian's `chromium` when it is
// missing and we run as root (CI runs `npm test` as root on a fresh machine; `pretest` calls this).
// Otherwise it prints the exact command to run and exits with status 1.
// Usage: tsx scripts/ensure-chromium.ts   (prints the path it found on stdout)
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { pathToFileURL } from "node:url";

/** Where a distribution puts Chromium (or Chrome), in the order we try them after `$CHROMIUM_PATH`. */
export const chromiumCandidates = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
] as const;

/** The Debian command that installs Chromium at `/usr/bin/chromium`. */
export const installCommand = "apt-get update && apt-get install -y chromium";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The outcome of looking for Chromium: its path, or why there is none. */
export type ChromiumLookup =
  | { readonly found: true; readonly path: string }
  | { readonly found: false; readonly problem: string };

/**
 * Looks for Chromium: `$CHROMIUM_PATH` when set (and then only there, so a typo is reported rather
 * than silently replaced), else the usual install locations.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const configured = env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== "") {
    return isExecutable(configured)
      ? { found: true, path: configured }
      : {
          found: false,
          problem: `CHROMIUM_PATH is "${configured}", which is not an executable file. Point it at a Chromium or Chrome binary, or unset it to use ${chromiumCandidates[0]}.`,
        };
  }
  const path = chromiumCandidates.find(isExecutable);
  return path === undefined
    ? { found: false, problem: `Chromium was not found (looked at ${chromiumCandidates.join(", ")}).` }
    : { found: true, path };
}

/** What to tell a user who cannot install packages, with the exact command for this machine. */
export function installAdvice(): string {
  const apt = process.platform === "linux" && isExecutable("/usr/bin/apt-get");
  return apt
    ? `Install it with:\n  sudo sh -c '${installCommand}'\nor set CHROMIUM_PATH to a Chromium or Chrome binary.`
    : "Install Chromium or Google Chrome, then set CHROMIUM_PATH to its executable.";
}

/** Installs Debian's chromium; a concurrent apt run is waited for rather than failed on. */
function aptInstall(): boolean {
  const lock = ["-o", "DPkg::Lock::Timeout=300"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", ...lock],
    ["install", "-y", ...lock, "chromium"],
  ]) {
    console.error(`ensure-chromium: apt-get ${args.join(" ")}`);
    // apt's output goes to stderr: stdout carries only the path we found.
    const result = spawnSync("apt-get", args, { stdio: ["ignore", 2, 2], env });
    if (result.status !== 0) return false;
  }
  return true;
}

function main(): number {
  const first = findChromium();
  if (first.found) {
    console.log(first.path);
    return 0;
  }
  const canInstall =
    (process.env.CHROMIUM_PATH ?? "") === "" &&
    process.platform === "linux" &&
    process.getuid?.() === 0 &&
    isExecutable("/usr/bin/apt-get");
  if (!canInstall) {
    console.error(`ensure-chromium: ${first.problem} The browser tests need it.\n${installAdvice()}`);
    return 1;
  }
  console.error(`ensure-chromium: ${first.problem} Installing it (running as root): ${installCommand}`);
  const second = aptInstall() ? findChromium() : first;
  if (!second.found) {
    console.error(`ensure-chromium: installing chromium failed. ${second.problem}\n${installAdvice()}`);
    return 1;
  }
  console.log(second.path);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main();
}
