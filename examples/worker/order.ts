/**
 * Saga payment: reserve stock → charge the card → hold → ship. The carrier rejects the address, so
 * the completed steps are undone newest first: the charge is refunded, then the stock released.
 *
 * This one file is the playground's "Saga payment" and the example Worker's "order" workflow: the
 * playground runs it in the tab, the Worker (examples/worker/workflows.ts) runs it on its run host
 * with the order from the run's input and the Durable Object's store, and both stream the same events.
 *
 * Each step's `run` returns the next state and a JSON output; the output is all its `compensate`
 * gets (it may run in another process after a crash). Try a failure rate on "charge" instead.
 */
import type { KeyValueStore } from "cano";
import { key, PermanentError, saga, task, timer, Workflow } from "cano";

export type State = "reserve" | "charge" | "hold" | "ship" | "done";

/** The order a run handles. */
export interface Order {
  readonly item: string;
  readonly cents: number;
  /** Makes shipping fail, to watch the charge refunded and the stock released. */
  readonly failShipping?: boolean;
  /** How long each call to the outside world (stock, card, carrier) takes, in ms. Default 0. */
  readonly stepMs?: number;
}

/** What the run did, line by line. */
export const ledger = key<string[]>("ledger");

/**
 * The saga for `order()` (read when a step runs: a workflow built only to be drawn has no order),
 * holding `holdMs` before shipping, keeping its ledger in `store` (the playground's by default).
 */
export function orderSaga(order: () => Order, holdMs: number, store?: KeyValueStore) {
  return new Workflow<State>({ name: "order", ...(store === undefined ? {} : { store }) })
    .registerWithCompensation(
      "reserve",
      saga({
        to: ["charge"],
        run: async ({ clock, store }) => {
          const { item, stepMs = 0 } = order();
          await clock.sleep(stepMs);
          await store.append(ledger, `reserved ${item}`);
          return { next: "charge", output: { reservationId: `rsv-${item}` } };
        },
        compensate: async ({ reservationId }, { clock, store }) => {
          await clock.sleep(order().stepMs ?? 0);
          await store.append(ledger, `released ${reservationId}`);
        },
      }),
    )
    .registerWithCompensation(
      "charge",
      saga({
        to: ["hold"],
        run: async ({ clock, store }) => {
          const { cents, stepMs = 0 } = order();
          await clock.sleep(stepMs);
          await store.append(ledger, `charged ${cents} cents`);
          return { next: "hold", output: { chargeId: "ch-1", cents } };
        },
        compensate: async ({ chargeId, cents }, { clock, store }) => {
          await clock.sleep(order().stepMs ?? 0);
          await store.append(ledger, `refunded ${cents} cents on ${chargeId}`);
        },
      }),
    )
    .register("hold", timer({ to: ["ship"], wait: holdMs, afterWait: () => "ship" }))
    .register(
      "ship",
      task({
        to: ["done"],
        run: async ({ clock, store }) => {
          const { item, failShipping, stepMs = 0 } = order();
          await clock.sleep(stepMs);
          // A rejected address will not fix itself: a PermanentError is never retried.
          if (failShipping === true) throw new PermanentError("carrier rejected the address");
          await store.append(ledger, `shipped ${item}`);
          return "done";
        },
      }),
    )
    .exit("done");
}

/** The order the playground runs, in the tab and on the local Worker alike. */
export const demoOrder: Order = { item: "lamp", cents: 4_999, failShipping: true, stepMs: 600 };
export const demoHoldMs = 1_500;

export const workflow = orderSaga(() => demoOrder, demoHoldMs);
export const initial: State = "reserve";
