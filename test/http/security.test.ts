import { isCanoError, task, Workflow } from "cano";
import type { ApiErrorBody, RunHost } from "cano/http";
import { apiWorkflow, createApi, InProcessRunHost, RunHostError } from "cano/http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { closeAll, harness, json, token } from "./support/harness.ts";
import { listen } from "./support/server.ts";
import { Gates, switches, testWorkflows } from "./support/workflows.ts";

afterEach(closeAll);

const valid = { input: { sku: "A-1", quantity: 1 } };

/** `inner`, except that `list` runs `fail` (which throws): how a host's unexpected failures look. */
function failingList(inner: RunHost, fail: () => never): RunHost {
  return {
    start: (...args) => inner.start(...args),
    status: (id) => inner.status(id),
    events: (id, options) => inner.events(id, options),
    cancel: (id, reason) => inner.cancel(id, reason),
    resume: (id, options) => inner.resume(id, options),
    list: async () => fail(),
  };
}

async function errorOf(response: Response): Promise<ApiErrorBody["error"]> {
  const body = await json<ApiErrorBody>(response);
  expect(Object.keys(body)).toEqual(["error"]);
  return body.error;
}

describe("authentication of mutating routes", () => {
  it("refuses a missing, malformed or wrong token with 401, and accepts the right one", async () => {
    const h = await harness();
    const path = "/workflows/order/runs";
    const missing = await h.post(path, valid, { authorization: "" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="cano"');
    expect(await errorOf(missing)).toMatchObject({ code: "unauthorized" });

    const basic = await h.post(path, valid, { authorization: `Basic ${btoa("a:b")}` });
    expect(basic.status).toBe(401);
    expect((await errorOf(basic)).code).toBe("unauthorized");

    for (const wrong of [`${token}x`, token.slice(0, -1), "x"]) {
      const response = await h.post(path, valid, { authorization: `Bearer ${wrong}` });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
      expect((await errorOf(response)).code).toBe("invalid_token");
    }
    expect((await h.post(path, valid, { authorization: `bearer ${token}` })).status).toBe(201);
    expect((await h.host.list({ limit: 10 })).runs).toHaveLength(1);
  });

  it("guards cancel, resume and the run list too, but not a run read by its id", async () => {
    const h = await harness();
    const run = await h.start("ping");
    const none = { authorization: "" };
    expect((await h.post(`/runs/${run.id}/cancel`, undefined, none)).status).toBe(401);
    expect((await h.post(`/runs/${run.id}/resume`, undefined, none)).status).toBe(401);
    expect((await h.call("/runs")).status).toBe(401);
    expect((await h.call(`/runs/${run.id}`)).status).toBe(200);
    expect((await h.call("/workflows")).status).toBe(200);
  });

  it("without a configured token, refuses with 403 and says how to set one", async () => {
    const h = await harness({ token: undefined });
    const response = await h.post("/workflows/ping/runs", {}, { authorization: "Bearer anything" });
    expect(response.status).toBe(403);
    const error = await errorOf(response);
    expect(error.code).toBe("auth_not_configured");
    expect(error.message).toMatch(/createApi\(\{ token \}\)/);
    expect(error.message).toMatch(/CANO_API_TOKEN/);
    expect(error.message).toMatch(/allowUnauthenticated: true/);
    expect((await h.host.list({ limit: 10 })).runs).toHaveLength(0);
  });

  it("lets requests through without a token only when the development flag is set", async () => {
    const h = await harness({ token: undefined, allowUnauthenticated: true });
    expect((await h.post("/workflows/ping/runs", {}, { authorization: "" })).status).toBe(201);
    // A configured token still wins over the flag.
    const strict = await harness({ allowUnauthenticated: true });
    expect((await strict.post("/workflows/ping/runs", {}, { authorization: "" })).status).toBe(401);
  });

  it("refuses a token that could never be sent in a header", () => {
    const workflows = testWorkflows(new Gates(), switches());
    const host = new InProcessRunHost({ workflows });
    for (const bad of ["", "has space", "naïve"]) {
      let thrown: unknown;
      try {
        createApi({ workflows, host, token: bad });
      } catch (error) {
        thrown = error;
      }
      expect(isCanoError(thrown) && thrown.code === "configuration").toBe(true);
    }
  });
});

describe("bad input", () => {
  it("answers 400 for malformed JSON and an empty JSON body", async () => {
    const h = await harness();
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const malformed = await h.call("/workflows/order/runs", { method: "POST", headers, body: '{"input": {' });
    expect(malformed.status).toBe(400);
    const error = await errorOf(malformed);
    expect(error.code).toBe("malformed_json");
    expect(error.message).toMatch(/^HTTP API: the body is not valid JSON \(/);
    const empty = await h.call("/workflows/order/runs", { method: "POST", headers, body: "" });
    expect(empty.status).toBe(400);
  });

  it("answers 415 for a body that is not declared as JSON", async () => {
    const h = await harness();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
      const response = await h.call("/workflows/order/runs", {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          ...(type === undefined ? {} : { "content-type": type }),
        },
        body: JSON.stringify(valid),
      });
      expect(response.status).toBe(415);
      expect((await errorOf(response)).code).toBe("unsupported_media_type");
    }
    expect(
      (await h.post("/workflows/order/runs", valid, { "content-type": "application/json; charset=utf-8" }))
        .status,
    ).toBe(201);
  });

  it("rejects unknown fields at every level and reports zod's field paths", async () => {
    const h = await harness();
    const response = await h.post("/workflows/order/runs", {
      input: { sku: "", quantity: 1.5, color: "red", gift: { message: "hi", wrap: true } },
      priority: "high",
    });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("invalid_body");
    const paths = error.issues?.map((issue) => issue.path).sort();
    expect(paths).toEqual(["input.color", "input.gift.wrap", "input.quantity", "input.sku", "priority"]);
    expect(error.issues?.find((issue) => issue.path === "priority")?.message).toBe(
      "unknown field (not accepted)",
    );
    expect(error.message).toMatch(/^HTTP API: the start request is invalid: /);

    const noInput = await h.post("/workflows/ping/runs", { input: { x: 1 } });
    expect(noInput.status).toBe(400);
    expect((await errorOf(noInput)).issues).toEqual([
      { path: "input", message: "unknown field (not accepted)" },
    ]);
    const missing = await h.post("/workflows/order/runs", {});
    expect((await errorOf(missing)).issues?.[0]?.path).toBe("input");
    expect((await h.host.list({ limit: 10 })).runs).toHaveLength(0);
  });

  it("rejects unknown fields in nested objects, arrays of objects and behind a transform", async () => {
    const Ship = z.object({
      sku: z.string(),
      address: z.object({ city: z.string(), geo: z.object({ lat: z.number() }).optional() }),
      lines: z.array(z.object({ n: z.number() })),
      note: z.union([z.string(), z.object({ text: z.string() })]).nullable(),
      extra: z.looseObject({ kind: z.string() }).optional(),
    });
    const Normalised = z.object({ name: z.string() }).transform((input) => ({ name: input.name.trim() }));
    const noop = new Workflow<"a" | "done">()
      .register("a", task({ to: ["done"], run: async () => "done" }))
      .exit("done");
    const workflows = {
      ship: apiWorkflow({ workflow: noop, initial: "a", input: Ship }),
      normalised: apiWorkflow({ workflow: noop, initial: "a", input: Normalised }),
    };
    const host = new InProcessRunHost({ workflows });
    const server = await listen(createApi({ workflows, host, token }));
    const start = (name: string, input: unknown) =>
      fetch(`${server.url}/workflows/${name}/runs`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ input }),
      });
    try {
      const valid = {
        sku: "A",
        address: { city: "Oslo", geo: { lat: 59.9 } },
        lines: [{ n: 1 }],
        note: { text: "hi" },
        extra: { kind: "gift", wrapped: true },
      };
      const accepted = await start("ship", valid);
      expect(accepted.status).toBe(201);
      // Known fields pass through; a loose object keeps its unknown fields rather than dropping them.
      expect((await json<{ run: { input: unknown } }>(accepted)).run.input).toEqual(valid);

      const rejected = await start("ship", {
        ...valid,
        address: { city: "Oslo", zip: "0150", isAdmin: true, geo: { lat: 1, alt: 2 } },
        lines: [{ n: 1 }, { n: 2, discount: 99 }],
      });
      expect(rejected.status).toBe(400);
      expect((await errorOf(rejected)).issues?.map((issue) => issue.path).sort()).toEqual([
        "input.address.geo.alt",
        "input.address.isAdmin",
        "input.address.zip",
        "input.lines[1].discount",
      ]);
      const union = await start("ship", { ...valid, note: { text: "hi", admin: true } });
      expect(union.status).toBe(400);

      expect((await start("normalised", { name: " x " })).status).toBe(201);
      const transformed = await start("normalised", { name: "x", role: "admin" });
      expect(transformed.status).toBe(400);
      expect((await errorOf(transformed)).issues).toEqual([
        { path: "input.role", message: "unknown field (not accepted)" },
      ]);
      // The listing says the same: the body, input, address, geo, a line and the note object are closed.
      const listed = await json<{ workflow: { inputSchema: unknown } }>(
        await fetch(`${server.url}/workflows/ship`),
      );
      expect(JSON.stringify(listed.workflow.inputSchema).match(/"additionalProperties":false/g)).toHaveLength(
        6,
      );
    } finally {
      await server.close();
    }
  });

  it("refuses, when the API is created, an input schema that cannot reject unknown fields", () => {
    const noop = new Workflow<"a" | "done">()
      .register("a", task({ to: ["done"], run: async () => "done" }))
      .exit("done");
    const both = z.object({ a: z.string() }).and(z.object({ b: z.string() }));
    const workflows = {
      merged: apiWorkflow({ workflow: noop, initial: "a", input: z.object({ both }) }),
    };
    let thrown: unknown;
    try {
      createApi({ workflows, host: new InProcessRunHost({ workflows }), token });
    } catch (error) {
      thrown = error;
    }
    expect(isCanoError(thrown) && thrown.code === "configuration").toBe(true);
    expect((thrown as Error).message).toMatch(/"merged": input\.both: an intersection/);
    expect((thrown as Error).message).toMatch(/z\.strictObject/);
  });

  it("answers 413 for an oversized body, declared or streamed", async () => {
    const h = await harness({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ input: { sku: "x".repeat(4096), quantity: 1 } });
    const declared = await h.call("/workflows/order/runs", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await errorOf(declared)).toEqual({
      code: "payload_too_large",
      message: "HTTP API: the body is larger than the limit of 1024 bytes",
    });
    const chunks = new TextEncoder().encode(big);
    const streamed = await h.call("/workflows/order/runs", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < chunks.length; i += 512) controller.enqueue(chunks.slice(i, i + 512));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await h.host.list({ limit: 10 })).runs).toHaveLength(0);
    // A streamed body under the limit is read in full and accepted.
    const small = new TextEncoder().encode(JSON.stringify(valid));
    const accepted = await h.call("/workflows/order/runs", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(small.slice(0, 10));
          controller.enqueue(small.slice(10));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(accepted.status).toBe(201);
  });

  it("checks query strings (invalid_query, each problem once) and headers", async () => {
    const h = await harness();
    const auth = { authorization: `Bearer ${token}` };
    const queries = {
      "limit=0": "limit",
      "limit=101": "limit",
      "limit=abc": "limit",
      "limit=1e1": "limit",
      "limit=0x10": "limit",
      "limit=1.5": "limit",
      "limit=": "limit",
      "limit=%201": "limit",
      "status=bogus": "status",
      "page=2": "page",
      "cursor=zzz": "cursor",
    };
    for (const [query, path] of Object.entries(queries)) {
      const response = await h.call(`/runs?${query}`, { headers: auth });
      expect(response.status, query).toBe(400);
      const error = await errorOf(response);
      expect(error.code, query).toBe("invalid_query");
      expect(
        error.issues?.map((issue) => issue.path),
        query,
      ).toEqual([path]);
    }
    const two = await errorOf(await h.call("/runs?limit=1e1&status=bogus", { headers: auth }));
    expect(two.issues?.map((issue) => issue.path).sort()).toEqual(["limit", "status"]);
    expect((await h.call("/runs?limit=10", { headers: auth })).status).toBe(200);
    expect((await h.call("/runs?workflow=nope", { headers: auth })).status).toBe(404);
    const key = await h.post("/workflows/ping/runs", {}, { "idempotency-key": "x".repeat(300) });
    expect(key.status).toBe(400);
    const cancelExtra = await h.post(`/runs/${(await h.start("ping")).id}/cancel`, { force: true });
    expect(cancelExtra.status).toBe(400);
  });

  it("answers unknown routes and runs with JSON 404s", async () => {
    const h = await harness();
    const route = await h.call("/nope");
    expect(route.status).toBe(404);
    expect((await errorOf(route)).code).toBe("not_found");
    const cancel = await h.post("/runs/00000000-0000-4000-8000-000000000000/cancel");
    expect(cancel.status).toBe(404);
    expect((await errorOf(cancel)).code).toBe("unknown_run");
    expect((await h.post("/workflows/nope/runs", {})).status).toBe(404);
  });
});

describe("errors and CORS", () => {
  it("never echoes an internal error or its stack trace", async () => {
    const workflows = testWorkflows(new Gates(), switches());
    const host = failingList(new InProcessRunHost({ workflows }), () => {
      throw new Error("connection to db://admin:hunter2@10.0.0.1 failed");
    });
    const onError = vi.fn();
    const server = await listen(createApi({ workflows, host, token, onError }));
    try {
      const response = await fetch(`${server.url}/runs`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toMatch(/hunter2|db:\/\/|\bat \w|\.ts:\d/);
      expect(JSON.parse(text)).toEqual({
        error: {
          code: "internal",
          message: "HTTP API: the server failed to handle this request; the error was logged on the server",
        },
      });
      expect(onError).toHaveBeenCalledOnce();
    } finally {
      await server.close();
    }
  });

  it("maps run-host refusals to their status, and unknown host codes to a plain 500", async () => {
    const workflows = testWorkflows(new Gates(), switches());
    // What another host (e.g. the Durable Object one) may throw: the shared brand with a code of its own.
    const foreign = Object.assign(new Error("row 3 of the log is corrupt"), {
      code: "corrupt",
      [Symbol.for("cano.run_host_error")]: true,
    });
    let next: unknown = new RunHostError("conflict", "busy");
    const host = failingList(new InProcessRunHost({ workflows }), () => {
      throw next;
    });
    const server = await listen(createApi({ workflows, host, token, onError: () => undefined }));
    try {
      const list = () => fetch(`${server.url}/runs`, { headers: { authorization: `Bearer ${token}` } });
      const conflict = await list();
      expect(conflict.status).toBe(409);
      expect(await errorOf(conflict)).toEqual({ code: "conflict", message: "busy" });
      next = foreign;
      const unknown = await list();
      expect(unknown.status).toBe(500);
      expect((await errorOf(unknown)).code).toBe("internal");
    } finally {
      await server.close();
    }
  });

  it("sends no CORS headers unless configured", async () => {
    const off = await harness();
    const plain = await off.call("/workflows", { headers: { origin: "https://evil.example" } });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await off.call("/workflows/ping/runs", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();

    const on = await harness({
      cors: { origin: "https://app.example", allowHeaders: ["authorization", "content-type"] },
    });
    const allowed = await on.call("/workflows", { headers: { origin: "https://app.example" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await on.call("/workflows", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
  });
});
