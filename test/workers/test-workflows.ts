// Workflows the run host tests drive. Side effects are counted in the run's durable store, so the
// counts survive an object reset; gates let a test hold a task mid-run or see it reach a point
// (tests and objects share one isolate in the Workers pool).
import type { HostedRun, HostedWorkflow } from "../../adapters/cloudflare/index.ts";
import type { KeyValueStore } from "../../core/index.ts";
import {
  all,
  fixed,
  key,
  PermanentError,
  pending,
  poll,
  saga,
  task,
  timer,
  Workflow,
} from "../../core/index.ts";
import type { StandardSchemaV1 } from "../../core/standard-schema.ts";

/** One hour: far above the test host's 1 s alarm threshold. */
export const longMs = 3_600_000;
/** Ten minutes: the retry backoff and poll delay of the long-wait workflows. */
export const backoffMs = 600_000;

/** Adds one to the durable counter `name`; returns the new count. */
export async function count(store: KeyValueStore, name: string): Promise<number> {
  const counter = key<number>(`calls:${name}`);
  const next = ((await store.get(counter)) ?? 0) + 1;
  await store.put(counter, next);
  return next;
}

/** A point in a task that a test waits for, and optionally holds the task at. */
export interface Gate {
  /** Resolves when a task reaches the gate. */
  readonly reached: Promise<void>;
  /** Lets a task held by a `"release"` gate go on. */
  readonly release: () => void;
}

/**
 * How a gate treats the task that reaches it: `"mark"` only reports it; `"release"` holds it until the
 * test calls `release()`; `"forever"` holds it until its object is reset or evicted.
 */
export type GateMode = "mark" | "release" | "forever";

interface GateState extends Gate {
  readonly mode: GateMode;
  /** Made by the test, resolved by `release()` (a promise made in an object and resolved from a test fails in workerd). */
  readonly opened: Promise<void>;
  passed: boolean;
  arrive: () => void;
}

/** Gates by name (tests and objects share one isolate in the Workers pool). */
const gates = new Map<string, GateState>();

/** A gate called `name`: the first task to pass it resolves `reached`, then goes on as `mode` says. */
export function gate(name: string, mode: GateMode = "release"): Gate {
  let arrive = () => {};
  let release = () => {};
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state: GateState = { reached, release, mode, opened, passed: false, arrive };
  gates.set(name, state);
  return state;
}

/** Passes the gate `name` if a test set one: the first pass reports it, and waits there as its mode says. */
async function pass(name: string): Promise<void> {
  const state = gates.get(name);
  if (state === undefined || state.passed) return;
  state.passed = true;
  state.arrive();
  if (state.mode === "release") await state.opened;
  // Made here, in the object, so an eviction is not kept waiting on a promise of the test.
  else if (state.mode === "forever") await new Promise<never>(() => {});
}

/** A gate for `runId` whose `reached` resolves once the "ship" task is held (until its object is reset). */
export function holdShipping(runId: string): Gate {
  return gate(`${runId}:ship`, "forever");
}

/** reserve (saga) → charge (saga) → ship (held once when gated) → done. */
function sagaCrash({ runId, store }: HostedRun<unknown>) {
  type S = "reserve" | "charge" | "ship" | "done";
  return new Workflow<S>({ store, name: "saga-crash" })
    .registerWithCompensation(
      "reserve",
      saga({
        to: ["charge"],
        run: async () => ({ next: "charge", output: { reservation: await count(store, "reserve") } }),
        compensate: async () => void (await count(store, "release")),
      }),
    )
    .registerWithCompensation(
      "charge",
      saga({
        to: ["ship"],
        run: async () => ({ next: "ship", output: { charge: await count(store, "charge") } }),
        compensate: async () => void (await count(store, "refund")),
      }),
    )
    .register(
      "ship",
      task({
        to: ["done"],
        run: async () => {
          await count(store, "ship");
          await pass(`${runId}:ship`); // held until the object is reset, when a test set the gate
          return "done";
        },
      }),
    )
    .exit("done");
}

/** A hand-made Standard Schema: `{ count: number }`. */
const countInput: StandardSchemaV1<unknown, { count: number }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) =>
      typeof value === "object" && value !== null && typeof (value as { count?: unknown }).count === "number"
        ? { value: value as { count: number } }
        : { issues: [{ message: "expected a number", path: ["count"] }] },
  },
};

const echo = key<unknown>("echo");

/** Counts the wake-up, then moves to "done". */
async function woke(store: KeyValueStore): Promise<"done"> {
  await count(store, "woke");
  return "done";
}

/** Keeps the input under "echo", then moves to "done". */
async function keep(store: KeyValueStore, input: unknown): Promise<"done"> {
  await store.put(echo, input);
  return "done";
}

/** Every test workflow, by name. */
export const testWorkflows = {
  quick: {
    initial: "keep",
    create: ({ input, store }) =>
      new Workflow<"keep" | "done">({ store })
        .register("keep", task({ to: ["done"], run: () => keep(store, input) }))
        .exit("done"),
  },
  validated: {
    initial: "keep",
    input: countInput,
    create: ({ input, store }) =>
      new Workflow<"keep" | "done">({ store })
        .register("keep", task({ to: ["done"], run: () => keep(store, input) }))
        .exit("done"),
  },
  fails: {
    initial: "try",
    create: ({ store }) =>
      new Workflow<"try" | "done">({ store })
        .register(
          "try",
          task({
            to: ["done"],
            run: async (): Promise<"done"> => {
              throw new PermanentError("the test says no");
            },
          }),
        )
        .exit("done"),
  },
  "saga-crash": { initial: "reserve", create: sagaCrash },
  "long-timer": {
    initial: "wait",
    create: ({ store }) =>
      new Workflow<"wait" | "done">({ store })
        .register("wait", timer({ to: ["done"], wait: longMs, afterWait: () => woke(store) }))
        .exit("done"),
  },
  "long-retry": {
    initial: "flaky",
    create: ({ store }) =>
      new Workflow<"flaky" | "done">({ store })
        .register(
          "flaky",
          task({
            to: ["done"],
            retry: fixed(2, backoffMs),
            run: async () => {
              if ((await count(store, "flaky")) === 1) throw new Error("503 on the first call");
              return "done";
            },
          }),
        )
        .exit("done"),
  },
  "long-poll": {
    initial: "check",
    create: ({ store }) =>
      new Workflow<"check" | "done">({ store })
        .register(
          "check",
          poll({
            to: ["done"],
            poll: async () => ((await count(store, "check")) === 1 ? pending(backoffMs) : "done"),
          }),
        )
        .exit("done"),
  },
  "short-wait": {
    initial: "wait",
    create: ({ runId, store }) =>
      new Workflow<"wait" | "done">({ store })
        .register(
          "wait",
          task({
            to: ["done"],
            run: async ({ clock, signal }) => {
              // A 20 ms sleep (below the 1 s threshold), held at the gate until the test has looked.
              const sleeping = clock.sleep(20, signal);
              await pass(`${runId}:short`);
              await sleeping;
              return "done";
            },
          }),
        )
        .exit("done"),
  },
  "split-parked-busy": {
    initial: "fan",
    create: ({ runId, store }) =>
      new Workflow<"fan" | "done">({ store })
        .registerSplit(
          "fan",
          [
            task({
              run: async ({ clock, signal }) => {
                const sleeping = clock.sleep(longMs, signal);
                await pass(`${runId}:parked`); // reports that the hour-long sleep waits on the alarm
                await sleeping;
                return "slept";
              },
            }),
            task({
              run: async () => {
                await pass(`${runId}:busy`); // busy until the test releases it
                return "worked";
              },
            }),
          ],
          { strategy: all(), joinState: "done" },
        )
        .exit("done"),
  },
  "fails-until-fixed": {
    initial: "prepare",
    create: ({ store }) =>
      new Workflow<"prepare" | "check" | "done">({ store })
        .register(
          "prepare",
          task({
            to: ["check"],
            run: async () => {
              await count(store, "prepare");
              return "check";
            },
          }),
        )
        .register(
          "check",
          task({
            to: ["done"],
            run: async () => {
              await count(store, "check");
              if ((await store.get(key<boolean>("fixed"))) !== true)
                throw new PermanentError("not fixed yet");
              return "done";
            },
          }),
        )
        .exit("done"),
  },
  "reserve-then-wait": {
    initial: "reserve",
    create: ({ store }) =>
      new Workflow<"reserve" | "hold" | "done">({ store })
        .registerWithCompensation(
          "reserve",
          saga({
            to: ["hold"],
            run: async () => ({ next: "hold", output: { reservation: await count(store, "reserve") } }),
            compensate: async () => void (await count(store, "release")),
          }),
        )
        .register("hold", timer({ to: ["done"], wait: longMs, afterWait: () => "done" }))
        .exit("done"),
  },
} satisfies Record<string, HostedWorkflow<unknown>>;
