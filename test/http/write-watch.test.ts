import { describe, expect, it } from "vitest";
import type { StreamLike } from "../../adapters/http/sse.ts";
import { stalledHeartbeats, WriteWatch } from "../../adapters/http/sse.ts";

/** A stream whose writes settle only when the test says so, like a socket whose client stopped reading. */
function stream() {
  const writes: { readonly text: string; readonly accept: () => void }[] = [];
  let aborted = 0;
  const like: StreamLike = {
    write: (text) =>
      new Promise<void>((accept) => {
        writes.push({ text, accept });
      }),
    abort: () => {
      aborted += 1;
    },
  };
  return { like, writes, aborted: () => aborted };
}

/** Lets every settled write's continuation run (all pending microtasks), without waiting on time. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("WriteWatch (the event stream's heartbeat)", () => {
  it("writes a keep-alive on an idle heartbeat, and none while a write is still pending", async () => {
    const { like, writes } = stream();
    const watch = new WriteWatch(like, () => undefined);
    watch.beat();
    expect(writes.map((write) => write.text)).toEqual([": keep-alive\n\n"]);
    for (let i = 1; i < stalledHeartbeats; i++) watch.beat();
    expect(writes).toHaveLength(1);
    writes[0]!.accept();
    await flush();
    watch.beat();
    expect(writes).toHaveLength(2);
  });

  it(`drops the client once a write has waited ${stalledHeartbeats} heartbeats without progress`, () => {
    const { like, aborted } = stream();
    let dropped = 0;
    const watch = new WriteWatch(like, () => {
      dropped += 1;
    });
    void watch.send(() => like.write("data: {}\n\n"));
    for (let i = 1; i < stalledHeartbeats; i++) watch.beat();
    expect([dropped, aborted()]).toEqual([0, 0]);
    watch.beat();
    expect([dropped, aborted()]).toEqual([1, 1]);
  });

  it("keeps a slow client that accepts some writes between heartbeats", async () => {
    const { like, writes, aborted } = stream();
    const watch = new WriteWatch(like, () => undefined);
    for (let i = 0; i < stalledHeartbeats * 3; i++) {
      // Two writes queued, the older one accepted each heartbeat: progress, though never idle.
      void watch.send(() => like.write(`data: ${i}\n\n`));
      writes.at(-2)?.accept();
      await flush();
      watch.beat();
    }
    expect(aborted()).toBe(0);
  });
});
