// The live view's model, driven by a real run's events: the playground draws only what these say.
import type { WorkflowEvent } from "cano";
import { MemoryCheckpointStore, PermanentError, quorum, saga, task, Workflow } from "cano";
import { VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";
import { Gate } from "../../playground/src/runtime/gate.ts";
import { joinProgress, successesNeeded } from "../../playground/src/view/join-progress.ts";
import { apply, createModel, timelineLimit } from "../../playground/src/view/model.ts";

type S = "reserve" | "charge" | "ship" | "done";

async function sagaEvents(): Promise<WorkflowEvent[]> {
  const events: WorkflowEvent[] = [];
  const wf = new Workflow<S>()
    .withCheckpointStore(new MemoryCheckpointStore())
    .registerWithCompensation(
      "reserve",
      saga({ to: ["charge"], run: () => ({ next: "charge", output: 1 }), compensate: () => {} }),
    )
    .registerWithCompensation(
      "charge",
      saga({ to: ["ship"], run: () => ({ next: "ship", output: 2 }), compensate: () => {} }),
    )
    .register("ship", task({ to: ["done"], run: () => Promise.reject(new PermanentError("no")) }))
    .exit("done");
  await wf
    .orchestrate("reserve", { workflowId: "m1", onEvent: (event) => events.push(event) })
    .catch(() => {});
  return events;
}

describe("the live view's model", () => {
  it("follows a saga: states visited, the failure, compensations newest first", async () => {
    const model = createModel(0);
    for (const event of await sagaEvents()) apply(model, event);
    expect(model.path).toEqual(["reserve", "charge", "ship"]);
    expect([...model.edges]).toEqual(["reserve→charge", "charge→ship"]);
    expect(model.failedState).toBe("ship");
    expect(model.status).toBe("failed");
    expect(model.compensations.map((c) => [c.taskId, c.status])).toEqual([
      ["charge", "done"],
      ["reserve", "done"],
    ]);
    expect(model.sagaStack).toEqual([]);
  });

  it("tracks a split's branches and the join strategy's progress", async () => {
    const clock = new VirtualClock();
    const model = createModel(0);
    const wf = new Workflow<"fan" | "join" | "done">({ clock })
      .registerSplit("fan", [task({ run: () => 1 }), task({ run: () => 2 }), task({ run: () => 3 })], {
        strategy: quorum(2),
        joinState: "join",
      })
      .register("join", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    await wf.orchestrate("fan", { onEvent: (event) => apply(model, event) });
    const split = model.splits.get("fan");
    expect(split?.successes).toBe(3);
    expect(split?.decision).toBe("proceed");
    expect(joinProgress(split?.strategy ?? "", 3, 2, 2)).toBe("2 of 2 for quorum(2)");
    expect(model.path).toEqual(["fan", "join", "done"]);
  });

  it("knows how many successes each strategy needs", () => {
    expect(successesNeeded("all()", 4)).toBe(4);
    expect(successesNeeded("any()", 4)).toBe(1);
    expect(successesNeeded("quorum(3)", 4)).toBe(3);
    expect(successesNeeded("percentage(0.5)", 3)).toBe(2);
    expect(successesNeeded("partialResults(2)", 4)).toBe(2);
    expect(successesNeeded("partialTimeout()", 4)).toBeUndefined();
    expect(joinProgress("all()", 3, 1, 1)).toBe("1 of 3 for all()");
  });

  it("replays a checkpoint log without drawing a self-loop where the run resumes", () => {
    const model = createModel(0);
    const row = (sequence: number, state: string) => ({
      sequence,
      state,
      taskId: state,
      kind: "state" as const,
      version: 0,
      at: 0,
    });
    apply(model, { type: "replayed", at: 0, workflowId: "r", row: row(0, "plan") });
    apply(model, { type: "replayed", at: 0, workflowId: "r", row: row(1, "draft") });
    apply(model, { type: "run_start", at: 1, workflowId: "r", initial: "draft" });
    apply(model, { type: "resume", at: 1, workflowId: "r", state: "draft", lastSequence: 1 });
    apply(model, { type: "state_enter", at: 1, workflowId: "r", state: "draft" });
    apply(model, { type: "state_enter", at: 2, workflowId: "r", state: "done" });
    expect(model.path).toEqual(["plan", "draft", "done"]);
    expect([...model.edges]).toEqual(["plan→draft", "draft→done"]);
    expect(model.replayed).toEqual(new Set(["plan", "draft"]));
  });

  it("keeps the timeline bounded under a burst of events", () => {
    const model = createModel(0);
    for (let i = 0; i < timelineLimit + 500; i++)
      apply(model, { type: "log", at: i, level: "log", text: `line ${i}` });
    expect(model.timeline).toHaveLength(timelineLimit);
    expect(model.dropped).toBe(500);
    expect(model.timeline[0]?.seq).toBe(500);
  });
});

describe("the pause/step gate", () => {
  it("holds each transition while paused and lets one through per step", async () => {
    const gate = new Gate();
    const signal = new AbortController().signal;
    gate.pause();
    gate.observe({ type: "state_enter", at: 0, workflowId: "g", state: "a" });
    let passed = false;
    const entered = gate.enter("a", signal).then(() => {
      passed = true;
    });
    await Promise.resolve();
    expect(passed).toBe(false);
    expect(gate.status()).toEqual({ mode: "paused", waitingAt: "a" });
    gate.step();
    await entered;
    expect(passed).toBe(true);
    expect(gate.stepping).toBe(true);
    // The next state is held again, and the clock stops with it.
    gate.observe({ type: "state_enter", at: 1, workflowId: "g", state: "b" });
    const next = gate.enter("b", signal);
    expect(gate.stepping).toBe(false);
    gate.resume();
    await next;
  });
});
