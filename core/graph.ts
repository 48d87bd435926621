import type { WorkflowDefinition } from "./definition.ts";
import { declaredTargets } from "./definition.ts";
import type { TaskKind } from "./task.ts";

/** A state of the machine, as plain data. */
export interface GraphNode {
  readonly id: string;
  /** How the state runs; `"exit"` for exit states (an exit state's handler never runs). */
  readonly kind: TaskKind | "split" | "exit";
  /** False when the state's task declares no `to`: its edges are the ones seen at run time so far. */
  readonly declared: boolean;
}

/** A transition of the machine. */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** True for an edge seen at run time rather than declared with `to`. */
  readonly learned: boolean;
}

/** The machine as plain data: for drawing, docs and the playground. */
export interface WorkflowGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** @internal The graph of a workflow: declared edges plus those learned from runs. */
export function buildGraph<TResources>(definition: WorkflowDefinition<TResources>): WorkflowGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const [id, entry] of definition.states) {
    if (definition.exits.has(id)) continue;
    const declaredTo = declaredTargets(entry);
    const declared = declaredTo !== undefined;
    const kind = entry.kind === "single" ? entry.task.kind : entry.kind === "router" ? "router" : entry.kind;
    nodes.push({ id, kind, declared });
    const targets = declaredTo ?? definition.learnedEdges.get(id) ?? [];
    for (const to of targets) edges.push({ from: id, to, learned: !declared });
  }
  for (const id of definition.exits) nodes.push({ id, kind: "exit", declared: true });
  return { nodes, edges };
}

const escapeLabel = (label: string) => label.replace(/"/g, "#quot;");

/**
 * @internal The graph as a Mermaid flowchart: exits are stadiums, routers diamonds, splits
 * subroutine boxes, learned edges dotted.
 */
export function graphToMermaid(graph: WorkflowGraph): string {
  const ids = new Map(graph.nodes.map((node, index) => [node.id, `s${index}`]));
  const lines = ["flowchart TD"];
  for (const node of graph.nodes) {
    const label = escapeLabel(node.id);
    const id = ids.get(node.id)!;
    if (node.kind === "exit") lines.push(`  ${id}(["${label}"])`);
    else if (node.kind === "router") lines.push(`  ${id}{"${label}"}`);
    else if (node.kind === "split") lines.push(`  ${id}[["${label}"]]`);
    else lines.push(`  ${id}["${label}"]`);
  }
  for (const edge of graph.edges) {
    const to = ids.get(edge.to);
    if (to !== undefined) lines.push(`  ${ids.get(edge.from)} ${edge.learned ? "-.->" : "-->"} ${to}`);
  }
  return lines.join("\n");
}
