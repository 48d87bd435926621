import type { EdgeLabel, GraphLabel, NodeLabel, Point } from "@dagrejs/dagre";
import dagre from "@dagrejs/dagre";

/** A state (or split branch) to draw. */
export interface GraphInputNode {
  readonly id: string;
  /** `task`, `saga`, `split`, `exit`, …, or `branch` for a split branch. */
  readonly kind: string;
  readonly label: string;
}

/** A transition to draw. */
export interface GraphInputEdge {
  readonly from: string;
  readonly to: string;
  /** Seen at run time rather than declared. */
  readonly learned: boolean;
  /** Into or out of a split branch. */
  readonly branch: boolean;
}

/** What to lay out. */
export interface GraphInput {
  readonly nodes: readonly GraphInputNode[];
  readonly edges: readonly GraphInputEdge[];
}

/** A positioned node (centre `x`, `y`). */
export interface LaidOutNode extends GraphInputNode {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A routed edge. */
export interface LaidOutEdge extends GraphInputEdge {
  readonly points: readonly Point[];
}

/** The graph with positions, in its own coordinate space of `width` × `height`. */
export interface GraphLayout {
  readonly nodes: readonly LaidOutNode[];
  readonly edges: readonly LaidOutEdge[];
  readonly width: number;
  readonly height: number;
  readonly direction: "TB" | "LR";
}

const nodeHeight = 54;
const branchHeight = 36;

/** The box a node needs for its label and status line. */
function nodeSize(node: GraphInputNode): { width: number; height: number } {
  const branch = node.kind === "branch";
  // Room for the label and for the status line ("attempt 3 in 1.7 s", "2 of 2 for quorum(2)").
  const minimum = branch ? 104 : node.kind === "split" ? 176 : 140;
  const width = Math.max(minimum, node.label.length * (branch ? 7 : 8.5) + 36);
  return { width, height: branch ? branchHeight : nodeHeight };
}

/** Lays the graph out with dagre, ranked top-to-bottom or left-to-right. */
export function layoutGraph(input: GraphInput, direction: "TB" | "LR"): GraphLayout {
  const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: false });
  g.setGraph({ rankdir: direction, nodesep: 24, ranksep: 40, edgesep: 12, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of input.nodes) g.setNode(node.id, nodeSize(node));
  for (const edge of input.edges) if (edge.from !== edge.to) g.setEdge(edge.from, edge.to, { minlen: 1 });
  dagre.layout(g);
  const nodes = input.nodes.map((node) => {
    const { x = 0, y = 0, width, height } = g.node(node.id);
    return { ...node, x, y, width, height };
  });
  const edges = input.edges.map((edge) => ({
    ...edge,
    points:
      edge.from === edge.to
        ? selfLoop(nodes.find((n) => n.id === edge.from))
        : (g.edge(edge.from, edge.to)?.points ?? []),
  }));
  const { width = 0, height = 0 } = g.graph();
  return { nodes, edges, width, height, direction };
}

/** A loop drawn on the right of a node (dagre does not route edges from a node to itself). */
function selfLoop(node: LaidOutNode | undefined): Point[] {
  if (node === undefined) return [];
  const right = node.x + node.width / 2;
  return [
    { x: right, y: node.y - 10 },
    { x: right + 26, y: node.y - 18 },
    { x: right + 26, y: node.y + 18 },
    { x: right, y: node.y + 10 },
  ];
}

/**
 * The layout that shows the graph largest in a `width` × `height` box: top-to-bottom for tall
 * boxes and long chains, left-to-right when that fits better.
 */
export function bestLayout(input: GraphInput, width: number, height: number): GraphLayout {
  const candidates = (["TB", "LR"] as const).map((direction) => layoutGraph(input, direction));
  const scale = (layout: GraphLayout) =>
    Math.min(width / Math.max(1, layout.width), height / Math.max(1, layout.height));
  return candidates.reduce((best, next) => (scale(next) > scale(best) * 1.05 ? next : best));
}
