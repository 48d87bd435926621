import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DurableRunInfo } from "../../adapters/cloudflare/index.ts";
import { DurableObjectKeyValueStore } from "../../adapters/cloudflare/index.ts";
import { inHost } from "./harness.ts";
import { allItems } from "./host-harness.ts";

const origin = "https://example.test";

/** POST /runs through the example Worker. */
async function startRun(workflow: string, input?: unknown) {
  const response = await SELF.fetch(`${origin}/runs`, {
    method: "POST",
    body: JSON.stringify({ workflow, input }),
    headers: { "content-type": "application/json" },
  });
  return {
    response,
    body: (await response.json()) as DurableRunInfo & { error?: { code: string; message: string } },
  };
}

/** Reads the run's event stream through the Worker up to its end; returns the final run. */
async function finished(runId: string): Promise<DurableRunInfo | null> {
  const items = await allItems(await SELF.fetch(`${origin}/runs/${runId}/events`));
  const end = items.at(-1);
  return end?.kind === "end" ? end.run : null;
}

const ledgerOf = (runId: string) =>
  inHost(env.RUN_HOST.get(env.RUN_HOST.idFromName(runId)), (_host, state) =>
    new DurableObjectKeyValueStore(state.storage).get<string[]>("ledger"),
  );

describe("the example Worker (examples/worker) over HTTP", () => {
  it("lists its workflows and routes", async () => {
    const response = await SELF.fetch(`${origin}/`);
    expect(await response.json()).toMatchObject({ workflows: ["greet", "order", "nightly-report"] });
  });

  it("starts a run in its own object, streams its events, and reports it", async () => {
    const { response, body } = await startRun("greet", { name: "Ada" });
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe(`/runs/${body.id}`);
    expect(await finished(body.id)).toMatchObject({ status: "completed", state: "done" });
    expect(await (await SELF.fetch(`${origin}/runs/${body.id}`)).json()).toMatchObject({
      status: "completed",
    });
    expect(await ledgerOf(body.id)).toEqual(["delivered: Hello, Ada!"]);
  });

  it("an order whose shipping fails is rolled back: refunded, then released", async () => {
    const { body } = await startRun("order", { item: "lamp", cents: 1_999, failShipping: true, holdMs: 1 });
    const end = await finished(body.id);
    expect(end).toMatchObject({ status: "failed", state: "ship" });
    expect(end?.error?.message).toContain("carrier rejected the address");
    expect(await ledgerOf(body.id)).toEqual([
      "reserved lamp",
      "charged 1999 cents",
      "refunded 1999 cents on ch-1",
      "released rsv-lamp",
    ]);
  });

  it("an order's 6-second hold sleeps on the object's alarm", async () => {
    const { body } = await startRun("order", { item: "desk", cents: 25_000 });
    const stub = env.RUN_HOST.get(env.RUN_HOST.idFromName(body.id));
    const parked = await inHost(stub, (host: { idle(): Promise<DurableRunInfo | undefined> }) => host.idle());
    expect(parked).toMatchObject({ status: "running", state: "hold" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await finished(body.id)).toMatchObject({ status: "completed", state: "done" });
    expect((await ledgerOf(body.id))?.at(-1)).toBe("shipped desk");
  });

  it("answers bad requests with a status and a JSON message", async () => {
    const unknown = await startRun("nope");
    expect([unknown.response.status, unknown.body.error?.code]).toEqual([404, "unknown_workflow"]);
    const notJson = await SELF.fetch(`${origin}/runs`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    const missing = await SELF.fetch(`${origin}/runs/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    const { body } = await startRun("greet", { name: "Bo" });
    await finished(body.id);
    const cancel = await SELF.fetch(`${origin}/runs/${body.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as { error: { message: string } }).error.message).toContain(
      "already completed",
    );
    expect((await SELF.fetch(`${origin}/elsewhere`)).status).toBe(404);
  });
});
