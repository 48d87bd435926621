/**
 * AI-agent chain: plan → research → draft ⇄ critique → publish.
 *
 * The "LLM" is a fake with latency and the search tool fails on its first call, so the research
 * step is retried with exponential backoff. The critic sends the first draft back once. Everything
 * the agent knows lives in the store: inspect it while the run goes.
 */
import type { TaskContext } from "cano";
import { exponential, key, task, Workflow } from "cano";

type State = "plan" | "research" | "draft" | "critique" | "publish" | "done" | "gave_up";

const outline = key<string[]>("outline");
const notes = key<string[]>("notes");
const draft = key<string>("draft");
const revisions = key<number>("revisions");

/** A stand-in for a model API: answers after a while, and honours cancellation. */
async function llm(ctx: TaskContext, prompt: string): Promise<string> {
  await ctx.clock.sleep(900, ctx.signal);
  return `«${prompt.slice(0, 40)}…»`;
}

let searches = 0;
/** A search tool that fails on its first call, the way real ones do. */
async function search(ctx: TaskContext, query: string): Promise<string[]> {
  await ctx.clock.sleep(300, ctx.signal);
  if (++searches === 1) throw new Error(`search API 503 for "${query}"`);
  return [`fact about ${query}`];
}

export const workflow = new Workflow<State>({ name: "agent-chain" })
  .register(
    "plan",
    task({
      to: ["research"],
      run: async (ctx) => {
        await llm(ctx, "Outline an article about workflow engines");
        await ctx.store.put(outline, ["state machines", "retries", "durability"]);
        return "research";
      },
    }),
  )
  .register(
    "research",
    task({
      to: ["draft"],
      retry: exponential(3, { baseMs: 1_000 }),
      run: async (ctx) => {
        for (const section of (await ctx.store.get(outline)) ?? []) {
          for (const fact of await search(ctx, section)) await ctx.store.append(notes, fact);
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
        await ctx.store.put(draft, await llm(ctx, `Write using ${facts.join("; ")}`));
        return "critique";
      },
    }),
  )
  .register(
    "critique",
    task({
      to: ["draft", "publish", "gave_up"],
      run: async (ctx) => {
        await ctx.clock.sleep(500, ctx.signal);
        const count = ((await ctx.store.get(revisions)) ?? 0) + 1;
        await ctx.store.put(revisions, count);
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
        console.log(`published: ${await store.get(draft)}`);
        return "done";
      },
    }),
  )
  .exit("done", "gave_up");

export const initial: State = "plan";
