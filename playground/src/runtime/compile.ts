import { transform } from "sucrase";

/** A problem in the editor's code, with where it is when known (1-based line, 0-based column). */
export interface SourceProblem {
  /** When it was found: compiling, running the module, checking its exports, or validating the workflow. */
  readonly phase: "syntax" | "evaluate" | "exports" | "validate";
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** The result of compiling the editor's TypeScript. */
export type CompileResult =
  | { readonly ok: true; readonly code: string }
  | { readonly ok: false; readonly problem: SourceProblem };

interface SucraseErrorLike {
  readonly message: string;
  readonly loc?: { readonly line: number; readonly column: number };
}

/**
 * Compiles TypeScript to a CommonJS-style script that `evaluate` can run: types are stripped and
 * `import` becomes `require`. Line numbers are kept, so runtime errors point at the editor's lines.
 */
export function compile(source: string): CompileResult {
  try {
    const { code } = transform(source, { transforms: ["typescript", "imports"], filePath: "workflow.ts" });
    return { ok: true, code };
  } catch (thrown) {
    const error = thrown as SucraseErrorLike;
    const message = String(error.message ?? thrown)
      .replace(/^Error transforming [^:]+: /, "")
      .replace(/\s*\(\d+:\d+\)$/, "");
    return error.loc === undefined
      ? { ok: false, problem: { phase: "syntax", message } }
      : { ok: false, problem: { phase: "syntax", message, line: error.loc.line, column: error.loc.column } };
  }
}
