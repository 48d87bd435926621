/** Every {@link CatchUp} policy, for validation and messages. */
export const catchUpPolicies = ["skip", "once", "all"] as const;

/**
 * What a cron flow does about fire times it missed while the process or tab was asleep or down:
 * `skip` runs none of them, `once` runs one catch-up run, `all` runs each of them (up to
 * `maxCatchUp`). An on-time wake-up runs its fire time under every policy.
 */
export type CatchUp = (typeof catchUpPolicies)[number];

/** How many missed fire times `catchUp: "all"` runs at most, unless `maxCatchUp` says otherwise. */
export const defaultMaxCatchUp = 10;

/** The least default grace: timers of a background tab are throttled to about one wake-up a second. */
export const minGraceMs = 1_000;

/** The most default grace: a long-hidden tab's timers wake about once a minute (intensive throttling). */
export const maxGraceMs = 60_000;

/**
 * The default grace of a fire time, from `gapMs`, the time from it to the next one: half the gap,
 * clamped to [{@link minGraceMs}, {@link maxGraceMs}]. A daily job may be up to a minute late and
 * still count as on time; a job every second, up to a second.
 */
export function defaultGraceMs(gapMs: number | undefined): number {
  if (gapMs === undefined || !Number.isFinite(gapMs)) return minGraceMs;
  return Math.min(maxGraceMs, Math.max(minGraceMs, gapMs / 2));
}

/** What {@link catchUpRuns} decides from: plain data about one wake-up. */
export interface CatchUpInput {
  readonly policy: CatchUp;
  /** How many planned fire times passed, the latest included (≥ 1). */
  readonly planned: number;
  /** How long after the latest planned fire time the wake-up came, in ms. */
  readonly lateMs: number;
  /** A wake-up at most this late runs the latest fire time: it was not missed, only delayed. */
  readonly graceMs: number;
  /** The most runs `all` starts. */
  readonly maxCatchUp: number;
}

/**
 * How many runs a wake-up starts, as a pure function: `skip` → 1 if the latest fire time is within
 * the grace, else 0; `once` → 1; `all` → every planned time, at most `maxCatchUp`.
 */
export function catchUpRuns({ policy, planned, lateMs, graceMs, maxCatchUp }: CatchUpInput): number {
  if (planned < 1) return 0;
  if (policy === "once") return 1;
  if (policy === "all") return Math.min(planned, maxCatchUp);
  return lateMs <= graceMs ? 1 : 0;
}
