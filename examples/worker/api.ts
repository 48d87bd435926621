/**
 * The example Worker's HTTP API: `cano/http`'s `createApi` over run host Durable Objects (one object
 * per run, through `DurableRunHost`). Starting, cancelling and resuming runs, and reading them, need
 * `Authorization: Bearer <CANO_API_TOKEN>` (a Worker secret; with none set those routes answer 403,
 * never open). Bodies over 64 KiB are refused with 413 before any object is reached, malformed ids
 * are 404 without touching storage, and every error is JSON `{ error: { code, message } }`.
 *
 * Shows: `createApi({ workflows, host })` on Workers, a `RunHost` implemented over Durable Objects,
 * and a 501 for the one route this host cannot serve (`GET /runs`).
 */
import { createApi } from "cano/http";
import { Hono } from "hono";
import { DurableRunHost, isUnsupportedByHost } from "./durable-run-host.ts";
import type { Env } from "./triggers.ts";
import { apiWorkflows } from "./workflows.ts";

/** The routes, as `GET /` lists them. */
const routes = [
  "GET /workflows",
  "GET /workflows/:name",
  "POST /workflows/:name/runs { input }   (token)",
  "GET /runs/:id   (token)",
  "GET /runs/:id/events   (token; server-sent events)",
  "POST /runs/:id/cancel { reason? }   (token)",
  "POST /runs/:id/resume   (token)",
];

/** One app per environment object: bindings do not change while an isolate lives. */
const apps = new WeakMap<Env, Hono>();

/** The example API for the Worker's `env` (built on first use). */
export function exampleApi(env: Env): Hono {
  let app = apps.get(env);
  if (app === undefined) {
    app = buildApi(env);
    apps.set(env, app);
  }
  return app;
}

function buildApi(env: Env): Hono {
  const api = createApi({
    workflows: apiWorkflows,
    host: new DurableRunHost({
      namespace: env.RUN_HOST,
      ...(env.CANO_API_TOKEN === undefined ? {} : { idempotencySecret: env.CANO_API_TOKEN }),
    }),
    // Cron run ids are predictable, so reading a run needs the token too.
    protectReads: true,
    onError: (error) => {
      if (!isUnsupportedByHost(error)) console.error("HTTP API: unexpected error", error);
    },
  });

  const app = new Hono();
  app.use(async (c, next) => {
    if (decodable(new URL(c.req.url).pathname)) return next();
    return c.json(
      { error: { code: "invalid_request", message: "The request path is not valid percent-encoded UTF-8." } },
      400,
    );
  });
  app.use(async (c, next) => {
    await next();
    // Raised by the host after the API's own checks (token included) passed: a 501, not a 500.
    if (isUnsupportedByHost(c.error)) {
      c.res = undefined;
      c.res = c.json({ error: { code: "not_implemented", message: c.error.message } }, 501);
    }
  });
  app.get("/", (c) => c.json({ workflows: Object.keys(apiWorkflows), routes }));
  app.route("/", api);
  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}.` } }, 404),
  );
  app.onError((error, c) => {
    console.error("example Worker: unexpected error", error);
    return c.json({ error: { code: "internal", message: "The Worker failed to handle this request." } }, 500);
  });
  return app;
}

/** True when `path` decodes (no stray `%` or broken UTF-8 sequence). */
function decodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
