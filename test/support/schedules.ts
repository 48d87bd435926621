import type { Clock, SchedulerEvent, SchedulerOptions } from "cano";
import { none, Scheduler, task, Workflow } from "cano";
import { VirtualClock } from "cano/testing";

/** The states of the test workflows. */
export type S = "work" | "done";

/** One minute, in ms. */
export const minute = 60_000;
/** One hour, in ms. */
export const hour = 60 * minute;
/** One day of 24 hours, in ms (a day across a DST change is not 24 hours long in local time). */
export const day = 24 * hour;

/** An instant as an ISO string, so failures read as dates. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** How a {@link job} behaves; everything is optional. */
export interface JobOptions {
  /** How long each run takes on the clock. */
  readonly ms?: number;
  /** Whether the run with this 1-based number fails. */
  readonly fails?: (run: number) => boolean;
}

/** A one-state workflow whose runs take `ms` on `clock` (0 unless given); `starts` records when each run began. */
export function job(clock: Clock, options: JobOptions = {}) {
  const starts: number[] = [];
  const workflow = new Workflow<S>()
    .withClock(clock)
    .register(
      "work",
      task({
        to: ["done"],
        retry: none(),
        run: async ({ signal }) => {
          starts.push(clock.now());
          const run = starts.length;
          if (options.ms !== undefined) await clock.sleep(options.ms, signal);
          if (options.fails?.(run)) throw new Error(`run ${run} broke`);
          return "done";
        },
      }),
    )
    .exit("done");
  return { workflow, starts, startedAt: () => starts.map(iso) };
}

/** A scheduler on `clock` with jitter-free backoff, recording its events. */
export function scheduler(clock: Clock, options: Omit<SchedulerOptions, "clock" | "onEvent"> = {}) {
  const events: SchedulerEvent[] = [];
  const s = new Scheduler<S>({
    random: () => 0.5,
    ...options,
    clock,
    onEvent: (event) => events.push(event),
  });
  const ofType = <T extends SchedulerEvent["type"]>(type: T) =>
    events.filter((event): event is Extract<SchedulerEvent, { type: T }> => event.type === type);
  return { scheduler: s, events, ofType };
}

/** The shape of a default run id: `<flowId>:<run>-<8 hex digits>`. */
export function runIdOf(flowId: string, run: number): RegExp {
  return new RegExp(`^${flowId}:${run}-[0-9a-f]{8}$`);
}

/**
 * A clock whose wall time can jump while no timer fires: a suspended laptop, a process that was
 * stopped, a throttled background tab, or (jumping back) a wall clock that was set back.
 * `VirtualClock.advance` fires every timer on time on its way, so it cannot show that by itself.
 */
export class SleepyClock implements Clock {
  readonly virtual: VirtualClock;
  #skewMs = 0;

  constructor(startMs = 0) {
    this.virtual = new VirtualClock({ startMs });
  }

  now(): number {
    return this.virtual.now() + this.#skewMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.virtual.sleep(ms, signal);
  }

  schedule(ms: number, callback: () => void): () => void {
    return this.virtual.schedule(ms, callback);
  }

  /** Wall time moves by `ms` (negative: the clock was set back) and no timer fires. */
  jump(ms: number): void {
    this.#skewMs += ms;
  }

  /** Lets `ms` of time pass with timers firing on time. */
  advance(ms: number): Promise<void> {
    return this.virtual.advance(ms);
  }
}
