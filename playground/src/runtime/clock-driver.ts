import type { VirtualClock } from "cano/testing";

/** How fast virtual time runs: a multiple of real time, or `Infinity` to jump from timer to timer. */
export type Speed = number;

/** The speeds the controls offer, slowest first. */
export const speeds = [0.25, 1, 10, 100, Number.POSITIVE_INFINITY] as const satisfies readonly Speed[];

/** A speed as the controls show it: `1×`, `100×`, `max`. */
export function speedLabel(speed: Speed): string {
  return Number.isFinite(speed) ? `${speed}×` : "max";
}

const tickMs = 16;
/** At max speed, how long one tick may spend firing timers before it lets the page paint. */
const maxTickWorkMs = 12;

/**
 * Moves a `VirtualClock` forward in step with real time, `speed` times faster, while `canRun()` says
 * so. At max speed it jumps straight to each pending timer, so a 30-second backoff passes in a blink.
 */
export class ClockDriver {
  readonly clock: VirtualClock;
  speed: Speed;
  readonly #canRun: () => boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0;
  #busy = false;
  /** Virtual time owed but not yet advanced: the clock moves in whole milliseconds. */
  #carry = 0;

  constructor(clock: VirtualClock, speed: Speed, canRun: () => boolean) {
    this.clock = clock;
    this.speed = speed;
    this.#canRun = canRun;
  }

  /** Starts driving; harmless when already started. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = performance.now();
    this.#timer = setTimeout(() => void this.#tick(), tickMs);
  }

  /** Stops driving; pending timers stay pending. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    const now = performance.now();
    const elapsed = now - this.#last;
    this.#last = now;
    try {
      if (this.#canRun()) await this.#advance(elapsed);
    } finally {
      this.#busy = false;
      if (this.#timer !== undefined) this.#timer = setTimeout(() => void this.#tick(), tickMs);
    }
  }

  async #advance(elapsedMs: number): Promise<void> {
    if (Number.isFinite(this.speed)) {
      this.#carry += elapsedMs * this.speed;
      const whole = Math.floor(this.#carry);
      this.#carry -= whole;
      if (whole > 0) await this.clock.advance(whole);
      return;
    }
    const started = performance.now();
    while (performance.now() - started < maxTickWorkMs && this.#canRun()) {
      const next = this.clock.nextTimerAt();
      if (next === undefined) break;
      await this.clock.advance(Math.max(0, next - this.clock.now()));
    }
  }
}
