import type { Socket } from "node:net";
import { connect } from "node:net";
import type { WorkflowEvent } from "cano";
import { fixed, task, Workflow } from "cano";
import type { RunInfo } from "cano/http";
import { apiWorkflow, createApi, InProcessRunHost } from "cano/http";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Harness } from "./support/harness.ts";
import { closeAll, harness, token } from "./support/harness.ts";
import { listen } from "./support/server.ts";
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

  it("sends keep-alive comments while a run is idle, and keeps a client that reads them", async () => {
    const h = await harness({ heartbeatMs: 10 });
    const run = await h.start("stepped", {});
    await h.gates.arrived(run.id, "one");
    const { reader } = await subscribe(h, run.id);
    await reader.until(is("task_start", "one"));
    // Many more heartbeats than a stalled client is given: a client that reads is never dropped.
    for (let i = 0; i < 12; i++) await reader.untilComment();
    expect(h.host.subscribers).toBe(1);
    h.gates.open(run.id, "one");
    h.gates.open(run.id, "two");
    h.gates.open(run.id, "three");
    expect((await reader.rest()).at(-1)?.event).toBe("end");
    expect(h.host.subscribers).toBe(0);
  });

  it("answers HEAD with headers only, leaving no reader behind on a running or a completed run", async () => {
    const h = await harness({ heartbeatMs: 10 });
    const completed = await h.start("ping");
    await h.host.idle();
    const running = await h.start("stepped", {});
    await h.gates.arrived(running.id, "one");
    for (const run of [running, completed]) {
      for (let i = 0; i < 5; i++) {
        const head = await h.call(`/runs/${run.id}/events`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(head.headers.get("content-type")).toMatch(/^text\/event-stream/);
        expect(await head.text()).toBe("");
        expect(h.host.subscribers).toBe(0);
      }
    }
    const json = await h.call(`/runs/${running.id}/events`, {
      method: "HEAD",
      headers: { accept: "application/json" },
    });
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    const caughtUp = await h.call(
      `/runs/${completed.id}/events?after=${(await h.host.status(completed.id))!.lastEventId}`,
      {
        method: "HEAD",
      },
    );
    expect(caughtUp.status).toBe(204);
    expect(
      (await h.call("/runs/00000000-0000-4000-8000-000000000000/events", { method: "HEAD" })).status,
    ).toBe(404);
    // The running run goes on and ends with nobody left listening.
    h.gates.open(running.id, "one");
    h.gates.open(running.id, "two");
    h.gates.open(running.id, "three");
    await h.host.idle();
    expect(h.host.subscribers).toBe(0);
  });

  it("drops a client that stays connected but stops reading, and frees its reader", async () => {
    // A history far larger than the socket buffers can hold, so writes to a client that never reads
    // stop being accepted: 64 retries, each reported with a 256 KiB error message.
    const retries = 64;
    const message = "x".repeat(256 * 1024);
    let calls = 0;
    const noisy = new Workflow<"call" | "done">()
      .register(
        "call",
        task({
          to: ["done"],
          retry: fixed(retries, 0),
          run: async () => {
            if (++calls <= retries) throw new Error(message);
            return "done";
          },
        }),
      )
      .exit("done");
    const workflows = { noisy: apiWorkflow({ workflow: noisy, initial: "call" }) };
    const host = new InProcessRunHost({ workflows });
    const onError = vi.fn();
    const server = await listen(createApi({ workflows, host, token, heartbeatMs: 25, onError }));
    let socket: Socket | undefined;
    try {
      const { run } = (await (
        await fetch(`${server.url}/workflows/noisy/runs`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { run: RunInfo };
      await host.idle();
      const history = (await host.status(run.id))!;
      expect(history.lastEventId).toBeGreaterThan(retries);

      socket = await new Promise<Socket>((resolve) => {
        const made: Socket = connect(Number(new URL(server.url).port), "127.0.0.1", () => resolve(made));
      });
      socket.pause();
      socket.write(`GET /runs/${run.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await vi.waitFor(() => expect(host.subscribers).toBe(1), { timeout: 5_000, interval: 2 });
      // Still connected, never reading: dropped once a write has waited 4 heartbeats (100 ms here).
      await vi.waitFor(() => expect(host.subscribers).toBe(0), { timeout: 5_000, interval: 5 });
      expect(socket.destroyed).toBe(false);

      // What the client gets when it reads again: a response cut short, not the whole run.
      const reading = socket;
      const received = await new Promise<string>((resolve) => {
        let text = "";
        reading.on("data", (chunk: Buffer) => {
          text += chunk.toString("latin1");
          if (text.endsWith("\r\n0\r\n\r\n")) resolve(text);
        });
        reading.resume();
      });
      expect(received).not.toMatch(/event: end/);
      expect(received.length).toBeLessThan(retries * message.length);
      expect(onError).not.toHaveBeenCalled();
    } finally {
      socket?.destroy();
      await server.close();
    }
  }, 20_000);

  it("rejects a malformed Last-Event-ID, an unknown run, and needs the token when reads are protected", async () => {
    const h = await harness();
    const run = await h.start("ping");
    await h.host.idle();
    const { lastEventId } = (await h.host.status(run.id))!;
    for (const header of [
      "abc",
      "-1",
      "1e3",
      "0x10",
      "1.0",
      "+1",
      `${lastEventId + 1}`,
      "99999999999999999999",
    ]) {
      for (const accept of ["text/event-stream", "application/json"]) {
        const bad = await h.call(`/runs/${run.id}/events`, { headers: { "last-event-id": header, accept } });
        expect(bad.status, header).toBe(400);
        expect(await bad.json()).toMatchObject({ error: { code: "invalid_request" } });
      }
    }
    const past = await h.call(`/runs/${run.id}/events`, {
      headers: { "last-event-id": `${lastEventId + 1}` },
    });
    expect((await past.json()) as unknown).toMatchObject({
      error: { message: expect.stringMatching(/past the run's last event/) },
    });
    for (const after of [`${lastEventId + 1}`, "1e3", "0x10", ""]) {
      const bad = await h.call(`/runs/${run.id}/events?after=${after}`);
      expect(bad.status, after).toBe(400);
      const { error } = (await bad.json()) as { error: { code: string; issues: { path: string }[] } };
      expect(error.code).toBe("invalid_query");
      expect(error.issues).toEqual([expect.objectContaining({ path: "after" })]);
    }
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
