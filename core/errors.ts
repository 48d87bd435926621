/** Every kind of failure Cano reports; `CanoError.code` is one of these. */
export const canoErrorCodes = [
  "task_execution",
  "retry_exhausted",
  "timeout",
  "workflow_timeout",
  "circuit_open",
  "rate_limited",
  "cancelled",
  "configuration",
  "workflow",
  "checkpoint_store",
  "checkpoint_corrupt",
  "workflow_version_mismatch",
  "compensation_failed",
  "orphaned_compensation",
  "store",
  "resource",
] as const;

/** The `code` of a {@link CanoError}. */
export type CanoErrorCode = (typeof canoErrorCodes)[number];

/** Where and how an error happened; every field is optional. */
export interface CanoErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** The state whose task failed. */
  readonly state?: string;
  /** The attempt number (1-based) that failed; 0 when no attempt was made (circuit open, cancelled). */
  readonly attempt?: number;
  /** The states visited in this run, ending with the failing one. */
  readonly path?: readonly string[];
  /** The run the error belongs to. */
  readonly workflowId?: string;
  /** The checkpoint sequence involved, for checkpoint errors. */
  readonly sequence?: number;
  /** For `compensation_failed`: the original error followed by every compensation error, in drain order. */
  readonly errors?: readonly CanoError[];
  /** Anything else worth keeping, as plain JSON-friendly data (e.g. `{ tier, retryAfterMs }`). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The JSON form of a {@link CanoError}, as carried by events and HTTP responses. */
export interface CanoErrorJson {
  readonly code: CanoErrorCode;
  readonly message: string;
  readonly state?: string;
  readonly attempt?: number;
  readonly path?: readonly string[];
  readonly workflowId?: string;
  readonly sequence?: number;
  readonly errors?: readonly CanoErrorJson[];
  readonly details?: Readonly<Record<string, unknown>>;
}

const brand = Symbol.for("cano.error");

/**
 * The one error type Cano throws. `code` says what kind of failure it is; `state`, `attempt` and
 * `path` say where it happened in a run; `cause` keeps the underlying error.
 *
 * @example
 * try { await wf.orchestrate("fetch") }
 * catch (e) { if (isCanoError(e) && e.code === "retry_exhausted") console.log(e.state, e.attempt) }
 */
export class CanoError extends Error {
  /** What kind of failure this is. */
  readonly code: CanoErrorCode;
  /** The state whose task failed. */
  readonly state: string | undefined;
  /** The attempt that failed (1-based); 0 when none was made (circuit open, cancelled, timed out). */
  readonly attempt: number | undefined;
  /** The states the run entered, ending with the failing one. */
  readonly path: readonly string[] | undefined;
  /** The run the error belongs to. */
  readonly workflowId: string | undefined;
  /** The checkpoint sequence involved, for checkpoint errors. */
  readonly sequence: number | undefined;
  /** For `compensation_failed`: the original error, then every compensation error in drain order. */
  readonly errors: readonly CanoError[] | undefined;
  /** Extra plain data, e.g. `{ tier, retryAfterMs }` or `{ taskId, output }`. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** @internal recognised by {@link isCanoError} across duplicated package copies. */
  readonly [brand] = true;

  constructor(code: CanoErrorCode, message: string, options: CanoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CanoError";
    this.code = code;
    this.state = options.state;
    this.attempt = options.attempt;
    this.path = options.path;
    this.workflowId = options.workflowId;
    this.sequence = options.sequence;
    this.errors = options.errors;
    this.details = options.details;
  }

  /** Plain data for events, logs and HTTP bodies; never includes a stack trace. */
  toJSON(): CanoErrorJson {
    const json: { -readonly [K in keyof CanoErrorJson]: CanoErrorJson[K] } = {
      code: this.code,
      message: this.message,
    };
    if (this.state !== undefined) json.state = this.state;
    if (this.attempt !== undefined) json.attempt = this.attempt;
    if (this.path !== undefined) json.path = this.path;
    if (this.workflowId !== undefined) json.workflowId = this.workflowId;
    if (this.sequence !== undefined) json.sequence = this.sequence;
    if (this.errors !== undefined) json.errors = this.errors.map((e) => e.toJSON());
    // Through JSON so the result is plain data (an `undefined` field would not survive a checkpoint).
    if (this.details !== undefined)
      json.details = JSON.parse(JSON.stringify(this.details)) as Record<string, unknown>;
    return json;
  }
}

/**
 * Thrown by a task to say "do not retry this": the retry loop gives up at once, whatever the
 * task's retry policy or `retryIf` says.
 */
export class PermanentError extends CanoError {
  constructor(message: string, options: Pick<CanoErrorOptions, "cause" | "details"> = {}) {
    super("task_execution", message, options);
    this.name = "PermanentError";
  }
}

/** True for any {@link CanoError}, even one from another copy of the package. */
export function isCanoError(value: unknown): value is CanoError {
  return typeof value === "object" && value !== null && (value as { [brand]?: unknown })[brand] === true;
}

/** True for any {@link PermanentError}, even one from another copy of the package. */
export function isPermanentError(value: unknown): value is PermanentError {
  return isCanoError(value) && value.name === "PermanentError";
}

/** A short description of any thrown value, for messages: `Error: boom`, `"text"`, `42`. */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.message === "" ? value.name : `${value.name}: ${value.message}`;
  if (typeof value === "string") return JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
  }
}

/** Errors the engine made itself and has not handed out yet: the run may add its context to them. */
const engineMade = new WeakSet<CanoError>();

/** @internal A new CanoError made by the engine (not by user code). */
export function engineError(code: CanoErrorCode, message: string, options?: CanoErrorOptions): CanoError {
  const error = new CanoError(code, message, options);
  engineMade.add(error);
  return error;
}

/**
 * @internal A thrown value as a CanoError: CanoErrors pass through, anything else (an Error, a string,
 * `undefined`) becomes `task_execution` keeping the value as `cause`.
 */
export function toCanoError(value: unknown, where: string): CanoError {
  if (isCanoError(value)) return value;
  const kind = value instanceof Error ? "threw" : `threw a non-Error value (${typeof value})`;
  return engineError("task_execution", `${where} ${kind}: ${describeThrown(value)}`, { cause: value });
}

/** @internal The fields that say where an error happened, to make a new error about the same failure. */
export function contextOf(error: CanoError): CanoErrorOptions {
  const { state, attempt, path, sequence, details } = error;
  return { state, attempt, path, sequence, details };
}

/** Where in a run an error happened. */
export interface RunContext {
  readonly state: string;
  readonly attempt: number;
  readonly path: readonly string[];
  readonly workflowId: string;
}

/**
 * @internal The error a failed run reports: same code and message plus where it happened. An error
 * the engine made is replaced (keeping its cause); a user's CanoError becomes the cause. Never wraps
 * twice.
 */
export function withRunContext(error: CanoError, context: RunContext): CanoError {
  if (error.state !== undefined) return error;
  const where = `state "${context.state}", attempt ${context.attempt}, path ${context.path.join(" → ")}`;
  return new CanoError(error.code, `${error.message} [${where}]`, {
    cause: engineMade.has(error) ? error.cause : error,
    errors: error.errors,
    details: error.details,
    sequence: error.sequence,
    ...context,
  });
}
