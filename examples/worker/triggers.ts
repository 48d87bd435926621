/**
 * The example Worker's Cron Triggers: every cron here must also be listed in `wrangler.toml`
 * `[triggers] crons` (a test checks it). Each firing starts one run host per flow, with an id made
 * from the cron, the scheduled time and the flow's name, so a retried delivery starts nothing new.
 */
import type { DurableObjectNamespaceLike } from "cano/cloudflare";
import { cronTriggers } from "cano/cloudflare";

/** The bindings the example Worker uses. */
export interface Env {
  /** The run host namespace: one object per run. */
  readonly RUN_HOST: DurableObjectNamespaceLike;
  /** The API's bearer token (a Worker secret; `--var CANO_API_TOKEN:…` with `wrangler dev`). */
  readonly CANO_API_TOKEN?: string;
}

/** The nightly report at 03:00 UTC, for the day that just ended. */
export const triggers = cronTriggers<Env>(
  {
    "0 3 * * *": {
      workflow: "nightly-report",
      input: (event) => ({ day: new Date(event.scheduledTime - 86_400_000).toISOString().slice(0, 10) }),
    },
  },
  { hosts: (env) => env.RUN_HOST },
);
