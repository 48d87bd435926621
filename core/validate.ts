import type { WorkflowDefinition } from "./definition.ts";
import { declaredTargets } from "./definition.ts";
import { CanoError } from "./errors.ts";
import { splitProblems } from "./join.ts";
import { didYouMean } from "./suggest.ts";

function known<TResources>(definition: WorkflowDefinition<TResources>): string[] {
  return [...definition.states.keys(), ...definition.exits];
}

function isKnown<TResources>(definition: WorkflowDefinition<TResources>, state: string): boolean {
  return definition.states.has(state) || definition.exits.has(state);
}

/** @internal The problems that make a workflow unrunnable, whatever its initial state (reference §3.3). */
export function structuralProblems<TResources>(definition: WorkflowDefinition<TResources>): string[] {
  const problems: string[] = [];
  if (definition.states.size === 0)
    problems.push("no states are registered; call register(state, task) first");
  if (definition.exits.size === 0)
    problems.push("no exit states are defined, so a run could loop forever; call exit(...states)");
  const sagaNames = new Map<string, string>();
  for (const [state, entry] of definition.states) {
    if (entry.kind === "saga") {
      const other = sagaNames.get(entry.taskId);
      if (other !== undefined) {
        problems.push(
          `saga steps of states "${other}" and "${state}" are both named "${entry.taskId}"; compensations are looked up by name, so give each step its own`,
        );
      }
      sagaNames.set(entry.taskId, state);
    }
    if (entry.kind === "split") {
      const { strategy, tasks, timeoutMs, bulkhead } = entry.split;
      for (const problem of splitProblems(strategy, tasks.length, timeoutMs, bulkhead)) {
        problems.push(`split state "${state}" ${problem}`);
      }
    }
    for (const target of declaredTargets(entry) ?? []) {
      if (!isKnown(definition, target)) {
        problems.push(
          `state "${state}" declares target "${target}", which is neither registered nor an exit state.${didYouMean(target, known(definition))}`,
        );
      }
    }
  }
  return problems;
}

/** @internal The problems with starting at `initial`: unknown, or leaving declared states unreachable. */
export function initialStateProblems<TResources>(
  definition: WorkflowDefinition<TResources>,
  initial: string,
  checkReachability: boolean,
): string[] {
  if (!isKnown(definition, initial)) {
    return [
      `initial state "${initial}" is neither registered nor an exit state.${didYouMean(initial, known(definition))}`,
    ];
  }
  if (!checkReachability) return [];
  const reached = new Set([initial]);
  const queue = [initial];
  for (let state = queue.pop(); state !== undefined; state = queue.pop()) {
    const entry = definition.states.get(state);
    if (entry === undefined) continue;
    const targets = declaredTargets(entry);
    // Without declared targets the edges are only known at run time: nothing can be called unreachable.
    if (targets === undefined) return [];
    for (const target of targets) {
      if (!reached.has(target)) {
        reached.add(target);
        queue.push(target);
      }
    }
  }
  return known(definition)
    .filter((state) => !reached.has(state))
    .map((state) => `state "${state}" is unreachable from "${initial}" through the declared targets`);
}

/** @internal Throws one `configuration` error listing every problem, if there are any. */
export function throwIfProblems(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const message =
    problems.length === 1
      ? `Workflow: ${problems[0]}`
      : `Workflow: ${problems.length} configuration problems:\n- ${problems.join("\n- ")}`;
  throw new CanoError("configuration", message, { details: { problems } });
}
