/**
 * The workflows the example Worker hosts, one run per Durable Object. Each reads its input from the
 * run and keeps its data in `run.store` (the object's durable key-value store), so a run that is
 * evicted mid-way and resumed from its checkpoint still finds it.
 *
 * Shows: `HostedWorkflow` entries for `defineRunHost` (a linear pipeline, a saga with a timer long
 * enough to sleep on an alarm, and a report started by a Cron Trigger).
 */
import type { KeyValueStore } from "cano";
import { exponential, key, PermanentError, saga, task, timer, Workflow } from "cano";
import type { HostedRun, HostedWorkflow } from "cano/cloudflare";

/** The order a run of "order" handles. */
interface Order {
  readonly item: string;
  readonly cents: number;
  /** Makes shipping fail, to watch the charge refunded and the stock released. */
  readonly failShipping?: boolean;
  /** How long to wait before shipping; 5 s or more sleeps on the object's alarm. Default 6 s. */
  readonly holdMs?: number;
}

const greeting = key<string>("greeting");
const ledger = key<string[]>("ledger");

function field<T>(input: unknown, name: string, check: (value: unknown) => value is T): T {
  const value =
    typeof input === "object" && input !== null ? (input as Record<string, unknown>)[name] : undefined;
  if (check(value)) return value;
  throw new PermanentError(
    `input.${name} is missing or has the wrong type (received ${JSON.stringify(value)})`,
  );
}
const isString = (value: unknown): value is string => typeof value === "string" && value !== "";
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** "greet": compose a greeting from `input.name`, then deliver it (retried on a flaky send). */
function greetWorkflow({ input, store }: HostedRun<unknown>) {
  type State = "compose" | "deliver" | "done";
  return new Workflow<State>({ store, name: "greet" })
    .register(
      "compose",
      task({
        to: ["deliver"],
        run: async () => {
          await store.put(greeting, `Hello, ${field(input, "name", isString)}!`);
          return "deliver";
        },
      }),
    )
    .register(
      "deliver",
      task({
        to: ["done"],
        retry: exponential(3),
        run: async () => {
          await store.append(ledger, `delivered: ${await store.get(greeting)}`);
          return "done";
        },
      }),
    )
    .exit("done");
}

/** "order": reserve → charge → hold (a timer) → ship; a failed shipment undoes the charge and the reservation. */
function orderWorkflow({ input, store }: HostedRun<unknown>) {
  type State = "reserve" | "charge" | "hold" | "ship" | "done";
  const order = (input ?? {}) as Partial<Order>;
  const note = (store: KeyValueStore, line: string) => store.append(ledger, line);
  return new Workflow<State>({ store, name: "order" })
    .registerWithCompensation(
      "reserve",
      saga({
        to: ["charge"],
        run: async () => {
          const item = field(order, "item", isString);
          await note(store, `reserved ${item}`);
          return { next: "charge", output: { reservationId: `rsv-${item}` } };
        },
        compensate: async ({ reservationId }) => note(store, `released ${reservationId}`),
      }),
    )
    .registerWithCompensation(
      "charge",
      saga({
        to: ["hold"],
        run: async () => {
          const cents = field(order, "cents", isNumber);
          await note(store, `charged ${cents} cents`);
          return { next: "hold", output: { chargeId: "ch-1", cents } };
        },
        compensate: async ({ chargeId, cents }) => note(store, `refunded ${cents} cents on ${chargeId}`),
      }),
    )
    .register("hold", timer({ to: ["ship"], wait: order.holdMs ?? 6_000, afterWait: () => "ship" }))
    .register(
      "ship",
      task({
        to: ["done"],
        run: async () => {
          if (order.failShipping === true) throw new PermanentError("carrier rejected the address");
          await note(store, `shipped ${order.item}`);
          return "done";
        },
      }),
    )
    .exit("done");
}

/** "nightly-report": counts yesterday's orders (a stand-in) and files the report. */
function reportWorkflow({ input, store }: HostedRun<unknown>) {
  type State = "gather" | "file" | "done";
  return new Workflow<State>({ store, name: "nightly-report" })
    .register(
      "gather",
      task({
        to: ["file"],
        run: async () => {
          await store.put(key<number>("orders"), 42);
          return "file";
        },
      }),
    )
    .register(
      "file",
      task({
        to: ["done"],
        run: async () => {
          const day = field(input, "day", isString);
          await store.append(ledger, `report for ${day}: ${await store.get(key<number>("orders"))} orders`);
          return "done";
        },
      }),
    )
    .exit("done");
}

/** Every workflow the run host can start, by name. */
export const workflows = {
  greet: { initial: "compose", create: greetWorkflow },
  order: { initial: "reserve", create: orderWorkflow },
  "nightly-report": { initial: "gather", create: reportWorkflow },
} satisfies Record<string, HostedWorkflow<unknown>>;
