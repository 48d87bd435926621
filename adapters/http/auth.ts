import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { ApiError } from "./api-error.ts";

/** How mutating routes authenticate; see `ApiOptions`. */
export interface AuthSettings {
  /** The token from the options; when absent, the environment binding is read per request. */
  readonly token: string | undefined;
  /** The name of the environment binding holding the token (Workers `env`). */
  readonly tokenBinding: string;
  /** Development only: with no token configured anywhere, let requests through. */
  readonly allowUnauthenticated: boolean;
}

/** RFC 6750 `b64token`: what a bearer token may contain. */
const bearer = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * @internal Requires `Authorization: Bearer <token>`, compared in constant time. 401 without a usable
 * header or with a wrong token; 403 when no token is configured at all (unless explicitly allowed),
 * with a message saying how to configure one.
 */
export function requireToken(settings: AuthSettings): MiddlewareHandler {
  return async (c, next) => {
    const expected = settings.token ?? tokenFromEnv(c, settings.tokenBinding);
    if (expected === undefined) {
      if (settings.allowUnauthenticated) return next();
      throw new ApiError(
        403,
        "auth_not_configured",
        `HTTP API: ${c.req.method} ${c.req.path} needs a bearer token, and none is configured. ` +
          `Pass createApi({ token }) (e.g. token: process.env.${settings.tokenBinding}) or set the ` +
          `${settings.tokenBinding} binding on Workers, then send "Authorization: Bearer <token>". ` +
          "For local development only, createApi({ allowUnauthenticated: true }) turns the check off.",
      );
    }
    const header = c.req.header("authorization");
    const given = header === undefined ? undefined : bearer.exec(header)?.[1];
    if (given === undefined) {
      throw new ApiError(
        401,
        "unauthorized",
        `HTTP API: ${c.req.method} ${c.req.path} needs "Authorization: Bearer <token>", received ${
          header === undefined ? "no Authorization header" : "a header in another form"
        }`,
        { headers: { "WWW-Authenticate": 'Bearer realm="cano"' } },
      );
    }
    if (!(await timingSafeEqual(expected, given))) {
      throw new ApiError(401, "invalid_token", "HTTP API: the bearer token is not the configured one", {
        headers: { "WWW-Authenticate": 'Bearer realm="cano", error="invalid_token"' },
      });
    }
    return next();
  };
}

/** The token from the platform's environment (Workers bindings), when it is a non-empty string. */
function tokenFromEnv(c: Context, binding: string): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== "object" || env === null) return undefined;
  const value: unknown = (env as Record<string, unknown>)[binding];
  return typeof value === "string" && value !== "" ? value : undefined;
}
