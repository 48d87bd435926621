import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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
    expect(body.workflows.map((w) => w.name)).toEqual(["ping", "slow"]);
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

  it("streams a run that is still waiting, live, until it ends", async () => {
    const created = await post("/workflows/slow/runs", "");
    const { run } = (await created.json()) as { run: { id: string; status: string } };
    expect(run.status).toBe("running");
    const text = await (await call(`/runs/${run.id}/events`)).text();
    const types = [...text.matchAll(/"type":"(\w+)"/g)].map((match) => match[1]);
    expect(types).toContain("task_success");
    expect(types.at(-1)).toBe("run_end");
    expect(text).toMatch(/event: end/);
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
