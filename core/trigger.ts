import { CanoError, describeThrown } from "./errors.ts";

/**
 * What a {@link Trigger} is told when asked for its next fire time. Plain data; every time is in
 * milliseconds since the epoch, from the scheduler's clock.
 */
export interface TriggerContext {
  /** The scheduler clock's time now. */
  readonly now: number;
  /**
   * The last planned time the scheduler handled (whether it started a run or was skipped), or what
   * {@link Trigger.restore} returned; `undefined` before the first. While the scheduler lists the
   * times a late wake-up passed, it is the previous time of that list.
   */
  readonly lastFireAt: number | undefined;
  /** When the flow's last run ended, whatever its outcome; `undefined` before the first. */
  readonly lastEndAt: number | undefined;
  /**
   * Whether a run is in progress. While the scheduler lists the times a late wake-up passed, it is
   * whether that wake-up may start a run, so a trigger timed from completions plans nothing further.
   */
  readonly running: boolean;
  /**
   * Whether the flow is tripped: it starts no run until `reset`, which asks `next` again. A trigger
   * timed from runs (`every`) plans nothing meanwhile; a clock-bound one (`cron`) keeps planning, and
   * its times are counted as skipped.
   */
  readonly tripped: boolean;
  /** The end of the flow's backoff window, if it is in one: planned times before it are skipped. */
  readonly backoffUntil: number | undefined;
}

/** What a {@link Trigger} is told when the scheduler wakes up at or after a planned time. */
export interface TriggerWake {
  /**
   * Every planned time that has passed, oldest first: the one the scheduler waited for, then each
   * later one `next` gives up to `now`. More than one means the process or tab slept past fire times.
   */
  readonly planned: readonly number[];
  /**
   * When the scheduler actually woke: the clock's time, at or after every planned time. `now -
   * planned[0]` is how late it is; an on-time wake-up lists one time and `now` is at (or just after) it.
   */
  readonly now: number;
  /** True when more times passed than the {@link maxPlannedPerWake} that `planned` lists. */
  readonly truncated: boolean;
}

/** The most planned times one {@link TriggerWake} lists; a longer sleep is reported as `truncated`. */
export const maxPlannedPerWake = 1_000;

/**
 * The port every kind of schedule implements, for the core `Scheduler`: {@link every},
 * {@link manual}, and adapters such as `cron()` from `cano/cron`.
 *
 * The scheduler owns all waiting. It asks `next` for the next planned time at start, after each
 * wake-up it handled, after each run starts or ends and after a `reset`; the answer replaces any
 * wait in progress. It waits on its clock in bounded chunks and re-reads the clock at every wake-up,
 * so a process or tab that slept (or whose timers were throttled) is noticed: then every planned
 * time that passed goes to `onWake`, which says how many runs to start. A run never overlaps
 * another run of the same flow; planned times that fall inside a run, a backoff window or a tripped
 * flow are skipped and counted. When the clock reads earlier than at the last check (the wall clock
 * was set back), the scheduler asks `next` again.
 *
 * @example
 * // Fires at every multiple of 10 minutes; after a sleep, runs once whatever was missed.
 * const tenMinutes: Trigger = {
 *   description: "every 10 minutes, on the clock",
 *   next: ({ now, lastFireAt }) => (Math.floor((lastFireAt ?? now) / 600_000) + 1) * 600_000,
 *   onWake: ({ planned }) => Math.min(planned.length, 1),
 * };
 * new Scheduler().add("report", wf, "start", tenMinutes);
 */
export interface Trigger {
  /** Says what the schedule is, for status and messages: `every 5000 ms`, `cron "0 9 * * *" (Europe/Paris)`. */
  readonly description: string;
  /**
   * The next planned time, later than `context.lastFireAt` (it may be in the past, e.g. after
   * `restore`, or `now` to fire at once), or `undefined` for none until something changes. When
   * `lastFireAt` is after `now` (the wall clock was set back), any time from `now` on is accepted too.
   */
  next(context: TriggerContext): number | undefined;
  /**
   * How many runs a wake-up starts, from 0 to `wake.planned.length` (the first at once, the others
   * one after another while they succeed); the other planned times count as skipped. Called only
   * when the flow may run. Default: 1, whatever the number of planned times.
   */
  onWake?(wake: TriggerWake): number;
  /**
   * Called once by `start()` for the flow `flowId` (one trigger may serve several flows): the last
   * fire time `save` stored for it, so fires missed while the process was down reach `next` (and
   * then `onWake`). A rejection fails `start()`.
   */
  restore?(flowId: string): number | undefined | Promise<number | undefined>;
  /**
   * Called after every wake-up of the flow `flowId` with its new last fire time, for `restore` to
   * return after a restart. Saves of one flow never overlap: each waits for the one before, and a
   * time superseded while a save is in progress is not written. `stop()` waits for them.
   */
  save?(lastFireAt: number, flowId: string): void | Promise<void>;
}

/**
 * @internal The interval check shared by `every()` and `Scheduler.every`: a finite number of
 * milliseconds > 0, or a `configuration` error naming `where` and the value.
 */
export function checkIntervalMs(intervalMs: unknown, where: string): number {
  if (typeof intervalMs !== "number" || !(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new CanoError(
      "configuration",
      `${where} expects intervalMs to be a finite number of milliseconds > 0, received ${String(intervalMs)}`,
    );
  }
  return intervalMs;
}

/**
 * @internal `trigger.next(context)`, checked: a finite time later than `context.lastFireAt` (or, when
 * that is after `now` because the clock was set back, at or after `now`), or `undefined`. Anything
 * else is a `configuration` error naming the flow and the answer.
 */
export function checkedNext(trigger: Trigger, context: TriggerContext, flowId: string): number | undefined {
  const at: unknown = trigger.next(context);
  if (at === undefined) return undefined;
  const last = context.lastFireAt ?? Number.NEGATIVE_INFINITY;
  if (
    typeof at === "number" &&
    Number.isFinite(at) &&
    (at > last || (last > context.now && at >= context.now))
  ) {
    return at;
  }
  throw new CanoError(
    "configuration",
    `Scheduler: the trigger of flow "${flowId}" (${trigger.description}) returned ${typeof at === "number" ? String(at) : describeThrown(at)} from next(); expected a time in ms later than its last fire time (${String(context.lastFireAt)}), or undefined`,
  );
}

/**
 * @internal The planned times a wake-up at `context.now` passed: `first`, then each later one
 * `next` gives up to `now`, at most {@link maxPlannedPerWake}. Throws like {@link checkedNext}.
 */
export function plannedUntil(
  trigger: Trigger,
  context: TriggerContext,
  first: number,
  flowId: string,
): { readonly times: number[]; readonly truncated: boolean } {
  const times = [first];
  for (;;) {
    const later = checkedNext(trigger, { ...context, lastFireAt: times[times.length - 1] }, flowId);
    if (later === undefined || later > context.now) return { times, truncated: false };
    if (times.length === maxPlannedPerWake) return { times, truncated: true };
    times.push(later);
  }
}

/**
 * Fires at start, then `intervalMs` after each run ends (fixed delay, not fixed rate): a run never
 * waits for a tick and no tick falls inside a run. After a failure it waits for the later of the
 * interval and the end of the backoff window. While the flow is tripped it plans nothing; after
 * `reset` it fires at once if the interval has passed. A wall clock set back behind the last run
 * counts the interval from the time it reads now, so the flow does not stall until it catches up.
 *
 * @example
 * new Scheduler().add("sync", wf, "fetch", every(60_000)); // same as .every("sync", wf, "fetch", 60_000)
 */
export function every(intervalMs: number): Trigger {
  checkIntervalMs(intervalMs, "every()");
  return {
    description: `every ${intervalMs} ms`,
    next({ now, lastFireAt, lastEndAt, running, tripped, backoffUntil }) {
      if (running || tripped) return undefined;
      if (lastFireAt === undefined && lastEndAt === undefined) return now;
      const last = Math.max(lastFireAt ?? Number.NEGATIVE_INFINITY, lastEndAt ?? Number.NEGATIVE_INFINITY);
      return Math.max(Math.min(last, now) + intervalMs, backoffUntil ?? Number.NEGATIVE_INFINITY);
    },
  };
}

/** Never fires by itself: the flow runs only when `trigger(id)` is called on the running scheduler. */
export function manual(): Trigger {
  return { description: "manual", next: () => undefined };
}
