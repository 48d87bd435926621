// Workflows the run host tests drive. Side effects are counted in the run's durable store, so the
// counts survive an object reset; `shipGates` lets a test hold a task mid-run (tests and objects
// share one isolate in the Workers pool).
import type { HostedRun, HostedWorkflow } from "../../adapters/cloudflare/index.ts";
import type { KeyValueStore } from "../../core/index.ts";
import { fixed, key, PermanentError, pending, poll, saga, task, timer, Workflow } from "../../core/index.ts";
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

/** A task that parks on its first call in a run until the test releases it (or the object dies). */
export interface ShipGate {
  /** Resolves when the task is held. */
  readonly reached: Promise<void>;
  /** True once the task has been held once; later calls pass straight through. */
  held: boolean;
  arrive: () => void;
}

/** Gates by run id, set by a test before it starts the run. */
export const shipGates = new Map<string, ShipGate>();

/** A gate for `runId` whose `reached` resolves once the "ship" task is held. */
export function holdShipping(runId: string): ShipGate {
  let arrive = () => {};
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const gate: ShipGate = { reached, held: false, arrive };
  shipGates.set(runId, gate);
  return gate;
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
          const gate = shipGates.get(runId);
          if (gate !== undefined && !gate.held) {
            gate.held = true;
            gate.arrive();
            await new Promise<never>(() => {}); // held until the object is reset
          }
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
    create: ({ store }) =>
      new Workflow<"wait" | "done">({ store })
        .register("wait", timer({ to: ["done"], wait: 20, afterWait: () => "done" }))
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
