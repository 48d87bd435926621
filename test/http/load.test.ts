import type { RunInfo, RunPage } from "cano/http";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, harness, json, token } from "./support/harness.ts";

afterEach(closeAll);

const runs = 500;
const retried = 100;

describe("load on loopback", () => {
  it(`starts ${runs} runs from concurrent requests, retries included: all complete, none lost or duplicated`, async () => {
    const h = await harness();
    const headers = (key: string) => ({
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "idempotency-key": key,
    });
    // Bounded: a fixed number of requests, each with its own deadline.
    const send = (i: number) =>
      h.call("/workflows/order/runs", {
        method: "POST",
        headers: headers(`load-${i}`),
        body: JSON.stringify({ input: { sku: `SKU-${i}`, quantity: 1 + (i % 5) } }),
        signal: AbortSignal.timeout(30_000),
      });
    const requests = [
      ...Array.from({ length: runs }, (_, i) => send(i)),
      // The first `retried` requests are sent again at the same time, as a client retrying would.
      ...Array.from({ length: retried }, (_, i) => send(i)),
    ];
    const responses = await Promise.all(requests);
    const bodies = await Promise.all(responses.map((response) => json<{ run: RunInfo }>(response)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(runs);
    expect(statuses.filter((status) => status === 200)).toHaveLength(retried);
    for (let i = 0; i < retried; i++) expect(bodies[runs + i]!.run.id).toBe(bodies[i]!.run.id);

    await h.host.idle();
    const listed: RunInfo[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < runs / 100 + 2; page++) {
      const query = cursor === undefined ? "limit=100" : `limit=100&cursor=${cursor}`;
      const body = await json<RunPage>(
        await h.call(`/runs?${query}`, { headers: { authorization: `Bearer ${token}` } }),
      );
      listed.push(...body.runs);
      cursor = body.nextCursor;
      if (cursor === undefined) break;
    }
    expect(cursor).toBeUndefined();
    const ids = new Set(listed.map((run) => run.id));
    expect(ids.size).toBe(runs);
    expect(new Set(bodies.slice(0, runs).map((body) => body.run.id))).toEqual(ids);
    expect(listed.every((run) => run.status === "completed" && run.state === "done")).toBe(true);
    expect(h.switches.seen.size).toBe(runs);
    const skus = new Set([...h.switches.seen.values()].map((order) => order.sku));
    expect(skus.size).toBe(runs);
  }, 60_000);
});
