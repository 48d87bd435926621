// The workflow the reload tests run in a page: nine states with a split and two saga steps, each
// effect recorded in the ledger under its idempotency key `${workflowId}:${state}[:branch]`.
//   plan → reserve (saga) → fanout (split: search, weather, calc) → merge → charge (saga) → review
//   → ship → notify → done.   In "fail" mode review fails permanently, so charge and reserve are undone.
import type { CheckpointStore, KeyValueStore, SplitResult, TaskContext } from "cano";
import { all, key, none, PermanentError, saga, task, Workflow } from "cano";
import type { EffectOrigin, Ledger } from "./ledger.ts";

/** The states, exits included. */
export type ReloadState =
  | "plan"
  | "reserve"
  | "fanout"
  | "merge"
  | "charge"
  | "review"
  | "ship"
  | "notify"
  | "done";

/** The states with a task, in forward order. */
export const forwardStates = [
  "plan",
  "reserve",
  "fanout",
  "merge",
  "charge",
  "review",
  "ship",
  "notify",
] as const satisfies readonly ReloadState[];

/** The split's branches, by index. */
export const tools = ["search", "weather", "calc"] as const;

/** `succeed`: every step works. `fail`: review fails permanently and the sagas roll back. */
export type ReloadMode = "succeed" | "fail";

/** What the workflow needs from the page. */
export interface ReloadWorkflowOptions {
  readonly checkpoints: CheckpointStore;
  readonly memory: KeyValueStore;
  readonly ledger: Ledger;
  readonly mode: ReloadMode;
  /** This page load and tab, for the ledger. */
  readonly life: string;
  readonly tab: string;
  /** Real milliseconds each step waits before and after its effect, so reloads land mid-step. */
  readonly pauseMs: number;
  /** Called at the start of each task; the page uses it to hold a run in one state. */
  readonly gate: (state: string) => Promise<void>;
}

/** The typed keys of the run's memory (an IndexedDbKeyValueStore namespaced by the run id). */
export const keys = {
  plan: key<{ readonly steps: readonly string[] }>("plan"),
  reservation: key<string>("reservation"),
  merged: key<readonly { readonly tool: string; readonly ref: string }[]>("merged"),
  charge: key<string>("charge"),
  reviewed: key<boolean>("reviewed"),
  shipment: key<string>("shipment"),
  outcome: key<{ readonly state: "done"; readonly notice: string }>("outcome"),
  tool: (name: string) => key<{ readonly ref: string; readonly answer: string }>(`tool:${name}`),
};

/** Builds the workflow for one run (its memory is namespaced by run, so a workflow per run). */
export function reloadWorkflow(options: ReloadWorkflowOptions): Workflow<ReloadState> {
  const { ledger, memory, mode, life, tab, pauseMs, gate } = options;
  const origin = (ctx: TaskContext, branch?: number): EffectOrigin => ({
    run: ctx.workflowId,
    life,
    tab,
    state: ctx.state,
    ...(branch === undefined ? {} : { branch }),
  });
  const idempotencyKey = (ctx: TaskContext, branch?: number) =>
    `${ctx.workflowId}:${ctx.state}${branch === undefined ? "" : `:${branch}`}`;
  const pause = (ctx: TaskContext) => ctx.clock.sleep(pauseMs);
  /** The start of every task: the gate, then an `exec` line, then a pause. */
  const begin = async (ctx: TaskContext, branch?: number) => {
    await gate(ctx.state);
    await ledger.log({ ...origin(ctx, branch), type: "exec" });
    await pause(ctx);
  };
  /** One effect, once per key; returns its reference. */
  const effect = async (ctx: TaskContext, branch?: number) => {
    const ref = await ledger.doOnce(idempotencyKey(ctx, branch), origin(ctx, branch));
    await pause(ctx);
    return ref;
  };
  const undo = async (ctx: TaskContext, drop: Parameters<KeyValueStore["delete"]>[0]) => {
    await ledger.log({ ...origin(ctx), type: "compensate" });
    await pause(ctx);
    await ledger.undoOnce(idempotencyKey(ctx), origin(ctx));
    await memory.delete(drop);
  };
  const branch = (index: number) =>
    task({
      retry: none(),
      run: async (ctx) => {
        await begin(ctx, index);
        const name = tools[index] ?? "tool";
        const ref = await effect(ctx, index);
        await ctx.store.put(keys.tool(name), { ref, answer: `answer from ${name}` });
        return { tool: name, ref };
      },
    });
  return new Workflow<ReloadState>({ store: memory, name: "reload-test" })
    .withCheckpointStore(options.checkpoints)
    .register(
      "plan",
      task({
        to: ["reserve"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          // The first write of a run: with no rows left, its presence means the run has ended.
          await ctx.store.put(keys.plan, { steps: [...forwardStates] });
          return "reserve";
        },
      }),
    )
    .registerWithCompensation(
      "reserve",
      saga({
        to: ["fanout"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          const ref = await effect(ctx);
          await ctx.store.put(keys.reservation, ref);
          return { next: "fanout", output: { ref } };
        },
        compensate: (_output: { ref: string }, ctx) => undo(ctx, keys.reservation),
      }),
    )
    .registerSplit("fanout", [branch(0), branch(1), branch(2)], { strategy: all(), joinState: "merge" })
    .register(
      "merge",
      task({
        to: ["charge"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          const split: SplitResult | undefined = ctx.split;
          const merged = [...(split?.successes ?? [])]
            .sort((a, b) => a.index - b.index)
            .map(({ value }) => value as { tool: string; ref: string });
          await ctx.store.put(keys.merged, merged);
          return "charge";
        },
      }),
    )
    .registerWithCompensation(
      "charge",
      saga({
        to: ["review"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          const ref = await effect(ctx);
          await ctx.store.put(keys.charge, ref);
          return { next: "review", output: { ref } };
        },
        compensate: (_output: { ref: string }, ctx) => undo(ctx, keys.charge),
      }),
    )
    .register(
      "review",
      task({
        to: ["ship"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          if (mode === "fail") throw new PermanentError("review: the reviewer rejected the order");
          await ctx.store.put(keys.reviewed, true);
          return "ship";
        },
      }),
    )
    .register(
      "ship",
      task({
        to: ["notify"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          await ctx.store.put(keys.shipment, await effect(ctx));
          return "notify";
        },
      }),
    )
    .register(
      "notify",
      task({
        to: ["done"],
        retry: none(),
        run: async (ctx) => {
          await begin(ctx);
          await ctx.store.put(keys.outcome, { state: "done", notice: await effect(ctx) });
          return "done";
        },
      }),
    )
    .exit("done");
}
