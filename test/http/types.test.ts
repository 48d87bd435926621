import { task, Workflow } from "cano";
import type { ApiWorkflows, RunHost, RunnableWorkflow } from "cano/http";
import { apiWorkflow, InProcessRunHost } from "cano/http";
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";

type S = "a" | "b";
const build = () => new Workflow<S>().register("a", task({ to: ["b"], run: async () => "b" })).exit("b");

describe("cano/http types", () => {
  it("accepts any Workflow as a RunnableWorkflow and infers create's input from the schema", () => {
    expectTypeOf(build()).toExtend<RunnableWorkflow>();
    apiWorkflow({
      workflow: build(),
      initial: "a",
      input: z.object({ sku: z.string(), quantity: z.number() }),
      create: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ sku: string; quantity: number }>();
        return build();
      },
    });
    apiWorkflow({
      workflow: build(),
      initial: "a",
      input: z.object({ sku: z.string() }),
      // @ts-expect-error: the input has no `quantity`
      create: (input) => (input.quantity > 0 ? build() : build()),
    });
  });

  it("keeps workflows of different inputs in one registry, and the in-process host is a RunHost", () => {
    const workflows = {
      one: apiWorkflow({ workflow: build(), initial: "a", input: z.object({ x: z.string() }) }),
      two: apiWorkflow({ workflow: build(), initial: "a", create: () => build() }),
    } satisfies ApiWorkflows;
    expectTypeOf(new InProcessRunHost({ workflows })).toExtend<RunHost>();
  });
});
