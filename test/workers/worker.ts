// The Worker the workers tests run in: the example Worker (its API, run host and scheduled handler)
// plus a run host with the test workflows and a bare object whose storage the store tests use.
import { defineRunHost, defineSharedCircuitBreaker } from "../../adapters/cloudflare/index.ts";
import type { DurableObjectStateLike } from "../../adapters/cloudflare/platform.ts";
import { testWorkflows } from "./test-workflows.ts";

export { default, RunHost } from "../../examples/worker/index.ts";

/**
 * A run host over the test workflows: waits of 1 s or more go to the alarm; inputs up to 4 MiB pass
 * its own check (so SQLite's 2 MB limit can be hit); streams send a keep-alive every 50 ms.
 */
export const TestRunHost = defineRunHost({
  workflows: testWorkflows,
  alarmThresholdMs: 1_000,
  maxInputBytes: 4 * 1_048_576,
  heartbeatMs: 50,
});

/** Shared breakers: 2 failures open them; `resetTimeoutMs: 0` lets the next call probe at once. */
export const TestBreakers = defineSharedCircuitBreaker({
  failureThreshold: 2,
  resetTimeoutMs: 0,
  permitLeaseMs: 30_000,
});

/** An object that only lends its storage to the store tests (through `runInDurableObject`). */
export class StoreHarness {
  readonly state: DurableObjectStateLike;

  constructor(state: DurableObjectStateLike) {
    this.state = state;
  }

  fetch(): Response {
    return new Response("StoreHarness: reach it with runInDurableObject", { status: 404 });
  }
}
