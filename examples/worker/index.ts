/**
 * Cano on Cloudflare Workers: a Worker whose API starts workflow runs, each driven by its own Durable
 * Object (a run host: checkpoints in SQLite, long waits on alarms, events streamed live), plus a Cron
 * Trigger starting a nightly report. Deployed by the root `wrangler.toml`; run it locally with
 * `npx wrangler dev` (no account needed), then:
 *
 *   curl -X POST localhost:8787/runs -d '{"workflow":"greet","input":{"name":"Ada"}}'
 *   curl localhost:8787/runs/<id>/events
 *
 * Shows: `defineRunHost`, `RunHostClient`, `cronTriggers`.
 */
import { defineRunHost } from "cano/cloudflare";
import { handleApi } from "./api.ts";
import type { Env } from "./triggers.ts";
import { triggers } from "./triggers.ts";
import { workflows } from "./workflows.ts";

/** The run host Durable Object class, bound as `RUN_HOST` in wrangler.toml. */
export const RunHost = defineRunHost<Env>({ workflows });

export default {
  fetch: (request: Request, env: Env) => handleApi(request, env),
  scheduled: (event: { readonly cron: string; readonly scheduledTime: number }, env: Env) =>
    triggers.scheduled(event, env),
};
