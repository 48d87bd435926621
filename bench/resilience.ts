/**
 * Case 3: retry + circuit breaker + per-attempt timeout around one trivial async call, success
 * path, against cockatiel's `wrap(retry, circuitBreaker, timeout)` around the same call.
 *
 * The engine's retry loop is internal (the public API runs it only inside a workflow), so the
 * engine's figure is a one-state workflow: it includes starting and finishing a run.
 */
import { CircuitBreaker, exponential, task, Workflow } from "cano";
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import type { MeasureOptions, Row } from "./harness.ts";
import { measureMeans } from "./harness.ts";

/** The call both sides protect. */
const call = async (): Promise<number> => 42;

/** The runners of this case by name; `bench -- --profile <name>` loops over one of them. */
export function resilienceRunners(): Record<string, () => Promise<unknown>> {
  const policy = wrap(
    retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(5_000, TimeoutStrategy.Cooperative),
  );
  const workflow = new Workflow<"call" | "done">()
    .register(
      "call",
      task({
        to: ["done"],
        retry: exponential(3),
        circuitBreaker: new CircuitBreaker({ failureThreshold: 5, resetTimeoutMs: 30_000 }),
        attemptTimeoutMs: 5_000,
        run: async () => {
          await call();
          return "done";
        },
      }),
    )
    .exit("done");
  return {
    cockatiel: () => policy.execute(() => call()),
    oneState: () => workflow.orchestrate("call"),
  };
}

/** Measures case 3; figures are µs per protected call. */
export async function resilienceRows(options?: MeasureOptions): Promise<Row[]> {
  const ms = await measureMeans(resilienceRunners(), options);
  return [
    {
      case: "3 retry+breaker+timeout",
      engineName: "one-state Workflow (exponential(3), breaker, attemptTimeoutMs)",
      baselineName: "cockatiel wrap(retry, circuitBreaker, timeout)",
      unit: "µs/call",
      engine: ms.oneState! * 1_000,
      baseline: ms.cockatiel! * 1_000,
      target: { kind: "ratio-max", max: 1 },
    },
  ];
}
