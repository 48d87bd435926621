import type { RunDetails, RunEventPage, RunInfo, RunPage, WorkflowDescription } from "cano/http";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, harness, json } from "./support/harness.ts";

afterEach(closeAll);

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("GET /workflows", () => {
  it("lists every workflow with its graph, Mermaid chart and input schema", async () => {
    const { call } = await harness();
    const response = await call("/workflows");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const { workflows } = await json<{ workflows: WorkflowDescription[] }>(response);
    expect(workflows.map((w) => w.name)).toEqual(["order", "stepped", "ping", "chatty"]);
    const order = workflows[0]!;
    expect(order.initial).toBe("reserve");
    expect(order.graph.edges).toEqual([
      { from: "reserve", to: "charge", learned: false },
      { from: "charge", to: "done", learned: false },
    ]);
    expect(order.mermaid).toMatch(/^flowchart TD/);
    expect(order.inputSchema).toMatchObject({ additionalProperties: false, required: ["input"] });
    expect(workflows[2]!.inputSchema).toBeUndefined();
  });

  it("describes one workflow, and 404s an unknown one", async () => {
    const { call } = await harness();
    expect((await json<{ workflow: WorkflowDescription }>(await call("/workflows/ping"))).workflow.name).toBe(
      "ping",
    );
    const missing = await call("/workflows/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: "unknown_workflow", message: 'HTTP API: no workflow named "nope"' },
    });
  });
});

describe("POST /workflows/:name/runs", () => {
  it("starts a run with validated input under an unguessable id, and points at it", async () => {
    const { post, host, switches } = await harness();
    const response = await post("/workflows/order/runs", { input: { sku: "A-1", quantity: 2 } });
    expect(response.status).toBe(201);
    const { run } = await json<{ run: RunInfo }>(response);
    expect(run.id).toMatch(uuid);
    expect(run).toMatchObject({ workflow: "order", status: "running", input: { sku: "A-1", quantity: 2 } });
    expect(response.headers.get("location")).toBe(`/runs/${run.id}`);
    await host.idle();
    expect(switches.seen.get(run.id)).toEqual({ sku: "A-1", quantity: 2 });
  });

  it("starts a workflow without input from an empty body", async () => {
    const { call, host, server } = await harness();
    const response = await call("/workflows/ping/runs", {
      method: "POST",
      headers: { authorization: "Bearer test-token_0123456789abcdef" },
    });
    expect(response.status).toBe(201);
    await host.idle();
    const { run } = await json<{ run: RunInfo }>(response);
    const status = await json<{ run: RunDetails }>(await fetch(`${server.url}/runs/${run.id}`));
    expect(status.run.status).toBe("completed");
  });

  it("returns the first run for a retried POST with the same idempotency key", async () => {
    const { post, host } = await harness();
    const headers = { "idempotency-key": "order-42" };
    const body = { input: { sku: "A-1", quantity: 1 } };
    const [first, second] = await Promise.all([
      post("/workflows/order/runs", body, headers),
      post("/workflows/order/runs", { input: { quantity: 1, sku: "A-1" } }, headers),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 201]);
    const runs = [await json<{ run: RunInfo }>(first), await json<{ run: RunInfo }>(second)];
    expect(runs[0]!.run.id).toBe(runs[1]!.run.id);
    const replayed = first.status === 200 ? first : second;
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect((await host.list({ limit: 100 })).runs).toHaveLength(1);
  });

  it("answers 409 when an idempotency key is reused for a different request", async () => {
    const { post } = await harness();
    const headers = { "idempotency-key": "order-43" };
    expect((await post("/workflows/order/runs", { input: { sku: "A", quantity: 1 } }, headers)).status).toBe(
      201,
    );
    const conflict = await post("/workflows/order/runs", { input: { sku: "A", quantity: 2 } }, headers);
    expect(conflict.status).toBe(409);
    const { error } = await json<{ error: { code: string; message: string } }>(conflict);
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(/idempotency key "order-43" was used for run .* with other input/);
  });
});

describe("GET /runs/:id", () => {
  it("reports status, current state and history", async () => {
    const { start, call, host, gates } = await harness();
    const run = await start("stepped", {});
    gates.open(run.id, "one");
    await gates.arrived(run.id, "two");
    const midway = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(midway.run).toMatchObject({ status: "running", state: "two" });
    expect(midway.run.history.map((visit) => visit.state)).toEqual(["one", "two"]);
    gates.open(run.id, "two");
    gates.open(run.id, "three");
    await host.idle();
    const done = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(done.run).toMatchObject({ status: "completed", state: "done" });
    expect(done.run.history.map((visit) => visit.state)).toEqual(["one", "two", "three", "done"]);
    expect(done.run.lastEventId).toBeGreaterThan(midway.run.lastEventId);
  });

  it("404s an unknown or malformed run id", async () => {
    const { call } = await harness();
    for (const id of ["00000000-0000-4000-8000-000000000000", "not%20an%20id", "x".repeat(200)]) {
      const response = await call(`/runs/${id}`);
      expect(response.status).toBe(404);
      expect((await json<{ error: { code: string } }>(response)).error.code).toBe("unknown_run");
    }
  });
});

describe("GET /runs/:id/events as JSON", () => {
  it("returns the retained events with their ids", async () => {
    const { start, call, host } = await harness();
    const run = await start("ping");
    await host.idle();
    const response = await call(`/runs/${run.id}/events?after=2`, {
      headers: { accept: "application/json" },
    });
    const body = await json<RunEventPage>(response);
    expect(body.status).toBe("completed");
    expect(body.events[0]!.id).toBe(3);
    expect(body.events.at(-1)).toEqual({
      id: body.lastEventId,
      event: expect.objectContaining({ type: "run_end" }),
    });
    expect(body.nextAfter).toBeUndefined();
  });

  it("pages the history with ?after and ?limit, 100 events a page by default", async () => {
    const { start, call, host } = await harness();
    const run = await start("chatty", { times: 40 });
    await host.idle();
    const { lastEventId } = (await host.status(run.id))!;
    expect(lastEventId).toBeGreaterThan(150);
    const accept = { accept: "application/json" };
    const first = await json<RunEventPage>(await call(`/runs/${run.id}/events`, { headers: accept }));
    expect(first.events.map((entry) => entry.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(first).toMatchObject({ nextAfter: 100, lastEventId, status: "completed" });

    const seen = first.events.map((entry) => entry.id);
    let after = first.nextAfter;
    for (let page = 0; after !== undefined && page < lastEventId; page++) {
      const body = await json<RunEventPage>(
        await call(`/runs/${run.id}/events?after=${after}&limit=7`, { headers: accept }),
      );
      expect(body.events.length).toBeLessThanOrEqual(7);
      seen.push(...body.events.map((entry) => entry.id));
      after = body.nextAfter;
    }
    expect(after).toBeUndefined();
    expect(seen).toEqual(Array.from({ length: lastEventId }, (_, i) => i + 1));
    expect(host.subscribers).toBe(0);

    for (const limit of ["0", "1001", "1e2", "abc", ""]) {
      const bad = await call(`/runs/${run.id}/events?limit=${limit}`, { headers: accept });
      expect(bad.status, limit).toBe(400);
      const { error } = await json<{ error: { code: string; issues: unknown[] } }>(bad);
      expect(error.code).toBe("invalid_query");
      expect(error.issues).toHaveLength(1);
    }
  });
});

describe("POST /runs/:id/cancel and /resume", () => {
  it("cancels a running run; cancelling a finished run is a 409", async () => {
    const { start, post, host, gates, call } = await harness();
    const run = await start("stepped", {});
    await gates.arrived(run.id, "one");
    const cancel = await post(`/runs/${run.id}/cancel`, { reason: "operator" });
    expect(cancel.status).toBe(202);
    expect((await json<{ run: RunInfo }>(cancel)).run.status).toBe("cancelling");
    await host.idle();
    const after = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(after.run).toMatchObject({
      status: "cancelled",
      error: { code: "cancelled", details: { reason: "operator" } },
    });
    // The same error, reason included, ends the event history.
    const events = await json<RunEventPage>(
      await call(`/runs/${run.id}/events`, { headers: { accept: "application/json" } }),
    );
    expect(events.events.at(-1)?.event).toMatchObject({
      type: "run_end",
      outcome: "cancelled",
      error: { details: { reason: "operator" } },
    });
    const again = await post(`/runs/${run.id}/cancel`);
    expect(again.status).toBe(409);
    expect((await json<{ error: { code: string } }>(again)).error.code).toBe("conflict");
  });

  it("resumes a failed run from its checkpoint; resuming a completed run is a 409", async () => {
    const { start, post, host, switches, call } = await harness();
    switches.chargeFails = true;
    const run = await start("order", { sku: "B-7", quantity: 1 });
    await host.idle();
    const failed = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(failed.run).toMatchObject({
      status: "failed",
      state: "charge",
      error: { code: "task_execution" },
    });

    switches.chargeFails = false;
    const resumed = await post(`/runs/${run.id}/resume`);
    expect(resumed.status).toBe(202);
    expect((await json<{ run: RunInfo }>(resumed)).run).toMatchObject({ status: "running", resumes: 1 });
    await host.idle();
    const done = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(done.run).toMatchObject({ status: "completed", state: "done", resumes: 1 });
    expect(done.run.error).toBeUndefined();
    expect(done.run.history.map((visit) => visit.state)).toEqual(["reserve", "charge", "charge", "done"]);

    const again = await post(`/runs/${run.id}/resume`);
    expect(again.status).toBe(409);
    expect((await json<{ error: { message: string } }>(again)).error.message).toMatch(/is completed/);
  });

  it("refuses to resume a running run, and resumes a cancelled one from its checkpoint", async () => {
    const { start, post, host, gates } = await harness();
    const run = await start("stepped", {});
    await gates.arrived(run.id, "one");
    expect((await post(`/runs/${run.id}/resume`)).status).toBe(409);
    await post(`/runs/${run.id}/cancel`);
    await host.idle();
    // The host's store has the row written before "one" ran: the run continues from there.
    const resumed = await post(`/runs/${run.id}/resume`);
    expect(resumed.status).toBe(202);
    await gates.arrived(run.id, "one");
    expect((await post(`/runs/${run.id}/resume`)).status).toBe(409);
    gates.open(run.id, "one");
    gates.open(run.id, "two");
    gates.open(run.id, "three");
    await host.idle();
    expect((await host.status(run.id))?.status).toBe("completed");
  });
});

describe("POST /runs/:id/resume of a run with no checkpoint log", () => {
  it("answers 409 and leaves the run failed as it was", async () => {
    const { start, post, host, switches, call } = await harness();
    switches.createFails = true;
    const run = await start("order", { sku: "D-1", quantity: 1 });
    await host.idle();
    const failed = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(failed.run).toMatchObject({ status: "failed", error: { code: "task_execution" } });
    expect(failed.run.error?.message).toMatch(/the order service is not configured/);

    switches.createFails = false;
    const refused = await post(`/runs/${run.id}/resume`);
    expect(refused.status).toBe(409);
    const { error } = await json<{ error: { code: string; message: string } }>(refused);
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(/has no checkpoint log to resume from/);
    const after = await json<{ run: RunDetails }>(await call(`/runs/${run.id}`));
    expect(after.run).toMatchObject({ status: "failed", resumes: 0, error: failed.run.error });
    expect(switches.seen.has(run.id)).toBe(false);
  });
});

describe("GET /runs", () => {
  it("pages through runs newest first with a cursor, filtered by workflow and status", async () => {
    const { start, call, host } = await harness();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await start("ping")).id);
    await start("order", { sku: "C", quantity: 1 });
    await host.idle();
    const auth = { authorization: "Bearer test-token_0123456789abcdef" };
    const seen: string[] = [];
    let path = "/runs?workflow=ping&limit=2&status=completed";
    for (let page = 0; page < 10; page++) {
      const body = await json<RunPage>(await call(path, { headers: auth }));
      expect(body.runs.length).toBeLessThanOrEqual(2);
      seen.push(...body.runs.map((run) => run.id));
      if (body.nextCursor === undefined) break;
      path = `/runs?workflow=ping&limit=2&status=completed&cursor=${body.nextCursor}`;
    }
    expect(seen).toEqual([...ids].reverse());
    const all = await json<RunPage>(await call("/runs", { headers: auth }));
    expect(all.runs).toHaveLength(6);
    expect(all.nextCursor).toBeUndefined();
    const failed = await json<RunPage>(await call("/runs?status=failed", { headers: auth }));
    expect(failed.runs).toEqual([]);
  });
});
