import type { WorkflowDefinition } from "./definition.ts";
import type { CanoError } from "./errors.ts";
import { describeThrown, engineError } from "./errors.ts";
import { didYouMean } from "./suggest.ts";

/** @internal A `workflow` error when a task returned something other than a known (and declared) state. */
export function checkNextState<TResources>(
  definition: WorkflowDefinition<TResources>,
  state: string,
  declared: readonly string[] | undefined,
  next: unknown,
): CanoError | undefined {
  const { states, exits } = definition;
  if (typeof next !== "string") {
    return engineError(
      "workflow",
      `Workflow: state "${state}" returned ${next === undefined ? "undefined" : describeThrown(next)}, expected the name of the next state (a string)`,
    );
  }
  // Declared targets exist: every run starts with the structural checks, and states are never removed.
  if (declared?.includes(next)) return undefined;
  if (!states.has(next) && !exits.has(next)) {
    const known = [...states.keys(), ...exits];
    return engineError(
      "workflow",
      `Workflow: state "${state}" returned "${next}", which is neither registered nor an exit state.${didYouMean(next, known)}`,
    );
  }
  if (declared !== undefined) {
    return engineError(
      "workflow",
      `Workflow: state "${state}" returned "${next}", which is not among its declared targets (${declared.map((s) => `"${s}"`).join(", ")})`,
    );
  }
  return undefined;
}

/** @internal Remembers an edge seen at run time from a state whose task declares no targets. */
export function learnEdge<TResources>(
  definition: WorkflowDefinition<TResources>,
  from: string,
  to: string,
): void {
  const targets = definition.learnedEdges.get(from);
  if (targets === undefined) definition.learnedEdges.set(from, new Set([to]));
  else targets.add(to);
}
