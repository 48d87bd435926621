import type { WorkflowEvent } from "cano";
import { fixed, key, MemoryStore, node, none, router, task, Workflow } from "cano";
import { RecordingObserver } from "cano/testing";
import { describe, expect, it, vi } from "vitest";
import { failure } from "../support/runs.ts";

type S = "fetch" | "summarize" | "review" | "done" | "failed";

function linear(recorder?: RecordingObserver) {
  const wf = new Workflow<S>()
    .register("fetch", task({ to: ["summarize"], run: () => "summarize" }))
    .register("summarize", task({ to: ["done"], run: async () => "done" }))
    .exit("done", "failed");
  return recorder ? wf.withObserver(recorder) : wf;
}

describe("Workflow.orchestrate", () => {
  it("walks the machine to an exit state and returns it", async () => {
    const recorder = new RecordingObserver();
    await expect(linear(recorder).orchestrate("fetch")).resolves.toBe("done");
    recorder.assertPath(["fetch", "summarize", "done"]);
    recorder.assertCompletedWith("done");
  });

  it("returns at once when started on an exit state", async () => {
    const recorder = new RecordingObserver();
    await expect(linear(recorder).orchestrate("failed")).resolves.toBe("failed");
    recorder.assertPath(["failed"]);
  });

  it("emits events in the documented order with one workflow id and timestamps", async () => {
    const recorder = new RecordingObserver();
    await linear(recorder).orchestrate("fetch", { workflowId: "run-1" });
    const types = recorder.events.map((e) => e.type);
    expect(types).toEqual([
      "run_start",
      "state_enter",
      "task_start",
      "task_success",
      "state_enter",
      "task_start",
      "task_success",
      "state_enter",
      "run_end",
    ]);
    expect(new Set(recorder.events.map((e) => e.workflowId))).toEqual(new Set(["run-1"]));
    expect(recorder.events.every((e) => typeof e.at === "number")).toBe(true);
    expect(recorder.ofType("task_success").map((e) => [e.state, e.next, e.attempts])).toEqual([
      ["fetch", "summarize", 1],
      ["summarize", "done", 1],
    ]);
    // Every event survives a JSON round trip unchanged.
    expect(JSON.parse(JSON.stringify(recorder.events))).toEqual(recorder.events);
  });

  it("gives each run a fresh unguessable workflow id unless one is passed", async () => {
    const ids: string[] = [];
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          run: ({ workflowId }) => {
            ids.push(workflowId);
            return "done";
          },
        }),
      )
      .exit("done");
    await wf.orchestrate("a");
    await wf.orchestrate("a");
    await wf.orchestrate("a", { workflowId: "mine" });
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).not.toBe(ids[0]);
    expect(ids[2]).toBe("mine");
  });

  it("shares the store across states and hands tasks their context", async () => {
    const counter = key<number>("counter");
    const store = new MemoryStore();
    const seen: unknown[] = [];
    const resources = { greeting: "hi" };
    const wf = new Workflow<"a" | "b" | "done", typeof resources>({ store, resources })
      .register(
        "a",
        task({
          to: ["b"],
          run: async (ctx) => {
            seen.push([ctx.state, ctx.attempt, ctx.resources.greeting, ctx.signal.aborted]);
            await ctx.store.put(counter, 1);
            return "b";
          },
        }),
      )
      .register(
        "b",
        task({
          to: ["done"],
          run: async ({ store: s, state }) => {
            seen.push([state, await s.get(counter)]);
            return "done";
          },
        }),
      )
      .exit("done");
    await wf.orchestrate("a");
    expect(seen).toEqual([
      ["a", 1, "hi", false],
      ["b", 1],
    ]);
    expect(await store.get(counter)).toBe(1);
  });

  it("loops through cycles until an exit is reached", async () => {
    let rounds = 0;
    const wf = new Workflow<"offer" | "counter" | "deal">()
      .register("offer", task({ to: ["counter", "deal"], run: () => (++rounds < 5 ? "counter" : "deal") }))
      .register("counter", task({ to: ["offer"], run: () => "offer" }))
      .exit("deal");
    const recorder = new RecordingObserver();
    await expect(wf.withObserver(recorder).orchestrate("offer")).resolves.toBe("deal");
    expect(recorder.statesEntered()).toHaveLength(10);
  });

  it("runs a node's prep once, retries only exec, and lets post pick the next state", async () => {
    const calls: string[] = [];
    let execAttempts = 0;
    const wf = new Workflow<"n" | "done" | "failed">()
      .register(
        "n",
        node({
          to: ["done", "failed"],
          retry: none(),
          prep: () => {
            calls.push("prep");
            return 21;
          },
          exec: (input: number) => {
            calls.push("exec");
            return input * 2;
          },
          post: (_ctx, result: number, input: number) => {
            calls.push(`post ${result} ${input}`);
            return result === 42 ? "done" : "failed";
          },
        }),
      )
      .exit("done", "failed");
    await expect(wf.orchestrate("n")).resolves.toBe("done");
    expect(calls).toEqual(["prep", "exec", "post 42 21"]);

    const flaky = new Workflow<"n" | "done">()
      .register(
        "n",
        node({
          to: ["done"],
          retry: fixed(2, 0),
          prep: () => calls.push("prep2"),
          exec: () => {
            if (++execAttempts < 3) throw new Error("flaky");
            return "ok";
          },
          post: () => "done",
        }),
      )
      .exit("done");
    await expect(flaky.orchestrate("n")).resolves.toBe("done");
    expect(execAttempts).toBe(3);
    expect(calls.filter((c) => c === "prep2")).toHaveLength(1);
  });

  it("fails a node whose prep throws without retrying it", async () => {
    let preps = 0;
    const wf = new Workflow<"n" | "done">()
      .register(
        "n",
        node({
          to: ["done"],
          prep: () => {
            preps++;
            throw new TypeError("bad input");
          },
          exec: () => 1,
          post: () => "done",
        }),
      )
      .exit("done");
    const error = await failure(wf.orchestrate("n"));
    expect(preps).toBe(1);
    expect(error.code).toBe("task_execution");
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("treats a router like a task and records its kind in the graph", async () => {
    const wf = new Workflow<"route" | "left" | "right">()
      .registerRouter("route", router({ to: ["left", "right"], route: () => "right" }))
      .exit("left", "right");
    await expect(wf.orchestrate("route")).resolves.toBe("right");
    expect(wf.graph().nodes.find((n) => n.id === "route")?.kind).toBe("router");
  });

  it("sets resources up before each run and tears them down after, even when it fails", async () => {
    const log: string[] = [];
    const resources = {
      db: { setup: () => void log.push("db up"), teardown: () => void log.push("db down") },
      cache: { setup: () => void log.push("cache up"), teardown: () => void log.push("cache down") },
    };
    const wf = new Workflow<"a" | "done", typeof resources>({ resources })
      .register(
        "a",
        task({
          to: ["done"],
          retry: none(),
          run: async () => {
            log.push("run");
            throw new Error("x");
          },
        }),
      )
      .exit("done");
    await failure(wf.orchestrate("a"));
    expect(log).toEqual(["db up", "cache up", "run", "cache down", "db down"]);
  });

  it("fails with a resource error and runs no task when setup fails", async () => {
    let ran = false;
    const resources = { broken: { setup: () => Promise.reject(new Error("no connection")) } };
    const wf = new Workflow<"a" | "done", typeof resources>({ resources })
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
    const recorder = new RecordingObserver();
    const error = await failure(wf.withObserver(recorder).orchestrate("a"));
    expect(error.code).toBe("resource");
    expect(error.message).toContain('"broken"');
    expect(ran).toBe(false);
    expect(recorder.ofType("run_end")[0]?.outcome).toBe("failed");
  });

  it("reports a failing teardown as an event without changing the result", async () => {
    const resources = { flaky: { teardown: () => Promise.reject(new Error("close failed")) } };
    const recorder = new RecordingObserver();
    const wf = new Workflow<"a" | "done", typeof resources>({ resources })
      .register("a", task({ to: ["done"], run: () => "done" }))
      .exit("done")
      .withObserver(recorder);
    await expect(wf.orchestrate("a")).resolves.toBe("done");
    expect(recorder.ofType("teardown_failed")[0]?.error.message).toContain("close failed");
  });
});

describe("observers", () => {
  it("isolates a throwing observer, reports it once, and keeps notifying the others", async () => {
    const report = vi.spyOn(console, "error").mockImplementation(() => {});
    const recorder = new RecordingObserver();
    const wf = linear()
      .withObserver(() => {
        throw new Error("observer bug");
      })
      .withObserver(recorder);
    await expect(wf.orchestrate("fetch")).resolves.toBe("done");
    await expect(wf.orchestrate("fetch")).resolves.toBe("done");
    expect(report).toHaveBeenCalledTimes(1);
    expect(String(report.mock.calls[0]?.[0])).toContain("observer bug");
    expect(recorder.ofType("run_end")).toHaveLength(2);
    report.mockRestore();
  });

  it("delivers a per-run onEvent observer after the workflow's own", async () => {
    const order: string[] = [];
    const wf = linear().withObserver((e) => order.push(`wf:${e.type}`));
    const events: WorkflowEvent[] = [];
    await wf.orchestrate("fetch", {
      onEvent: (e) => {
        events.push(e);
        order.push(`run:${e.type}`);
      },
    });
    expect(order.slice(0, 2)).toEqual(["wf:run_start", "run:run_start"]);
    expect(events.at(-1)?.type).toBe("run_end");
  });
});

describe("bad task results", () => {
  it("names the state, the returned value and the closest state when a task returns an unknown state", async () => {
    const wf = new Workflow<"parse" | "store" | "done">()
      .register("parse", task({ run: () => "stroe" as "store" }))
      .register("store", task({ run: () => "done" as const }))
      .exit("done");
    const recorder = new RecordingObserver();
    const error = await failure(wf.withObserver(recorder).orchestrate("parse"));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain('state "parse" returned "stroe"');
    expect(error.message).toContain('Did you mean "store"?');
    expect(error.state).toBe("parse");
    expect(error.path).toEqual(["parse"]);
    expect(recorder.ofType("task_failure")[0]?.error.code).toBe("workflow");
  });

  it.each([
    [undefined, "returned undefined"],
    [42, "returned 42, expected"],
    [null, "returned null, expected"],
  ])("rejects a non-state result %s", async (value, message) => {
    const wf = new Workflow<"a" | "done">()
      .register("a", task({ run: () => value as unknown as "done" }))
      .exit("done");
    const error = await failure(wf.orchestrate("a"));
    expect(error.code).toBe("workflow");
    expect(error.message).toContain(message);
    expect(error.message).toContain("expected the name of the next state");
  });

  it("rejects at run time a state outside the declared targets (for untyped callers)", async () => {
    const wf = new Workflow<"a" | "b" | "done">()
      .register("a", task({ to: ["b"], run: () => "done" as "b" }))
      .register("b", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    const error = await failure(wf.orchestrate("a"));
    expect(error.message).toContain('returned "done", which is not among its declared targets ("b")');
  });

  it("wraps a thrown non-Error value, saying what was thrown and where", async () => {
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          retry: none(),
          run: () => {
            throw "just a string";
          },
        }),
      )
      .exit("done");
    const error = await failure(wf.orchestrate("a"));
    expect(error.code).toBe("task_execution");
    expect(error.message).toContain('Task "a" threw a non-Error value (string): "just a string"');
    expect(error.cause).toBe("just a string");
    expect(error.attempt).toBe(1);
    expect(error.path).toEqual(["a"]);
  });

  it("keeps a user's CanoError as the cause and its code on the run error", async () => {
    const { CanoError } = await import("cano");
    const original = new CanoError("store", "quota exceeded");
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          retry: none(),
          run: async () => {
            throw original;
          },
        }),
      )
      .exit("done");
    const error = await failure(wf.orchestrate("a"));
    expect(error.code).toBe("store");
    expect(error.cause).toBe(original);
    expect(original.state).toBeUndefined();
  });
});

describe("graph", () => {
  it("learns edges at run time where no targets are declared", async () => {
    const wf = new Workflow<"a" | "b" | "done">()
      .register("a", task({ run: () => "b" as const }))
      .register("b", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect(wf.graph().edges).toEqual([{ from: "b", to: "done", learned: false }]);
    await wf.orchestrate("a");
    expect(wf.graph().edges).toContainEqual({ from: "a", to: "b", learned: true });
    expect(wf.toMermaid()).toContain("s0 -.-> s1");
  });
});
