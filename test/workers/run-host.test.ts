import { describe, expect, it } from "vitest";
import type { RunHostObject } from "../../adapters/cloudflare/index.ts";
import {
  DurableObjectKeyValueStore,
  isRunHostRequestError,
  readRunStream,
} from "../../adapters/cloudflare/index.ts";
import { inHost, rejection } from "./harness.ts";
import { allItems, eventTypes, freshRun, parkedRun } from "./host-harness.ts";

describe("run host: start, status, events", () => {
  it("runs a workflow to its exit and reports it, with the history replayed on connect", async () => {
    const { runId, stub, client } = freshRun("quick");
    const started = await client.start("quick", { hello: "world" });
    expect(started).toMatchObject({ id: runId, workflow: "quick", input: { hello: "world" }, resumes: 0 });
    const done = await client.idle();
    expect(done).toMatchObject({ status: "completed", state: "done" });
    await inHost(stub, async (_host, state) => {
      expect(await new DurableObjectKeyValueStore(state.storage).get("echo")).toEqual({ hello: "world" });
      expect(await state.storage.getAlarm()).toBeNull();
    });
    const items = await allItems(await client.events());
    expect(eventTypes(items)).toEqual([
      "run_start",
      "state_enter",
      "checkpoint",
      "task_start",
      "task_success",
      "state_enter",
      "checkpoint",
      "run_end",
      "END",
    ]);
    const ids = items.flatMap((item) => (item.kind === "event" ? [item.record.id] : []));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(done?.lastEventId).toBe(ids.length);
    const end = items.at(-1);
    expect(end?.kind === "end" && end.run?.status).toBe("completed");
    expect(eventTypes(await allItems(await client.events({ after: ids.length - 1 })))).toEqual([
      "run_end",
      "END",
    ]);
  });

  it("streams live events to a client connected mid-run, then ends the stream", async () => {
    const { stub, client } = freshRun("live");
    const parked = await parkedRun(stub, client, "long-timer");
    const stream = readRunStream(await client.events());
    const seen: string[] = [];
    while (seen.length < parked.lastEventId) {
      const { value } = await stream.next();
      if (value?.kind === "event") seen.push(value.record.event.type);
    }
    expect(seen).toContain("task_start");
    expect(seen).not.toContain("run_end");
    await parked.wake();
    for (let next = await stream.next(); !next.done; next = await stream.next()) {
      seen.push(next.value.kind === "event" ? next.value.record.event.type : "END");
    }
    expect(seen.slice(-3)).toEqual(["checkpoint", "run_end", "END"]);
  });

  it("records a failing workflow as failed with its error", async () => {
    const { client } = freshRun("fails");
    await client.start("fails");
    const info = await client.idle();
    expect(info).toMatchObject({ status: "failed", state: "try" });
    expect(info?.error?.code).toBe("task_execution");
    expect(info?.error?.message).toContain("the test says no");
  });
});

describe("run host: bad input", () => {
  it("refuses an unknown workflow with 404, naming the registered ones, and stores nothing", async () => {
    const { client, stub } = freshRun("unknown");
    const error = await rejection(client.start("quik"));
    expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([404, "unknown_workflow"]);
    expect(isRunHostRequestError(error) && error.message).toMatch(
      /no workflow is registered as "quik".*Did you mean "quick"/,
    );
    expect(await client.status()).toBeUndefined();
    expect(await inHost(stub, (host: RunHostObject) => host.status())).toBeUndefined();
    await client.start("quick");
    expect((await client.idle())?.status).toBe("completed");
  });

  it("refuses a second start with 409 and leaves the first run as it was", async () => {
    const { client } = freshRun("twice");
    await client.start("quick", 1);
    const first = await client.idle();
    const error = await rejection(client.start("quick", 2));
    expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([409, "conflict"]);
    expect(isRunHostRequestError(error) && error.message).toContain("one object drives one run");
    expect(await client.status()).toEqual(first);
  });

  it("refuses input failing the workflow's schema, or that is not JSON, with 400", async () => {
    const { client, stub } = freshRun("input");
    const schema = await rejection(client.start("validated", { count: "three" }));
    expect(isRunHostRequestError(schema) && [schema.status, schema.code]).toEqual([400, "invalid_request"]);
    expect(isRunHostRequestError(schema) && schema.message).toContain("count: expected a number");
    const notJson = await rejection(
      inHost(stub, (host: RunHostObject) => host.start("quick", { at: new Date(0) })),
    );
    expect(isRunHostRequestError(notJson) && notJson.code).toBe("invalid_request");
    expect(await client.status()).toBeUndefined();
    await client.start("validated", { count: 3 });
    expect((await client.idle())?.status).toBe("completed");
  });

  it("answers malformed requests with a status and a message", async () => {
    const { stub } = freshRun("http");
    const cases: [string, RequestInit, number, string][] = [
      ["/start", { method: "POST", body: "{nope" }, 400, "not JSON"],
      ["/start", { method: "POST", body: "[1]" }, 400, "must be an object"],
      ["/start", { method: "POST", body: '{"workflow":7}' }, 400, '"workflow" must name'],
      ["/status", {}, 404, "has no run"],
      ["/cancel", { method: "POST" }, 404, "has no run"],
      ["/cancel", { method: "POST", body: '{"reason":7}' }, 400, "cancel reason must be a string"],
      ["/resume", { method: "POST" }, 404, "has no run"],
      ["/status?history=1", {}, 404, "has no run"],
      ["/events", {}, 404, "has no run"],
      ["/events?after=-1", {}, 400, "whole number"],
      ["/nowhere", {}, 400, "no route for GET /nowhere"],
      ["/%E0%A4%A", {}, 400, "no route for GET /%E0%A4%A"],
    ];
    for (const [path, init, status, message] of cases) {
      const response = await stub.fetch(`https://host${path}`, init);
      const body = (await response.json()) as { error: { message: string } };
      expect([path, response.status]).toEqual([path, status]);
      expect(body.error.message).toContain(message);
    }
  });

  it("reports a corrupt run record as a 500 naming the problem, and keeps it", async () => {
    const { stub, client } = freshRun("corrupt");
    await client.start("quick");
    await client.idle();
    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("UPDATE cano_host_meta SET body = ? WHERE key = 'run'", '{"id": 1}'),
    );
    const error = await rejection(client.status());
    expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([500, "corrupt"]);
    expect(isRunHostRequestError(error) && error.message).toContain(
      'the stored run record is corrupt: field "id"',
    );
    const kept = await inHost(stub, (_host, state) =>
      state.storage.sql.exec<{ body: string }>("SELECT body FROM cano_host_meta WHERE key = 'run'").toArray(),
    );
    expect(kept).toEqual([{ body: '{"id": 1}' }]);
    expect(isRunHostRequestError(await rejection(client.start("quick")))).toBe(true);
  });
});

describe("run host: cancel", () => {
  it("cancels a run parked on an alarm: completed saga steps are compensated", async () => {
    const { stub, client } = freshRun("cancel");
    await parkedRun(stub, client, "reserve-then-wait");
    const info = await client.cancel();
    expect(info).toMatchObject({ status: "cancelled", state: "hold" });
    expect(info.error?.code).toBe("cancelled");
    await inHost(stub, async (_host, state) => {
      const store = new DurableObjectKeyValueStore(state.storage);
      expect([await store.get("calls:reserve"), await store.get("calls:release")]).toEqual([1, 1]);
      expect(await state.storage.getAlarm()).toBeNull();
    });
    const again = await rejection(client.cancel());
    expect(isRunHostRequestError(again) && [again.status, again.code]).toEqual([409, "conflict"]);
  });
});
