import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { toApiError } from "./api-error.ts";
import type { RunHost } from "./run-host.ts";

/** @internal What an event stream needs besides the request. */
export interface StreamSettings {
  readonly host: RunHost;
  readonly runId: string;
  /** Send events with an id above this one (`Last-Event-ID`). */
  readonly after: number;
  /** Interval of `: keep-alive` comments, so proxies keep the connection and dead clients are noticed. */
  readonly heartbeatMs: number;
  /** Receives unexpected failures (logged by the app; the client sees a fixed message). */
  readonly report: (error: unknown) => void;
}

/**
 * @internal Heartbeats a write may stay unaccepted before the client counts as gone: a client that is
 * connected but stopped reading would otherwise hold its reader, its heartbeat and the buffered events.
 */
export const stalledHeartbeats = 4;

/**
 * @internal The run's events as server-sent events: each `WorkflowEvent` is one message (`id:` its
 * event id, `data:` its JSON), then an `end` event with the run once it has ended. A client that goes
 * away aborts the reader, which removes its listener at once; one that stops reading is dropped once
 * a write has waited {@link stalledHeartbeats} heartbeats.
 */
export function streamEvents(c: Context, settings: StreamSettings): Response {
  const { host, runId, after, heartbeatMs, report } = settings;
  return streamSSE(c, async (stream) => {
    const gone = new AbortController();
    const stop = () => gone.abort();
    stream.onAbort(stop);
    c.req.raw.signal.addEventListener("abort", stop);
    const writes = new WriteWatch(stream, stop);
    const heartbeat = setInterval(() => writes.beat(), heartbeatMs);
    try {
      for await (const { id, event } of host.events(runId, { after, signal: gone.signal })) {
        await writes.send(() => stream.writeSSE({ id: String(id), data: JSON.stringify(event) }));
        if (gone.signal.aborted) break;
      }
      if (gone.signal.aborted) return;
      const run = await host.status(runId);
      if (run !== undefined) {
        const { history: _history, ...info } = run;
        await writes.send(() => stream.writeSSE({ event: "end", data: JSON.stringify({ run: info }) }));
      }
    } catch (error) {
      const known = toApiError(error);
      if (known === undefined) report(error);
      const body = known?.body().error ?? { code: "internal", message: "HTTP API: the event stream failed" };
      await writes.send(() => stream.writeSSE({ event: "error", data: JSON.stringify({ error: body }) }));
    } finally {
      clearInterval(heartbeat);
      c.req.raw.signal.removeEventListener("abort", stop);
    }
  });
}

/** @internal The part of Hono's `SSEStreamingApi` a {@link WriteWatch} uses. */
export interface StreamLike {
  write(text: string): Promise<unknown>;
  abort(): void;
}

/**
 * @internal Counts the stream's writes the client has not accepted yet. On each heartbeat: with nothing pending,
 * a keep-alive comment (so at most one is ever queued); with a write pending and no write accepted
 * since the last heartbeat, one more stalled heartbeat, and after {@link stalledHeartbeats} of them
 * the stream is aborted, which settles the pending write and ends the reader.
 */
export class WriteWatch {
  readonly #stream: StreamLike;
  readonly #drop: () => void;
  #pending = 0;
  #accepted = false;
  #stalled = 0;

  constructor(stream: StreamLike, drop: () => void) {
    this.#stream = stream;
    this.#drop = drop;
  }

  /** Runs one write, counted while it is pending. */
  async send(write: () => Promise<unknown>): Promise<void> {
    this.#pending += 1;
    try {
      await write();
    } finally {
      this.#pending -= 1;
      this.#accepted = true;
    }
  }

  /** One heartbeat: a keep-alive when the stream is idle, or a step towards dropping a stalled client. */
  beat(): void {
    if (this.#pending === 0) {
      this.#stalled = 0;
      this.#accepted = false;
      void this.send(() => this.#stream.write(": keep-alive\n\n"));
      return;
    }
    this.#stalled = this.#accepted ? 0 : this.#stalled + 1;
    this.#accepted = false;
    if (this.#stalled >= stalledHeartbeats) {
      this.#drop();
      this.#stream.abort();
    }
  }
}
