import type { CanoError, SplitResult, Task } from "cano";
import {
  all,
  any,
  fixed,
  node,
  none,
  partialResults,
  partialTimeout,
  percentage,
  quorum,
  task,
  Workflow,
} from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";
import { configurationError, failure, settle } from "../support/runs.ts";

type S = "fanout" | "merge" | "done";

/** A branch that waits `ms` on the clock, then returns `value` or throws. */
function branch(
  clock: VirtualClock,
  ms: number,
  outcome: { value: unknown } | { error: string },
  log?: unknown[],
) {
  return task({
    retry: none(),
    run: async ({ signal }) => {
      signal.addEventListener("abort", () =>
        log?.push({ aborted: ms, reason: (signal.reason as CanoError).code }),
      );
      await clock.sleep(ms, signal);
      if ("error" in outcome) throw new Error(outcome.error);
      return outcome.value;
    },
  });
}

/** A split at "fanout" joining into "merge", whose task records ctx.split. */
function splitWorkflow(
  clock: VirtualClock,
  branches: readonly Task<unknown>[],
  options: Parameters<Workflow<S>["registerSplit"]>[2],
) {
  const seen: { split: SplitResult | undefined } = { split: undefined };
  const recorder = new RecordingObserver();
  const wf = new Workflow<S>()
    .withClock(clock)
    .withObserver(recorder)
    .registerSplit("fanout", branches, options)
    .register(
      "merge",
      task({
        to: ["done"],
        run: ({ split }) => {
          seen.split = split;
          return "done";
        },
      }),
    )
    .exit("done");
  return { wf, seen, recorder };
}

describe("registerSplit", () => {
  it("all(): runs branches of different kinds and hands their results to the join state by index", async () => {
    const clock = new VirtualClock();
    const nodeBranch = node({
      retry: none(),
      prep: () => 20,
      exec: (n: number) => n + 1,
      post: (_ctx, n: number) => `node:${n}`,
    });
    const { wf, seen, recorder } = splitWorkflow(
      clock,
      [branch(clock, 30, { value: { rows: 3 } }), nodeBranch, branch(clock, 10, { value: "ten" })],
      { strategy: all(), joinState: "merge" },
    );
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(seen.split).toEqual({
      successes: [
        { index: 0, value: { rows: 3 } },
        { index: 1, value: "node:21" },
        { index: 2, value: "ten" },
      ],
      errors: [],
      cancelled: [],
    });
    expect(clock.now()).toBe(30);
    recorder.assertPath(["fanout", "merge", "done"]);
    expect(recorder.ofType("split_start")[0]).toMatchObject({
      state: "fanout",
      branches: 3,
      strategy: "all()",
    });
    expect(recorder.ofType("branch_settled").map((e) => [e.index, e.outcome])).toEqual([
      [1, "success"],
      [2, "success"],
      [0, "success"],
    ]);
    expect(recorder.ofType("task_start").map((e) => e.taskId)).toEqual([
      "fanout[0]",
      "fanout[1]",
      "fanout[2]",
      "merge",
    ]);
    expect(recorder.ofType("join")[0]).toMatchObject({
      successes: 3,
      failures: 0,
      cancelled: 0,
      decision: "proceed",
    });
  });

  it("all(): fails with a workflow error listing the branch errors when one branch fails", async () => {
    const clock = new VirtualClock();
    const { wf, recorder } = splitWorkflow(
      clock,
      [branch(clock, 5, { value: 1 }), branch(clock, 5, { error: "disk full" })],
      { strategy: all(), joinState: "merge" },
    );
    const error = await failure(settle(clock, wf.orchestrate("fanout")));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain(
      'Split "fanout": join condition not met: 1 of 2 branches succeeded (strategy all())',
    );
    expect(error.message).toContain('[1] Task "fanout[1]" threw: Error: disk full');
    expect(error.state).toBe("fanout");
    expect(recorder.ofType("join")[0]?.decision).toBe("fail");
    expect(recorder.ofType("task_failure").map((e) => e.state)).toEqual(["fanout"]);
  });

  it("any(): proceeds at the first success and cancels the losers through their signal", async () => {
    const clock = new VirtualClock();
    const log: unknown[] = [];
    const hangs = task({ retry: none(), run: () => new Promise<never>(() => {}) });
    const { wf, seen, recorder } = splitWorkflow(
      clock,
      [branch(clock, 50, { value: "slow" }, log), branch(clock, 10, { value: "fast" }, log), hangs],
      { strategy: any(), joinState: "merge" },
    );
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(seen.split).toEqual({ successes: [{ index: 1, value: "fast" }], errors: [], cancelled: [0, 2] });
    // One signal serves every branch (no per-branch controllers); the loser still running sees it fire.
    expect(log).toContainEqual({ aborted: 50, reason: "cancelled" });
    expect(
      recorder
        .ofType("branch_settled")
        .filter((e) => e.outcome === "cancelled")
        .map((e) => e.index),
    ).toEqual([0, 2]);
  });

  it("any(): fails when every branch fails", async () => {
    const clock = new VirtualClock();
    const { wf } = splitWorkflow(
      clock,
      [branch(clock, 1, { error: "a" }), branch(clock, 2, { error: "b" })],
      {
        strategy: any(),
        joinState: "merge",
      },
    );
    expect((await failure(settle(clock, wf.orchestrate("fanout")))).message).toContain(
      "0 of 2 branches succeeded",
    );
  });

  it("quorum(n) and percentage(p) wait for every branch even once satisfied (no early exit)", async () => {
    for (const strategy of [quorum(2), percentage(0.5)]) {
      const clock = new VirtualClock();
      const { wf, seen } = splitWorkflow(
        clock,
        [
          branch(clock, 1, { value: "a" }),
          branch(clock, 2, { value: "b" }),
          branch(clock, 90, { error: "late" }),
        ],
        { strategy, joinState: "merge" },
      );
      await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
      expect(clock.now()).toBe(90);
      expect(seen.split?.errors.map((e) => e.index)).toEqual([2]);
      expect(seen.split?.cancelled).toEqual([]);
    }
  });

  it("quorum(n) fails when fewer than n branches succeed", async () => {
    const clock = new VirtualClock();
    const { wf } = splitWorkflow(
      clock,
      [branch(clock, 1, { value: "a" }), branch(clock, 2, { error: "x" }), branch(clock, 3, { error: "y" })],
      { strategy: quorum(2), joinState: "merge" },
    );
    expect((await failure(settle(clock, wf.orchestrate("fanout")))).message).toContain(
      "1 of 3 branches succeeded (strategy quorum(2))",
    );
  });

  it("partialResults(n) exits once n succeeded and names at most three errors when it cannot", async () => {
    const clock = new VirtualClock();
    const { wf, seen } = splitWorkflow(
      clock,
      [
        branch(clock, 1, { error: "e0" }),
        branch(clock, 2, { value: "a" }),
        branch(clock, 3, { value: "b" }),
        branch(clock, 100, { value: "c" }),
      ],
      { strategy: partialResults(2), joinState: "merge" },
    );
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(clock.now()).toBe(3);
    expect(seen.split?.cancelled).toEqual([3]);

    const clock2 = new VirtualClock();
    const failing = [1, 2, 3, 4].map((ms) => branch(clock2, ms, { error: `e${ms}` }));
    const { wf: wf2 } = splitWorkflow(clock2, [...failing, branch(clock2, 5, { value: "ok" })], {
      strategy: partialResults(2),
      joinState: "merge",
    });
    const error = await failure(settle(clock2, wf2.orchestrate("fanout")));
    expect(error.message).toContain("1 of 5 branches succeeded");
    expect(error.message).toContain("e3");
    expect(error.message).not.toContain("e4");
  });

  it("partialTimeout(): at the deadline cancels the rest and proceeds with whatever settled, even failures", async () => {
    const clock = new VirtualClock();
    const { wf, seen } = splitWorkflow(
      clock,
      [branch(clock, 10, { error: "bad" }), branch(clock, 500, { value: "late" })],
      { strategy: partialTimeout(), joinState: "merge", timeoutMs: 100 },
    );
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(clock.now()).toBe(100);
    expect(seen.split).toMatchObject({ successes: [], cancelled: [1] });
    expect(seen.split?.errors.map((e) => e.index)).toEqual([0]);
  });

  it("partialTimeout(): fails when nothing settled before the deadline", async () => {
    const clock = new VirtualClock();
    const { wf } = splitWorkflow(clock, [branch(clock, 500, { value: "late" })], {
      strategy: partialTimeout(),
      joinState: "merge",
      timeoutMs: 100,
    });
    expect((await failure(settle(clock, wf.orchestrate("fanout")))).message).toContain(
      "timed out after 100 ms with 0 of 1",
    );
  });

  it("a timeout fails all() even when most branches already succeeded", async () => {
    const clock = new VirtualClock();
    const log: unknown[] = [];
    const { wf } = splitWorkflow(
      clock,
      [
        branch(clock, 1, { value: "a" }),
        branch(clock, 2, { value: "b" }),
        branch(clock, 1_000, { value: "c" }, log),
      ],
      { strategy: all(), joinState: "merge", timeoutMs: 50 },
    );
    const error = await failure(settle(clock, wf.orchestrate("fanout")));
    expect(error.message).toBe(
      'Split "fanout": timed out after 50 ms with 2 of 3 branches settled (strategy all()) [state "fanout", attempt 1, path fanout]',
    );
    expect(log).toEqual([{ aborted: 1_000, reason: "cancelled" }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("bulkhead: n runs at most n branch bodies at once, each keeping its slot across its retries", async () => {
    const clock = new VirtualClock();
    let inFlight = 0;
    let maxInFlight = 0;
    const attempts: number[] = [];
    const make = (index: number) => {
      let calls = 0;
      return task({
        retry: fixed(2, 40),
        run: async () => {
          calls++;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await clock.sleep(10);
          inFlight--;
          if (index === 0 && calls < 3) throw new Error("retry me");
          attempts[index] = calls;
          return index;
        },
      });
    };
    const order: string[] = [];
    const { wf } = splitWorkflow(clock, [0, 1, 2, 3].map(make), {
      strategy: all(),
      joinState: "merge",
      bulkhead: 2,
    });
    wf.withObserver((e) => {
      if (e.type === "task_start" || e.type === "branch_settled") order.push(`${e.type}:${e.taskId}`);
    });
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(maxInFlight).toBe(2);
    expect(attempts).toEqual([3, 1, 1, 1]);
    // Branch 0 holds its slot through two 40 ms backoffs; the others go through the second slot.
    expect(order.slice(0, 3)).toEqual([
      "task_start:fanout[0]",
      "task_start:fanout[1]",
      "branch_settled:fanout[1]",
    ]);
    expect(clock.now()).toBe(10 + 40 + 10 + 40 + 10);
  });

  it("cancelling the run aborts every running branch and fails with cancelled", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const log: unknown[] = [];
    const { wf, recorder } = splitWorkflow(
      clock,
      [branch(clock, 100, { value: 1 }, log), branch(clock, 200, { value: 2 }, log)],
      {
        strategy: all(),
        joinState: "merge",
      },
    );
    const run = wf.orchestrate("fanout", { signal: controller.signal });
    await clock.advance(50);
    controller.abort();
    const error = await failure(run);
    expect(error.code).toBe("cancelled");
    expect(log).toEqual([
      { aborted: 100, reason: "cancelled" },
      { aborted: 200, reason: "cancelled" },
    ]);
    expect(recorder.ofType("join")).toEqual([]);
    expect(recorder.ofType("cancelled")).toHaveLength(1);
  });

  it("gives ctx.split only to the join state", async () => {
    const clock = new VirtualClock();
    const seen: unknown[] = [];
    const wf = new Workflow<"fanout" | "merge" | "after" | "done">()
      .withClock(clock)
      .registerSplit("fanout", [task({ run: () => 1 })], { strategy: all(), joinState: "merge" })
      .register(
        "merge",
        task({
          to: ["after"],
          run: ({ split }) => {
            seen.push(split !== undefined);
            return "after";
          },
        }),
      )
      .register(
        "after",
        task({
          to: ["done"],
          run: ({ split }) => {
            seen.push(split !== undefined);
            return "done";
          },
        }),
      )
      .exit("done");
    await settle(clock, wf.orchestrate("fanout"));
    expect(seen).toEqual([true, false]);
  });

  it("draws the split with an edge to its join state", () => {
    const clock = new VirtualClock();
    const { wf } = splitWorkflow(clock, [branch(clock, 1, { value: 1 })], {
      strategy: all(),
      joinState: "merge",
    });
    expect(wf.graph().nodes[0]).toEqual({ id: "fanout", kind: "split", declared: true });
    expect(wf.graph().edges).toContainEqual({ from: "fanout", to: "merge", learned: false });
    expect(wf.toMermaid()).toContain('s0[["fanout"]]');
  });
});

describe("split validation", () => {
  const one = task({ run: () => 1 });
  it.each([
    [
      "quorum(0)",
      [one],
      { strategy: quorum(0) },
      'split state "fanout" uses quorum(0), but n must be an integer from 1 to the number of branches (1)',
    ],
    [
      "quorum above the branch count",
      [one, one],
      { strategy: quorum(3) },
      "uses quorum(3), but n must be an integer from 1 to the number of branches (2)",
    ],
    ["partialResults(NaN)", [one], { strategy: partialResults(Number.NaN) }, "uses partialResults(NaN)"],
    [
      "percentage(1.5)",
      [one],
      { strategy: percentage(1.5) },
      "uses percentage(1.5), but p must be a number in (0, 1]",
    ],
    ["percentage(NaN)", [one], { strategy: percentage(Number.NaN) }, "uses percentage(NaN)"],
    ["bulkhead 0", [one], { strategy: all(), bulkhead: 0 }, "has bulkhead 0, but it must be an integer ≥ 1"],
    ["no branches", [], { strategy: all() }, 'split state "fanout" has no branches'],
    [
      "partialTimeout without timeoutMs",
      [one],
      { strategy: partialTimeout() },
      "uses partialTimeout() without timeoutMs",
    ],
    ["negative timeoutMs", [one], { strategy: all(), timeoutMs: -5 }, "has timeoutMs -5"],
  ])(
    "rejects %s at validate() and before running, naming the state and value",
    async (_name, tasks, options, message) => {
      let ran = false;
      const wf = new Workflow<S>()
        .registerSplit("fanout", tasks, { joinState: "merge", ...options })
        .register(
          "merge",
          task({
            to: ["done"],
            run: () => {
              ran = true;
              return "done";
            },
          }),
        )
        .exit("done");
      expect(() => wf.validate()).toThrow(message);
      await expect(wf.orchestrate("fanout")).rejects.toMatchObject({ code: "configuration" });
      expect(ran).toBe(false);
    },
  );

  it("rejects a join state that is neither registered nor an exit", () => {
    const wf = new Workflow<string>()
      .registerSplit("fanout", [one], { strategy: all(), joinState: "mrege" })
      .register("merge", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect(() => wf.validate()).toThrow(
      'state "fanout" declares target "mrege", which is neither registered nor an exit state. Did you mean "merge"?',
    );
  });
});

describe("split robustness", () => {
  it("reports every running branch as cancelled when the run itself stops", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { wf, recorder } = splitWorkflow(
      clock,
      [branch(clock, 100, { value: 1 }), branch(clock, 5, { value: 2 }), branch(clock, 200, { value: 3 })],
      { strategy: all(), joinState: "merge", bulkhead: 2 },
    );
    const outcome = failure(wf.orchestrate("fanout", { signal: controller.signal }));
    await clock.advance(50);
    controller.abort();
    expect((await outcome).code).toBe("cancelled");
    expect(recorder.ofType("branch_settled").map((e) => [e.index, e.outcome])).toEqual([
      [1, "success"],
      [0, "cancelled"],
      [2, "cancelled"],
    ]);
  });

  it("settles a branch that throws at once with no retry before a sibling that succeeds at once", async () => {
    const clock = new VirtualClock();
    const broken = task({
      retry: none(),
      run: (): number => {
        throw new Error("bad input");
      },
    });
    const { wf, seen, recorder } = splitWorkflow(clock, [broken, task({ run: () => 1 })], {
      strategy: any(),
      joinState: "merge",
    });
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(seen.split?.errors.map(({ index, error }) => [index, error.message])).toEqual([
      [0, expect.stringContaining("bad input")],
    ]);
    expect(seen.split?.cancelled).toEqual([]);
    expect(recorder.ofType("branch_settled").map((e) => [e.index, e.outcome])).toEqual([
      [0, "failure"],
      [1, "success"],
    ]);
  });

  it("gives each branch its own signal, so many branches do not pile listeners on one", async () => {
    const clock = new VirtualClock();
    const signals = new Set<AbortSignal>();
    const branches = Array.from({ length: 30 }, () =>
      task({
        attemptTimeoutMs: 1_000,
        run: async ({ signal }) => {
          signals.add(signal);
          await clock.sleep(5, signal);
          return 1;
        },
      }),
    );
    const { wf } = splitWorkflow(clock, branches, { strategy: all(), joinState: "merge" });
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    expect(signals.size).toBe(30);
  });

  it("bulkhead 1: the next branch starts only after the first has finished all its retries", async () => {
    const clock = new VirtualClock();
    const startedAt: number[][] = [[], []];
    const make = (index: number, failures: number) => {
      let calls = 0;
      return task({
        retry: fixed(2, 40),
        run: async () => {
          startedAt[index]!.push(clock.now());
          await clock.sleep(10);
          if (++calls <= failures) throw new Error("retry me");
          return index;
        },
      });
    };
    const { wf } = splitWorkflow(clock, [make(0, 2), make(1, 0)], {
      strategy: all(),
      joinState: "merge",
      bulkhead: 1,
    });
    await expect(settle(clock, wf.orchestrate("fanout"))).resolves.toBe("done");
    // Branch 0 attempts at 0, 50 and 100 (10 ms each, 40 ms backoffs) and holds the only slot throughout.
    expect(startedAt).toEqual([[0, 50, 100], [110]]);
  });

  it.each([
    ["no options", undefined, "expects options { strategy, joinState }"],
    [
      "a missing join state",
      { strategy: all() },
      "joinState: expects a non-empty state name, received undefined",
    ],
  ])("refuses %s when the split is registered", (_name, options, message) => {
    const wf = new Workflow<S>();
    const bad = options as unknown as Parameters<typeof wf.registerSplit>[2];
    expect(
      configurationError(() => wf.registerSplit("fanout", [task({ run: () => 1 })], bad)).message,
    ).toContain(message);
  });

  it("refuses a strategy that is not one of the six", () => {
    const wf = new Workflow<S>()
      .registerSplit("fanout", [task({ run: () => 1 })], {
        strategy: "all" as unknown as ReturnType<typeof all>,
        joinState: "merge",
      })
      .register("merge", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect(() => wf.validate()).toThrow('split state "fanout" uses an unknown strategy "all"');
  });
});
