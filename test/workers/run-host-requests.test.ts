import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EventLog } from "../../adapters/cloudflare/event-log.ts";
import { createHostTables } from "../../adapters/cloudflare/host-tables.ts";
import type { DurableObjectStubLike, RunHostObject } from "../../adapters/cloudflare/index.ts";
import {
  DurableObjectKeyValueStore,
  isRunHostRequestError,
  RunHostClient,
  readRunStream,
} from "../../adapters/cloudflare/index.ts";
import { eventStreamResponse } from "../../adapters/cloudflare/sse.ts";
import type { WorkflowEvent } from "../../core/index.ts";
import { freshHarness, inHost, rejection, withStorage } from "./harness.ts";
import { allItems, eventTypes, freshRun, parkedRun } from "./host-harness.ts";

/** What an object has written: its tables (other than SQLite's and the platform's own) and its alarm. */
const footprint = (stub: DurableObjectStubLike) =>
  inHost(stub, async (_host, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
      )
      .toArray()
      .map((row) => row.name),
    alarm: await state.storage.getAlarm(),
  }));

describe("run host: requests about a run that does not exist", () => {
  it("status, details, events, cancel, resume and idle answer 404 (or undefined) and write nothing", async () => {
    const { stub, client } = freshRun("nobody");
    expect(await client.status()).toBeUndefined();
    expect(await client.details()).toBeUndefined();
    expect(await client.idle()).toBeUndefined();
    // One at a time: a request made before the previous one is awaited could reject unhandled.
    for (const request of [() => client.events(), () => client.cancel(), () => client.resume()]) {
      const error = await rejection(request());
      expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([404, "unknown_run"]);
    }
    expect(await inHost(stub, (host: RunHostObject) => host.alarm())).toBeUndefined();
    expect(await footprint(stub)).toEqual({ tables: [], alarm: null });
  });

  it("refuses a run id that is not text before reaching any object", () => {
    for (const runId of ["", "x".repeat(257), "line\nbreak", "\ud800lone"]) {
      let error: unknown;
      try {
        RunHostClient.forRun(env.TEST_HOST, runId);
      } catch (thrown) {
        error = thrown;
      }
      expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([400, "invalid_request"]);
    }
  });
});

describe("run host: start", () => {
  it("refuses a runId that is not the name the object was reached by, and writes nothing", async () => {
    const { stub, runId } = freshRun("renamed");
    const other = new RunHostClient(stub, `${runId}-other`);
    const error = await rejection(other.start("quick"));
    expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([400, "invalid_request"]);
    expect(isRunHostRequestError(error) && error.message).toContain(
      `is not the name this object was reached by ("${runId}")`,
    );
    expect(await footprint(stub)).toEqual({ tables: [], alarm: null });
    // Without a runId the object's name is the run id.
    expect(await new RunHostClient(stub).start("quick")).toMatchObject({ id: runId });
  });

  it("refuses an input above maxInputBytes with 413, storing nothing", async () => {
    const runId = `big-${crypto.randomUUID()}`;
    const client = RunHostClient.forRun(env.RUN_HOST, runId);
    const error = await rejection(client.start("greet", { name: "x".repeat(1_100_000) }));
    expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([413, "payload_too_large"]);
    expect(isRunHostRequestError(error) && error.message).toMatch(
      /input of workflow "greet" is 1100\d{3} bytes of JSON; this host accepts at most 1048576/,
    );
    expect(await client.status()).toBeUndefined();
    expect(await footprint(env.RUN_HOST.get(env.RUN_HOST.idFromName(runId)))).toEqual({
      tables: [],
      alarm: null,
    });
  });

  it("turns SQLite's 2 MB limit (SQLITE_TOOBIG) into a 413 naming it, and leaves no table behind", async () => {
    const { stub, client } = freshRun("toobig");
    const error = await rejection(client.start("quick", { blob: "y".repeat(2_500_000) }));
    expect(isRunHostRequestError(error) && [error.status, error.code]).toEqual([413, "payload_too_large"]);
    expect(isRunHostRequestError(error) && error.message).toContain("at most 2 MB per value");
    expect(await footprint(stub)).toEqual({ tables: [], alarm: null });
    expect((await client.start("quick", { small: true })).status).toBe("running");
  });
});

describe("run host: details and resume", () => {
  it("details list the states the run entered, oldest first", async () => {
    const { client } = freshRun("details");
    await client.start("quick");
    await client.idle();
    const details = await client.details();
    expect(details?.history.map((visit) => visit.state)).toEqual(["keep", "done"]);
    expect(details?.history.every((visit) => typeof visit.at === "number")).toBe(true);
  });

  it("resumes a failed run from its rows once the cause is fixed; refuses what cannot be resumed", async () => {
    const { stub, client } = freshRun("fixed");
    await client.start("fails-until-fixed");
    const failed = await client.idle();
    expect(failed).toMatchObject({ status: "failed", state: "check" });
    await inHost(stub, (_host, state) => new DurableObjectKeyValueStore(state.storage).put("fixed", true));
    expect(await client.resume()).toMatchObject({ status: "running", resumes: 1 });
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done", resumes: 1 });
    const calls = await inHost(stub, async (_host, state) => {
      const store = new DurableObjectKeyValueStore(state.storage);
      return [await store.get("calls:prepare"), await store.get("calls:check")];
    });
    expect(calls).toEqual([1, 2]);
    const completed = await rejection(client.resume());
    expect(isRunHostRequestError(completed) && [completed.status, completed.message]).toEqual([
      409,
      expect.stringContaining("completed; there is nothing to resume"),
    ]);
  });

  it("refuses to resume a running run, or a cancelled one whose rollback cleared its rows", async () => {
    const { stub, client } = freshRun("resume-refused");
    await parkedRun(stub, client, "reserve-then-wait");
    const running = await rejection(client.resume());
    expect(isRunHostRequestError(running) && running.message).toContain(
      "is running; only a failed or cancelled run can be resumed",
    );
    expect((await client.cancel("the customer changed their mind")).status).toBe("cancelled");
    const cleared = await rejection(client.resume());
    expect(isRunHostRequestError(cleared) && [cleared.status, cleared.message]).toEqual([
      409,
      expect.stringContaining("has no checkpoint rows left"),
    ]);
  });
});

describe("run host: event streams", () => {
  it("a history-only stream of a running run closes once the stored events are sent", async () => {
    const { stub, client } = freshRun("history-only");
    const parked = await parkedRun(stub, client, "long-timer");
    const items = await allItems(await client.events({ historyOnly: true }));
    expect(items.every((item) => item.kind === "event")).toBe(true);
    expect(items).toHaveLength(parked.lastEventId);
  });

  it("a damaged event row is an error frame in its place, and the stream goes on", async () => {
    const { stub, client } = freshRun("torn-event");
    await client.start("quick");
    await client.idle();
    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("UPDATE cano_host_events SET body = '{torn' WHERE id = 2"),
    );
    const items = await allItems(await client.events());
    expect(items[1]).toMatchObject({ kind: "error", id: 2, error: { code: "corrupt" } });
    expect(items[1]?.kind === "error" && items[1].error.message).toContain(
      'event 2 in "cano_host_events" is corrupt: the stored text is not JSON',
    );
    expect(eventTypes(items).slice(2)).toEqual([
      "checkpoint",
      "task_start",
      "task_success",
      "state_enter",
      "checkpoint",
      "run_end",
      "END",
    ]);
  });

  it("sends a keep-alive comment while it waits for the next event", async () => {
    const { stub, client } = freshRun("keep-alive");
    await parkedRun(stub, client, "long-timer");
    const reader = (await client.events()).body?.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes(": keep-alive\n\n")) {
      const { value, done } = (await reader?.read()) ?? { done: true };
      if (done) break;
      text += value;
    }
    await reader?.cancel();
    expect(text).toContain(": keep-alive\n\n");
    // Readers skip comments: the parsed stream has only events.
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const item of readRunStream(await client.events({ signal: controller.signal }), controller)) {
      seen.push(item.kind);
      if (seen.length === 2) controller.abort();
    }
    expect(seen).toEqual(["event", "event"]);
  });

  it("reads the stored history page by page as the client reads (backpressure), all of it in order", () =>
    withStorage(freshHarness("stream"), async (state) => {
      createHostTables(state.storage.sql);
      const log = new EventLog(state.storage.sql);
      const at = 0;
      for (let i = 0; i < 500; i++) {
        log.append({ type: "state_enter", at, workflowId: "w", state: `s${i}` } satisfies WorkflowEvent);
      }
      const pages: number[] = [];
      const counting = {
        subscribe: (wake: () => void) => log.subscribe(wake),
        page: (after: number, limit: number) => {
          const page = log.page(after, limit);
          pages.push(page.length);
          return page;
        },
      };
      const response = eventStreamResponse(counting, {
        after: 0,
        ended: () => undefined,
        heartbeatMs: 60_000,
        historyOnly: true,
      });
      const stream = readRunStream(response);
      const first = await stream.next();
      expect(first.value).toMatchObject({ kind: "event", record: { id: 1 } });
      // One page read for the first chunk, at most one more queued ahead: not the whole history.
      expect(pages.length).toBeLessThanOrEqual(2);
      const ids = [1];
      for await (const item of stream) if (item.kind === "event") ids.push(item.record.id);
      expect(ids).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      expect(Math.max(...pages)).toBe(64);
    }));
});
