/**
 * Saga payment: reserve stock → charge the card → ship; shipping fails, so the charge is refunded
 * and the stock released, newest step first.
 *
 * Shows: `saga({ run, compensate })` steps registered with `registerWithCompensation`. Each step's
 * `run` returns the next state and a JSON output; when a later state fails, the engine calls each
 * completed step's `compensate(output)` in reverse order and the run fails with the original
 * error. The compensation events are printed live with `formatEvent`.
 */
import { formatEvent, isCanoError, PermanentError, saga, task, Workflow } from "cano";

type State = "reserve" | "charge" | "ship" | "done";

/** Fake inventory, payment and carrier services, writing what they do to a ledger. */
const ledger: string[] = [];
const services = {
  async reserve(sku: string): Promise<string> {
    ledger.push(`reserved 1 × ${sku}`);
    return "rsv-7";
  },
  async release(reservationId: string): Promise<void> {
    ledger.push(`released ${reservationId}`);
  },
  async charge(cents: number): Promise<string> {
    ledger.push(`charged ${cents} cents`);
    return "ch-42";
  },
  async refund(chargeId: string, cents: number): Promise<void> {
    ledger.push(`refunded ${cents} cents on ${chargeId}`);
  },
  async ship(): Promise<void> {
    // A rejected address will not fix itself: a PermanentError is never retried.
    throw new PermanentError("carrier rejected the address");
  },
};

const checkout = new Workflow<State>()
  .registerWithCompensation(
    "reserve",
    saga({
      to: ["charge"],
      run: async () => ({ next: "charge", output: { reservationId: await services.reserve("SKU-1") } }),
      compensate: ({ reservationId }) => services.release(reservationId),
    }),
  )
  .registerWithCompensation(
    "charge",
    saga({
      to: ["ship"],
      // The output is all a compensation gets: it must be enough to undo the step, even after a crash.
      run: async () => ({ next: "ship", output: { chargeId: await services.charge(4_999), cents: 4_999 } }),
      compensate: ({ chargeId, cents }) => services.refund(chargeId, cents),
    }),
  )
  .register(
    "ship",
    task({
      to: ["done"],
      run: async () => {
        await services.ship();
        return "done";
      },
    }),
  )
  .exit("done");

const startedAt = Date.now();
const watched = checkout.withObserver((event) => {
  if (event.type !== "run_start" && event.type !== "task_start") console.log(formatEvent(event, startedAt));
});

try {
  await watched.orchestrate("reserve");
} catch (error) {
  if (!isCanoError(error)) throw error;
  console.log(`\nfinal error: ${error.code} in "${error.state}" (path ${error.path?.join(" → ")})`);
}
console.log(`ledger:\n  ${ledger.join("\n  ")}`);
