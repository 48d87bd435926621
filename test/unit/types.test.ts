import type { Task, TaskContext } from "cano";
import { node, router, task, Workflow } from "cano";
import { describe, expectTypeOf, it } from "vitest";

type S = "fetch" | "summarize" | "done" | "failed";

describe("type inference", () => {
  it("infers the declared targets as the task's result type", () => {
    const t = task({ to: ["summarize", "failed"], run: () => "summarize" });
    expectTypeOf(t).toEqualTypeOf<Task<"summarize" | "failed", unknown>>();
  });

  it("refuses a body that returns an undeclared state", () => {
    // @ts-expect-error "done" is not among the declared targets
    task({ to: ["summarize"], run: () => "done" });
    // @ts-expect-error the same holds for routers
    router({ to: ["summarize"], route: async () => "done" });
    // @ts-expect-error and for a node's post
    node({ to: ["done"], prep: () => 1, exec: (n: number) => n, post: async () => "failed" });
  });

  it("infers the targets from the body when none are declared", () => {
    const t = task({ run: async () => (Math.random() > 0.5 ? "done" : "failed") });
    expectTypeOf(t).toEqualTypeOf<Task<"done" | "failed", unknown>>();
  });

  it("refuses to register a task that can return a state outside the workflow", () => {
    // Compile-time checks only: the function is never called.
    const _checks = (wf: Workflow<S>) => {
      // @ts-expect-error "elsewhere" is not a state of S
      wf.register("fetch", task({ to: ["elsewhere"], run: () => "elsewhere" }));
      // @ts-expect-error "nope" is not a state of S
      wf.exit("nope");
      // @ts-expect-error an unknown initial state does not compile
      void wf.orchestrate("start");
    };
    expectTypeOf(_checks).toBeFunction();
  });

  it("accepts promise chains and rejections in a registered task's body", () => {
    const wf = new Workflow<S>()
      .register("fetch", task({ to: ["done"], run: () => Promise.resolve(1).then(() => "done") }))
      .register("summarize", task({ to: ["done"], run: () => Promise.reject(new Error("no")) }));
    expectTypeOf(wf).toEqualTypeOf<Workflow<S, Record<string, never>>>();
  });

  it("types ctx.resources from the workflow and orchestrate's result as the state union", () => {
    const resources = { llm: { complete: (prompt: string) => Promise.resolve(prompt) } };
    const wf = new Workflow<S, typeof resources>({ resources }).exit("done").register(
      "fetch",
      task({
        to: ["done"],
        run: async (ctx) => {
          expectTypeOf(ctx.resources.llm.complete).toEqualTypeOf<(prompt: string) => Promise<string>>();
          return "done";
        },
      }),
    );
    expectTypeOf<ReturnType<typeof wf.orchestrate>>().toEqualTypeOf<Promise<S>>();
  });

  it("passes prep's and exec's result types through a node", () => {
    node({
      to: ["done"],
      prep: () => ({ text: "x" }),
      exec: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ text: string }>();
        return input.text.length;
      },
      post: (_ctx: TaskContext, length, input) => {
        expectTypeOf(length).toEqualTypeOf<number>();
        expectTypeOf(input).toEqualTypeOf<{ text: string }>();
        return "done";
      },
    });
  });
});
