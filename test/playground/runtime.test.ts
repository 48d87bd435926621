// The playground's runtime in Node: the editor's code is compiled and loaded, and every kind of task
// it registers passes through the playground's hooks (the pause gate and fault injection), whatever
// fast paths the engine takes for plain tasks.
import type { WorkflowEvent } from "cano";
import { MemoryStore } from "cano";
import { VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";
import { compile } from "../../playground/src/runtime/compile.ts";
import { ProgramStructure } from "../../playground/src/runtime/env.ts";
import { FaultTable } from "../../playground/src/runtime/faults.ts";
import type { TaskHooks } from "../../playground/src/runtime/instrument.ts";
import { loadProgram } from "../../playground/src/runtime/program.ts";

const everyKind = `
import { all, node, poll, router, saga, task, Workflow } from "cano";
type S = "a" | "b" | "c" | "d" | "e" | "f" | "g" | "done";
export const workflow = new Workflow<S>()
  .register("a", task({ to: ["b"], run: () => "b" }))
  .register("b", node({ to: ["c"], prep: () => 1, exec: (x: number) => x, post: () => "c" }))
  .registerRouter("c", router({ to: ["d"], route: () => "d" }))
  .register("d", poll({ to: ["e"], poll: () => "e" }))
  .registerWithCompensation("e", saga({ to: ["f"], run: () => ({ next: "f", output: 1 }), compensate: () => {} }))
  .registerSplit("f", [task({ run: () => 1 }), task({ name: "named", run: () => 2 })], { strategy: all(), joinState: "g" })
  .register("g", task({ to: ["done"], run: () => "done" }))
  .exit("done");
export const initial: S = "a";
`;

function load(source: string, hooks: TaskHooks, events: WorkflowEvent[] = []) {
  const clock = new VirtualClock();
  const result = loadProgram(source, {
    clock,
    store: new MemoryStore(),
    emit: () => {},
    structure: new ProgramStructure(),
    hooks,
  });
  if (!result.ok) throw new Error(result.problem.message);
  result.program.workflow.withObserver((event) => events.push(event));
  return result.program;
}

describe("the playground runtime", () => {
  it("runs every kind of task through the gate and the fault hooks", async () => {
    const gated: string[] = [];
    const attempted: string[] = [];
    const program = load(everyKind, {
      beforeTask: async (state) => void gated.push(state),
      beforeAttempt: async (taskId) => void attempted.push(taskId),
    });
    expect(await program.workflow.orchestrate(program.initial)).toBe("done");
    expect(gated).toEqual(["a", "b", "c", "d", "e", "f", "f", "g"]);
    expect(new Set(attempted)).toEqual(new Set(["a", "b", "c", "d", "e", "f[0]", "named[1]", "g"]));
    expect(program.env.structure.splits.get("f")).toEqual(["f[0]", "named[1]"]);
    expect(program.env.structure.tasks.map((task) => `${task.taskId}:${task.kind}`)).toEqual([
      "a:task",
      "b:node",
      "c:router",
      "d:poll",
      "e:saga",
      "f[0]:branch",
      "named[1]:branch",
      "g:task",
    ]);
  });

  it("injects failures per task, retried by the task's own policy", async () => {
    const faults = new FaultTable(() => 0);
    faults.set("a", { failureRate: 0.5, latencyMs: 0 });
    const events: WorkflowEvent[] = [];
    const program = load(
      everyKind,
      { beforeTask: async () => {}, beforeAttempt: (id, ctx) => faults.inject(id, ctx) },
      events,
    );
    const failed = expect(program.workflow.orchestrate(program.initial)).rejects.toThrow(
      /injected fault: attempt 4 of "a" failed \(failure rate 50 %\)/,
    );
    await program.env.clock.runAll();
    await failed;
    expect(events.filter((event) => event.type === "retry")).toHaveLength(3);
  });

  it("reports where compiling and loading fail", () => {
    expect(compile("const x: number = ;")).toMatchObject({
      ok: false,
      problem: { phase: "syntax", line: 1 },
    });
    const hooks: TaskHooks = { beforeTask: async () => {}, beforeAttempt: async () => {} };
    const result = loadProgram('import { task } from "cano";\nexport const workflow = 1;', {
      clock: new VirtualClock(),
      store: new MemoryStore(),
      emit: () => {},
      structure: new ProgramStructure(),
      hooks,
    });
    expect(result).toMatchObject({ ok: false, problem: { phase: "exports", line: 2 } });
    const imported = loadProgram('import { pad } from "left-pad";\nconsole.log(pad);', {
      clock: new VirtualClock(),
      store: new MemoryStore(),
      emit: () => {},
      structure: new ProgramStructure(),
      hooks,
    });
    expect(imported).toMatchObject({
      ok: false,
      problem: { phase: "evaluate", message: expect.stringMatching(/Cannot import "left-pad"/) },
    });
  });
});
