import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isRunHostError } from "./run-host.ts";

/** The `code` of an API error body. */
export type ApiErrorCode =
  | "malformed_json"
  | "invalid_body"
  | "invalid_query"
  | "invalid_request"
  | "unauthorized"
  | "invalid_token"
  | "auth_not_configured"
  | "not_found"
  | "unknown_workflow"
  | "unknown_run"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "internal";

/** One problem with a request body or query: where (a dotted path such as `input.items[0].sku`) and what. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Every error response: `{ error: { code, message } }`, plus `issues` for a body that failed validation. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    readonly issues?: readonly FieldIssue[];
  };
}

/** @internal An error with its HTTP status, thrown by handlers and turned into JSON by the app's error handler. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: ApiErrorCode;
  readonly issues: readonly FieldIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: ApiErrorCode,
    message: string,
    extra: { readonly issues?: readonly FieldIssue[]; readonly headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.issues = extra.issues;
    this.headers = extra.headers;
  }

  /** The response body; never a stack trace. */
  body(): ApiErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues === undefined ? {} : { issues: this.issues }),
      },
    };
  }
}

const hostStatus = { unknown_workflow: 404, unknown_run: 404, conflict: 409, invalid_request: 400 } as const;

/**
 * @internal Any thrown value as an {@link ApiError}: API and run-host errors keep their code and
 * message; anything else is a 500 whose message says nothing about the internals.
 */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  // Another host may use codes this API does not know (e.g. a corrupt log): those stay internal.
  if (isRunHostError(error) && Object.hasOwn(hostStatus, error.code))
    return new ApiError(hostStatus[error.code], error.code, error.message);
  return undefined;
}

/** @internal The body of an unexpected failure: fixed text, so nothing internal leaks. */
export const internalError = new ApiError(
  500,
  "internal",
  "HTTP API: the server failed to handle this request; the error was logged on the server",
);
