import type { Trigger } from "cano";
import { isCanoError, Workflow } from "cano";
import type { SourceProblem } from "./compile.ts";
import { compile } from "./compile.ts";
import type { ProgramEnv } from "./env.ts";
import { capturedConsole, errorLocation, evaluate } from "./evaluate.ts";
import { sandboxModules } from "./sandbox.ts";

/** A scheduled program: the workflow runs on a `Scheduler` with this trigger, `runs` times. */
export interface Schedule {
  readonly trigger: Trigger;
  readonly runs: number;
}

/** The editor's code, compiled and run: the workflow it exports, ready to run in `env`. */
export interface Program {
  readonly workflow: Workflow<string, unknown>;
  readonly initial: string;
  readonly schedule: Schedule | undefined;
  readonly env: ProgramEnv;
}

/** A program, or the first problem found in its code. */
export type ProgramResult =
  | { readonly ok: true; readonly program: Program }
  | { readonly ok: false; readonly problem: SourceProblem };

/** What a playground module must export, as the error messages say it. */
export const contract =
  "export const workflow = new Workflow<State>()…; export const initial: State = …; optionally export const trigger = every(ms) and export const runs = n";

const defaultRuns = 3;

/** The first line of `source` containing `needle`, 1-based. */
function lineOf(source: string, needle: string): number | undefined {
  const index = source.split("\n").findIndex((line) => line.includes(needle));
  return index < 0 ? undefined : index + 1;
}

function exportsProblem(source: string, message: string, name: string): SourceProblem {
  const line = lineOf(source, `export const ${name}`);
  return line === undefined ? { phase: "exports", message } : { phase: "exports", message, line, column: 0 };
}

/** Checks the module's exports against the playground's contract. */
function checkExports(
  exports: Record<string, unknown>,
  source: string,
): Omit<Program, "env"> | SourceProblem {
  const { workflow, initial, trigger, runs } = exports;
  if (!(workflow instanceof Workflow)) {
    return exportsProblem(source, `The code must export the workflow to run: ${contract}.`, "workflow");
  }
  if (typeof initial !== "string" || initial === "") {
    return exportsProblem(
      source,
      `The code must export its initial state as a string: ${contract}.`,
      "initial",
    );
  }
  if (trigger === undefined) return { workflow, initial, schedule: undefined };
  if (typeof trigger !== "object" || trigger === null || typeof (trigger as Trigger).next !== "function") {
    return exportsProblem(source, '`trigger` must be a Trigger, e.g. every(60_000) from "cano".', "trigger");
  }
  const count = runs ?? defaultRuns;
  if (!(typeof count === "number" && Number.isInteger(count) && count >= 1 && count <= 50)) {
    return exportsProblem(source, "`runs` must be an integer from 1 to 50.", "runs");
  }
  return { workflow, initial, schedule: { trigger: trigger as Trigger, runs: count } };
}

/**
 * Where a validation message points: the line of the state name it quotes that is rarest in the
 * source (a misspelt target appears once, a real state name in many places).
 */
function validationProblem(source: string, message: string): SourceProblem {
  const lines = source.split("\n");
  let best: { line: number; count: number } | undefined;
  for (const [, name] of message.matchAll(/"([^"]+)"/g)) {
    const quoted = `"${name}"`;
    const count = lines.filter((text) => text.includes(quoted)).length;
    if (count === 0 || (best !== undefined && count >= best.count)) continue;
    best = { line: lines.findIndex((text) => text.includes(quoted)) + 1, count };
  }
  return best === undefined
    ? { phase: "validate", message }
    : { phase: "validate", message, line: best.line };
}

/**
 * Compiles and runs the editor's code in `env`, checks its exports and validates the workflow from
 * its initial state. Every problem says where it is when that can be known.
 */
export function loadProgram(source: string, env: ProgramEnv): ProgramResult {
  const compiled = compile(source);
  if (!compiled.ok) return compiled;
  let exports: Record<string, unknown>;
  try {
    exports = evaluate(
      compiled.code,
      sandboxModules(env),
      capturedConsole(env.emit, () => env.clock.now()),
    );
  } catch (thrown) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return { ok: false, problem: { phase: "evaluate", message, ...errorLocation(thrown) } };
  }
  const checked = checkExports(exports, source);
  if ("phase" in checked) return { ok: false, problem: checked };
  try {
    checked.workflow.validate(checked.initial);
  } catch (thrown) {
    if (!isCanoError(thrown)) throw thrown;
    return { ok: false, problem: validationProblem(source, thrown.message) };
  }
  return { ok: true, program: { ...checked, env } };
}
