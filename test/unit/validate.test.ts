import type { CanoError } from "cano";
import { router, task, Workflow } from "cano";
import { describe, expect, it } from "vitest";
import { configurationError } from "../support/runs.ts";

type S = "fetch" | "parse" | "store" | "done" | "failed";

describe("Workflow.validate", () => {
  it("accepts a well-formed workflow", () => {
    const wf = new Workflow<S>()
      .register("fetch", task({ to: ["parse", "failed"], run: () => "parse" }))
      .register("parse", task({ to: ["done"], run: () => "done" }))
      .exit("done", "failed");
    expect(() => wf.validate()).not.toThrow();
    expect(() => wf.validate("fetch")).not.toThrow();
  });

  it("reports a workflow with no states and no exits, listing both problems", () => {
    const error = configurationError(() => new Workflow<S>().validate());
    expect(error.message).toContain("2 configuration problems");
    expect(error.message).toContain("no states are registered");
    expect(error.message).toContain("no exit states are defined");
    expect(error.details?.problems).toHaveLength(2);
  });

  it("reports a declared target that is neither registered nor an exit, with a suggestion", () => {
    const wf = new Workflow<string>()
      .register("fetch", task({ to: ["prase"], run: () => "prase" }))
      .register("parse", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    const error = configurationError(() => wf.validate());
    expect(error.message).toBe(
      'Workflow: state "fetch" declares target "prase", which is neither registered nor an exit state. Did you mean "parse"?',
    );
  });

  it("reports states unreachable from the initial state when every reachable task declares its targets", () => {
    const wf = new Workflow<S>()
      .register("fetch", task({ to: ["done"], run: () => "done" }))
      .register("parse", task({ to: ["failed"], run: () => "failed" }))
      .exit("done", "failed");
    const error = configurationError(() => wf.validate("fetch"));
    expect(error.details?.problems).toEqual([
      'state "parse" is unreachable from "fetch" through the declared targets',
      'state "failed" is unreachable from "fetch" through the declared targets',
    ]);
  });

  it("does not guess reachability past a task without declared targets", () => {
    const wf = new Workflow<S>()
      .register("fetch", task({ run: () => "done" as const }))
      .register("parse", task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect(() => wf.validate("fetch")).not.toThrow();
  });

  it("rejects an unknown initial state before running anything", async () => {
    let ran = false;
    const wf = new Workflow<string>()
      .register(
        "fetch",
        task({
          run: () => {
            ran = true;
            return "done";
          },
        }),
      )
      .exit("done");
    const error = (await wf.orchestrate("fetc").catch((e: unknown) => e)) as CanoError;
    expect(error.code).toBe("configuration");
    expect(error.message).toBe(
      'Workflow: initial state "fetc" is neither registered nor an exit state. Did you mean "fetch"?',
    );
    expect(ran).toBe(false);
  });

  it("refuses to run a workflow without exit states", async () => {
    const wf = new Workflow<string>().register("a", task({ run: () => "a" }));
    await expect(wf.orchestrate("a")).rejects.toMatchObject({ code: "configuration" });
  });

  it("re-validates after the workflow changes", async () => {
    const wf = new Workflow<string>().register("a", task({ run: () => "done" }));
    await expect(wf.orchestrate("a")).rejects.toMatchObject({ code: "configuration" });
    wf.exit("done");
    await expect(wf.orchestrate("a")).resolves.toBe("done");
  });

  it("rejects empty or non-string state names at registration", () => {
    expect(
      configurationError(() => new Workflow<string>().register("", task({ run: () => "x" }))).message,
    ).toContain("register expects a non-empty state name");
    expect(configurationError(() => new Workflow<string>().exit(3 as unknown as string)).message).toContain(
      "exit expects a non-empty state name, received 3",
    );
  });

  it("replaces a state's task when it is registered again", async () => {
    const wf = new Workflow<"a" | "x" | "y">()
      .register("a", task({ to: ["x"], run: () => "x" }))
      .register("a", task({ to: ["y"], run: () => "y" }))
      .exit("x", "y");
    await expect(wf.orchestrate("a")).resolves.toBe("y");
  });
});

describe("graph and Mermaid", () => {
  const wf = new Workflow<S>()
    .register("fetch", task({ to: ["parse", "failed"], run: () => "parse" }))
    .registerRouter("parse", router({ to: ["store", "failed"], route: () => "store" }))
    .register("store", task({ to: ["done"], run: () => "done" }))
    .exit("done", "failed");

  it("lists nodes with their kinds and declared edges as plain data", () => {
    const graph = wf.graph();
    expect(graph.nodes).toEqual([
      { id: "fetch", kind: "task", declared: true },
      { id: "parse", kind: "router", declared: true },
      { id: "store", kind: "task", declared: true },
      { id: "done", kind: "exit", declared: true },
      { id: "failed", kind: "exit", declared: true },
    ]);
    expect(graph.edges).toHaveLength(5);
    expect(graph.edges).toContainEqual({ from: "parse", to: "store", learned: false });
    expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);
  });

  it("draws a flowchart with exits as stadiums and routers as diamonds", () => {
    const mermaid = wf.toMermaid();
    expect(mermaid.split("\n")[0]).toBe("flowchart TD");
    expect(mermaid).toContain('s1{"parse"}');
    expect(mermaid).toContain('s3(["done"])');
    expect(mermaid).toContain("s0 --> s1");
    expect(mermaid).toContain("s2 --> s3");
  });

  it("escapes quotes in state names", () => {
    const quoted = new Workflow<string>()
      .register('say "hi"', task({ to: ["done"], run: () => "done" }))
      .exit("done");
    expect(quoted.toMermaid()).toContain('s0["say #quot;hi#quot;"]');
  });
});
