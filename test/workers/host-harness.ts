// Run host helpers for the workers tests: fresh runs, parked runs, stream reading.
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import type {
  DurableObjectStubLike,
  DurableRunInfo,
  RunStreamItem,
} from "../../adapters/cloudflare/index.ts";
import { RunHostClient, readRunStream } from "../../adapters/cloudflare/index.ts";

let runs = 0;

/** A client for a fresh test run host object, reached by (and running under) a new run id. */
export function freshRun(label: string): {
  runId: string;
  stub: DurableObjectStubLike;
  client: RunHostClient;
} {
  const runId = `${label}-${runs++}-${crypto.randomUUID()}`;
  const stub = env.TEST_HOST.get(env.TEST_HOST.idFromName(runId));
  return { runId, stub, client: new RunHostClient(stub, runId) };
}

/** A run started and parked on an alarm wait, plus `wake()` to fire that alarm and await the outcome. */
export async function parkedRun(
  stub: DurableObjectStubLike,
  client: RunHostClient,
  workflow: string,
): Promise<DurableRunInfo & { wake: () => Promise<DurableRunInfo | undefined> }> {
  await client.start(workflow);
  const parked = await client.idle();
  expect(parked?.status).toBe("running");
  expect(parked?.waitingUntil).toBeTypeOf("number");
  const wake = async () => {
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    return client.idle();
  };
  return { ...(parked as DurableRunInfo), wake };
}

/** Every item of a run's stream, up to its end. */
export async function allItems(response: Response): Promise<RunStreamItem[]> {
  const items: RunStreamItem[] = [];
  for await (const item of readRunStream(response)) items.push(item);
  return items;
}

/** The event types of stream items, with "END" for the end item. */
export function eventTypes(items: readonly RunStreamItem[]): string[] {
  return items.map((item) => (item.kind === "event" ? item.record.event.type : "END"));
}
