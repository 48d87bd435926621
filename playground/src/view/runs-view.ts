import type { UnfinishedRun } from "../persist/storage.ts";
import { h, replaceChildren } from "./dom.ts";

/** What the unfinished-runs list can do with a run. */
export interface RunActions {
  readonly resume: (run: UnfinishedRun) => void;
  readonly discard: (run: UnfinishedRun) => void;
}

function ago(at: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - at) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(at).toLocaleString();
}

/**
 * Runs whose checkpoint log is still in IndexedDB (a reload, a crash or a failure stopped them),
 * each with a Resume button; shown above the graph while there are any.
 */
export class RunsView {
  readonly element: HTMLElement;
  readonly #list: HTMLElement;
  readonly #actions: RunActions;

  constructor(actions: RunActions) {
    this.#actions = actions;
    this.#list = h("ul", { class: "runs" });
    this.element = h(
      "section",
      { class: "unfinished", id: "unfinished", hidden: true, "aria-labelledby": "unfinished-title" },
      h("h2", { id: "unfinished-title" }, "Unfinished runs"),
      h(
        "p",
        { class: "panel-hint" },
        "Their checkpoint logs are in IndexedDB: resume one to continue it where it stopped.",
      ),
      this.#list,
    );
  }

  /**
   * Shows `runs`, leaving out `exclude` (the runs this tab is driving); runs in `elsewhere` are
   * driven by another tab (their lease is held) and cannot be resumed here.
   */
  show(runs: readonly UnfinishedRun[], exclude: ReadonlySet<string>, elsewhere: ReadonlySet<string>): void {
    const shown = runs.filter((run) => !exclude.has(run.summary.workflowId));
    this.element.hidden = shown.length === 0;
    replaceChildren(
      this.#list,
      ...shown.map((run) => {
        const { summary, meta } = run;
        const busy = elsewhere.has(summary.workflowId);
        return h(
          "li",
          { class: "run", "data-run": summary.workflowId },
          h(
            "div",
            { class: "run-text" },
            h("strong", {}, meta?.title ?? summary.workflow ?? "unknown workflow"),
            h(
              "span",
              { class: "muted" },
              ` stopped in “${summary.state}” · ${summary.rows} checkpoint rows · ${ago(meta?.startedAt ?? summary.at)}`,
            ),
            h("code", {}, summary.workflowId),
          ),
          h(
            "button",
            {
              class: "primary",
              type: "button",
              disabled: meta === undefined || busy,
              title: busy
                ? "Another tab is driving this run"
                : meta === undefined
                  ? "Started outside this playground: its code is unknown"
                  : undefined,
              onclick: () => this.#actions.resume(run),
            },
            "Resume",
          ),
          h(
            "button",
            { type: "button", class: "ghost", onclick: () => this.#actions.discard(run) },
            "Discard",
          ),
        );
      }),
    );
  }
}
