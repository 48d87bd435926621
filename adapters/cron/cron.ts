import { Cron } from "croner";
import { systemClock } from "../../core/clock.ts";
import { CanoError, describeThrown } from "../../core/errors.ts";
import type { KeyValueStore } from "../../core/store.ts";
import { key } from "../../core/store.ts";
import type { Trigger, TriggerContext, TriggerWake } from "../../core/trigger.ts";
import type { CatchUp } from "./catch-up.ts";
import { catchUpRuns, defaultGraceMs } from "./catch-up.ts";
import type { CronOptions, CronSettings } from "./options.ts";
import { checkOptions, cronError, received } from "./options.ts";

/** A {@link Trigger} for the core `Scheduler` that fires on a cron expression; made by {@link cron}. */
export interface CronTrigger extends Trigger {
  /** The expression, as given. */
  readonly expression: string;
  /** The IANA time zone it is read in. */
  readonly timezone: string;
  /** What a wake-up after missed fire times runs. */
  readonly catchUp: CatchUp;
  /**
   * The next `n` fire times strictly after `from` (default: now on the system clock), in ms since
   * the epoch, oldest first: a preview for status pages and for checking an expression.
   */
  nextRuns(n: number, from?: number | Date): number[];
  /** The fire time `next` plans: the first one strictly after `lastFireAt`, or after `now` before the first. */
  next(context: TriggerContext): number | undefined;
  /** How many runs a wake-up starts under the `catchUp` policy. */
  onWake(wake: TriggerWake): number;
  /**
   * The last fire time of flow `flowId` kept in the store, if one was given; otherwise `undefined`.
   * A `key` option used for a second flow is a `configuration` error.
   */
  restore(flowId: string): Promise<number | undefined>;
  /** Keeps the last fire time of flow `flowId` in the store, if one was given. */
  save(lastFireAt: number, flowId: string): Promise<void>;
  /** The store key of flow `flowId`'s last fire time: the `key` option, or `cano:cron:<flowId>:<timezone>:<expression>`. */
  storeKey(flowId: string): string;
}

/** Where the never-fires check starts: one fixed time does, as 5- and 6-field expressions have no year. */
const referenceMs = Date.UTC(2000, 0, 1);

/** The most fire times one `nextRuns` call lists: it is a preview. */
const maxPreview = 1_000;

/** Croner's message for a thrown value, for our messages. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : describeThrown(error);
}

/** Whether the runtime knows the time zone. */
function isKnownTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** A croner schedule, checked: it parses in 5- or 6-field mode and fires at least once. */
function compile(expression: string, timezone: string): Cron {
  let job: Cron;
  try {
    // No callback: croner only computes dates and never sets a timer. The scheduler owns all waiting.
    job = new Cron(expression, { paused: true, timezone, mode: "5-or-6-parts" });
  } catch (error) {
    throw cronError(
      expression,
      `not a valid cron expression: ${reason(error)}. Expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), e.g. "0 9 * * 1-5"`,
      error,
    );
  }
  let first: Date | null;
  try {
    first = job.nextRun(new Date(referenceMs));
  } catch (error) {
    const what = isKnownTimezone(timezone)
      ? `time zone "${timezone}" failed`
      : `unknown time zone "${timezone}"`;
    throw cronError(
      expression,
      `${what}: ${reason(error)}. Expected an IANA name such as "Europe/Berlin" or "UTC"`,
      error,
    );
  }
  if (first === null) {
    throw cronError(
      expression,
      "never fires: no date matches it (is the day of month past the end of the month, e.g. 30 in February?)",
    );
  }
  return job;
}

/** The trigger `cron()` returns. */
class CronSchedule implements CronTrigger {
  readonly description: string;
  readonly expression: string;
  readonly timezone: string;
  readonly catchUp: CatchUp;
  readonly #job: Cron;
  readonly #settings: CronSettings;
  readonly #store: KeyValueStore | undefined;
  /** The flow a given `key` option belongs to, once restored. */
  #keyOwner: string | undefined;

  constructor(expression: string, settings: CronSettings) {
    this.expression = expression;
    this.timezone = settings.timezone;
    this.catchUp = settings.catchUp;
    this.description = `cron "${expression}" (${settings.timezone})`;
    this.#job = compile(expression, settings.timezone);
    this.#settings = settings;
    this.#store = settings.store;
  }

  storeKey(flowId: string): string {
    return this.#settings.key ?? `cano:cron:${flowId}:${this.timezone}:${this.expression}`;
  }

  next({ now, lastFireAt }: TriggerContext): number | undefined {
    return this.#after(lastFireAt ?? now);
  }

  onWake({ planned, now }: TriggerWake): number {
    const latest = planned[planned.length - 1];
    if (latest === undefined) return 0;
    const following = this.#after(latest);
    const graceMs =
      this.#settings.graceMs ?? defaultGraceMs(following === undefined ? undefined : following - latest);
    return catchUpRuns({
      policy: this.catchUp,
      planned: planned.length,
      lateMs: now - latest,
      graceMs,
      maxCatchUp: this.#settings.maxCatchUp,
    });
  }

  async restore(flowId: string): Promise<number | undefined> {
    if (this.#store === undefined) return undefined;
    const name = this.storeKey(flowId);
    if (this.#settings.key !== undefined) {
      if (this.#keyOwner !== undefined && this.#keyOwner !== flowId) {
        throw new CanoError(
          "configuration",
          `${this.description}: the store key "${name}" is already used by flow "${this.#keyOwner}", so flow "${flowId}" would share its last fire time; give each flow its own cron() with its own key, or leave key out for a key per flow`,
          { details: { key: name } },
        );
      }
      this.#keyOwner = flowId;
    }
    const stored: unknown = await this.#store.get(key<number>(name));
    if (stored === undefined) return undefined;
    if (typeof stored !== "number" || !Number.isFinite(stored)) {
      throw new CanoError(
        "store",
        `${this.description}: the last fire time under key "${name}" is ${received(stored)}, expected a time in ms since the epoch; delete the key to start afresh`,
        { details: { key: name } },
      );
    }
    return stored;
  }

  async save(lastFireAt: number, flowId: string): Promise<void> {
    await this.#store?.put(key<number>(this.storeKey(flowId)), lastFireAt);
  }

  nextRuns(n: number, from?: number | Date): number[] {
    if (!(Number.isInteger(n) && n >= 0 && n <= maxPreview)) {
      throw cronError(
        this.expression,
        `nextRuns expects n to be an integer from 0 to ${maxPreview}, received ${received(n)}`,
      );
    }
    const start = from === undefined ? systemClock.now() : from instanceof Date ? from.getTime() : from;
    if (!Number.isFinite(start)) {
      throw cronError(
        this.expression,
        `nextRuns expects from to be a time in ms or a Date, received ${received(from)}`,
      );
    }
    const times: number[] = [];
    for (let at = this.#after(start); at !== undefined && times.length < n; at = this.#after(at))
      times.push(at);
    return times;
  }

  /** The first fire time strictly after `at` (croner works in whole seconds), or `undefined` if none. */
  #after(at: number): number | undefined {
    return this.#job.nextRun(new Date(at))?.getTime();
  }
}

/**
 * A {@link Trigger} that fires on a cron expression, read in an IANA time zone with croner's
 * daylight-saving rules: a fixed-time job (`30 2 * * *`) whose time falls in the spring-forward gap
 * runs at the first valid time after it, and once when the time occurs twice at fall-back; other
 * jobs (`0 * * * *`) skip the gap and run on both occurrences. 5 fields, or 6 with seconds first;
 * day of month and day of week match when either does (as Vixie cron). A bad expression or time zone
 * is a `configuration` error here, at registration.
 *
 * @example
 * const nightly = cron("30 2 * * *", { timezone: "Europe/Berlin", catchUp: "once", store });
 * nightly.nextRuns(3); // the next three fire times, in ms
 * await new Scheduler().add("report", reportWorkflow, "fetch", nightly).start();
 */
export function cron(expression: string, options: CronOptions = {}): CronTrigger {
  if (typeof expression !== "string" || expression.trim() === "") {
    throw new CanoError(
      "configuration",
      `cron(): expected a cron expression such as "0 9 * * 1-5", received ${received(expression)}`,
    );
  }
  return new CronSchedule(expression, checkOptions(expression, options));
}
