/**
 * Cano on Cloudflare Workers: a Worker whose HTTP API (`cano/http`) starts workflow runs, each driven
 * by its own Durable Object (a run host: checkpoints in SQLite, long waits on alarms, events streamed
 * live), plus a Cron Trigger starting a nightly report. Deployed by the root `wrangler.toml` (set the
 * token first: `npx wrangler secret put CANO_API_TOKEN`). Locally, with no account:
 *
 *   npx wrangler dev --var CANO_API_TOKEN:dev-token
 *   curl -X POST localhost:8787/workflows/greet/runs -H 'Authorization: Bearer dev-token' \
 *        -H 'Content-Type: application/json' -d '{"input":{"name":"Ada"}}'
 *   curl -N localhost:8787/runs/<id>/events -H 'Authorization: Bearer dev-token'
 *
 * Shows: `defineRunHost`, `createApi` over a `RunHost` of Durable Objects, `cronTriggers`.
 */
import { defineRunHost } from "cano/cloudflare";
import { exampleApi } from "./api.ts";
import type { Env } from "./triggers.ts";
import { triggers } from "./triggers.ts";
import { workflows } from "./workflows.ts";

/** The run host Durable Object class, bound as `RUN_HOST` in wrangler.toml. */
export const RunHost = defineRunHost<Env>({ workflows });

/** The execution context Workers pass to `fetch`, as Hono types it. */
type ExecutionContextLike = Parameters<ReturnType<typeof exampleApi>["fetch"]>[2];

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContextLike) => exampleApi(env).fetch(request, env, ctx),
  scheduled: (event: { readonly cron: string; readonly scheduledTime: number }, env: Env) =>
    triggers.scheduled(event, env),
};
