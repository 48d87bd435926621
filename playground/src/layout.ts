import type { Example } from "./gallery.ts";
import type { ControlsView } from "./view/controls-view.ts";
import { h } from "./view/dom.ts";
import { Panel } from "./view/panel.ts";
import type { RunsView } from "./view/runs-view.ts";
import type { TimelineView } from "./view/timeline-view.ts";

/** The side panels, by what they show. */
export interface Panels {
  readonly retries: Panel;
  readonly breakers: Panel;
  readonly splits: Panel;
  readonly saga: Panel;
  readonly store: Panel;
  readonly faults: Panel;
}

/** The page's fixed parts, for the app to fill. */
export interface Layout {
  readonly gallery: HTMLElement;
  readonly share: HTMLButtonElement;
  readonly editor: HTMLElement;
  readonly problem: HTMLButtonElement;
  readonly sourceTitle: HTMLElement;
  readonly graph: HTMLElement;
  /** The live view's lanes: the run in this tab, and beside it (split) the run on the local Worker. */
  readonly lanes: HTMLElement;
  /** The status of the run in this tab, repeated over its lane when the view is split. */
  readonly laneStatus: HTMLElement;
  readonly notice: HTMLElement;
  readonly panels: Panels;
}

/** Builds the page skeleton into `root`: top bar with the gallery, editor, stage (graph, timeline), side panels. */
export function buildLayout(
  root: HTMLElement,
  examples: readonly Example[],
  parts: { readonly controls: ControlsView; readonly runs: RunsView; readonly timeline: TimelineView },
  pick: (example: Example) => void,
): Layout {
  const gallery = h(
    "nav",
    { class: "gallery", "aria-label": "Example workflows" },
    ...examples.map((example) =>
      h(
        "button",
        {
          type: "button",
          class: "example",
          "data-example": example.id,
          title: example.blurb,
          onclick: () => pick(example),
        },
        h("strong", {}, example.title),
        h("span", { class: "example-blurb" }, example.blurb),
      ),
    ),
  );
  const share = h(
    "button",
    { type: "button", class: "ghost", id: "share", title: "Copy a link that carries this code" },
    "Share link",
  );
  const panels: Panels = {
    retries: new Panel("retries", "Retries"),
    breakers: new Panel("breakers", "Circuit breakers"),
    splits: new Panel("splits", "Splits and joins"),
    saga: new Panel("saga", "Saga compensations"),
    store: new Panel("store", "Store", "The run's key-value data, live."),
    faults: new Panel("faults", "Fault injection", "Per attempt: failure probability and added latency."),
  };
  const editor = h("div", { class: "editor", id: "editor" });
  const problem = h("button", {
    type: "button",
    class: "problem",
    id: "problem",
    "aria-live": "assertive",
    title: "Go to the line",
    hidden: true,
  });
  const sourceTitle = h("span", { class: "source-title" }, "workflow.ts");
  const graph = h(
    "div",
    { class: "graph-wrap", id: "graph" },
    h(
      "div",
      { class: "legend", "aria-hidden": "true" },
      ...["current", "visited", "retrying", "failed", "compensated"].map((name) =>
        h("span", { class: `l-${name}` }, name),
      ),
    ),
  );
  const notice = h("div", { class: "notice", id: "notice", role: "status", hidden: true });
  const laneStatus = h("span", { class: "status", id: "local-status", "aria-hidden": "true" }, "ready");
  const lanes = h(
    "div",
    { class: "lanes" },
    h(
      "section",
      { class: "lane lane-local", id: "local-lane", "aria-label": "Run in this tab" },
      h(
        "div",
        { class: "lane-head" },
        h(
          "span",
          { class: "lane-title" },
          h("span", { class: "lane-icon", "aria-hidden": "true" }, "◆"),
          "In this tab",
        ),
        laneStatus,
      ),
      graph,
      h(
        "section",
        { class: "timeline", "aria-labelledby": "timeline-title" },
        h("h2", { id: "timeline-title" }, "Timeline"),
        parts.timeline.element,
      ),
    ),
  );
  root.replaceChildren(
    h(
      "header",
      { class: "topbar" },
      h(
        "div",
        { class: "brand" },
        h("span", { class: "logo", "aria-hidden": "true" }, "◆"),
        "Cano",
        h("small", {}, "playground"),
      ),
      gallery,
      share,
    ),
    h(
      "main",
      { class: "layout" },
      h(
        "section",
        { class: "editor-pane", "aria-label": "Source" },
        h("div", { class: "pane-head" }, sourceTitle, h("kbd", {}, "Ctrl+Enter runs")),
        editor,
        problem,
      ),
      h(
        "section",
        { class: "stage", "aria-label": "Live view" },
        parts.controls.element,
        notice,
        parts.runs.element,
        lanes,
      ),
      h(
        "aside",
        { class: "side", "aria-label": "Run details" },
        ...Object.values(panels).map((panel) => panel.element),
      ),
    ),
  );
  return { gallery, share, editor, problem, sourceTitle, graph, lanes, laneStatus, notice, panels };
}
