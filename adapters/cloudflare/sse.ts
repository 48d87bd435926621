import type { EventLog, RunEventRecord } from "./event-log.ts";
import type { DurableRunInfo } from "./run-record.ts";

const encoder = new TextEncoder();

/** One server-sent event: `id` is the event id, `data` the `WorkflowEvent` as JSON. */
function frame(record: RunEventRecord): Uint8Array {
  return encoder.encode(`id: ${record.id}\ndata: ${JSON.stringify(record.event)}\n\n`);
}

/** The closing frame: `event: end` with the run's final info. */
function endFrame(run: DurableRunInfo | undefined): Uint8Array {
  return encoder.encode(`event: end\ndata: ${JSON.stringify(run ?? null)}\n\n`);
}

/**
 * @internal A `text/event-stream` response: every stored event after `after` first, then live events,
 * then an `end` event once the run has ended (at once when it already has).
 */
export function eventStreamResponse(
  log: EventLog,
  after: number,
  ended: () => DurableRunInfo | undefined,
): Response {
  let unsubscribe: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let last = after;
      const send = (record: RunEventRecord) => {
        // A live event can race the history read: never send an id twice.
        if (record.id <= last) return;
        last = record.id;
        controller.enqueue(frame(record));
      };
      for (const record of log.since(after)) send(record);
      const finished = ended();
      if (finished !== undefined) {
        controller.enqueue(endFrame(finished));
        controller.close();
        return;
      }
      unsubscribe = log.subscribe({
        event: send,
        end: () => {
          controller.enqueue(endFrame(ended()));
          controller.close();
        },
      });
    },
    cancel() {
      unsubscribe?.();
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
  | { readonly kind: "end"; readonly run: DurableRunInfo | null };

/**
 * Reads a run host's event stream (`RunHostClient.events()`): yields each event with its id, then the
 * `end` item when the run is over.
 *
 * @example
 * for await (const item of readRunStream(await client.events())) if (item.kind === "event") console.log(item.record.event.type);
 */
export async function* readRunStream(response: Response): AsyncGenerator<RunStreamItem> {
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const item = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (item !== undefined) yield item;
      }
    }
  } finally {
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
  if (data.length === 0) return undefined;
  const parsed: unknown = JSON.parse(data.join("\n"));
  if (type === "end") return { kind: "end", run: parsed as DurableRunInfo | null };
  return { kind: "event", record: { id: id ?? 0, event: parsed as RunEventRecord["event"] } };
}
