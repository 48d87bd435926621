import type { CanoError, CheckpointRow, CheckpointStore, SplitResult } from "cano";
import { all, done, MemoryCheckpointStore, more, none, router, saga, stepped, task, Workflow } from "cano";
import { RecordingObserver } from "cano/testing";
import { describe, expect, it } from "vitest";
import { FaultyCheckpointStore, seededRandom } from "../support/faulty-checkpoint-store.ts";
import { failure } from "../support/runs.ts";

/** A store that remembers every row appended, even after a clear. */
class JournalStore extends MemoryCheckpointStore {
  readonly journal: CheckpointRow[] = [];
  override async append(workflowId: string, row: CheckpointRow): Promise<void> {
    await super.append(workflowId, row);
    this.journal.push(row);
  }
}

type S = "fetch" | "route" | "parse" | "done" | "failed";

function pipeline(store: CheckpointStore, parse: () => "done" | Promise<"done">) {
  return new Workflow<S>({ name: "pipeline" })
    .withCheckpointStore(store)
    .register("fetch", task({ to: ["route"], run: () => "route" }))
    .registerRouter("route", router({ to: ["parse"], route: () => "parse" }))
    .register("parse", task({ to: ["done"], retry: none(), run: parse }))
    .exit("done", "failed");
}

describe("checkpoint rows", () => {
  it("writes a state row before each task (none for routers), one for the exit, then clears the log", async () => {
    const store = new JournalStore();
    const recorder = new RecordingObserver();
    await pipeline(store, () => "done")
      .withObserver(recorder)
      .orchestrate("fetch", { workflowId: "run-1" });
    expect(store.journal.map((r) => [r.sequence, r.state, r.kind, r.taskId, r.version, r.workflow])).toEqual([
      [0, "fetch", "state", "fetch", 0, "pipeline"],
      [1, "parse", "state", "parse", 0, "pipeline"],
      [2, "done", "state", "", 0, "pipeline"],
    ]);
    expect(await store.loadRun("run-1")).toEqual([]);
    expect(recorder.ofType("checkpoint").map((e) => e.sequence)).toEqual([0, 1, 2]);
    const order = recorder.events.filter((e) => "state" in e && e.state === "fetch").map((e) => e.type);
    expect(order.slice(0, 3)).toEqual(["state_enter", "checkpoint", "task_start"]);
  });

  it("keeps the log when a run fails with nothing to compensate, and resumes at the failed state", async () => {
    const store = new MemoryCheckpointStore();
    let parses = 0;
    const flaky = () => {
      if (++parses === 1) throw new Error("parser crashed");
      return "done" as const;
    };
    const first = await failure(pipeline(store, flaky).orchestrate("fetch", { workflowId: "run-2" }));
    expect(first.code).toBe("task_execution");
    expect((await store.loadRun("run-2")).map((r) => r.state)).toEqual(["fetch", "parse"]);

    const recorder = new RecordingObserver();
    const resumed = pipeline(store, flaky).withObserver(recorder);
    await expect(resumed.resumeFrom("run-2")).resolves.toBe("done");
    expect(parses).toBe(2);
    recorder.assertPath(["parse", "done"]);
    expect(recorder.ofType("resume")).toEqual([expect.objectContaining({ state: "parse", lastSequence: 1 })]);
    expect(recorder.ofType("checkpoint").map((e) => e.sequence)).toEqual([2, 3]);
    expect(await store.loadRun("run-2")).toEqual([]);
  });

  it("carries the path before the resumed state into errors", async () => {
    const store = new MemoryCheckpointStore();
    await failure(
      pipeline(store, () => {
        throw new Error("x");
      }).orchestrate("fetch", { workflowId: "run-3" }),
    );
    const error = await failure(
      pipeline(store, () => {
        throw new Error("still broken");
      }).resumeFrom("run-3"),
    );
    expect(error.path).toEqual(["fetch", "parse"]);
  });

  it("requires a workflow id to checkpoint, before anything runs", async () => {
    let ran = false;
    const wf = new Workflow<"a" | "done">()
      .withCheckpointStore(new MemoryCheckpointStore())
      .register(
        "a",
        task({
          to: ["done"],
          run: () => {
            ran = true;
            return "done";
          },
        }),
      )
      .exit("done");
    const error = await failure(wf.orchestrate("a"));
    expect(error.code).toBe("checkpoint_store");
    expect(error.message).toContain("checkpointing requires a workflow id");
    expect(ran).toBe(false);
    await expect(wf.withWorkflowId("fixed-id").orchestrate("a")).resolves.toBe("done");
  });

  it("stores the split result on the join state's row and restores ctx.split on resume", async () => {
    const store = new MemoryCheckpointStore();
    const seen: (SplitResult | undefined)[] = [];
    let merges = 0;
    const build = () =>
      new Workflow<"fanout" | "merge" | "done">()
        .withCheckpointStore(store)
        .registerSplit("fanout", [task({ run: () => ({ n: 1 }) }), task({ run: () => ({ n: 2 }) })], {
          strategy: all(),
          joinState: "merge",
        })
        .register(
          "merge",
          task({
            to: ["done"],
            retry: none(),
            run: ({ split }) => {
              seen.push(split);
              if (++merges === 1) throw new Error("merge crashed");
              return "done";
            },
          }),
        )
        .exit("done");
    await failure(build().orchestrate("fanout", { workflowId: "split-run" }));
    const rows = await store.loadRun("split-run");
    expect(rows.map((r) => [r.state, r.taskId])).toEqual([
      ["fanout", ""],
      ["merge", "merge"],
    ]);
    await expect(build().resumeFrom("split-run")).resolves.toBe("done");
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]?.successes).toEqual([
      { index: 0, value: { n: 1 } },
      { index: 1, value: { n: 2 } },
    ]);
  });

  it("checkpoints a split whose branches return nothing, and names a branch whose result is not JSON", async () => {
    const build = (value: () => unknown) =>
      new Workflow<"fan" | "join" | "done">()
        .withCheckpointStore(new MemoryCheckpointStore())
        .registerSplit("fan", [task({ run: value })], { strategy: all(), joinState: "join" })
        .register("join", task({ to: ["done"], run: () => "done" }))
        .exit("done");
    await expect(build(() => undefined).orchestrate("fan", { workflowId: "side-effects" })).resolves.toBe(
      "done",
    );
    const error = await failure(build(() => new Date(0)).orchestrate("fan", { workflowId: "dates" }));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain(
      'Split "fan": branch fan[0] returned a value that cannot be checkpointed',
    );
    expect(error.message).toContain("value is a Date, not a plain object");
  });

  it("fails a run whose append fails with checkpoint_store, leaves nothing half-written, and resumes later", async () => {
    const store = new FaultyCheckpointStore(new MemoryCheckpointStore(), { random: seededRandom(1) });
    store.failAppends((_id, row) => row.sequence === 1);
    let fetches = 0;
    const wf = pipeline(store, () => "done").register(
      "fetch",
      task({
        to: ["route"],
        run: () => {
          fetches++;
          return "route";
        },
      }),
    );
    const error = await failure(wf.orchestrate("fetch", { workflowId: "faulty" }));
    expect(error.code).toBe("checkpoint_store");
    expect(error.sequence).toBe(1);
    expect(error.message).toContain('appending row 1 (state) of run "faulty" failed');
    expect((await store.inner.loadRun("faulty")).map((r) => r.sequence)).toEqual([0]);
    store.failAppends(() => false);
    await expect(wf.resumeFrom("faulty")).resolves.toBe("done");
    expect(fetches).toBe(2); // the resumed state re-runs
  });

  it("reports a failed clear as an event and still completes", async () => {
    const inner = new MemoryCheckpointStore();
    const store: CheckpointStore = {
      append: (id, row) => inner.append(id, row),
      loadRun: (id) => inner.loadRun(id),
      clear: () => Promise.reject(new Error("disk gone")),
    };
    const recorder = new RecordingObserver();
    await expect(
      pipeline(store, () => "done")
        .withObserver(recorder)
        .orchestrate("fetch", { workflowId: "c" }),
    ).resolves.toBe("done");
    expect(recorder.ofType("checkpoint_clear_failed")[0]?.error.message).toContain("disk gone");
  });
});

describe("resuming stepped work", () => {
  const build = (store: CheckpointStore, seen: unknown[]) =>
    new Workflow<"count" | "done">()
      .withCheckpointStore(store)
      .register(
        "count",
        stepped({
          to: ["done"],
          step: (_ctx, cursor: number | undefined) => {
            seen.push(cursor);
            return (cursor ?? 0) >= 3 ? done("done") : more((cursor ?? 0) + 1);
          },
        }),
      )
      .exit("done");

  it("starts from the last cursor, also when an earlier resume re-entered the state without saving a new one", async () => {
    const store = new MemoryCheckpointStore();
    const rows: CheckpointRow[] = [
      { sequence: 0, state: "count", taskId: "count", kind: "state", version: 0, at: 0 },
      { sequence: 1, state: "count", taskId: "count", kind: "cursor", output: 2, version: 0, at: 0 },
      { sequence: 2, state: "count", taskId: "count", kind: "state", version: 0, at: 0, resumedFrom: 1 },
    ];
    for (const row of rows) await store.append("steps", row);
    const seen: unknown[] = [];
    await expect(build(store, seen).resumeFrom("steps")).resolves.toBe("done");
    expect(seen).toEqual([2, 3]);
  });

  it("starts afresh when the state was entered again by the machine itself after its last cursor", async () => {
    const store = new MemoryCheckpointStore();
    const rows: CheckpointRow[] = [
      { sequence: 0, state: "count", taskId: "count", kind: "state", version: 0, at: 0 },
      { sequence: 1, state: "count", taskId: "count", kind: "cursor", output: 2, version: 0, at: 0 },
      { sequence: 2, state: "count", taskId: "count", kind: "state", version: 0, at: 0 },
    ];
    for (const row of rows) await store.append("fresh", row);
    const seen: unknown[] = [];
    await expect(build(store, seen).resumeFrom("fresh")).resolves.toBe("done");
    expect(seen).toEqual([undefined, 1, 2, 3]);
  });
});

describe("fault injection", () => {
  it("property: with appends failing at random, every failed run resumes to the same result", async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const store = new FaultyCheckpointStore(new MemoryCheckpointStore(), { random: seededRandom(seed) });
      store.failAppends(0.3);
      const effects: string[] = [];
      const step = <T extends string>(next: T) =>
        task({
          to: [next],
          run: ({ state }) => {
            effects.push(state);
            return next;
          },
        });
      const wf = new Workflow<"a" | "b" | "c" | "done">()
        .withCheckpointStore(store)
        .register("a", step("b"))
        .register("b", step("c"))
        .register("c", step("done"))
        .exit("done");
      const id = `fault-${seed}`;
      let outcome = await wf.orchestrate("a", { workflowId: id }).catch((e: CanoError) => e);
      for (let tries = 0; typeof outcome !== "string" && tries < 50; tries++) {
        expect(outcome.code).toBe("checkpoint_store");
        // Nothing half-written: what the store holds is a dense prefix of the run.
        const rows = await store.inner.loadRun(id);
        expect(rows.map((r) => r.sequence)).toEqual(rows.map((_, i) => i));
        outcome =
          rows.length === 0
            ? await wf.orchestrate("a", { workflowId: id }).catch((e: CanoError) => e)
            : await wf.resumeFrom(id).catch((e: CanoError) => e);
      }
      expect(outcome).toBe("done");
      expect(await store.inner.loadRun(id)).toEqual([]);
      // Each state ran in order; a resumed state may run again (tasks at the resume point re-run).
      expect(effects.join("")).toMatch(/^a+b+c+$/);
    }
  });

  it("neither compensates nor clears when an append loses a race for its sequence to another writer", async () => {
    const store = new MemoryCheckpointStore();
    const compensations: string[] = [];
    await store.append("shared", {
      sequence: 2,
      state: "ship",
      taskId: "ship",
      kind: "state",
      version: 0,
      at: 0,
    });
    const wf = new Workflow<"charge" | "ship" | "done">()
      .withCheckpointStore(store)
      .registerWithCompensation(
        "charge",
        saga({
          to: ["ship"],
          run: () => ({ next: "ship", output: 1 }),
          compensate: () => void compensations.push("refund"),
        }),
      )
      .register("ship", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    const error = await failure(wf.orchestrate("charge", { workflowId: "shared" }));
    expect(error.code).toBe("checkpoint_store");
    // The other writer owns the run: undoing its charge would break what it goes on to do.
    expect(compensations).toEqual([]);
    expect((await store.loadRun("shared")).map((r) => r.sequence)).toEqual([0, 1, 2]);
  });

  it("compensates nothing when the rollback itself cannot be checkpointed, and keeps the log", async () => {
    const inner = new MemoryCheckpointStore();
    const store = new FaultyCheckpointStore(inner, { random: seededRandom(3) });
    const compensations: string[] = [];
    const wf = new Workflow<"charge" | "ship" | "done">()
      .withCheckpointStore(store)
      .registerWithCompensation(
        "charge",
        saga({
          to: ["ship"],
          run: () => ({ next: "ship", output: 1 }),
          compensate: () => void compensations.push("refund"),
        }),
      )
      .register(
        "ship",
        task({ to: ["done"], retry: none(), run: () => Promise.reject(new Error("carrier down")) }),
      )
      .exit("done");
    // The store goes away when the run fails (a closed database, a lost connection).
    store.failAppends((_id, row) => row.kind === "rollback");
    const error = await failure(wf.orchestrate("charge", { workflowId: "gone" }));
    expect(error.message).toContain(
      "no step was compensated, because the rollback could not be checkpointed",
    );
    expect(compensations).toEqual([]);
    expect((await inner.loadRun("gone")).map((r) => r.kind)).toEqual(["state", "completion", "state"]);
    // Once the store is back, a resume continues from the log (here: ship fails again, then rolls back).
    store.failAppends(() => false);
    expect((await failure(wf.resumeFrom("gone"))).message).toContain("carrier down");
    expect(compensations).toEqual(["refund"]);
  });
});

describe("resumeFrom: bad input loses nothing", () => {
  it("refuses a log written by another workflow", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("other", {
      sequence: 0,
      state: "parse",
      taskId: "parse",
      kind: "state",
      version: 0,
      at: 0,
      workflow: "billing",
    });
    const error = await failure(pipeline(store, () => "done").resumeFrom("other"));
    expect(error.code).toBe("checkpoint_corrupt");
    expect(error.message).toContain('row 0 was written by workflow "billing", not "pipeline"');
    expect(await store.loadRun("other")).toHaveLength(1);
  });

  it("reports a store whose loadRun returns something other than rows as checkpoint_corrupt", async () => {
    const store: CheckpointStore = {
      append: () => Promise.resolve(),
      loadRun: () => Promise.resolve(null as unknown as CheckpointRow[]),
      clear: () => Promise.resolve(),
    };
    const error = await failure(pipeline(store, () => "done").resumeFrom("weird"));
    expect(error.code).toBe("checkpoint_corrupt");
    expect(error.message).toContain('loading run "weird" returned null instead of an array of rows');
  });

  it("rejects an unknown run id", async () => {
    const error = await failure(pipeline(new MemoryCheckpointStore(), () => "done").resumeFrom("nope"));
    expect(error.code).toBe("checkpoint_store");
    expect(error.message).toBe('Workflow: run "nope" has no checkpoint rows; nothing to resume');
    expect(error.workflowId).toBe("nope");
  });

  it("refuses a log written by another workflow version, naming both and keeping the log", async () => {
    const store = new MemoryCheckpointStore();
    await failure(
      pipeline(store, () => {
        throw new Error("x");
      }).orchestrate("fetch", { workflowId: "v" }),
    );
    const error = await failure(
      pipeline(store, () => "done")
        .withWorkflowVersion(2)
        .resumeFrom("v"),
    );
    expect(error.code).toBe("workflow_version_mismatch");
    expect(error.sequence).toBe(1);
    expect(error.details).toEqual({ stored: 0, expected: 2 });
    expect(error.message).toContain(
      'run "v" was checkpointed by version 0 (row 1), but this workflow is version 2',
    );
    expect(await store.loadRun("v")).toHaveLength(2);
  });

  it("refuses a log whose last state is no longer registered, with a suggestion", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("gone", {
      sequence: 0,
      state: "prase",
      taskId: "prase",
      kind: "state",
      version: 0,
      at: 1,
    });
    const error = await failure(pipeline(store, () => "done").resumeFrom("gone"));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain(
      'stopped in state "prase" (row 0), which is neither registered nor an exit state any more. Did you mean "parse"?',
    );
    expect(await store.loadRun("gone")).toHaveLength(1);
  });

  it("reports a corrupt row as checkpoint_corrupt naming the run and sequence, deleting nothing", async () => {
    const rows: unknown[] = [
      { sequence: 0, state: "fetch", taskId: "fetch", kind: "state", version: 0, at: 1 },
      { sequence: 1, state: "parse", taskId: "parse", kind: "teleport", version: 0, at: 2 },
    ];
    let cleared = false;
    const store: CheckpointStore = {
      append: () => Promise.resolve(),
      loadRun: () => Promise.resolve(rows as CheckpointRow[]),
      clear: () => {
        cleared = true;
        return Promise.resolve();
      },
    };
    const error = await failure(pipeline(store, () => "done").resumeFrom("bad"));
    expect(error.code).toBe("checkpoint_corrupt");
    expect(error.workflowId).toBe("bad");
    expect(error.sequence).toBe(1);
    expect(error.message).toContain('run "bad"');
    expect(cleared).toBe(false);
  });

  it("needs a checkpoint store to resume", async () => {
    const wf = new Workflow<"a" | "done">()
      .register("a", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect((await failure(wf.resumeFrom("x"))).message).toContain("resumeFrom needs a checkpoint store");
  });
});
