import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SseMessage } from "./support/sse-client.ts";
import { SseReader } from "./support/sse-client.ts";

/**
 * The same API inside workerd: the fixture Worker is bundled with esbuild for the Workers runtime and
 * served by Miniflare (offline). Self-contained: it does not depend on the Workers Vitest pool.
 */
const token = "workerd-token_42";
let mf: Miniflare;

const call = (path: string, init?: RequestInit) =>
  mf.dispatchFetch(`http://localhost${path}`, init as Parameters<Miniflare["dispatchFetch"]>[1]);
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  call(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body,
  });
const auth = { authorization: `Bearer ${token}` };

interface Run {
  readonly id: string;
  readonly status: string;
  readonly state?: string;
  readonly resumes: number;
  readonly lastEventId: number;
  readonly error?: { readonly code: string; readonly details?: { readonly reason?: string } };
}

/** Starts a `gated` run: it waits in `wait` until {@link openGate}. */
async function startGated(): Promise<Run> {
  const created = await post("/workflows/gated/runs", "");
  expect(created.status).toBe(201);
  return ((await created.json()) as { run: Run }).run;
}

/** Lets a `gated` run leave `wait` (a route of the fixture, outside the API). */
async function openGate(runId: string): Promise<void> {
  expect((await call(`/test/gates/${runId}`, { method: "POST" })).status).toBe(204);
}

async function runOf(runId: string): Promise<Run> {
  return ((await (await call(`/runs/${runId}`)).json()) as { run: Run }).run;
}

/** The run's event stream, read message by message as it arrives. */
async function subscribe(runId: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const response = await call(`/runs/${runId}/events`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  return new SseReader(response.body as ReadableStream<Uint8Array>);
}

const typeOf = (message: SseMessage) => (JSON.parse(message.data) as { type: string }).type;
const isType = (type: string) => (message: SseMessage) =>
  message.event === "message" && typeOf(message) === type;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, "fixtures", "worker.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import"],
    mainFields: ["module", "main"],
    logLevel: "silent",
  });
  mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    compatibilityDate: "2025-09-01",
    bindings: { CANO_API_TOKEN: token },
  });
  await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
});

describe("the HTTP API inside workerd (Miniflare)", () => {
  it("lists workflows without auth and with no CORS headers", async () => {
    const response = await call("/workflows", { headers: { origin: "https://elsewhere.example" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const body = (await response.json()) as { workflows: { name: string }[] };
    expect(body.workflows.map((w) => w.name)).toEqual(["ping", "gated"]);
  });

  it("describes one workflow with its graph and input schema, and 404s an unknown one", async () => {
    const response = await call("/workflows/ping");
    expect(response.status).toBe(200);
    const { workflow } = (await response.json()) as {
      workflow: { name: string; initial: string; inputSchema: unknown; mermaid: string };
    };
    expect(workflow).toMatchObject({ name: "ping", initial: "ping" });
    expect(workflow.inputSchema).toMatchObject({ required: ["input"], additionalProperties: false });
    expect(workflow.mermaid).toMatch(/^flowchart TD/);
    const gated = (await (await call("/workflows/gated")).json()) as { workflow: { description: string } };
    expect(gated.workflow.description).toBe("waits for its gate");
    const missing = await call("/workflows/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("unknown_workflow");
  });

  it("takes the token from the CANO_API_TOKEN binding and refuses others", async () => {
    const start = JSON.stringify({ input: { note: "hi" } });
    expect((await post("/workflows/ping/runs", start, { authorization: "" })).status).toBe(401);
    expect((await post("/workflows/ping/runs", start, { authorization: "Bearer wrong" })).status).toBe(401);
    const created = await post("/workflows/ping/runs", start);
    expect(created.status).toBe(201);
    const { run } = (await created.json()) as { run: { id: string } };
    expect(run.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("runs a workflow, reports it, and replays its events as server-sent events", async () => {
    const created = await post("/workflows/ping/runs", JSON.stringify({ input: { note: "sse" } }));
    const { run } = (await created.json()) as { run: { id: string } };
    const status = (await (await call(`/runs/${run.id}`)).json()) as {
      run: { status: string; state: string };
    };
    expect(status.run).toMatchObject({ status: "completed", state: "done" });
    const stream = await call(`/runs/${run.id}/events`);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await stream.text();
    expect(text).toMatch(/^data: \{"type":"run_start".*\}\nid: 1$/m);
    expect(text).toMatch(/event: end\ndata: \{"run":\{.*"status":"completed"/);
  });

  it("streams a run live: its first events arrive while it waits, the rest once it goes on", async () => {
    const run = await startGated();
    const reader = await subscribe(run.id);
    const first = await reader.until(isType("task_start"));
    expect(first.map(typeOf)).toEqual(["run_start", "state_enter", "checkpoint", "task_start"]);
    // Delivered while the run is still waiting at its gate: nothing has ended yet.
    expect(await runOf(run.id)).toMatchObject({ status: "running", state: "wait" });

    await openGate(run.id);
    const rest = await reader.rest();
    const later = rest.filter((m) => m.event === "message").map(typeOf);
    expect(later[0]).toBe("task_success");
    expect(later.at(-1)).toBe("run_end");
    expect(rest.at(-1)?.event).toBe("end");
    expect((JSON.parse(rest.at(-1)!.data) as { run: Run }).run).toMatchObject({ status: "completed" });
    const ids = [...first, ...rest.slice(0, -1)].map((m) => Number(m.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
  });

  it("cancels a waiting run with its reason, then resumes it to completion", async () => {
    const run = await startGated();
    const reader = await subscribe(run.id);
    await reader.until(isType("task_start"));

    const cancel = await post(`/runs/${run.id}/cancel`, JSON.stringify({ reason: "operator" }));
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as { run: Run }).run.status).toBe("cancelling");
    const stopped = await reader.rest();
    expect(stopped.filter((m) => m.event === "message").map(typeOf)).toContain("run_end");
    const ended = (JSON.parse(stopped.at(-1)!.data) as { run: Run }).run;
    expect(ended).toMatchObject({
      status: "cancelled",
      error: { code: "cancelled", details: { reason: "operator" } },
    });
    expect((await post(`/runs/${run.id}/cancel`, "")).status).toBe(409);

    const resume = await post(`/runs/${run.id}/resume`, "");
    expect(resume.status).toBe(202);
    expect(((await resume.json()) as { run: Run }).run).toMatchObject({ status: "running", resumes: 1 });
    const resumed = await subscribe(run.id, { "last-event-id": String(ended.lastEventId) });
    const again = await resumed.until(isType("task_start"));
    expect(Number(again[0]!.id)).toBe(ended.lastEventId + 1);
    expect(again.map(typeOf)).toContain("resume");
    await openGate(run.id);
    const done = await resumed.rest();
    expect((JSON.parse(done.at(-1)!.data) as { run: Run }).run).toMatchObject({
      status: "completed",
      state: "done",
      resumes: 1,
    });
    expect(await runOf(run.id)).toMatchObject({ status: "completed", resumes: 1 });
  });

  it("lists runs newest first with the token, filtered by workflow and status", async () => {
    const older = await startGated();
    const newer = await startGated();
    expect((await call("/runs")).status).toBe(401);
    const running = (await (await call("/runs?workflow=gated&status=running", { headers: auth })).json()) as {
      runs: Run[];
    };
    expect(running.runs.map((run) => run.id).slice(0, 2)).toEqual([newer.id, older.id]);
    const page = (await (await call("/runs?limit=1", { headers: auth })).json()) as {
      runs: Run[];
      nextCursor?: string;
    };
    expect(page.runs).toHaveLength(1);
    expect(page.nextCursor).toMatch(/^\d+$/);
    await openGate(older.id);
    await openGate(newer.id);
    for (const run of [older, newer]) {
      const reader = await subscribe(run.id);
      const last = (await reader.rest()).at(-1)!;
      expect((JSON.parse(last.data) as { run: Run }).run.status).toBe("completed");
    }
    const completed = (await (
      await call("/runs?workflow=gated&status=completed", { headers: auth })
    ).json()) as {
      runs: Run[];
    };
    expect(completed.runs.map((run) => run.id)).toEqual(expect.arrayContaining([older.id, newer.id]));
    const bad = await call("/runs?limit=1e1", { headers: auth });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_query");
  });

  it("rejects bad input with the same JSON errors as on Node", async () => {
    const malformed = await post("/workflows/ping/runs", "{");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe("malformed_json");
    const unknown = await post("/workflows/ping/runs", JSON.stringify({ input: { note: "x", extra: 1 } }));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { issues: [{ path: "input.extra" }] } });
    const oversized = await post(
      "/workflows/ping/runs",
      JSON.stringify({ input: { note: "x".repeat(2000) } }),
    );
    expect(oversized.status).toBe(413);
    const text = await post("/workflows/ping/runs", "note=x", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect((await call("/runs/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });
});
