import type { WorkflowGraph } from "cano";
import type { GraphInput, GraphInputEdge, GraphInputNode } from "./graph-layout.ts";

/** The id of a split branch's node: branch ids repeat across splits that share tasks. */
export const branchNodeId = (state: string, taskId: string): string => `${state}/${taskId}`;

/**
 * What to draw for a workflow: its states and transitions from `graph()`, each split fanned out
 * into its branches (from the program's structure), plus transitions seen at run time (`seen`,
 * `from→to` keys) that the graph does not know yet.
 */
export function graphInput(
  graph: WorkflowGraph,
  splits: ReadonlyMap<string, readonly string[]>,
  seen: Iterable<string> = [],
): GraphInput {
  const nodes: GraphInputNode[] = graph.nodes.map((node) => ({
    id: node.id,
    kind: node.kind,
    label: node.id,
  }));
  const edges: GraphInputEdge[] = [];
  const known = new Set<string>();
  const add = (edge: GraphInputEdge) => {
    const key = `${edge.from}→${edge.to}`;
    if (known.has(key)) return;
    known.add(key);
    edges.push(edge);
  };
  for (const edge of graph.edges) {
    const branches = splits.get(edge.from);
    if (branches === undefined) {
      add({ ...edge, branch: false });
      continue;
    }
    for (const taskId of branches) {
      const id = branchNodeId(edge.from, taskId);
      if (!nodes.some((node) => node.id === id)) nodes.push({ id, kind: "branch", label: taskId });
      add({ from: edge.from, to: id, learned: false, branch: true });
      add({ from: id, to: edge.to, learned: false, branch: true });
    }
    known.add(`${edge.from}→${edge.to}`);
  }
  const ids = new Set(nodes.map((node) => node.id));
  for (const key of seen) {
    const [from, to] = key.split("→");
    if (from === undefined || to === undefined || !ids.has(from) || !ids.has(to)) continue;
    add({ from, to, learned: true, branch: false });
  }
  return { nodes, edges };
}

/** A string that changes exactly when the input's shape changes (so the layout is redone). */
export function inputSignature(input: GraphInput): string {
  return JSON.stringify([
    input.nodes.map((node) => node.id),
    input.edges.map((edge) => [edge.from, edge.to]),
  ]);
}
