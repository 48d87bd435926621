/**
 * Cancellation mid-saga: the user closes the checkout tab while the card is being charged.
 *
 * Shows: cancelling a run with an `AbortController` passed to `orchestrate(…, { signal })`. A saga
 * step that is running is never interrupted (stopping a charge half-way would leave money in an
 * unknown state), so the charge finishes and is recorded; the cancel lands at the next state
 * boundary, before "ship" starts; the completed steps are compensated newest first; and the run
 * ends with a `cancelled` error.
 */
import { formatEvent, isCanoError, saga, task, Workflow } from "cano";

type State = "reserve" | "charge" | "ship" | "done";
const log: string[] = [];

const checkout = new Workflow<State>()
  .registerWithCompensation(
    "reserve",
    saga({
      to: ["charge"],
      run: () => {
        log.push("reserved rsv-7");
        return { next: "charge", output: { reservationId: "rsv-7" } };
      },
      compensate: ({ reservationId }) => {
        log.push(`released ${reservationId}`);
      },
    }),
  )
  .registerWithCompensation(
    "charge",
    saga({
      to: ["ship"],
      run: async ({ clock, signal }) => {
        // Cancelling the run never fires a saga step's signal: the step always runs to its end.
        await clock.sleep(300, signal);
        log.push(`charged ch-42 (signal aborted inside the step: ${signal.aborted})`);
        return { next: "ship", output: { chargeId: "ch-42" } };
      },
      compensate: ({ chargeId }) => {
        log.push(`refunded ${chargeId}`);
      },
    }),
  )
  .register(
    "ship",
    task({
      to: ["done"],
      run: () => {
        log.push("shipped"); // never reached: the run is cancelled before this state
        return "done";
      },
    }),
  )
  .exit("done");

const controller = new AbortController();
const startedAt = Date.now();
const watched = checkout.withObserver((event) => {
  if (event.type !== "run_start" && event.type !== "task_start") console.log(formatEvent(event, startedAt));
});

// The user gives up 100 ms in, while "charge" is still running.
setTimeout(() => {
  console.log("  >>> user cancels");
  controller.abort(new Error("tab closed"));
}, 100);

try {
  await watched.orchestrate("reserve", { signal: controller.signal });
} catch (error) {
  if (!isCanoError(error)) throw error;
  console.log(`\nrun ended with ${error.code} before "${error.state}" (path ${error.path?.join(" → ")})`);
  console.log(`reason: ${error.cause}`);
}
console.log(`side effects:\n  ${log.join("\n  ")}`);
