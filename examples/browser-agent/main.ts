/**
 * Browser agent: an AI-agent chain (plan → parallel tool calls → reflect → answer) that survives tab
 * reloads. Run it with `npm run example:browser` and open the printed URL; ask, reload mid-run, and
 * watch the run resume from its IndexedDB checkpoint with its memory intact.
 *
 * Shows: `openCanoDatabase`, `IndexedDbCheckpointStore` (the run's log), `IndexedDbKeyValueStore`
 * (the agent's memory, one namespace per run), `listRuns()` to find unfinished runs on load,
 * `resumeInTab` / `withTabLease` so only one tab drives a run, and live `WorkflowEvent`s in the UI.
 * Query options: `?latency=<ms>` per model or tool call (default 700).
 */
import type { WorkflowEvent } from "cano";
import { formatEvent, isCanoError } from "cano";
import type { CanoDatabase } from "cano/idb";
import {
  IndexedDbCheckpointStore,
  IndexedDbKeyValueStore,
  isTabLeaseHeld,
  openCanoDatabase,
  resumeInTab,
  withTabLease,
} from "cano/idb";
import type { AgentState } from "./agent.ts";
import { agentWorkflow, agentWorkflowName, memory, toolNames } from "./agent.ts";

/** What the page is doing; tests read it from `document.body.dataset.status`. */
type Status = "idle" | "running" | "done" | "failed" | "elsewhere";

const latencyMs = Number(new URLSearchParams(location.search).get("latency") ?? "700");
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function setStatus(status: Status, text: string): void {
  document.body.dataset.status = status;
  $("status").textContent = text;
}

function log(line: string): void {
  const item = document.createElement("li");
  item.textContent = line;
  $("events").prepend(item);
}

/** Lights the state chips from the run's memory (which survives reloads) and the current state. */
async function render(db: CanoDatabase, runId: string, current?: string): Promise<void> {
  const store = new IndexedDbKeyValueStore(db, runId);
  const observations = await Promise.all(toolNames.map((tool) => store.get(memory.observation(tool))));
  const done: Record<string, boolean> = {
    plan: (await store.get(memory.plan)) !== undefined,
    reflect: (await store.get(memory.reflection)) !== undefined,
    answer: (await store.get(memory.answer)) !== undefined,
  };
  toolNames.forEach((tool, index) => {
    done[tool] = observations[index] !== undefined;
  });
  for (const chip of document.querySelectorAll<HTMLElement>("[data-step]")) {
    const step = chip.dataset.step ?? "";
    chip.dataset.state = done[step]
      ? "done"
      : step === current || chip.dataset.group === current
        ? "active"
        : "";
  }
  const rows: string[] = [];
  for (const name of (await store.keys()).sort())
    rows.push(`${name}: ${JSON.stringify(await store.get(name))}`);
  $("memory").textContent = rows.join("\n") || "(empty)";
  $("run").textContent = runId;
  $("question-shown").textContent = (await store.get(memory.question)) ?? "";
  $("answer").textContent = (await store.get(memory.answer)) ?? "…";
}

/** Runs (or resumes) the agent in this tab, keeping the UI in step with its events. */
async function drive(db: CanoDatabase, runId: string, start: boolean): Promise<void> {
  const checkpoints = new IndexedDbCheckpointStore(db);
  const workflow = agentWorkflow({
    runId,
    checkpoints,
    store: new IndexedDbKeyValueStore(db, runId),
    latencyMs,
  });
  let current: string | undefined;
  const onEvent = (event: WorkflowEvent) => {
    if (event.type === "state_enter") current = event.state;
    if (event.type === "resume") {
      document.body.dataset.resumed = String(event.lastSequence);
      $("banner").textContent =
        `Resumed after a reload: re-entering "${event.state}" from checkpoint #${event.lastSequence}.`;
    }
    if (event.type !== "task_start") log(formatEvent(event));
    void render(db, runId, current);
  };
  setStatus("running", start ? "Thinking…" : "Resuming the unfinished run…");
  try {
    let final: AgentState | "gone";
    if (start) {
      // "wait" here too: on a page load, the page before the reload may still hold the lease.
      final = await withTabLease(runId, () => workflow.orchestrate("plan", { workflowId: runId, onEvent }), {
        mode: "wait",
      });
    } else {
      // "wait", not "fail": right after a reload the previous page may still hold the lease for a
      // moment, and a run driven by another tab is shown as such until that tab is done with it.
      const result = await resumeInTab(workflow, checkpoints, runId, {
        mode: "wait",
        onEvent,
        onLeaseEvent: (event) => {
          if (event.type === "lease_waiting")
            setStatus("elsewhere", "Another tab is driving this run; waiting…");
          if (event.type === "lease_acquired") setStatus("running", "Resuming the unfinished run…");
        },
      });
      final = result.status === "gone" ? "gone" : result.state;
    }
    await render(db, runId);
    setStatus("done", final === "gone" ? "Finished in another tab." : `Done (final state "${final}").`);
  } catch (error) {
    if (isTabLeaseHeld(error)) return setStatus("elsewhere", "This run is being driven by another tab.");
    setStatus("failed", isCanoError(error) ? `${error.code}: ${error.message}` : String(error));
  }
}

async function main(): Promise<void> {
  const db = await openCanoDatabase("cano-browser-agent");
  const app = new IndexedDbKeyValueStore(db, "app");
  const checkpoints = new IndexedDbCheckpointStore(db);
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = ($("question") as HTMLInputElement).value.trim();
    if (question === "" || document.body.dataset.status === "running") return;
    const runId = `agent-${crypto.randomUUID()}`;
    void (async () => {
      await new IndexedDbKeyValueStore(db, runId).put(memory.question, question);
      await app.put("lastRun", runId);
      $("banner").textContent = "";
      $("events").textContent = "";
      await render(db, runId);
      await drive(db, runId, true);
    })();
  });
  // On load: resume an unfinished run (newest first), or show the last finished one.
  const unfinished = (await checkpoints.listRuns())
    .filter((run) => run.workflow === agentWorkflowName)
    .sort((a, b) => b.at - a.at);
  const last = unfinished[0]?.workflowId ?? (await app.get<string>("lastRun"));
  if (last === undefined) return setStatus("idle", "Ask the agent something.");
  await render(db, last);
  if (unfinished[0] !== undefined) return drive(db, last, false);
  const runMemory = new IndexedDbKeyValueStore(db, last);
  if ((await runMemory.get(memory.answer)) !== undefined)
    return setStatus("done", "Last answer (from IndexedDB).");
  // Asked, but reloaded before the first checkpoint: nothing ran yet, so start it now.
  if ((await runMemory.get(memory.question)) !== undefined) return drive(db, last, true);
  setStatus("idle", "Ask the agent something.");
}

main().catch((error: unknown) => setStatus("failed", String(error)));
