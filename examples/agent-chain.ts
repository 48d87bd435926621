/**
 * AI-agent chain (the flagship, run by `npm start`): plan → research → draft ⇄ critique → publish.
 *
 * Shows: a multi-step agent as a typed state machine, the store as the agent's memory, a flaky
 * tool retried with exponential backoff, a critique loop that sends the draft back, and every
 * transition printed live from the event stream. The "LLM" is a deterministic fake with latency,
 * so the example runs offline; swap `fakeLlm` for a real client and nothing else changes.
 */
import type { TaskContext } from "cano";
import { exponential, formatEvent, key, task, Workflow } from "cano";

type State = "plan" | "research" | "draft" | "critique" | "publish" | "done" | "gave_up";

const topic = key<string>("topic");
const outline = key<string[]>("outline");
const notes = key<string[]>("notes");
const draft = key<string>("draft");
const revisions = key<number>("revisions");

/** A stand-in for a model API: answers after a short, fixed latency and honours cancellation. */
function fakeLlm() {
  return {
    async complete(ctx: TaskContext, prompt: string): Promise<string> {
      await ctx.clock.sleep(40, ctx.signal);
      return `«${prompt.slice(0, 48)}…»`;
    },
  };
}

/** A search tool that times out on its first call, the way real ones do. */
function flakySearch() {
  let calls = 0;
  return {
    async search(query: string): Promise<string[]> {
      if (++calls === 1) throw new Error(`search API 503 for "${query}"`);
      return [`fact about ${query} #1`, `fact about ${query} #2`];
    },
  };
}

const resources = { llm: fakeLlm(), tools: flakySearch() };
type Resources = typeof resources;

export const agent = new Workflow<State, Resources>({ resources })
  .register(
    "plan",
    task({
      to: ["research"],
      run: async (ctx) => {
        const subject = (await ctx.store.get(topic)) ?? "workflow engines";
        await ctx.resources.llm.complete(ctx, `Outline an article about ${subject}`);
        await ctx.store.put(outline, ["why state machines", "retries and breakers", "durability"]);
        return "research";
      },
    }),
  )
  .register(
    "research",
    task({
      to: ["draft"],
      retry: exponential(3, { baseMs: 50 }),
      run: async ({ store, resources: r }) => {
        for (const section of (await store.get(outline)) ?? []) {
          for (const fact of await r.tools.search(section)) await store.append(notes, fact);
        }
        return "draft";
      },
    }),
  )
  .register(
    "draft",
    task({
      to: ["critique"],
      run: async (ctx) => {
        const facts = (await ctx.store.get(notes)) ?? [];
        await ctx.store.put(draft, await ctx.resources.llm.complete(ctx, `Write using ${facts.join("; ")}`));
        return "critique";
      },
    }),
  )
  .register(
    "critique",
    task({
      to: ["draft", "publish", "gave_up"],
      run: async ({ store }) => {
        const count = ((await store.get(revisions)) ?? 0) + 1;
        await store.put(revisions, count);
        if (count < 2) return "draft"; // the critic asks for one more pass
        return count <= 3 ? "publish" : "gave_up";
      },
    }),
  )
  .register(
    "publish",
    task({
      to: ["done"],
      run: async ({ store }) => {
        console.log(`\n  published: ${await store.get(draft)}\n`);
        return "done";
      },
    }),
  )
  .exit("done", "gave_up");

const startedAt = Date.now();
const final = await agent
  .withObserver((event) => console.log(formatEvent(event, startedAt)))
  .orchestrate("plan");
console.log(`\nfinal state: ${final}`);
console.log(`\n${agent.toMermaid()}`);
