import { env, evictDurableObject, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type {
  DurableObjectIdLike,
  DurableObjectNamespaceLike,
  DurableRunDetails,
  DurableRunInfo,
} from "../../adapters/cloudflare/index.ts";
import { DurableObjectKeyValueStore, readRunStream } from "../../adapters/cloudflare/index.ts";
import worker from "../../examples/worker/index.ts";
import { triggers } from "../../examples/worker/triggers.ts";
import { inHost } from "./harness.ts";

const origin = "https://example.test";
const auth = { authorization: `Bearer ${env.CANO_API_TOKEN}` };
const json = { ...auth, "content-type": "application/json" };

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** A request to the example Worker, with the token unless `headers` says otherwise. */
const call = (path: string, init: RequestInit = {}) =>
  SELF.fetch(`${origin}${path}`, { ...init, headers: (init.headers as Record<string, string>) ?? auth });

/** POST /workflows/:name/runs with the token. */
async function startRun(workflow: string, input: unknown, headers: Record<string, string> = {}) {
  const response = await call(`/workflows/${workflow}/runs`, {
    method: "POST",
    body: JSON.stringify({ input }),
    headers: { ...json, ...headers },
  });
  return { response, body: (await response.json()) as { run: DurableRunInfo } & Partial<ErrorBody> };
}

/** Reads the run's event stream through the Worker up to its end; returns the final run. */
async function finished(runId: string): Promise<DurableRunInfo | undefined> {
  let end: DurableRunInfo | undefined;
  for await (const item of readRunStream(await call(`/runs/${runId}/events`))) {
    // The API's end frame is { run }.
    if (item.kind === "end") end = (item.run as unknown as { run: DurableRunInfo }).run;
  }
  return end;
}

const stubOf = (runId: string) => env.RUN_HOST.get(env.RUN_HOST.idFromName(runId));
const ledgerOf = (runId: string) =>
  inHost(stubOf(runId), (_host, state) =>
    new DurableObjectKeyValueStore(state.storage).get<string[]>("ledger"),
  );
/** The tables an object made (none: it was never given a run). */
const tablesOf = (runId: string) =>
  inHost(stubOf(runId), (_host, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'cano_%'")
      .toArray()
      .map((row) => row.name),
  );

describe("the example Worker (examples/worker): cano/http over run host objects", () => {
  it("lists its workflows and routes, with their input schemas", async () => {
    expect(await (await call("/")).json()).toMatchObject({ workflows: ["greet", "order", "nightly-report"] });
    const listed = (await (await call("/workflows")).json()) as {
      workflows: { name: string; inputSchema?: unknown }[];
    };
    expect(listed.workflows.map((entry) => entry.name)).toEqual(["greet", "order", "nightly-report"]);
    expect(listed.workflows.every((entry) => entry.inputSchema !== undefined)).toBe(true);
  });

  it("starts a run in its own object, streams its events, and reports it with its history", async () => {
    const { response, body } = await startRun("greet", { name: "Ada" });
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe(`/runs/${body.run.id}`);
    expect(body.run.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await finished(body.run.id)).toMatchObject({ status: "completed", state: "done" });
    const read = (await (await call(`/runs/${body.run.id}`)).json()) as { run: DurableRunDetails };
    expect(read.run).toMatchObject({ status: "completed", input: { name: "Ada" } });
    expect(read.run.history.map((visit) => visit.state)).toEqual(["compose", "deliver", "done"]);
    expect(await ledgerOf(body.run.id)).toEqual(["delivered: Hello, Ada!"]);
  });

  it("an order whose shipping fails is rolled back: refunded, then released; its cleared log cannot be resumed", async () => {
    const { body } = await startRun("order", { item: "lamp", cents: 1_999, failShipping: true, holdMs: 1 });
    const end = await finished(body.run.id);
    expect(end).toMatchObject({ status: "failed", state: "ship" });
    expect(end?.error?.message).toContain("carrier rejected the address");
    expect(await ledgerOf(body.run.id)).toEqual([
      "reserved lamp",
      "charged 1999 cents",
      "refunded 1999 cents on ch-1",
      "released rsv-lamp",
    ]);
    const resume = await call(`/runs/${body.run.id}/resume`, { method: "POST" });
    expect(resume.status).toBe(409);
    expect(((await resume.json()) as ErrorBody).error.message).toContain("no checkpoint rows left");
  });

  it("an order's 6-second hold sleeps on the object's alarm; a cancel then rolls it back", async () => {
    const { body } = await startRun("order", { item: "desk", cents: 25_000 });
    const parked = await inHost(stubOf(body.run.id), (host) => host.idle());
    expect(parked).toMatchObject({ status: "running", state: "hold" });
    const cancel = await call(`/runs/${body.run.id}/cancel`, {
      method: "POST",
      body: JSON.stringify({ reason: "out of stock" }),
      headers: json,
    });
    expect(cancel.status).toBe(202);
    const cancelled = ((await cancel.json()) as { run: DurableRunInfo }).run;
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.error?.details?.reason).toBe("out of stock");
    expect(await ledgerOf(body.run.id)).toEqual([
      "reserved desk",
      "charged 25000 cents",
      "refunded 25000 cents on ch-1",
      "released rsv-desk",
    ]);
    const again = await call(`/runs/${body.run.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
  });

  it("a run that failed on a damaged row is resumed through the API once the row is repaired", async () => {
    const { body } = await startRun("order", { item: "chair", cents: 4_200 });
    const runId = body.run.id;
    const stub = stubOf(runId);
    await inHost(stub, (host) => host.idle());
    await evictDurableObject(stub);
    const original = await inHost(stub, (_host, state) => {
      const [row] = state.storage.sql
        .exec<{ body: string }>("SELECT body FROM cano_checkpoints WHERE sequence = 1")
        .toArray();
      state.storage.sql.exec("UPDATE cano_checkpoints SET body = '{torn' WHERE sequence = 1");
      return row?.body ?? "";
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const failed = (await (await call(`/runs/${runId}`)).json()) as { run: DurableRunInfo };
    expect(failed.run.status).toBe("failed");
    expect(failed.run.error?.code).toBe("checkpoint_corrupt");

    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("UPDATE cano_checkpoints SET body = ? WHERE sequence = 1", original),
    );
    const resumed = await call(`/runs/${runId}/resume`, { method: "POST" });
    expect(resumed.status).toBe(202);
    expect(((await resumed.json()) as { run: DurableRunInfo }).run).toMatchObject({ status: "running" });
    expect(await inHost(stub, (host) => host.idle())).toMatchObject({ status: "running", state: "hold" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await finished(runId)).toMatchObject({ status: "completed", state: "done", resumes: 2 });
    // Reserved and charged once: the resume went on from the checkpoint.
    expect(await ledgerOf(runId)).toEqual(["reserved chair", "charged 4200 cents", "shipped chair"]);
  });
});

describe("the example Worker: what it refuses", () => {
  it("needs the bearer token to start, read, cancel and resume runs", async () => {
    const noToken = await SELF.fetch(`${origin}/workflows/greet/runs`, {
      method: "POST",
      body: JSON.stringify({ input: { name: "Eve" } }),
      headers: { "content-type": "application/json" },
    });
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as ErrorBody).error.code).toBe("unauthorized");
    const wrong = await startRun("greet", { name: "Eve" }, { authorization: "Bearer not-the-token" });
    expect([wrong.response.status, wrong.body.error?.code]).toEqual([401, "invalid_token"]);

    const { body } = await startRun("greet", { name: "Bo" });
    await finished(body.run.id);
    for (const [path, method] of [
      [`/runs/${body.run.id}`, "GET"],
      [`/runs/${body.run.id}/events`, "GET"],
      [`/runs/${body.run.id}/cancel`, "POST"],
      [`/runs/${body.run.id}/resume`, "POST"],
      ["/runs", "GET"],
    ] as const) {
      const response = await SELF.fetch(`${origin}${path}`, { method });
      expect([path, method, response.status]).toEqual([path, method, 401]);
    }
  });

  it("without CANO_API_TOKEN configured, answers 403 saying how to set it (never open)", async () => {
    const bare = { RUN_HOST: env.RUN_HOST };
    const response = await worker.fetch(
      new Request(`${origin}/workflows/greet/runs`, {
        method: "POST",
        body: JSON.stringify({ input: { name: "Eve" } }),
        headers: json,
      }),
      bare,
      undefined,
    );
    expect(response.status).toBe(403);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.code).toBe("auth_not_configured");
    expect(error.message).toContain("CANO_API_TOKEN");
  });

  it("refuses a body over 64 KiB with 413 before any object is reached", async () => {
    const calls: string[] = [];
    const spy: DurableObjectNamespaceLike = {
      idFromName: (name: string): DurableObjectIdLike => {
        calls.push(name);
        return env.RUN_HOST.idFromName(name);
      },
      get: (id) => env.RUN_HOST.get(id),
    };
    const response = await worker.fetch(
      new Request(`${origin}/workflows/greet/runs`, {
        method: "POST",
        body: JSON.stringify({ input: { name: "x".repeat(2_500_000) } }),
        headers: json,
      }),
      { RUN_HOST: spy, CANO_API_TOKEN: env.CANO_API_TOKEN },
      undefined,
    );
    expect(response.status).toBe(413);
    expect(((await response.json()) as ErrorBody).error.code).toBe("payload_too_large");
    expect(calls).toEqual([]);
  });

  it("answers unknown runs with 404 and leaves their objects without storage", async () => {
    const ids = Array.from({ length: 10 }, () => crypto.randomUUID());
    for (const id of ids) {
      expect((await call(`/runs/${id}`)).status).toBe(404);
      expect((await call(`/runs/${id}/events`)).status).toBe(404);
      const cancel = await call(`/runs/${id}/cancel`, { method: "POST" });
      expect([cancel.status, ((await cancel.json()) as ErrorBody).error.code]).toEqual([404, "unknown_run"]);
    }
    for (const id of ids) expect(await tablesOf(id)).toEqual([]);
  });

  it("never reaches an object for a malformed id, and answers a malformed path encoding with 400", async () => {
    const calls: string[] = [];
    const spy: DurableObjectNamespaceLike = {
      idFromName: (name: string): DurableObjectIdLike => {
        calls.push(name);
        return env.RUN_HOST.idFromName(name);
      },
      get: (id) => env.RUN_HOST.get(id),
    };
    const bindings = { RUN_HOST: spy, CANO_API_TOKEN: env.CANO_API_TOKEN };
    for (const path of [`/runs/${"x".repeat(200)}`, "/runs/a%20b", "/runs/a%2Fb/cancel"]) {
      const method = path.endsWith("/cancel") ? "POST" : "GET";
      const response = await worker.fetch(
        new Request(`${origin}${path}`, { method, headers: auth }),
        bindings,
        undefined,
      );
      expect([path, response.status]).toEqual([path, 404]);
    }
    expect(calls).toEqual([]);
    const broken = await call("/runs/%E0%A4%A/events");
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as ErrorBody).error.code).toBe("invalid_request");
  });

  it("answers GET /runs with 501: no index of the run objects exists", async () => {
    const response = await call("/runs");
    expect(response.status).toBe(501);
    const { error } = (await response.json()) as ErrorBody;
    expect(error.code).toBe("not_implemented");
    expect(error.message).toContain("each run lives in its own Durable Object");
  });

  it("answers bad starts with a status and a JSON message", async () => {
    const unknown = await startRun("nope", {});
    expect([unknown.response.status, unknown.body.error?.code]).toEqual([404, "unknown_workflow"]);
    const invalid = await startRun("greet", { name: "" });
    expect([invalid.response.status, invalid.body.error?.code]).toEqual([400, "invalid_body"]);
    const extra = await startRun("greet", { name: "Al", admin: true });
    expect(extra.response.status).toBe(400);
    const notJson = await call("/workflows/greet/runs", { method: "POST", body: "{", headers: json });
    expect(notJson.status).toBe(400);
    expect((await call("/elsewhere")).status).toBe(404);
  });
});

describe("the example Worker: idempotent starts and cron runs", () => {
  it("the same Idempotency-Key and body return the first run; another body is a conflict", async () => {
    const key = { "idempotency-key": `order-${crypto.randomUUID()}` };
    const first = await startRun("greet", { name: "Kay" }, key);
    expect(first.response.status).toBe(201);
    // The id is derived from the key with the token as the HMAC key: not guessable from the key alone.
    expect(first.body.run.id).toMatch(/^key-[0-9a-f]{32}$/);
    const again = await startRun("greet", { name: "Kay" }, key);
    expect(again.response.status).toBe(200);
    expect(again.response.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.run.id).toBe(first.body.run.id);
    const other = await startRun("greet", { name: "Lee" }, key);
    expect([other.response.status, other.body.error?.code]).toEqual([409, "conflict"]);
  });

  it("a run started by the Cron Trigger can be read through the API by its id", async () => {
    const event = { cron: "0 3 * * *", scheduledTime: Date.UTC(2031, 5, 1, 3) };
    await triggers.scheduled(event, env);
    const [run] = triggers.runsFor(event);
    const runId = run?.runId ?? "";
    await inHost(stubOf(runId), (host) => host.idle());
    const read = await call(`/runs/${encodeURIComponent(runId)}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { run: DurableRunInfo }).run).toMatchObject({
      id: runId,
      workflow: "nightly-report",
      status: "completed",
      input: { day: "2031-05-31" },
    });
  });
});
