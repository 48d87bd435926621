import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { bracketMatching, indentOnInput } from "@codemirror/language";
import type { Diagnostic } from "@codemirror/lint";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import type { SourceProblem } from "../runtime/compile.ts";

const phaseName: Readonly<Record<SourceProblem["phase"], string>> = {
  syntax: "Syntax error",
  evaluate: "Error while loading the module",
  exports: "Missing export",
  validate: "The workflow is not valid",
};

/** The diagnostic for `problem` in `state`: from its column (or the line's first character) to the line's end. */
function diagnosticOf(state: EditorState, problem: SourceProblem): Diagnostic {
  const lineNumber = Math.min(Math.max(1, problem.line ?? 1), state.doc.lines);
  const line = state.doc.line(lineNumber);
  const indent = line.text.length - line.text.trimStart().length;
  const column = problem.column ?? indent;
  // A problem at the very end of a line (a missing token) marks the whole line, so it can be seen.
  const from = line.from + (column < line.length ? column : indent);
  return { from, to: line.to, severity: "error", source: phaseName[problem.phase], message: problem.message };
}

/**
 * The workflow's TypeScript source in CodeMirror 6: highlighting, history, a lint gutter showing the
 * compile/load problem at its line. `onChange` gets the new source after every edit.
 */
export class SourceEditor {
  readonly view: EditorView;

  constructor(parent: HTMLElement, onChange: (source: string) => void, onRun: () => void) {
    const runKey = {
      key: "Mod-Enter",
      run: () => {
        onRun();
        return true;
      },
    };
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        doc: "",
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          javascript({ typescript: true }),
          lintGutter(),
          oneDark,
          keymap.of([runKey, indentWithTab, ...defaultKeymap, ...historyKeymap]),
          EditorView.contentAttributes.of({ "aria-label": "Workflow source (TypeScript)" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
  }

  /** The current source. */
  get source(): string {
    return this.view.state.doc.toString();
  }

  /** Replaces the whole source (e.g. a gallery example was picked). */
  setSource(source: string): void {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: source } });
  }

  /** Moves the cursor to `line` (1-based) and scrolls it into view. */
  reveal(line: number): void {
    const target = this.view.state.doc.line(Math.min(Math.max(1, line), this.view.state.doc.lines));
    this.view.dispatch({ selection: { anchor: target.from }, scrollIntoView: true });
    this.view.focus();
  }

  /** Shows `problem` inline at its line, or clears the problems. */
  showProblem(problem: SourceProblem | undefined): void {
    const diagnostics = problem === undefined ? [] : [diagnosticOf(this.view.state, problem)];
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
  }
}
