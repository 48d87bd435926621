import type { Point } from "@dagrejs/dagre";
import { s, setText } from "./dom.ts";
import { inputSignature } from "./graph-input.ts";
import type { GraphInput, GraphLayout, LaidOutEdge, LaidOutNode } from "./graph-layout.ts";
import { bestLayout } from "./graph-layout.ts";
import type { RunModel } from "./model-types.ts";
import { edgeKey } from "./model-types.ts";
import { nodeLook } from "./node-status.ts";

/** The most a small graph is scaled up. */
const maxScale = 1.35;

interface DrawnNode {
  readonly node: LaidOutNode;
  readonly group: SVGGElement;
  readonly line: SVGTextElement;
}

interface DrawnEdge {
  readonly edge: LaidOutEdge;
  readonly path: SVGPathElement;
}

/** A smooth path through dagre's edge points. */
function pathOf(points: readonly Point[]): string {
  const [first, ...rest] = points;
  if (first === undefined) return "";
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i]!;
    const q = rest[i + 1]!;
    d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
  }
  const last = rest.at(-1);
  if (last !== undefined) d += ` L${last.x},${last.y}`;
  return d;
}

function drawNode(node: LaidOutNode): DrawnNode {
  const { x, y, width, height } = node;
  const exit = node.kind === "exit";
  const line = s("text", { class: "node-line", x, y: y + (node.kind === "branch" ? 10 : 13) });
  const label = s("text", { class: "node-label", x, y: y + (node.kind === "branch" ? -4 : -5) }, node.label);
  const shape = s("rect", {
    class: "node-shape",
    x: x - width / 2,
    y: y - height / 2,
    width,
    height,
    rx: exit ? height / 2 : node.kind === "branch" ? 8 : 10,
  });
  const group = s(
    "g",
    { class: `node kind-${node.kind}`, "data-state": node.id, "data-kind": node.kind },
    s("title", {}, `${node.label} (${node.kind})`),
    shape,
    label,
    line,
  );
  if (node.kind === "split") {
    group.append(
      s("rect", {
        class: "node-inner",
        x: x - width / 2 + 4,
        y: y - height / 2 + 4,
        width: width - 8,
        height: height - 8,
        rx: 7,
      }),
    );
  }
  return { node, group, line };
}

/**
 * The state graph as SVG: laid out by dagre (re-laid out only when its shape changes), then
 * restyled every frame from the model: the current state lit, visited edges marked, retries with
 * their countdown, split progress and compensations on the nodes.
 */
export class GraphView {
  readonly element: SVGSVGElement;
  readonly #container: HTMLElement;
  #signature = "";
  #input: GraphInput | undefined;
  #nodes: DrawnNode[] = [];
  #edges: DrawnEdge[] = [];
  /** The last model drawn, to restyle a new layout at once. */
  #last: { readonly model: RunModel; readonly now: number; readonly heldAt: string | undefined } | undefined;

  constructor(container: HTMLElement) {
    this.#container = container;
    this.element = s(
      "svg",
      { class: "graph", role: "img", "aria-label": "State graph of the workflow" },
      s(
        "defs",
        {},
        ...["plain", "visited"].map((kind) =>
          s(
            "marker",
            {
              id: `arrow-${kind}`,
              viewBox: "0 0 10 10",
              refX: 9,
              refY: 5,
              markerWidth: 7,
              markerHeight: 7,
              orient: "auto-start-reverse",
            },
            s("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow arrow-${kind}` }),
          ),
        ),
      ),
    );
    container.append(this.element);
    new ResizeObserver(() => this.#relayout(true)).observe(container);
  }

  /** Shows `input`; lays it out again only when its nodes or edges changed. */
  setGraph(input: GraphInput): void {
    const signature = inputSignature(input);
    this.#input = input;
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#relayout(false);
  }

  #relayout(onResize: boolean): void {
    const input = this.#input;
    if (input === undefined) return;
    const { clientWidth, clientHeight } = this.#container;
    if (onResize && (clientWidth === 0 || clientHeight === 0)) return;
    const width = clientWidth || 800;
    const height = clientHeight || 500;
    this.#draw(bestLayout(input, width, height), width, height);
    if (this.#last !== undefined) this.update(this.#last.model, this.#last.now, this.#last.heldAt);
  }

  #draw(layout: GraphLayout, width: number, height: number): void {
    for (const { group } of this.#nodes) group.remove();
    for (const { path } of this.#edges) path.remove();
    // Fit the graph, but never blow a small one up past `maxScale`: centre it instead.
    const scale = Math.min(width / Math.max(1, layout.width), height / Math.max(1, layout.height), maxScale);
    const boxWidth = Math.max(layout.width, width / scale);
    const boxHeight = Math.max(layout.height, height / scale);
    const x = (layout.width - boxWidth) / 2;
    const y = (layout.height - boxHeight) / 2;
    this.element.setAttribute("viewBox", `${x} ${y} ${boxWidth} ${boxHeight}`);
    this.element.dataset.direction = layout.direction;
    this.#edges = layout.edges.map((edge) => {
      const path = s("path", {
        class: `edge${edge.learned ? " learned" : ""}${edge.branch ? " branch" : ""}`,
        d: pathOf(edge.points),
        "data-edge": edgeKey(edge.from, edge.to),
        "marker-end": "url(#arrow-plain)",
      });
      this.element.append(path);
      return { edge, path };
    });
    this.#nodes = layout.nodes.map((node) => {
      const drawn = drawNode(node);
      this.element.append(drawn.group);
      return drawn;
    });
  }

  /** Restyles nodes and edges for `model` at virtual time `now`; `heldAt` is the state the pause holds. */
  update(model: RunModel, now: number, heldAt?: string): void {
    this.#last = { model, now, heldAt };
    for (const { node, group, line } of this.#nodes) {
      const look = nodeLook(model, node, now, heldAt);
      if (group.dataset.status !== look.status) {
        group.dataset.status = look.status;
        group.setAttribute("class", `node kind-${node.kind} status-${look.status}`);
      }
      group.classList.toggle("replayed", look.replayed);
      setText(line, look.line);
    }
    const last = model.path.length >= 2 ? edgeKey(model.path.at(-2)!, model.path.at(-1)!) : undefined;
    for (const { edge, path } of this.#edges) {
      const key = edgeKey(edge.from, edge.to);
      const visited = edge.branch ? branchEdgeVisited(model, edge) : model.edges.has(key);
      const status = visited ? (key === last && model.status === "running" ? "last" : "visited") : "idle";
      if (path.dataset.status === status) continue;
      path.dataset.status = status;
      path.setAttribute("marker-end", `url(#arrow-${visited ? "visited" : "plain"})`);
    }
  }
}

/** A branch edge is taken once its branch started (in) or succeeded (out). */
function branchEdgeVisited(model: RunModel, edge: LaidOutEdge): boolean {
  for (const split of model.splits.values()) {
    for (const branch of split.branches) {
      const id = `${split.state}/${branch.taskId}`;
      if (edge.to === id) return branch.status !== "waiting";
      if (edge.from === id) return branch.status === "succeeded";
    }
  }
  return false;
}
