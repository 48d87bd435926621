import type { TaskContext } from "cano";
import { key, MemoryStore, none, PermanentError, task, Workflow } from "cano";
import type { ApiWorkflows } from "cano/http";
import { apiWorkflow } from "cano/http";
import { z } from "zod";

/** A promise the test resolves by hand: how a test steps a run forward without sleeping. */
export interface Gate {
  readonly opened: Promise<void>;
  readonly open: () => void;
}

function gate(): Gate {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * Gates by `<runId>/<state>`: a task of the `stepped` workflow waits on its gate (or its signal), so
 * the test decides when each state finishes and can watch the event stream in between.
 */
export class Gates {
  readonly #gates = new Map<string, Gate>();
  readonly #arrived = new Map<string, Gate>();

  /** Opens the gate of `state` in run `runId`. */
  open(runId: string, state: string): void {
    this.#get(this.#gates, `${runId}/${state}`).open();
  }

  /** Resolves once the run's task for `state` is waiting at its gate. */
  arrived(runId: string, state: string): Promise<void> {
    return this.#get(this.#arrived, `${runId}/${state}`).opened;
  }

  /** Waits at the gate; rejects when the run is cancelled. */
  async pass(ctx: TaskContext): Promise<void> {
    this.#get(this.#arrived, `${ctx.workflowId}/${ctx.state}`).open();
    const { opened } = this.#get(this.#gates, `${ctx.workflowId}/${ctx.state}`);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(ctx.signal.reason);
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      void opened.then(() => {
        ctx.signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  #get(map: Map<string, Gate>, id: string): Gate {
    let found = map.get(id);
    if (found === undefined) {
      found = gate();
      map.set(id, found);
    }
    return found;
  }
}

type OrderState = "reserve" | "charge" | "done";
const orderInput = key<Order>("order");

/** A start request's input for the `order` workflow. */
export const Order = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
  gift: z.strictObject({ message: z.string().max(40) }).optional(),
});
/** The `order` workflow's input. */
export type Order = z.infer<typeof Order>;

/** Switches for the workflows below, flipped by the tests. */
export interface Switches {
  /** When true, `charge` of `order` fails with a PermanentError. */
  chargeFails: boolean;
  /** When true, building an `order` run fails, so the run fails before its first state (no checkpoint log). */
  createFails: boolean;
  /** Inputs each `order` run saw, by run id. */
  readonly seen: Map<string, Order>;
}

function order(switches: Switches, input?: Order) {
  const store = new MemoryStore();
  return new Workflow<OrderState>({ store, name: "order" })
    .register(
      "reserve",
      task({
        to: ["charge"],
        retry: none(),
        run: async (ctx) => {
          if (input !== undefined) {
            await ctx.store.put(orderInput, input);
            switches.seen.set(ctx.workflowId, input);
          }
          return "charge";
        },
      }),
    )
    .register(
      "charge",
      task({
        to: ["done"],
        retry: none(),
        run: async () => {
          if (switches.chargeFails) throw new PermanentError("card declined");
          return "done";
        },
      }),
    )
    .exit("done");
}

type StepState = "one" | "two" | "three" | "done";

function stepped(gates: Gates) {
  const step = (to: StepState) =>
    task({
      to: [to],
      retry: none(),
      run: async (ctx) => {
        await gates.pass(ctx);
        return to;
      },
    });
  return new Workflow<StepState>()
    .register("one", step("two"))
    .register("two", step("three"))
    .register("three", step("done"))
    .exit("done");
}

type PingState = "ping" | "done";

function ping() {
  return new Workflow<PingState>()
    .register("ping", task({ to: ["done"], run: async () => "done" }))
    .exit("done");
}

type TickState = "tick" | "done";

/** Loops on `tick` `times` times: a run with a long history (about 4 events a tick). */
function chatty(times = 1) {
  let ticks = 0;
  return new Workflow<TickState>()
    .register("tick", task({ to: ["tick", "done"], run: async () => (++ticks < times ? "tick" : "done") }))
    .exit("done");
}

/**
 * The workflows every HTTP test registers: `order` (input, can fail), `stepped` (gated), `ping` (no
 * input), `chatty` (a long history).
 */
export function testWorkflows(gates: Gates, switches: Switches): ApiWorkflows {
  return {
    order: apiWorkflow({
      workflow: order(switches),
      initial: "reserve",
      input: Order,
      create: (input) => {
        if (switches.createFails) throw new Error("the order service is not configured");
        return order(switches, input);
      },
      description: "reserve → charge → done; charge fails while switches.chargeFails is set",
    }),
    stepped: apiWorkflow({ workflow: stepped(gates), initial: "one", input: z.object({}) }),
    ping: apiWorkflow({ workflow: ping(), initial: "ping" }),
    chatty: apiWorkflow({
      workflow: chatty(),
      initial: "tick",
      input: z.object({ times: z.number().int().min(1).max(1000) }),
      create: (input) => chatty(input.times),
    }),
  };
}

/** Fresh switches. */
export function switches(): Switches {
  return { chargeFails: false, createFails: false, seen: new Map() };
}
