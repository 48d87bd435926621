/**
 * `cano/cron`: cron schedules for the core `Scheduler`, computed with croner. `cron(expr, options)`
 * returns a `Trigger`: 5- or 6-field expressions, IANA time zones with their daylight-saving rules,
 * a missed-run policy (`skip`, `once`, `all`) and, with a `KeyValueStore`, catch-up after a restart.
 */
export type { CatchUp, CatchUpInput } from "./catch-up.ts";
export {
  catchUpPolicies,
  catchUpRuns,
  defaultGraceMs,
  defaultMaxCatchUp,
  maxGraceMs,
  minGraceMs,
} from "./catch-up.ts";
export type { CronTrigger } from "./cron.ts";
export { cron } from "./cron.ts";
export type { CronOptions } from "./options.ts";
