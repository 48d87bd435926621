import type { WorkflowEvent, WorkflowGraph } from "cano";
import { statusLine } from "../app-status.ts";
import type { SessionEnd } from "../runtime/session.ts";
import { h, setText } from "./dom.ts";
import { graphInput } from "./graph-input.ts";
import { GraphView } from "./graph-view.ts";
import { apply, createModel } from "./model.ts";
import type { RunModel } from "./model-types.ts";
import { TimelineView } from "./timeline-view.ts";

/**
 * The right half of the split live view: a run on the local Worker, drawn from the events its run host
 * streams back (SSE) into its own model, graph and timeline, next to the run in the tab.
 */
export class WorkerLane {
  readonly element: HTMLElement;
  readonly #graph: GraphView;
  readonly #timeline = new TimelineView();
  readonly #status: HTMLElement;
  readonly #cancel: HTMLButtonElement;
  #shape: WorkflowGraph | undefined;
  #model: RunModel = createModel(Date.now());
  #queue: WorkflowEvent[] = [];
  #frame: number | undefined;
  #running = false;
  #end: SessionEnd | undefined;
  #endedAt: number | undefined;

  constructor(cancel: () => void) {
    this.#status = h("span", { class: "status", id: "worker-status", role: "status" }, "ready");
    this.#cancel = h(
      "button",
      {
        type: "button",
        class: "ghost lane-cancel",
        id: "cancel-worker",
        title: "Cancel the run on the Worker (it compensates there)",
        "aria-label": "Cancel the run on the Worker",
        onclick: cancel,
        hidden: true,
      },
      "■",
    );
    const graph = h("div", { class: "graph-wrap", id: "worker-graph" });
    this.element = h(
      "section",
      { class: "lane lane-worker", id: "worker-lane", "aria-label": "Run on the local Worker", hidden: true },
      h(
        "div",
        { class: "lane-head" },
        h(
          "span",
          { class: "lane-title" },
          h("span", { class: "lane-icon", "aria-hidden": "true" }, "☁"),
          "On the Worker",
        ),
        this.#status,
        this.#cancel,
      ),
      graph,
      h(
        "section",
        { class: "timeline", "aria-label": "Timeline of the Worker's run" },
        h("h2", {}, "Timeline · streamed over SSE"),
        this.#timeline.element,
      ),
    );
    this.#graph = new GraphView(graph);
  }

  get running(): boolean {
    return this.#running;
  }

  /** Shows the Worker's graph of the workflow, with no run yet. */
  show(graph: WorkflowGraph): void {
    this.#shape = graph;
    this.element.hidden = false;
    if (!this.#running) {
      this.#model = createModel(Date.now());
      this.#end = undefined;
      this.#endedAt = undefined;
    }
    this.#request();
  }

  hide(): void {
    this.element.hidden = true;
  }

  /** A new run starts: a fresh picture. */
  begin(): void {
    this.#running = true;
    this.#end = undefined;
    this.#endedAt = undefined;
    this.#queue = [];
    this.#model = createModel(Date.now());
    this.#timeline.clear();
    this.#request();
  }

  push(event: WorkflowEvent): void {
    this.#queue.push(event);
    this.#request();
  }

  finish(end: SessionEnd): void {
    this.#running = false;
    this.#end = end;
    this.#endedAt = Date.now();
    this.#request();
  }

  #request(): void {
    this.#frame ??= requestAnimationFrame(() => this.#render());
  }

  #render(): void {
    this.#frame = undefined;
    const model = this.#model;
    for (const event of this.#queue) apply(model, event);
    this.#queue = [];
    const now = this.#endedAt ?? Date.now();
    if (this.#shape !== undefined) this.#graph.setGraph(graphInput(this.#shape, new Map(), model.edges));
    this.#graph.update(model, now);
    this.#timeline.update(model);
    const { status, tone } = statusLine(model, this.#running, { mode: "running" }, this.#end);
    setText(this.#status, status);
    this.#status.dataset.tone = tone;
    this.#status.title = status;
    this.#cancel.hidden = !this.#running;
    if (this.#running) this.#request();
  }
}
