/**
 * Node (prep → exec → post): summarise documents with a flaky model.
 *
 * Shows: the three-phase Node model. `prep` loads the input once, `exec` is the only part that is
 * retried (each retry gets the same input), and `post` stores the result and picks the next state.
 */
import { fixed, key, MemoryStore, node, task, Workflow } from "cano";

type State = "summarize" | "report" | "done" | "too_short";

const documentText = key<string>("document");
const summary = key<string>("summary");

let modelCalls = 0;
/** Fails twice, then answers: the retries are visible in the output. */
async function flakyModel(text: string): Promise<string> {
  modelCalls++;
  if (modelCalls < 3) throw new Error(`model overloaded (call ${modelCalls})`);
  return text.split(". ")[0] ?? text;
}

const store = new MemoryStore();
await store.put(
  documentText,
  "State machines make workflows explicit. Every step is a state. Every edge is checked.",
);

const summarizer = new Workflow<State>({ store })
  .register(
    "summarize",
    node({
      to: ["report", "too_short"],
      retry: fixed(3, 20),
      prep: async ({ store }) => (await store.get(documentText)) ?? "",
      exec: (text: string, { attempt }) => {
        console.log(`exec attempt ${attempt}`);
        return flakyModel(text);
      },
      post: async ({ store }, result: string) => {
        await store.put(summary, result);
        return result.length > 10 ? "report" : "too_short";
      },
    }),
  )
  .register(
    "report",
    task({
      to: ["done"],
      run: async ({ store }) => {
        console.log(`summary: ${await store.get(summary)}`);
        return "done";
      },
    }),
  )
  .exit("done", "too_short");

const final = await summarizer.orchestrate("summarize");
console.log(`final state: ${final}; model calls: ${modelCalls}`);
