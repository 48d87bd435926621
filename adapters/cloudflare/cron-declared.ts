import { CanoError } from "../../core/errors.ts";

/**
 * The cron expressions a `wrangler.toml` lists under `[triggers] crons = [...]` (top level only, not
 * per-environment). Reads just that key; anything else in the file is ignored.
 */
export function declaredCrons(wranglerToml: string): string[] {
  const lines = wranglerToml.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === "[triggers]");
  if (start === -1) return [];
  const section: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*\[/.test(line) && !/^\s*\[\s*["']/.test(line)) break; // the next table header
    section.push(line.replace(/^\s*#.*$/, ""));
  }
  const match = /(?:^|\n)\s*crons\s*=\s*\[([\s\S]*?)\]/.exec(section.join("\n"));
  if (match === null) return [];
  const crons: string[] = [];
  for (const item of (match[1] ?? "").matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)) {
    crons.push(item[1] === undefined ? (item[2] ?? "") : JSON.parse(`"${item[1]}"`));
  }
  return crons;
}

/**
 * Throws a `configuration` error naming every cron used in code (`cronTriggers(...).crons`) that the
 * `wrangler.toml` text does not list: Cloudflare only fires the crons listed there. Call it in a test.
 *
 * @example
 * assertCronsDeclared(triggers.crons, readFileSync("wrangler.toml", "utf8"));
 */
export function assertCronsDeclared(crons: readonly string[], wranglerToml: string): void {
  const declared = new Set(declaredCrons(wranglerToml));
  const missing = crons.filter((cron) => !declared.has(cron));
  if (missing.length === 0) return;
  throw new CanoError(
    "configuration",
    `cronTriggers: ${missing.map((cron) => `"${cron}"`).join(", ")} ${missing.length === 1 ? "is" : "are"} used in ` +
      `code but missing from wrangler.toml [triggers] crons (which lists ${[...declared].map((c) => `"${c}"`).join(", ") || "nothing"}); ` +
      "Cloudflare never fires a cron that is not listed there. Add it to crons = [...].",
    { details: { missing } },
  );
}
