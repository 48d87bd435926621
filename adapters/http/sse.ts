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
 * @internal The run's events as server-sent events: each `WorkflowEvent` is one message (`id:` its
 * event id, `data:` its JSON), then an `end` event with the run once it has ended. A client that goes
 * away aborts the reader, which removes its listener at once.
 */
export function streamEvents(c: Context, settings: StreamSettings): Response {
  const { host, runId, after, heartbeatMs, report } = settings;
  return streamSSE(c, async (stream) => {
    const gone = new AbortController();
    const stop = () => gone.abort();
    stream.onAbort(stop);
    c.req.raw.signal.addEventListener("abort", stop);
    const heartbeat = setInterval(() => void stream.write(": keep-alive\n\n"), heartbeatMs);
    try {
      for await (const { id, event } of host.events(runId, { after, signal: gone.signal })) {
        await stream.writeSSE({ id: String(id), data: JSON.stringify(event) });
      }
      if (gone.signal.aborted) return;
      const run = await host.status(runId);
      if (run !== undefined) {
        const { history: _history, ...info } = run;
        await stream.writeSSE({ event: "end", data: JSON.stringify({ run: info }) });
      }
    } catch (error) {
      const known = toApiError(error);
      if (known === undefined) report(error);
      const body = known?.body().error ?? { code: "internal", message: "HTTP API: the event stream failed" };
      await stream.writeSSE({ event: "error", data: JSON.stringify({ error: body }) });
    } finally {
      clearInterval(heartbeat);
      c.req.raw.signal.removeEventListener("abort", stop);
    }
  });
}
