import { MemoryStore } from "cano";
import { VirtualClock } from "cano/testing";
import type { SourceProblem } from "./runtime/compile.ts";
import { ProgramStructure } from "./runtime/env.ts";
import type { Program } from "./runtime/program.ts";
import { loadProgram } from "./runtime/program.ts";

/** The editor's code loaded without running it: its graph, tasks and splits, or its problem. */
export type Preview =
  | { readonly ok: true; readonly program: Program }
  | { readonly ok: false; readonly problem: SourceProblem };

/** Loads `source` in a throwaway environment (nothing runs: tasks run only when a run starts). */
export function preview(source: string): Preview {
  return loadProgram(source, {
    clock: new VirtualClock({ startMs: Date.now() }),
    store: new MemoryStore(),
    emit: () => {},
    structure: new ProgramStructure(),
    hooks: { beforeTask: async () => {}, beforeAttempt: async () => {} },
  });
}
