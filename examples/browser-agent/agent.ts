/**
 * The browser agent's workflow: plan → three tool calls in parallel (a split) → reflect → answer.
 * The "model" and the tools are deterministic fakes with a latency (no network), so the page can be
 * reloaded mid-run and the run picks up where its IndexedDB checkpoint left off. The agent's memory
 * (question, plan, tool results, reflection, answer) lives in an IndexedDbKeyValueStore namespaced by
 * the run's id, so it survives the reload too. Every step is idempotent (same input, same output, a
 * `put` that overwrites), as a resumed run re-runs the step it stopped in.
 */
import type { CheckpointStore, KeyValueStore, SplitResult, TaskContext } from "cano";
import { all, exponential, key, task, Workflow } from "cano";

/** The agent's states. */
export type AgentState = "plan" | "tools" | "reflect" | "answer" | "done";

/** The workflow's name, stamped on its checkpoint rows (how the page finds its unfinished runs). */
export const agentWorkflowName = "browser-agent";

/** The tools the agent calls in parallel, in branch order. */
export const toolNames = ["search", "calculator", "weather"] as const;

/** One of {@link toolNames}. */
export type ToolName = (typeof toolNames)[number];

/** What a tool call returned. */
export interface Observation {
  readonly tool: ToolName;
  readonly input: string;
  readonly output: string;
}

/** The agent's memory, as typed keys. */
export const memory = {
  question: key<string>("question"),
  plan: key<readonly { readonly tool: ToolName; readonly input: string }[]>("plan"),
  observation: (tool: ToolName) => key<Observation>(`tool:${tool}`),
  reflection: key<string>("reflection"),
  answer: key<string>("answer"),
};

/** A small deterministic hash, so the fake model's choices depend on the question only. */
function hash(text: string): number {
  let h = 2166136261;
  for (const char of text) h = Math.imul(h ^ (char.codePointAt(0) ?? 0), 16777619);
  return h >>> 0;
}

/** The fake model's "thinking" time: the real wait a network call would take. */
function think(ctx: TaskContext, latencyMs: number): Promise<void> {
  return ctx.clock.sleep(latencyMs, ctx.signal);
}

/** A deterministic stand-in for a language model and its tools. */
export const fakeModel = {
  plan(question: string): { tool: ToolName; input: string }[] {
    const topic = question
      .replace(/[?.!]+$/, "")
      .split(/\s+/)
      .slice(-3)
      .join(" ");
    return [
      { tool: "search", input: `best advice: ${topic}` },
      { tool: "calculator", input: `${(hash(question) % 7) + 2} * 1.5` },
      { tool: "weather", input: topic.split(" ").at(-1) ?? "here" },
    ];
  },
  call(tool: ToolName, input: string): string {
    const h = hash(`${tool}:${input}`);
    if (tool === "calculator") {
      const [a = "0", b = "0"] = input.split("*").map((part) => part.trim());
      return String(Number(a) * Number(b));
    }
    if (tool === "weather") return `${["sunny", "cloudy", "light rain"][h % 3]}, ${12 + (h % 15)}°C`;
    return (
      ["start early and carry water", "pack layers and a snack", "check the trail map first"][h % 3] ?? ""
    );
  },
  reflect(observations: readonly Observation[]): string {
    const lines = observations.map((o) => `${o.tool} says "${o.output}"`);
    return `Three sources agree enough to answer: ${lines.join("; ")}.`;
  },
  answer(question: string, observations: readonly Observation[]): string {
    const find = (tool: ToolName) => observations.find((o) => o.tool === tool)?.output ?? "unknown";
    return (
      `For "${question}": expect ${find("weather")}; ${find("search")}; ` +
      `and budget about ${find("calculator")} litres of water.`
    );
  },
};

/** What the workflow is built from. */
export interface AgentOptions {
  /** The run's id: it also names the memory's namespace. */
  readonly runId: string;
  readonly checkpoints: CheckpointStore;
  /** The run's memory: `new IndexedDbKeyValueStore(db, runId)`. */
  readonly store: KeyValueStore;
  /** Milliseconds each model or tool call takes. */
  readonly latencyMs: number;
}

/** One branch of the split: calls tool number `index` of the plan and remembers what it saw. */
function toolCall(index: number, latencyMs: number) {
  const tool = toolNames[index] ?? "search";
  return task({
    name: tool,
    retry: exponential(2),
    run: async (ctx): Promise<Observation> => {
      const step = (await ctx.store.get(memory.plan))?.find((call) => call.tool === tool);
      const input = step?.input ?? "";
      await think(ctx, latencyMs * (1 + index / 2));
      const observation: Observation = { tool, input, output: fakeModel.call(tool, input) };
      await ctx.store.put(memory.observation(tool), observation);
      return observation;
    },
  });
}

/** The observations handed to the join state (also after a resume, from the checkpoint). */
function observationsOf(split: SplitResult | undefined): Observation[] {
  return [...(split?.successes ?? [])]
    .sort((a, b) => a.index - b.index)
    .map(({ value }) => value as Observation);
}

/**
 * The agent for one run, checkpointed in `checkpoints`.
 *
 * @example
 * const wf = agentWorkflow({ runId, checkpoints, store: new IndexedDbKeyValueStore(db, runId), latencyMs: 600 });
 * await withTabLease(runId, () => wf.orchestrate("plan", { workflowId: runId }));
 */
export function agentWorkflow(options: AgentOptions): Workflow<AgentState> {
  const { latencyMs } = options;
  return new Workflow<AgentState>({ name: agentWorkflowName, store: options.store })
    .withCheckpointStore(options.checkpoints)
    .register(
      "plan",
      task({
        to: ["tools"],
        run: async (ctx) => {
          const question = (await ctx.store.get(memory.question)) ?? "";
          await think(ctx, latencyMs);
          await ctx.store.put(memory.plan, fakeModel.plan(question));
          return "tools";
        },
      }),
    )
    .registerSplit(
      "tools",
      toolNames.map((_, index) => toolCall(index, latencyMs)),
      { strategy: all(), joinState: "reflect", timeoutMs: 60_000 },
    )
    .register(
      "reflect",
      task({
        to: ["answer"],
        run: async (ctx) => {
          await think(ctx, latencyMs);
          await ctx.store.put(memory.reflection, fakeModel.reflect(observationsOf(ctx.split)));
          return "answer";
        },
      }),
    )
    .register(
      "answer",
      task({
        to: ["done"],
        run: async (ctx) => {
          const question = (await ctx.store.get(memory.question)) ?? "";
          const observations = await Promise.all(
            toolNames.map((tool) => ctx.store.get(memory.observation(tool))),
          );
          await think(ctx, latencyMs);
          const seen = observations.filter((o): o is Observation => o !== undefined);
          await ctx.store.put(memory.answer, fakeModel.answer(question, seen));
          return "done";
        },
      }),
    )
    .exit("done");
}
