import { isCanoError } from "../../core/errors.ts";

/** What a run host refuses: the `code` of a {@link RunHostRequestError}. */
export type RunHostErrorCode =
  | "unknown_workflow"
  | "unknown_run"
  | "conflict"
  | "invalid_request"
  | "payload_too_large"
  | "corrupt"
  | "internal";

/** The HTTP status each {@link RunHostErrorCode} is answered with. */
export const runHostErrorStatus = {
  unknown_workflow: 404,
  unknown_run: 404,
  conflict: 409,
  invalid_request: 400,
  payload_too_large: 413,
  corrupt: 500,
  internal: 500,
} as const satisfies Record<RunHostErrorCode, number>;

// The same brand as the HTTP adapter's RunHostError, so its `isRunHostError` recognises these too.
const brand = Symbol.for("cano.run_host_error");

/** A request a run host refused (unknown workflow, second start, bad body, …), with its HTTP status. */
export class RunHostRequestError extends Error {
  /** What went wrong. */
  readonly code: RunHostErrorCode;
  /** The HTTP status it is answered with. */
  readonly status: number;
  /** @internal recognised across duplicated package copies. */
  readonly [brand] = true;

  constructor(code: RunHostErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "RunHostRequestError";
    this.code = code;
    this.status = runHostErrorStatus[code];
  }
}

/** True for any {@link RunHostRequestError}, even one from another copy of the package. */
export function isRunHostRequestError(value: unknown): value is RunHostRequestError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { [brand]?: unknown })[brand] === true &&
    typeof (value as { status?: unknown }).status === "number"
  );
}

/** SQLite's refusal of a value above its size limit (2 MB per string or blob in a Durable Object). */
const tooBig = /SQLITE_TOOBIG|string or blob too big/i;

/**
 * @internal Any thrown value as the error a run host answers with: corrupt storage is `corrupt`, a value
 * SQLite refuses as too big is `payload_too_large`, the rest `internal`.
 */
export function asRunHostError(error: unknown): RunHostRequestError {
  if (isRunHostRequestError(error)) return error;
  if (isCanoError(error) && error.code === "checkpoint_corrupt") {
    return new RunHostRequestError("corrupt", error.message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (tooBig.test(message)) {
    return new RunHostRequestError(
      "payload_too_large",
      "RunHost: the run is too large to store: a Durable Object's SQLite keeps at most 2 MB per value, " +
        `and the run record (with its input) is bigger. Send a smaller input. (${message})`,
      { cause: error },
    );
  }
  return new RunHostRequestError("internal", `RunHost: ${message}`, { cause: error });
}

/** @internal The refusal of a request about a run this object never started. */
export function noRunError(): RunHostRequestError {
  return new RunHostRequestError("unknown_run", "RunHost: this object has no run; start one first.");
}

/** @internal The JSON error response for `error`: `{ error: { code, message } }` with its status. */
export function errorResponse(error: unknown): Response {
  const refused = asRunHostError(error);
  return Response.json(
    { error: { code: refused.code, message: refused.message } },
    { status: refused.status },
  );
}
