/**
 * Stream with windows: read a message queue in batches of three, committing a cursor after each.
 *
 * `processItem` turns a message into an output and the cursor that resumes after it; `flushWindow`
 * writes a window; then the engine commits the window's last cursor as a checkpoint row, so a
 * resumed run (reload the tab mid-stream!) reopens the queue after the last written batch.
 */
import type { TaskContext } from "cano";
import { key, stream, Workflow } from "cano";

type State = "consume" | "done";
interface Message {
  readonly offset: number;
  readonly body: string;
}
const written = key<string[]>("written");

/** A fake queue of 10 messages from `from` on, arriving every 400 ms. */
async function* queue(ctx: TaskContext, from: number): AsyncGenerator<Message> {
  for (let offset = from; offset < 10; offset++) {
    await ctx.clock.sleep(400, ctx.signal);
    yield { offset, body: `order-${offset}` };
  }
}

export const workflow = new Workflow<State>({ name: "stream-windows" })
  .register(
    "consume",
    stream({
      to: ["done"],
      window: { count: 3 },
      open: (ctx, cursor: number | undefined) => queue(ctx, cursor ?? 0),
      processItem: (_ctx, message: Message) => ({
        output: message.body.toUpperCase(),
        cursor: message.offset + 1,
      }),
      flushWindow: async ({ store }, outputs: string[]) => {
        for (const output of outputs) await store.append(written, output);
        return "continue" as const;
      },
      onClose: (_ctx, reason) => {
        console.log(`source closed: ${reason}`);
        return "done";
      },
    }),
  )
  .exit("done");

export const initial: State = "consume";
