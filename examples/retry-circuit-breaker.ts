/**
 * Retry + circuit breaker against a flaky fake service.
 *
 * Shows: exponential backoff with jitter, a per-attempt timeout, and a shared CircuitBreaker that
 * opens after consecutive failures, fails fast while open (no attempt is spent), lets a probe
 * through after its cool-down, and closes again once the service recovers.
 */
import { CircuitBreaker, exponential, formatEvent, isCanoError, task, Workflow } from "cano";

type State = "call" | "done";

/** Down for its first five calls, then healthy again. */
function fakeService() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async fetch(signal: AbortSignal): Promise<string> {
      calls++;
      if (calls <= 5) throw new Error(`503 Service Unavailable (call ${calls})`);
      if (signal.aborted) throw signal.reason;
      return "payload";
    },
  };
}

const service = fakeService();
const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 200 });
breaker.onStateChange((to, from) => console.log(`           breaker: ${from.status} → ${to.status}`));

const client = new Workflow<State>()
  .register(
    "call",
    task({
      to: ["done"],
      retry: exponential(4, { baseMs: 20 }),
      attemptTimeoutMs: 1_000,
      circuitBreaker: breaker,
      run: async ({ signal }) => {
        await service.fetch(signal);
        return "done";
      },
    }),
  )
  .exit("done");

const startedAt = Date.now();
const watched = client.withObserver((event) => {
  if (event.type !== "run_start" && event.type !== "state_enter") console.log(formatEvent(event, startedAt));
});

for (let run = 1; run <= 4; run++) {
  console.log(`\nrun ${run}:`);
  try {
    console.log(`run ${run} reached "${await watched.orchestrate("call")}"`);
  } catch (error) {
    if (!isCanoError(error)) throw error;
    console.log(`run ${run} failed with ${error.code}`);
    if (error.code === "circuit_open") await new Promise((resolve) => setTimeout(resolve, 250)); // let the breaker cool down
  }
}
console.log(`\nservice calls: ${service.calls}; breaker: ${breaker.state.status}`);
