import type { CanoError, CheckpointRow, CheckpointStore } from "cano";
import { MemoryCheckpointStore, none, saga, task, Workflow } from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { failure } from "../support/runs.ts";

type Payment = "reserve" | "charge" | "ship" | "done" | "failed";

/** A ledger of side effects, so tests can see what happened and what was undone. */
function ledger() {
  const effects: string[] = [];
  const step = <TNext extends Payment>(
    name: string,
    next: TNext,
    options: { failCompensation?: boolean } = {},
  ) =>
    saga({
      to: [next],
      retry: none(),
      run: async () => {
        effects.push(`do ${name}`);
        return { next, output: { id: `${name}-1` } };
      },
      compensate: async (output: { id: string }) => {
        if (options.failCompensation) throw new Error(`cannot undo ${name}`);
        effects.push(`undo ${output.id}`);
      },
    });
  return { effects, step };
}

function payment(
  l: ReturnType<typeof ledger>,
  ship: () => Promise<"done">,
  options: { failRefund?: boolean } = {},
) {
  return new Workflow<Payment>()
    .registerWithCompensation("reserve", l.step("reserve", "charge"))
    .registerWithCompensation(
      "charge",
      l.step("charge", "ship", { failCompensation: options.failRefund ?? false }),
    )
    .register("ship", task({ to: ["done"], retry: none(), run: ship }))
    .exit("done", "failed");
}

const shipFails = async (): Promise<"done"> => {
  throw new Error("carrier down");
};

describe("sagas", () => {
  it("compensates completed steps newest first and returns the original error after a clean rollback", async () => {
    const l = ledger();
    const recorder = new RecordingObserver();
    const error = await failure(payment(l, shipFails).withObserver(recorder).orchestrate("reserve"));
    expect(l.effects).toEqual(["do reserve", "do charge", "undo charge-1", "undo reserve-1"]);
    expect(error.code).toBe("task_execution");
    expect(error.state).toBe("ship");
    expect(
      recorder.events
        .filter((e) => e.type.startsWith("compensate"))
        .map((e) => `${e.type}:${"taskId" in e ? e.taskId : ""}`),
    ).toEqual([
      "compensate_start:charge",
      "compensate_done:charge",
      "compensate_start:reserve",
      "compensate_done:reserve",
    ]);
  });

  it("never compensates on success", async () => {
    const l = ledger();
    await expect(payment(l, async () => "done").orchestrate("reserve")).resolves.toBe("done");
    expect(l.effects).toEqual(["do reserve", "do charge"]);
  });

  it("keeps draining after a compensation fails and reports every error after the original", async () => {
    const l = ledger();
    const store = new MemoryCheckpointStore();
    const error = await failure(
      payment(l, shipFails, { failRefund: true })
        .withCheckpointStore(store)
        .orchestrate("reserve", { workflowId: "dirty" }),
    );
    expect(l.effects).toEqual(["do reserve", "do charge", "undo reserve-1"]);
    expect(error.code).toBe("compensation_failed");
    expect(error.errors?.map((e) => e.code)).toEqual(["task_execution", "task_execution"]);
    expect(error.errors?.[0]?.state).toBe("ship");
    expect(error.errors?.[1]?.message).toContain("cannot undo charge");
    expect(error.message).toMatch(
      /^Compensation failed \(1 error\(s\)\); original: .*carrier down.*; compensation #1: .*cannot undo charge/,
    );
    // A dirty rollback keeps the log for an operator.
    expect((await store.loadRun("dirty")).map((r) => [r.state, r.kind])).toEqual([
      ["reserve", "state"],
      ["reserve", "completion"],
      ["charge", "state"],
      ["charge", "completion"],
      ["ship", "state"],
      ["ship", "rollback"],
      ["reserve", "compensated"],
    ]);
  });

  it("clears the log after a clean rollback and keeps completion rows' outputs until then", async () => {
    const l = ledger();
    const store = new MemoryCheckpointStore();
    const rows: CheckpointRow[] = [];
    const spy: CheckpointStore = {
      append: async (id, row) => {
        rows.push(row);
        await store.append(id, row);
      },
      loadRun: (id) => store.loadRun(id),
      clear: (id) => store.clear(id),
    };
    await failure(
      payment(l, shipFails).withCheckpointStore(spy).orchestrate("reserve", { workflowId: "clean" }),
    );
    expect(rows.filter((r) => r.kind === "completion").map((r) => r.output)).toEqual([
      { id: "reserve-1" },
      { id: "charge-1" },
    ]);
    expect(await store.loadRun("clean")).toEqual([]);
  });

  it("does not interrupt a saga step when the run is cancelled; the cancel lands at the next boundary and rolls back", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const effects: string[] = [];
    const wf = new Workflow<"charge" | "ship" | "done">()
      .withClock(clock)
      .registerWithCompensation(
        "charge",
        saga({
          to: ["ship"],
          run: async ({ signal }) => {
            await clock.sleep(100);
            effects.push(`charged (signal aborted: ${signal.aborted})`);
            return { next: "ship", output: { amount: 5 } };
          },
          compensate: async ({ amount }) => {
            effects.push(`refunded ${amount}`);
          },
        }),
      )
      .register("ship", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    const outcome = failure(wf.orchestrate("charge", { signal: controller.signal }));
    await clock.advance(10);
    controller.abort();
    await clock.advance(100);
    const error = await outcome;
    expect(error.code).toBe("cancelled");
    expect(error.state).toBe("ship");
    expect(effects).toEqual(["charged (signal aborted: false)", "refunded 5"]);
  });

  it("bounds a compensation by the step's attemptTimeoutMs and by the drain deadline of a total timeout", async () => {
    const clock = new VirtualClock();
    const effects: string[] = [];
    const slowUndo = (name: string, next: "b" | "c", ms: number) =>
      saga({
        to: [next],
        attemptTimeoutMs: ms,
        run: () => ({ next, output: name }),
        compensate: async (output: string, { signal }) => {
          await clock.sleep(1_000, signal);
          effects.push(`undo ${output}`);
        },
      });
    const wf = new Workflow<"a" | "b" | "c" | "done">()
      .withClock(clock)
      .withTotalTimeout(10_000)
      .withCompensationTimeout(700)
      .registerWithCompensation("a", slowUndo("a", "b", 5_000))
      .registerWithCompensation("b", slowUndo("b", "c", 50))
      .register("c", task({ to: ["done"], retry: none(), run: () => Promise.reject(new Error("boom")) }))
      .exit("done");
    const outcome = failure(wf.orchestrate("a"));
    await clock.runAll();
    const error = await outcome;
    expect(error.code).toBe("compensation_failed");
    expect(error.errors?.slice(1).map((e) => [e.code, e.message])).toEqual([
      ["timeout", 'Saga: compensation of "b" exceeded attemptTimeoutMs (50 ms)'],
      ["timeout", 'Saga: compensation of "a" exceeded the compensation deadline'],
    ]);
    expect(clock.now()).toBe(700);
    expect(effects).toEqual([]);
  });

  it("turns entries past the drain deadline into orphans that keep their output", async () => {
    const clock = new VirtualClock();
    const step = (next: "b" | "c", ms: number) =>
      saga({
        to: [next],
        run: () => ({ next, output: { next } }),
        compensate: () => clock.sleep(ms),
      });
    const wf = new Workflow<"a" | "b" | "c" | "done">()
      .withClock(clock)
      .withTotalTimeout(100)
      .registerWithCompensation("a", step("b", 0))
      .registerWithCompensation("b", step("c", 60))
      .register("c", task({ to: ["done"], run: () => clock.sleep(1_000).then(() => "done" as const) }))
      .exit("done");
    const outcome = failure(wf.orchestrate("a"));
    await clock.runAll();
    const error = await outcome;
    expect(error.errors?.[0]?.code).toBe("workflow_timeout");
    expect(error.errors?.slice(1).map((e) => e.code)).toEqual([
      "timeout",
      "orphaned_compensation",
      "timeout",
    ]);
    expect(error.errors?.[2]?.details).toEqual({ taskId: "a", output: { next: "b" } });
  });

  it("rejects output that is not JSON, undoing that step at once and naming the state", async () => {
    const effects: string[] = [];
    const wf = new Workflow<"charge" | "done">()
      .registerWithCompensation(
        "charge",
        saga({
          to: ["done"],
          run: () => ({ next: "done", output: { refund: () => 1 } }),
          compensate: () => {
            effects.push("undone inline");
          },
        }),
      )
      .exit("done");
    const error = await failure(wf.orchestrate("charge"));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain('Saga: the output of step "charge"');
    expect(error.message).toContain("value.refund is a function");
    expect(effects).toEqual(["undone inline"]);
  });

  it("rehydrates the compensation stack on resume, so steps done before a crash are undone once", async () => {
    const store = new MemoryCheckpointStore();
    const l = ledger();
    // First process: ship hangs forever, as if the process died there.
    void payment(l, () => new Promise<"done">(() => {}))
      .withCheckpointStore(store)
      .orchestrate("reserve", { workflowId: "crashed" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(l.effects).toEqual(["do reserve", "do charge"]);
    // Second process: a fresh workflow over the same log; ship now fails for good.
    const l2 = ledger();
    const error = await failure(payment(l2, shipFails).withCheckpointStore(store).resumeFrom("crashed"));
    expect(error.code).toBe("task_execution");
    expect(l2.effects).toEqual(["undo charge-1", "undo reserve-1"]);
    expect(await store.loadRun("crashed")).toEqual([]);
  });

  it("never compensates a step twice when a resumed run was itself cut short after re-running it", async () => {
    const store = new MemoryCheckpointStore();
    const rows = [
      ["reserve", "state", undefined],
      ["reserve", "completion", undefined],
      // The first resume re-ran "reserve" (the log ended on its completion), then entered "charge".
      ["reserve", "state", 1],
      ["reserve", "completion", undefined],
      ["charge", "state", undefined],
    ] as const;
    for (const [sequence, [state, kind, resumedFrom]] of rows.entries()) {
      await store.append("twice", {
        sequence,
        state,
        taskId: state,
        kind,
        version: 0,
        at: 0,
        ...(kind === "completion" ? { output: { id: `${state}-1` } } : {}),
        ...(resumedFrom === undefined ? {} : { resumedFrom }),
      });
    }
    const l = ledger();
    const error = await failure(payment(l, shipFails).withCheckpointStore(store).resumeFrom("twice"));
    expect(l.effects).toEqual(["do charge", "undo charge-1", "undo reserve-1"]);
    expect(error.path).toEqual(["reserve", "charge", "ship"]);
  });

  it("marks the first row a resumed run writes with where it resumed from", async () => {
    const store = new MemoryCheckpointStore();
    const l = ledger();
    void payment(l, () => new Promise<"done">(() => {}))
      .withCheckpointStore(store)
      .orchestrate("reserve", { workflowId: "marked" });
    await new Promise((resolve) => setImmediate(resolve));
    const before = await store.loadRun("marked");
    void payment(ledger(), () => new Promise<"done">(() => {}))
      .withCheckpointStore(store)
      .resumeFrom("marked");
    await new Promise((resolve) => setImmediate(resolve));
    const after = await store.loadRun("marked");
    expect(after[before.length]).toMatchObject({
      state: "ship",
      kind: "state",
      resumedFrom: before.length - 1,
    });
    expect(after.slice(before.length + 1).every((row) => row.resumedFrom === undefined)).toBe(true);
  });

  it("finishes an interrupted rollback on resume instead of re-running the failed state", async () => {
    const store = new MemoryCheckpointStore();
    const effects: string[] = [];
    let shipCalls = 0;
    let hangRefund = true;
    const build = () =>
      new Workflow<Payment>()
        .withCheckpointStore(store)
        .registerWithCompensation(
          "reserve",
          saga({
            to: ["charge"],
            retry: none(),
            run: () => ({ next: "charge", output: "r1" }),
            compensate: (id: string) => void effects.push(`release ${id}`),
          }),
        )
        .registerWithCompensation(
          "charge",
          saga({
            to: ["ship"],
            retry: none(),
            run: () => ({ next: "ship", output: "c1" }),
            compensate: async (id: string) => {
              // The first process dies here, in the middle of the rollback.
              if (hangRefund) return new Promise<never>(() => {});
              effects.push(`refund ${id}`);
            },
          }),
        )
        .register(
          "ship",
          task({
            to: ["done"],
            retry: none(),
            run: async () => {
              // Would succeed if it ran again: a resume must not ship an order whose refund began.
              if (++shipCalls === 1) throw new Error("carrier down");
              return "done";
            },
          }),
        )
        .exit("done", "failed");
    void build()
      .orchestrate("reserve", { workflowId: "rolling" })
      .catch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.loadRun("rolling")).at(-1)?.kind).toBe("rollback");
    hangRefund = false;
    const recorder = new RecordingObserver();
    const error = await failure(build().withObserver(recorder).resumeFrom("rolling"));
    expect(error.code).toBe("task_execution");
    expect(error.message).toContain("carrier down");
    expect(error.details).toMatchObject({ rollbackResumedFrom: 5 });
    expect(shipCalls).toBe(1);
    expect(effects).toEqual(["refund c1", "release r1"]);
    expect(recorder.ofType("task_start")).toEqual([]);
    expect(await store.loadRun("rolling")).toEqual([]);
  });

  it("does not compensate again a step whose compensation was recorded before the stop", async () => {
    const store = new MemoryCheckpointStore();
    const rows = [
      ["reserve", "state", undefined],
      ["reserve", "completion", { id: "reserve-1" }],
      ["charge", "state", undefined],
      ["charge", "completion", { id: "charge-1" }],
      ["ship", "state", undefined],
      ["ship", "rollback", { error: { code: "task_execution", message: "carrier down", state: "ship" } }],
      ["charge", "compensated", { completion: 3 }],
    ] as const;
    for (const [sequence, [state, kind, output]] of rows.entries()) {
      await store.append("half", {
        sequence,
        state,
        taskId: kind === "rollback" ? "" : state,
        kind,
        version: 0,
        at: 0,
        ...(output === undefined ? {} : { output }),
      });
    }
    const l = ledger();
    const error = await failure(payment(l, shipFails).withCheckpointStore(store).resumeFrom("half"));
    expect(error.message).toBe("carrier down");
    expect(l.effects).toEqual(["undo reserve-1"]);
  });

  it("clears the log of a rollback that had undone every step before the stop", async () => {
    const store = new MemoryCheckpointStore();
    const rows = [
      ["reserve", "state", undefined],
      ["reserve", "completion", { id: "reserve-1" }],
      ["ship", "state", undefined],
      ["ship", "rollback", { error: { code: "task_execution", message: "carrier down", state: "ship" } }],
      ["reserve", "compensated", { completion: 1 }],
    ] as const;
    for (const [sequence, [state, kind, output]] of rows.entries()) {
      const taskId = kind === "rollback" ? "" : state;
      await store.append("undone", {
        sequence,
        state,
        taskId,
        kind,
        version: 0,
        at: 0,
        ...(output === undefined ? {} : { output }),
      });
    }
    const l = ledger();
    expect(
      (await failure(payment(l, shipFails).withCheckpointStore(store).resumeFrom("undone"))).message,
    ).toBe("carrier down");
    expect(l.effects).toEqual([]);
    expect(await store.loadRun("undone")).toEqual([]);
  });

  it("reports a rollback row without its error as checkpoint_corrupt, keeping the log", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("broken", {
      sequence: 0,
      state: "ship",
      taskId: "",
      kind: "rollback",
      output: { nope: 1 },
      version: 0,
      at: 0,
    });
    const error = await failure(payment(ledger(), shipFails).withCheckpointStore(store).resumeFrom("broken"));
    expect(error.code).toBe("checkpoint_corrupt");
    expect(error.sequence).toBe(0);
    expect(await store.loadRun("broken")).toHaveLength(1);
  });

  it("reports a completed step whose compensator is gone as orphaned, keeping its output", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("old", {
      sequence: 0,
      state: "reserve",
      taskId: "legacy-reserve",
      kind: "state",
      version: 0,
      at: 0,
    });
    await store.append("old", {
      sequence: 1,
      state: "reserve",
      taskId: "legacy-reserve",
      kind: "completion",
      output: { id: 7 },
      version: 0,
      at: 0,
    });
    await store.append("old", {
      sequence: 2,
      state: "ship",
      taskId: "ship",
      kind: "state",
      version: 0,
      at: 0,
    });
    const error = await failure(payment(ledger(), shipFails).withCheckpointStore(store).resumeFrom("old"));
    expect(error.code).toBe("compensation_failed");
    expect(error.errors?.[1]?.code).toBe("orphaned_compensation");
    expect(error.errors?.[1]?.details).toEqual({ taskId: "legacy-reserve", output: { id: 7 } });
    // A dirty rollback keeps the log: the three old rows, the resumed state's new one, the rollback.
    expect((await store.loadRun("old")).map((r) => r.kind)).toEqual([
      "state",
      "completion",
      "state",
      "state",
      "rollback",
    ]);
  });

  it("refuses two saga steps with the same name", () => {
    const shared = ledger().step("x", "charge");
    const wf = new Workflow<Payment>()
      .registerWithCompensation("reserve", { ...shared, name: "same" })
      .registerWithCompensation("charge", { ...ledger().step("y", "ship"), name: "same" })
      .register("ship", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect(() => wf.validate()).toThrow('saga steps of states "reserve" and "charge" are both named "same"');
  });
});

describe("saga properties", () => {
  /** A chain of `n` saga steps s0 → s1 → … → end, where step `failAt` (if < n) fails instead. */
  function chain(n: number, failAt: number, log: string[], store?: CheckpointStore) {
    let wf = new Workflow<string>();
    for (let i = 0; i < n; i++) {
      const next = i + 1 < n ? `s${i + 1}` : "end";
      wf = wf.registerWithCompensation(
        `s${i}`,
        saga({
          retry: none(),
          run: () => {
            if (i === failAt) throw new Error(`s${i} failed`);
            log.push(`do ${i}`);
            return { next, output: i };
          },
          compensate: (output: number) => {
            log.push(`undo ${output}`);
          },
        }),
      );
    }
    wf = wf.exit("end");
    return store === undefined ? wf : wf.withCheckpointStore(store);
  }

  it("property: the compensations that run are exactly the completed steps, in reverse", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 12 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        async ([n, failAt]) => {
          const log: string[] = [];
          const result = await chain(n, failAt, log)
            .orchestrate("s0")
            .then(
              () => "ok",
              (e: CanoError) => e.code,
            );
          const done = Array.from({ length: Math.min(failAt, n) }, (_, i) => `do ${i}`);
          const undone = failAt < n ? Array.from({ length: failAt }, (_, i) => `undo ${failAt - 1 - i}`) : [];
          expect(log).toEqual([...done, ...undone]);
          expect(result).toBe(failAt < n ? "task_execution" : "ok");
        },
      ),
    );
  });

  it("property: a crash after any row, then a resume that fails, compensates each completed step exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 8 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.integer({ min: 0, max: 3 * n }), fc.integer({ min: 0, max: n - 1 })),
          ),
        async ([n, crashAfterRows, failAt]) => {
          const inner = new MemoryCheckpointStore();
          let appended = 0;
          // The "process" dies after `crashAfterRows` appends: later appends never return.
          const dying: CheckpointStore = {
            append: (id, row) =>
              appended++ < crashAfterRows ? inner.append(id, row) : new Promise(() => {}),
            loadRun: (id) => inner.loadRun(id),
            clear: (id) => inner.clear(id),
          };
          const firstLog: string[] = [];
          void chain(n, n, firstLog, dying)
            .orchestrate("s0", { workflowId: "p" })
            .catch(() => {});
          await new Promise((resolve) => setImmediate(resolve));
          const rows = await inner.loadRun("p");
          if (rows.length === 0) return; // crashed before the first row: nothing to resume
          const secondLog: string[] = [];
          const resumed = await chain(n, failAt, secondLog, inner)
            .resumeFrom("p")
            .then(
              () => "completed",
              () => "failed",
            );
          const undone = secondLog.filter((entry) => entry.startsWith("undo")).map((e) => Number(e.slice(5)));
          // Never twice: each step is undone at most once.
          expect(new Set(undone).size).toBe(undone.length);
          // Exactly the completions recorded before the crash (except the last row's own, whose state
          // re-runs) plus the steps completed after the resume, newest first.
          const last = rows.at(-1)?.sequence;
          const recorded = rows
            .filter((r) => r.kind === "completion" && r.sequence !== last)
            .map((r) => r.output as number);
          const redone = secondLog.filter((e) => e.startsWith("do")).map((e) => Number(e.slice(3)));
          expect(undone).toEqual(resumed === "failed" ? [...recorded, ...redone].reverse() : []);
        },
      ),
      { numRuns: 150 },
    );
  });
});
