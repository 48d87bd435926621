import type { CorruptEventRecord, EventLog, RunEventRecord } from "./event-log.ts";
import { asRunHostError } from "./run-host-error.ts";
import type { DurableRunInfo } from "./run-record.ts";

const encoder = new TextEncoder();

/** Stored events read (and sent as one chunk) per pull of the stream. */
const pageSize = 64;

/** The keep-alive comment: ignored by every SSE reader, it keeps proxies from closing an idle stream. */
const keepAlive = encoder.encode(": keep-alive\n\n");

/** The error a stream reports in an `error` frame: a run host error code and message. */
export interface RunStreamError {
  readonly code: string;
  readonly message: string;
}

/** One server-sent event: `id` is the event id, `data` the `WorkflowEvent` as JSON; a damaged row is an `error` frame. */
function frame(record: RunEventRecord | CorruptEventRecord): string {
  if (!("problem" in record)) return `id: ${record.id}\ndata: ${JSON.stringify(record.event)}\n\n`;
  const error: RunStreamError = {
    code: "corrupt",
    message:
      `RunHost: event ${record.id} in "cano_host_events" is corrupt: ${record.problem}. The stream goes on ` +
      "with the next event; repair or delete the row.",
  };
  return `id: ${record.id}\nevent: error\ndata: ${JSON.stringify({ error })}\n\n`;
}

/** A failure of the stream itself (storage unreadable): an `error` frame without an id, then the stream closes. */
function failureFrame(thrown: unknown): string {
  const { code, message } = asRunHostError(thrown);
  return `event: error\ndata: ${JSON.stringify({ error: { code, message } })}\n\n`;
}

/** The closing frame: `event: end` with the run's final info. */
function endFrame(run: DurableRunInfo): string {
  return `event: end\ndata: ${JSON.stringify(run)}\n\n`;
}

/** @internal What {@link eventStreamResponse} streams. */
export interface EventStreamOptions {
  /** Send the stored events with an id above this one first. */
  readonly after: number;
  /** The run once it has ended, `undefined` while it goes on. */
  readonly ended: () => DurableRunInfo | undefined;
  /** Interval of keep-alive comments. */
  readonly heartbeatMs: number;
  /** Close once the stored history is sent instead of waiting for live events. */
  readonly historyOnly: boolean;
}

/**
 * @internal A `text/event-stream` response: the stored events after `after`, then live ones, then an
 * `end` event once the run has ended (at once when it already has). Pull-driven: each pull reads the
 * next page from SQLite, so a slow client only slows its own reads and nothing piles up in memory;
 * while waiting for the next event it sends a keep-alive comment every `heartbeatMs`.
 */
export function eventStreamResponse(
  log: Pick<EventLog, "page" | "subscribe">,
  options: EventStreamOptions,
): Response {
  let last = options.after;
  let closed = false;
  let wake: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    closed = true;
    unsubscribe?.();
    clearInterval(heartbeat);
    wake?.();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      unsubscribe = log.subscribe(() => wake?.());
      heartbeat = setInterval(() => {
        // Only while the client keeps up: a full queue already keeps the connection busy.
        if (!closed && (controller.desiredSize ?? 0) > 0) controller.enqueue(keepAlive);
      }, options.heartbeatMs);
    },
    async pull(controller) {
      try {
        while (!closed) {
          const page = log.page(last, pageSize);
          const newest = page.at(-1);
          if (newest !== undefined) {
            last = newest.id;
            controller.enqueue(encoder.encode(page.map(frame).join("")));
            return;
          }
          // Read, checked and armed with no await in between: no event can slip past unseen.
          const finished = options.ended();
          if (finished !== undefined || options.historyOnly) {
            if (finished !== undefined) controller.enqueue(encoder.encode(endFrame(finished)));
            stop();
            controller.close();
            return;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      } catch (error) {
        if (closed) return;
        stop();
        controller.enqueue(encoder.encode(failureFrame(error)));
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    },
  });
}

/** One parsed server-sent event of a run host stream. */
export type RunStreamItem =
  | { readonly kind: "event"; readonly record: RunEventRecord }
  | { readonly kind: "end"; readonly run: DurableRunInfo | null }
  /** A damaged event row (`id` set; the stream goes on) or a failed stream (no `id`; the stream ends). */
  | { readonly kind: "error"; readonly id: number | undefined; readonly error: RunStreamError };

/** Options of {@link readRunStream}. */
export interface ReadRunStreamOptions {
  /** Stops reading (the iteration ends quietly and the response body is cancelled). */
  readonly signal?: AbortSignal;
}

/**
 * Reads a run host's event stream (`RunHostClient.events()`): yields each event with its id, an
 * `error` item for a damaged event row, then the `end` item when the run is over.
 *
 * @example
 * for await (const item of readRunStream(await client.events())) if (item.kind === "event") console.log(item.record.event.type);
 */
export async function* readRunStream(
  response: Response,
  options: ReadRunStreamOptions = {},
): AsyncGenerator<RunStreamItem> {
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const { signal } = options;
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const item = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (signal?.aborted) return;
        if (item !== undefined) yield item;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // The consumer may stop early: let the server know nobody is listening any more.
    await reader.cancel().catch(() => undefined);
  }
}

function parseFrame(text: string): RunStreamItem | undefined {
  let id: number | undefined;
  let type = "message";
  const data: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("id: ")) id = Number(line.slice(4));
    else if (line.startsWith("event: ")) type = line.slice(7);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  // Comments (": keep-alive") carry no data.
  if (data.length === 0) return undefined;
  const parsed: unknown = JSON.parse(data.join("\n"));
  if (type === "end") return { kind: "end", run: parsed as DurableRunInfo | null };
  if (type === "error") return { kind: "error", id, error: (parsed as { error: RunStreamError }).error };
  return { kind: "event", record: { id: id ?? 0, event: parsed as RunEventRecord["event"] } };
}
