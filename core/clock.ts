/** Cancels a timer made by {@link Clock.schedule}; calling it after the timer fired does nothing. */
export type CancelTimer = () => void;

/**
 * The engine's only source of time. Every delay, timeout and timestamp in the core goes through a
 * Clock, so tests and the playground can swap in a `VirtualClock` and let a 30-second backoff pass
 * in a blink.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `callback` once after `ms`; returns a function that cancels it. */
  schedule(ms: number, callback: () => void): CancelTimer;
}

/** @internal Resolves after `ms` on `schedule`, or rejects with the signal's reason when it aborts. */
export function sleepOn(clock: Pick<Clock, "schedule">, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => void clock.schedule(ms, resolve));
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    const cancel = clock.schedule(ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The longest delay `setTimeout` honours in every runtime. */
const maxTimerMs = 2 ** 31 - 1;

/** `setTimeout` for any delay: timers overflow past 2^31 - 1 ms and fire at once, so longer waits go in chunks. */
function scheduleInChunks(ms: number, callback: () => void): CancelTimer {
  let id: ReturnType<typeof setTimeout>;
  const arm = (remaining: number) => {
    const chunk = Math.min(Math.max(0, remaining), maxTimerMs);
    id = setTimeout(() => (remaining > maxTimerMs ? arm(remaining - maxTimerMs) : callback()), chunk);
  };
  arm(ms);
  return () => clearTimeout(id);
}

/** The real clock: `Date.now()` and `setTimeout`. The default everywhere. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return sleepOn(systemClock, ms, signal);
  },
  schedule(ms, callback) {
    // Kept apart from the chunked path, whose closures would otherwise be set up for every timer.
    if (!(ms <= maxTimerMs)) return scheduleInChunks(ms, callback);
    const id = setTimeout(callback, ms);
    return () => clearTimeout(id);
  },
};
