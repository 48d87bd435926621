import { isCanoError, MemoryCheckpointStore, none, PermanentError, task, Workflow } from "cano";
import { apiWorkflow, InProcessRunHost, isRunHostError } from "cano/http";
import { describe, expect, it } from "vitest";

type S = "a" | "b" | "done";

/** `a` → `b` → `done`; `b` fails while `failing.b` is set. */
function build(failing: { b: boolean }) {
  return new Workflow<S>()
    .register("a", task({ to: ["b"], run: async () => "b" }))
    .register(
      "b",
      task({
        to: ["done"],
        retry: none(),
        run: async () => {
          if (failing.b) throw new PermanentError("b is down");
          return "done";
        },
      }),
    )
    .exit("done");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("InProcessRunHost and checkpoint stores", () => {
  it("refuses to start a workflow that has a checkpoint store of its own, and says which to use", async () => {
    const own = new MemoryCheckpointStore();
    const workflow = build({ b: false }).withCheckpointStore(own);
    for (const store of [undefined, new MemoryCheckpointStore()]) {
      const host = new InProcessRunHost({
        workflows: { w: apiWorkflow({ workflow, initial: "a" }) },
        ...(store === undefined ? {} : { store }),
      });
      const error = await rejection(host.start("w", undefined));
      expect(isCanoError(error) && error.code === "configuration").toBe(true);
      expect((error as Error).message).toMatch(/workflow "w" already has a checkpoint store/);
      expect((error as Error).message).toMatch(/new InProcessRunHost\(\{ workflows, store \}\)/);
      expect((await host.list({ limit: 10 })).runs).toEqual([]);
    }
    expect(await own.listRuns()).toEqual([]);
  });

  it("fails a run whose create() builds a workflow with its own store, before it runs", async () => {
    const own = new MemoryCheckpointStore();
    let ran = 0;
    const workflows = {
      w: apiWorkflow({
        workflow: build({ b: false }),
        initial: "a",
        create: () => {
          ran += 1;
          return build({ b: false }).withCheckpointStore(own);
        },
      }),
    };
    const host = new InProcessRunHost({ workflows });
    const { run } = await host.start("w", undefined);
    await host.idle();
    const after = await host.status(run.id);
    expect(after).toMatchObject({ status: "failed", error: { code: "configuration" }, lastEventId: 0 });
    expect(after?.error?.message).toMatch(/already has a checkpoint store/);
    expect(ran).toBe(1);
    expect(await own.loadRun(run.id)).toEqual([]);
  });

  it("checkpoints in the host's store, resumes from it, and lets another host run the same workflows", async () => {
    const store = new MemoryCheckpointStore();
    const failing = { b: true };
    const workflows = { w: apiWorkflow({ workflow: build(failing), initial: "a" }) };
    const host = new InProcessRunHost({ workflows, store });
    const { run } = await host.start("w", undefined);
    await host.idle();
    expect((await host.status(run.id))?.status).toBe("failed");
    expect((await store.loadRun(run.id)).length).toBeGreaterThan(0);
    failing.b = false;
    await host.resume(run.id);
    await host.idle();
    expect(await host.status(run.id)).toMatchObject({ status: "completed", resumes: 1 });

    // The store the first host set is not one of the workflow's own.
    const second = new InProcessRunHost({ workflows });
    const again = await second.start("w", undefined);
    await second.idle();
    expect((await second.status(again.run.id))?.status).toBe("completed");
  });
});

describe("InProcessRunHost idempotency keys", () => {
  it("tells apart inputs that differ only in an own __proto__ key", async () => {
    const workflows = { w: apiWorkflow({ workflow: build({ b: false }), initial: "a" }) };
    const host = new InProcessRunHost({ workflows });
    const first = await host.start("w", { meta: {} }, { idempotencyKey: "k" });
    expect(first.created).toBe(true);
    const sneaky = JSON.parse('{"meta":{"__proto__":{"admin":true}}}') as unknown;
    const error = await rejection(host.start("w", sneaky, { idempotencyKey: "k" }));
    expect(isRunHostError(error) && error.code === "conflict").toBe(true);
    const replay = await host.start("w", { meta: {} }, { idempotencyKey: "k" });
    expect(replay).toMatchObject({ created: false, run: { id: first.run.id } });
    await host.idle();
  });
});
