import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { CanoError } from "../../core/index.ts";
import { ApiError, internalError, toApiError } from "./api-error.ts";
import type { ApiWorkflows } from "./api-workflow.ts";
import { checkWorkflows } from "./api-workflow.ts";
import { requireToken } from "./auth.ts";
import { startBodySchemas } from "./body.ts";
import type { RunHost } from "./run-host.ts";
import { runRoutes } from "./run-routes.ts";
import { workflowRoutes } from "./workflow-routes.ts";

/** The options of `hono/cors`, passed through when CORS is turned on. */
export type CorsOptions = NonNullable<Parameters<typeof cors>[0]>;

/** What {@link createApi} is built with. */
export interface ApiOptions {
  /** The workflows clients may start, by name (the same object the host runs). */
  readonly workflows: ApiWorkflows;
  /** Where runs execute: an `InProcessRunHost`, or a Durable Object host on Cloudflare. */
  readonly host: RunHost;
  /**
   * The bearer token mutating routes (and `GET /runs`) require. When absent, the `tokenBinding`
   * binding of the platform's `env` is read per request (Workers); with neither, those routes refuse.
   */
  readonly token?: string;
  /** The `env` binding holding the token. Default `"CANO_API_TOKEN"`. */
  readonly tokenBinding?: string;
  /** Development only: with no token configured, let mutating routes through. Default false. */
  readonly allowUnauthenticated?: boolean;
  /**
   * Also require the token to read a run (`GET /runs/:id`, its events). Default false: a run id is a
   * random UUID, so knowing it is the capability to read the run (browsers' `EventSource` cannot send headers).
   */
  readonly protectReads?: boolean;
  /** Largest accepted request body; bigger ones get 413. Default 65 536. */
  readonly maxBodyBytes?: number;
  /** Turns CORS on with these `hono/cors` options. Default: off (no CORS headers at all). */
  readonly cors?: CorsOptions;
  /**
   * Interval of keep-alive comments on event streams, in milliseconds. Default 15 000. A client that
   * stays connected but stops reading is dropped once a write has waited 4 intervals.
   */
  readonly heartbeatMs?: number;
  /** Receives unexpected errors (the client gets a fixed 500 message). Default: `console.error`. */
  readonly onError?: (error: unknown) => void;
}

const defaults = {
  tokenBinding: "CANO_API_TOKEN",
  allowUnauthenticated: false,
  protectReads: false,
  maxBodyBytes: 64 * 1024,
  heartbeatMs: 15_000,
  onError: (error: unknown) => console.error("HTTP API: unexpected error", error),
};

/**
 * An HTTP API over workflow runs, as a Hono app that runs unchanged on Workers (`export default app`)
 * and on Node (`serve({ fetch: app.fetch })` from `@hono/node-server`). JSON in and out; errors are
 * `{ error: { code, message } }`; mutating routes need `Authorization: Bearer <token>`.
 *
 * @example
 * const workflows = { order: apiWorkflow({ workflow: orderFlow, initial: "reserve", input: Order }) };
 * const app = createApi({ workflows, host: new InProcessRunHost({ workflows }), token: process.env.CANO_API_TOKEN });
 */
export function createApi(options: ApiOptions): Hono {
  const settings = { ...defaults, ...options } satisfies Required<Omit<ApiOptions, "token" | "cors">>;
  checkWorkflows(settings.workflows, "createApi");
  const startSchemas = startBodySchemas(settings.workflows, "createApi");
  if (typeof settings.host?.start !== "function")
    throw new CanoError(
      "configuration",
      "createApi: expected a host (e.g. new InProcessRunHost({ workflows }))",
    );
  if (settings.token !== undefined && !/^[A-Za-z0-9\-._~+/]+=*$/.test(settings.token)) {
    throw new CanoError(
      "configuration",
      "createApi: token must be a non-empty bearer token (letters, digits and -._~+/ only)",
    );
  }
  if (!(Number.isSafeInteger(settings.maxBodyBytes) && settings.maxBodyBytes > 0)) {
    throw new CanoError(
      "configuration",
      `createApi: maxBodyBytes must be an integer > 0, received ${settings.maxBodyBytes}`,
    );
  }

  if (!(Number.isSafeInteger(settings.heartbeatMs) && settings.heartbeatMs > 0)) {
    throw new CanoError(
      "configuration",
      `createApi: heartbeatMs must be an integer > 0, received ${settings.heartbeatMs}`,
    );
  }

  const app = new Hono();
  app.use(async (c, next) => {
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "no-store");
    await next();
  });
  if (options.cors !== undefined) app.use(cors(options.cors));

  const auth = requireToken({
    token: settings.token,
    tokenBinding: settings.tokenBinding,
    allowUnauthenticated: settings.allowUnauthenticated,
  });
  const limit = bodyLimit({
    maxSize: settings.maxBodyBytes,
    onError: () => {
      throw new ApiError(
        413,
        "payload_too_large",
        `HTTP API: the body is larger than the limit of ${settings.maxBodyBytes} bytes`,
      );
    },
  });
  const guards = { auth, limit, readAuth: settings.protectReads ? auth : undefined };
  workflowRoutes(app, settings.workflows, startSchemas, settings.host, guards);
  runRoutes(app, settings.workflows, settings.host, guards, settings);

  app.notFound((c) =>
    c.json(
      new ApiError(404, "not_found", `HTTP API: no route for ${c.req.method} ${c.req.path}`).body(),
      404,
    ),
  );
  app.onError((error, c) => {
    const known = toApiError(error);
    if (known === undefined) settings.onError(error);
    const failure = known ?? internalError;
    for (const [name, value] of Object.entries(failure.headers ?? {})) c.header(name, value);
    return c.json(failure.body(), failure.status);
  });
  return app;
}
