/**
 * Recovery: a run dies part-way, and a fresh Workflow instance resumes it from its checkpoint log.
 *
 * Shows: `withCheckpointStore` + a workflow id, the rows written before each state's task, the
 * unfinished run listed by the store, and `resumeFrom(id)` on a new instance: it re-runs the state
 * it stopped in (so that task must be idempotent), skips the states before it, and clears the log
 * once the run finishes. A failed run keeps its log just as a crashed process would: rows are
 * written before each task and nothing is written after one fails, so the log is the same.
 */
import { isCanoError, key, MemoryCheckpointStore, MemoryStore, PermanentError, task, Workflow } from "cano";
import { RecordingObserver } from "cano/testing";

type State = "fetch" | "enrich" | "publish" | "done";
const articles = key<string[]>("articles");

// Both stand in for durable storage (IndexedDB, Durable Objects, KV…) that outlives the process:
// the checkpoint log, and the key-value data the states hand each other.
const checkpoints = new MemoryCheckpointStore();
const data = new MemoryStore();
const calls = { fetch: 0, enrich: 0, publish: 0 };

/** Builds the workflow, as a restarted process would; `enrichWorks` is false in the process that dies. */
function newsletter(enrichWorks: boolean) {
  return new Workflow<State>({ store: data, name: "newsletter" })
    .withCheckpointStore(checkpoints)
    .register(
      "fetch",
      task({
        to: ["enrich"],
        run: async ({ store }) => {
          calls.fetch++;
          await store.put(articles, ["cano 0.1", "state machines"]);
          return "enrich";
        },
      }),
    )
    .register(
      "enrich",
      task({
        to: ["publish"],
        run: async ({ store }) => {
          calls.enrich++;
          // The simulated crash; a PermanentError, so it is not retried.
          if (!enrichWorks) throw new PermanentError("worker killed mid-task");
          // Idempotent: it overwrites, so running it again after a resume is harmless.
          await store.put(
            articles,
            ((await store.get(articles)) ?? []).map((title) => title.toUpperCase()),
          );
          return "publish";
        },
      }),
    )
    .register(
      "publish",
      task({
        to: ["done"],
        run: async ({ store }) => {
          calls.publish++;
          console.log(`published: ${(await store.get(articles))?.join(", ")}`);
          return "done";
        },
      }),
    )
    .exit("done");
}

console.log("run 1 (the worker dies in enrich):");
try {
  await newsletter(false).orchestrate("fetch", { workflowId: "issue-42" });
} catch (error) {
  if (!isCanoError(error)) throw error;
  console.log(`  failed with ${error.code} in "${error.state}"`);
}

console.log("checkpoint log of issue-42:");
for (const row of await checkpoints.loadRun("issue-42")) {
  console.log(`  #${row.sequence} ${row.kind} "${row.state}"`);
}
for (const run of await checkpoints.listRuns()) {
  console.log(`unfinished: ${run.workflowId} (${run.workflow}), stopped in "${run.state}"`);
}

console.log("\nrun 2 (a new Workflow instance, as after a restart):");
const recorder = new RecordingObserver();
const final = await newsletter(true)
  .withObserver(recorder)
  .withObserver((event) => {
    if (event.type === "resume")
      console.log(`  resumed at "${event.state}" after checkpoint #${event.lastSequence}`);
  })
  .resumeFrom("issue-42");
console.log(`final state: ${final}; resumed path: ${recorder.statesEntered().join(" → ")}`);
console.log(`task calls: fetch ${calls.fetch}, enrich ${calls.enrich}, publish ${calls.publish}`);
console.log(`log rows left: ${(await checkpoints.loadRun("issue-42")).length}`);
