import type { WorkflowEvent } from "cano";
import type { RunInfo } from "cano/http";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Harness } from "./support/harness.ts";
import { closeAll, harness, token } from "./support/harness.ts";
import type { SseMessage } from "./support/sse-client.ts";
import { SseReader } from "./support/sse-client.ts";

afterEach(closeAll);

/** Opens the run's event stream; `abort()` drops the connection like a client going away. */
async function subscribe(h: Harness, runId: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await h.call(`/runs/${runId}/events`, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  return { reader: new SseReader(response.body!), abort: () => controller.abort() };
}

const event = (message: SseMessage) => JSON.parse(message.data) as WorkflowEvent;
const is = (type: WorkflowEvent["type"], state?: string) => (message: SseMessage) =>
  message.event === "message" &&
  event(message).type === type &&
  (state === undefined || (event(message) as { state?: string }).state === state);

describe("GET /runs/:id/events (server-sent events)", () => {
  it("replays the history, then streams live events as the run progresses, then ends", async () => {
    const h = await harness();
    const run = await h.start("stepped", {});
    await h.gates.arrived(run.id, "one");
    const { reader } = await subscribe(h, run.id);

    const history = await reader.until(is("task_start", "one"));
    expect(history.map((m) => event(m).type)).toEqual([
      "run_start",
      "state_enter",
      "checkpoint",
      "task_start",
    ]);
    expect(history.some(is("state_enter", "two"))).toBe(false);

    h.gates.open(run.id, "one");
    const live = await reader.until(is("task_start", "two"));
    expect(live.map((m) => event(m).type)).toEqual([
      "task_success",
      "state_enter",
      "checkpoint",
      "task_start",
    ]);

    h.gates.open(run.id, "two");
    h.gates.open(run.id, "three");
    const rest = await reader.rest();
    const end = rest.at(-1)!;
    expect(end.event).toBe("end");
    expect((JSON.parse(end.data) as { run: RunInfo }).run).toMatchObject({
      status: "completed",
      state: "done",
    });

    const ids = [...history, ...live, ...rest.slice(0, -1)].map((m) => Number(m.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    expect(event(rest.at(-2)!).type).toBe("run_end");
    expect(h.host.subscribers).toBe(0);
  });

  it("resumes a dropped stream after Last-Event-ID, without gaps or repeats", async () => {
    const h = await harness();
    const run = await h.start("stepped", {});
    await h.gates.arrived(run.id, "one");
    const first = await subscribe(h, run.id);
    const before: SseMessage[] = [];
    for (let i = 0; i < 3; i++) before.push((await first.reader.next())!);
    first.abort();
    h.gates.open(run.id, "one");
    await h.gates.arrived(run.id, "two");

    const second = await subscribe(h, run.id, { "last-event-id": before.at(-1)!.id! });
    const resumed = await second.reader.until(is("task_start", "two"));
    expect(resumed[0]!.id).toBe("4");
    h.gates.open(run.id, "two");
    h.gates.open(run.id, "three");
    const after = [...resumed, ...(await second.reader.rest())].filter((m) => m.event === "message");
    const ids = [...before, ...after].map((m) => Number(m.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    expect(event(after.at(-1)!).type).toBe("run_end");
  });

  it("accepts ?after= like Last-Event-ID, and answers 204 once a finished run has nothing more", async () => {
    const h = await harness();
    const run = await h.start("ping");
    await h.host.idle();
    const { lastEventId } = (await h.host.status(run.id))!;
    const tail = await subscribe(h, run.id, {});
    expect((await tail.reader.rest()).filter((m) => m.event === "message")).toHaveLength(lastEventId);
    const caughtUp = await h.call(`/runs/${run.id}/events?after=${lastEventId}`);
    expect(caughtUp.status).toBe(204);
    const viaHeader = await h.call(`/runs/${run.id}/events`, {
      headers: { "last-event-id": `${lastEventId}` },
    });
    expect(viaHeader.status).toBe(204);
  });

  it("leaves no listener behind when clients disconnect mid-stream", async () => {
    const h = await harness();
    const run = await h.start("stepped", {});
    await h.gates.arrived(run.id, "one");
    const streams = await Promise.all(Array.from({ length: 10 }, () => subscribe(h, run.id)));
    for (const stream of streams) await stream.reader.until(is("task_start", "one"));
    expect(h.host.subscribers).toBe(10);

    for (const stream of streams) stream.abort();
    await vi.waitFor(() => expect(h.host.subscribers).toBe(0), { timeout: 5_000, interval: 5 });

    // The run is unaffected, and a new client still gets everything.
    h.gates.open(run.id, "one");
    h.gates.open(run.id, "two");
    h.gates.open(run.id, "three");
    await h.host.idle();
    const late = await subscribe(h, run.id);
    expect((await late.reader.rest()).at(-1)!.event).toBe("end");
    expect(h.host.subscribers).toBe(0);
  });

  it("sends keep-alive comments while a run is idle", async () => {
    const h = await harness({ heartbeatMs: 10 });
    const run = await h.start("stepped", {});
    await h.gates.arrived(run.id, "one");
    const { reader, abort } = await subscribe(h, run.id);
    await reader.until(is("task_start", "one"));
    await reader.untilComment();
    abort();
    await vi.waitFor(() => expect(h.host.subscribers).toBe(0), { timeout: 5_000, interval: 5 });
  });

  it("rejects a malformed Last-Event-ID, an unknown run, and needs the token when reads are protected", async () => {
    const h = await harness();
    const run = await h.start("ping");
    const bad = await h.call(`/runs/${run.id}/events`, { headers: { "last-event-id": "abc" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_request" } });
    expect((await h.call("/runs/00000000-0000-4000-8000-000000000000/events")).status).toBe(404);

    const guarded = await harness({ protectReads: true });
    const guardedRun = await guarded.start("ping");
    expect((await guarded.call(`/runs/${guardedRun.id}/events`)).status).toBe(401);
    expect((await guarded.call(`/runs/${guardedRun.id}`)).status).toBe(401);
    const allowed = await guarded.call(`/runs/${guardedRun.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(allowed.status).toBe(200);
  });
});
