/**
 * Saga payment: reserve stock → charge the card → ship. The carrier rejects the address, so the
 * completed steps are undone newest first: the charge is refunded, then the stock released.
 *
 * Each step's `run` returns the next state and a JSON output; the output is all its `compensate`
 * gets (it may run in another process after a crash). Try a failure rate on "charge" instead.
 */
import { PermanentError, saga, task, Workflow } from "cano";

type State = "reserve" | "charge" | "ship" | "done";

export const workflow = new Workflow<State>({ name: "saga-payment" })
  .registerWithCompensation(
    "reserve",
    saga({
      to: ["charge"],
      run: async ({ clock, store }) => {
        await clock.sleep(600);
        await store.put("reservation", "rsv-7");
        return { next: "charge", output: { reservationId: "rsv-7" } };
      },
      compensate: async ({ reservationId }, { clock, store }) => {
        await clock.sleep(400);
        await store.put("reservation", `released ${reservationId}`);
        console.log(`released ${reservationId}`);
      },
    }),
  )
  .registerWithCompensation(
    "charge",
    saga({
      to: ["ship"],
      run: async ({ clock, store }) => {
        await clock.sleep(800);
        await store.put("payment", "charged 4999 cents (ch-42)");
        return { next: "ship", output: { chargeId: "ch-42", cents: 4_999 } };
      },
      compensate: async ({ chargeId, cents }, { clock, store }) => {
        await clock.sleep(500);
        await store.put("payment", `refunded ${cents} cents on ${chargeId}`);
        console.log(`refunded ${cents} cents on ${chargeId}`);
      },
    }),
  )
  .register(
    "ship",
    task({
      to: ["done"],
      run: async ({ clock }) => {
        await clock.sleep(700);
        // A rejected address will not fix itself: a PermanentError is never retried.
        throw new PermanentError("carrier rejected the address");
      },
    }),
  )
  .exit("done");

export const initial: State = "reserve";
