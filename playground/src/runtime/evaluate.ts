import type { EventSink } from "./events.ts";

/** The `console` the editor's code sees: its lines go to the timeline. */
export interface ConsoleLike {
  log(...values: unknown[]): void;
  info(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
}

/** The file name compiled code runs under, so stack frames can be mapped back to editor lines. */
export const sourceName = "workflow.ts";
/** `new Function` puts two lines (its signature) before the body. */
const functionHeaderLines = 2;

function show(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A console whose lines become `log` events stamped by `now`. */
export function capturedConsole(emit: EventSink, now: () => number): ConsoleLike {
  const line =
    (level: "log" | "warn" | "error") =>
    (...values: unknown[]) =>
      emit({ type: "log", at: now(), level, text: values.map(show).join(" ") });
  return { log: line("log"), info: line("log"), warn: line("warn"), error: line("error") };
}

/**
 * Runs compiled code as a module and returns its exports. `import`s resolve only to `modules`;
 * anything else fails with a message saying what can be imported.
 */
export function evaluate(
  code: string,
  modules: Readonly<Record<string, unknown>>,
  console: ConsoleLike,
): Record<string, unknown> {
  const module: { exports: Record<string, unknown> } = { exports: {} };
  const require = (specifier: string): unknown => {
    if (Object.hasOwn(modules, specifier)) return modules[specifier];
    const known = Object.keys(modules)
      .map((name) => `"${name}"`)
      .join(", ");
    throw new Error(`Cannot import "${specifier}" in the playground: only ${known} can be imported.`);
  };
  const body = `${code}\n//# sourceURL=${sourceName}`;
  const run = new Function("require", "module", "exports", "console", body) as (
    require: (specifier: string) => unknown,
    module: { exports: Record<string, unknown> },
    exports: Record<string, unknown>,
    console: ConsoleLike,
  ) => void;
  run(require, module, module.exports, console);
  return module.exports;
}

/** The editor line (1-based) and column an error was thrown at, from its stack, when it came from the code. */
export function errorLocation(error: unknown): { line: number; column: number } | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  const match = stack === undefined ? null : new RegExp(`${sourceName}:(\\d+):(\\d+)`).exec(stack);
  if (match === null) return undefined;
  return { line: Number(match[1]) - functionHeaderLines, column: Number(match[2]) - 1 };
}
