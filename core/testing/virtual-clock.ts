import type { CancelTimer, Clock } from "../clock.ts";
import { sleepOn } from "../clock.ts";
import { CanoError } from "../errors.ts";

/** Options of a {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** What `now()` returns before any time passes, in milliseconds since the epoch; 0 unless given. */
  readonly startMs?: number;
}

/** The runtime functions `flush()` may use; `setImmediate` is Node-only and absent from the DOM lib. */
interface MacrotaskGlobalsLike {
  readonly setImmediate?: (callback: () => void) => unknown;
  readonly MessageChannel?: typeof MessageChannel;
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
}

/**
 * Calls `callback` in a later macrotask. Captured once, at load, so fake timers installed later by a
 * test framework cannot stall `flush()`.
 */
const nextMacrotask = ((globals: MacrotaskGlobalsLike): ((callback: () => void) => void) => {
  const { setImmediate, MessageChannel: Channel, setTimeout } = globals;
  if (setImmediate !== undefined) return (callback) => void setImmediate(callback);
  if (Channel !== undefined)
    return (callback) => {
      const channel = new Channel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        channel.port2.close();
        callback();
      };
      channel.port2.postMessage(undefined);
    };
  // Last resort: only used to yield, never to measure time, so the clamp of nested timeouts is harmless.
  return (callback) => void setTimeout(callback, 0);
})(globalThis);

interface Timer {
  readonly at: number;
  /** Scheduling order: breaks ties between timers due at the same time (first scheduled, first fired). */
  readonly seq: number;
  readonly callback: () => void;
  /** Position in the heap, or -1 once fired or cancelled. */
  index: number;
}

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * A {@link Clock} whose time moves only when told to: `advance(ms)` fires every timer falling due in
 * that window, `runAll()` fires timers until none is left. Nothing waits for real time, so a
 * 30-second backoff passes in a blink and runs are deterministic.
 *
 * @example
 * const clock = new VirtualClock();
 * const run = new Workflow<S>().withClock(clock).register("call", t).exit("done").orchestrate("call");
 * await clock.advance(30_000); // or: await clock.runAll();
 * expect(await run).toBe("done");
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  /** A binary min-heap ordered by (`at`, `seq`), so tens of thousands of timers stay cheap. */
  readonly #heap: Timer[] = [];

  constructor(options: VirtualClockOptions = {}) {
    const startMs = options.startMs ?? 0;
    if (!Number.isFinite(startMs))
      throw new CanoError(
        "configuration",
        `VirtualClock: expected startMs to be a finite number of milliseconds, got ${startMs}.`,
      );
    this.#now = startMs;
  }

  /** The virtual time, in milliseconds; it never moves backwards. */
  now(): number {
    return this.#now;
  }

  /** Resolves once virtual time has moved `ms` forward; rejects with `signal.reason` when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Calls `callback` once time reaches now + `ms` (negative or NaN counts as 0); ties fire in scheduling order. */
  schedule(ms: number, callback: () => void): CancelTimer {
    const delay = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    const timer: Timer = { at: this.#now + delay, seq: this.#seq++, callback, index: -1 };
    this.#push(timer);
    return () => {
      if (timer.index >= 0) this.#remove(timer.index);
    };
  }

  /** How many timers are waiting to fire; fired and cancelled ones do not count. */
  get pendingTimers(): number {
    return this.#heap.length;
  }

  /** When the next timer falls due, or `undefined` when none is pending. */
  nextTimerAt(): number | undefined {
    return this.#heap[0]?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due (in due order), and letting promise
   * continuations settle after each one so timers scheduled by them inside the window fire too. Time
   * ends exactly at start + `ms`. A timer callback that throws rejects the returned promise, with time
   * left at that timer's due time.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0 && Number.isFinite(ms)))
      throw new CanoError(
        "configuration",
        `VirtualClock.advance: expected a finite number of milliseconds >= 0, got ${ms}. ` +
          "Time never moves backwards; use runAll() to fire every pending timer.",
      );
    const end = this.#now + ms;
    await this.flush();
    for (let next = this.#heap[0]; next !== undefined && next.at <= end; next = this.#heap[0]) {
      this.#fire(next);
      await this.flush();
    }
    // Math.max: an overlapping advance() may already have moved past `end`.
    this.#now = Math.max(this.#now, end);
  }

  /**
   * Fires timers (jumping time to each) until none is left; throws a `configuration` CanoError after
   * `maxTimers` (10 000 unless given), as an endless chain of timers would otherwise never end.
   */
  async runAll(options: { readonly maxTimers?: number } = {}): Promise<void> {
    const maxTimers = options.maxTimers ?? 10_000;
    if (!(maxTimers >= 0))
      throw new CanoError(
        "configuration",
        `VirtualClock.runAll: expected maxTimers to be a number >= 0, got ${maxTimers}.`,
      );
    let fired = 0;
    await this.flush();
    for (let next = this.#heap[0]; next !== undefined; next = this.#heap[0]) {
      if (fired >= maxTimers)
        throw new CanoError(
          "configuration",
          `VirtualClock.runAll: fired ${fired} timers and ${this.#heap.length} are still pending ` +
            `(next due at ${next.at} ms), which looks like an endless loop of timers. ` +
            "Fire them in steps with advance(ms), or pass a larger { maxTimers } if the run really needs more.",
          { details: { maxTimers, pendingTimers: this.#heap.length, nowMs: this.#now } },
        );
      this.#fire(next);
      fired++;
      await this.flush();
    }
  }

  /** Lets pending promise continuations run without moving time. */
  flush(): Promise<void> {
    // A real macrotask runs only after every queued microtask, however deep the await chain: no
    // fixed number of `await Promise.resolve()` can promise that.
    return new Promise((resolve) => nextMacrotask(resolve));
  }

  #fire(timer: Timer): void {
    this.#remove(timer.index);
    this.#now = Math.max(this.#now, timer.at);
    timer.callback();
  }

  #push(timer: Timer): void {
    timer.index = this.#heap.length;
    this.#heap.push(timer);
    this.#siftUp(timer.index);
  }

  #remove(index: number): void {
    const heap = this.#heap;
    const removed = heap[index]!;
    const last = heap.pop()!;
    removed.index = -1;
    if (last === removed) return;
    heap[index] = last;
    last.index = index;
    this.#siftUp(index);
    this.#siftDown(last.index);
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const timer = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(timer, parent)) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = timer;
    timer.index = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const timer = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      const smallest = heap[child]!;
      if (!before(smallest, timer)) break;
      heap[index] = smallest;
      smallest.index = index;
      index = child;
    }
    heap[index] = timer;
    timer.index = index;
  }
}
