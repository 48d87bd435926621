/**
 * Stream with windows: read a message queue in batches, commit a cursor after each batch.
 *
 * Shows: the `stream` model. `processItem` turns each message into an output and the cursor that
 * resumes after it; `flushWindow` writes a window of outputs; then the engine commits the window's
 * last cursor (a checkpoint row, since a checkpoint store is attached), so a resumed run reopens
 * the queue after the last written batch. First with a count window (every 3 messages, the rest
 * flushed when the source ends), then with a duration window (whatever arrived in each 50 ms).
 */
import type { CheckpointRow, StreamWindow } from "cano";
import { MemoryCheckpointStore, stream, Workflow } from "cano";

type State = "consume" | "done";
interface Message {
  readonly offset: number;
  readonly body: string;
}

/** A fake queue from `from` on: bursts of messages with a pause of `pauseMs` between bursts. */
async function* queue(bursts: readonly number[], pauseMs: number, from: number): AsyncGenerator<Message> {
  let offset = 0;
  for (const [i, size] of bursts.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    for (let n = 0; n < size; n++) {
      if (offset >= from) yield { offset, body: `order-${offset}` }; // skip what was already committed
      offset++;
    }
  }
}

/** The in-memory checkpoint store, printing each cursor the engine commits to it. */
class PrintingStore extends MemoryCheckpointStore {
  override async append(workflowId: string, row: CheckpointRow): Promise<void> {
    if (row.kind === "cursor")
      console.log(`    committed cursor ${row.output} (checkpoint row #${row.sequence})`);
    await super.append(workflowId, row);
  }
}

function consumer(window: StreamWindow, bursts: readonly number[], pauseMs: number) {
  return new Workflow<State>()
    .withCheckpointStore(new PrintingStore())
    .register(
      "consume",
      stream({
        to: ["done"],
        window,
        open: (_ctx, cursor: number | undefined) => queue(bursts, pauseMs, cursor ?? 0),
        processItem: (_ctx, message: Message) => ({
          output: message.body.toUpperCase(),
          cursor: message.offset + 1, // the offset to reopen at: after this message
        }),
        flushWindow: (_ctx, outputs: string[]) => {
          console.log(`  flushed window of ${outputs.length}: ${outputs.join(" ")}`);
          return "continue";
        },
        onClose: (_ctx, reason) => {
          console.log(`  source closed: ${reason}`);
          return "done";
        },
      }),
    )
    .exit("done");
}

console.log("count window of 3 over 8 messages:");
await consumer({ count: 3 }, [8], 0).orchestrate("consume", { workflowId: "by-count" });

console.log("\nduration window of 50 ms over bursts of 3, 2 and 1 messages, 200 ms apart:");
await consumer({ durationMs: 50 }, [3, 2, 1], 200).orchestrate("consume", { workflowId: "by-time" });
