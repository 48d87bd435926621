/**
 * The workflows the example Worker hosts, one run per Durable Object. Each reads its input from the
 * run and keeps its data in `run.store` (the object's durable key-value store), so a run that is
 * evicted mid-way and resumed from its checkpoint still finds it.
 *
 * Shows: `HostedWorkflow` entries for `defineRunHost` (a linear pipeline, a saga with a timer long
 * enough to sleep on an alarm, and a report started by a Cron Trigger), and the same workflows as
 * `createApi` entries: one zod schema per input, which the API checks strictly (unknown fields are a
 * 400) and the run host checks again for starts that do not come through the API (Cron Triggers).
 */
import { exponential, key, MemoryStore, PermanentError, task, Workflow } from "cano";
import type { HostedRun, HostedWorkflow } from "cano/cloudflare";
import type { ApiWorkflows, RunnableWorkflow } from "cano/http";
import { apiWorkflow } from "cano/http";
import { z } from "zod";
import { orderSaga } from "./order.ts";

/** The input of "greet". */
const GreetInput = z.object({ name: z.string().min(1).max(200) });

/** The order a run of "order" handles. */
const OrderInput = z.object({
  item: z.string().min(1).max(100),
  cents: z.number().int().min(1).max(100_000_000),
  /** Makes shipping fail, to watch the charge refunded and the stock released. */
  failShipping: z.boolean().optional(),
  /** How long to wait before shipping; 5 s or more sleeps on the object's alarm. Default 6 s. */
  holdMs: z.number().int().min(0).max(86_400_000).optional(),
  /** How long each step's call to the outside world takes (a stand-in for the network). Default 0. */
  stepMs: z.number().int().min(0).max(10_000).optional(),
});

/** The day a nightly report covers. */
const ReportInput = z.object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected YYYY-MM-DD") });

const greeting = key<string>("greeting");
const ledger = key<string[]>("ledger");

/**
 * The run's input as its schema left it. The host checked it when the run started and keeps it in the
 * run record, so this only fails if that record was tampered with: then the run fails for good.
 */
function inputOf<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new PermanentError(`the run's stored input no longer matches its schema: ${parsed.error.message}`);
}

/** "greet": compose a greeting from `input.name`, then deliver it (retried on a flaky send). */
function greetWorkflow({ input, store }: HostedRun<unknown>) {
  type State = "compose" | "deliver" | "done";
  return new Workflow<State>({ store, name: "greet" })
    .register(
      "compose",
      task({
        to: ["deliver"],
        run: async () => {
          await store.put(greeting, `Hello, ${inputOf(GreetInput, input).name}!`);
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

/**
 * "order": reserve → charge → hold (a timer) → ship; a failed shipment undoes the charge and the
 * reservation. The saga itself is ./order.ts, the very file the playground's "Saga payment" runs.
 */
function orderWorkflow({ input, store }: HostedRun<unknown>) {
  // Read while building (a drawing has no input): the hold is part of the graph.
  const holdMs = OrderInput.safeParse(input).data?.holdMs ?? 6_000;
  return orderSaga(() => inputOf(OrderInput, input), holdMs, store);
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
          const { day } = inputOf(ReportInput, input);
          await store.append(ledger, `report for ${day}: ${await store.get(key<number>("orders"))} orders`);
          return "done";
        },
      }),
    )
    .exit("done");
}

/** Every workflow the run host can start, by name. */
export const workflows = {
  greet: { initial: "compose", input: GreetInput, create: greetWorkflow },
  order: { initial: "reserve", input: OrderInput, create: orderWorkflow },
  "nightly-report": { initial: "gather", input: ReportInput, create: reportWorkflow },
} satisfies Record<string, HostedWorkflow<unknown>>;

/** A workflow built only to be drawn by `GET /workflows` (runs are built by the run host). */
const drawn = (create: (run: HostedRun<unknown>) => RunnableWorkflow) =>
  create({ runId: "drawing", input: null, store: new MemoryStore(), env: undefined });

/** The same workflows for `createApi`: their graphs, initial states and input schemas. */
export const apiWorkflows: ApiWorkflows = {
  greet: apiWorkflow({
    workflow: drawn(greetWorkflow),
    initial: workflows.greet.initial,
    input: GreetInput,
    description: "compose a greeting for input.name, then deliver it",
  }),
  order: apiWorkflow({
    workflow: drawn(orderWorkflow),
    initial: workflows.order.initial,
    input: OrderInput,
    description: "reserve → charge → hold (an alarm from 5 s) → ship; a failed shipment is rolled back",
  }),
  "nightly-report": apiWorkflow({
    workflow: drawn(reportWorkflow),
    initial: workflows["nightly-report"].initial,
    input: ReportInput,
    description: "the report the 03:00 UTC Cron Trigger files for the day before",
  }),
};
