/**
 * Retry + circuit breaker against a flaky service, on a schedule: a run every 15 s, four runs.
 *
 * The service is down for its first three calls. Run 1 retries with exponential backoff until the
 * breaker opens after three failures in a row; the open breaker ends the retry loop without
 * spending an attempt. Run 2 is rejected at once. After its 30 s cool-down the breaker lets a
 * probe through (half-open), the probe succeeds and it closes: runs 3 and 4 go through.
 * Thirty seconds pass in a blink at 100× or max speed.
 */
import { CircuitBreaker, every, exponential, task, Workflow } from "cano";

type State = "call" | "done";

let calls = 0;
/** Down for its first three calls, then healthy. */
async function fetchPayload(signal: AbortSignal): Promise<string> {
  calls++;
  if (calls <= 3) throw new Error(`503 Service Unavailable (call ${calls})`);
  if (signal.aborted) throw signal.reason;
  return "payload";
}

const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 30_000 });

export const workflow = new Workflow<State>({ name: "retry-circuit-breaker" })
  .register(
    "call",
    task({
      to: ["done"],
      retry: exponential(4, { baseMs: 1_000 }),
      attemptTimeoutMs: 5_000,
      circuitBreaker: breaker,
      run: async ({ clock, signal, store }) => {
        await clock.sleep(300, signal);
        await store.put("payload", await fetchPayload(signal));
        return "done";
      },
    }),
  )
  .exit("done");

export const initial: State = "call";
/** Runs on a Scheduler: at start, then 15 s after each run ends. */
export const trigger = every(15_000);
export const runs = 4;
