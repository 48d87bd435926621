import { CanoError, describeThrown, isCanoError } from "../../core/errors.ts";

/** Why an IndexedDB operation failed, as `details.reason` of the error it becomes. */
export type StorageFailure =
  | "quota_exceeded"
  | "connection_lost"
  | "blocked"
  | "version"
  | "aborted"
  | "not_cloneable"
  | "io";

/** Why the connection is no longer usable; set once, by the database's event handlers. */
export interface ConnectionLoss {
  /** What happened, as a sentence fragment: "was deleted or upgraded by another connection (…)". */
  readonly what: string;
  /** When it happened, in milliseconds since the epoch. */
  readonly at: number;
}

/** Where a failure happened, for the message. */
export interface FailureContext {
  /** The component that failed, e.g. `IndexedDbCheckpointStore`. */
  readonly component: string;
  /** What it was doing, e.g. `append row 3 to run "a"`. */
  readonly action: string;
  /** The database's name. */
  readonly database: string;
  /** The run concerned, if any. */
  readonly workflowId?: string;
  /** The checkpoint sequence concerned, if any. */
  readonly sequence?: number;
  /** Set when the connection was lost before or during the operation. */
  readonly lost?: ConnectionLoss;
}

/** The DOMException (or Error) name of a thrown value, if it has one. */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const name: unknown = (error as { name?: unknown }).name;
  return typeof name === "string" ? name : undefined;
}

/** A thrown value (or the event that stands for one, such as "blocked") for a message. */
function describeCause(error: unknown): string {
  if (typeof Event === "function" && error instanceof Event)
    return `the browser fired a "${error.type}" event`;
  return describeThrown(error);
}

/** Classifies a thrown IndexedDB error; a lost connection wins over whatever the browser said. */
export function classify(error: unknown, lost: ConnectionLoss | undefined): StorageFailure {
  if (lost !== undefined) return "connection_lost";
  switch (errorName(error)) {
    case "QuotaExceededError":
      return "quota_exceeded";
    case "InvalidStateError":
      return "connection_lost";
    case "VersionError":
      return "version";
    case "AbortError":
    case "TransactionInactiveError":
      return "aborted";
    case "DataCloneError":
      return "not_cloneable";
    default:
      return "io";
  }
}

/** What to do about each failure, for the end of the message. */
const advice: Record<StorageFailure, string> = {
  quota_exceeded:
    "The origin's storage quota is exhausted: clear finished runs or other site data, or ask for more room with navigator.storage.persist(). Nothing was written.",
  connection_lost:
    "Nothing more can be read or written through this connection: reload the page (or open the database again) and resume the run.",
  blocked:
    "Another tab or connection keeps an older version of the database open and did not close it: close or reload the other tabs of this site, then try again.",
  version:
    "The database was created by a newer version of this code: update the page (a hard reload) rather than downgrading the data.",
  aborted: "The transaction was aborted, so nothing it wrote was kept; the operation can be retried.",
  not_cloneable:
    "Values must be structured-cloneable (plain objects, arrays, Map, Set, Date, typed arrays; no functions or symbols).",
  io: "The browser could not complete the operation (a disk or internal error); nothing it wrote was kept.",
};

/**
 * @internal A CanoError with `code` for an IndexedDB failure, keeping the browser's error as `cause`
 * and naming the database, run and reason. CanoErrors pass through unchanged.
 */
export function storageError(
  code: "checkpoint_store" | "store",
  context: FailureContext,
  error: unknown,
  failure: StorageFailure = classify(error, context.lost),
): CanoError {
  if (isCanoError(error)) return error;
  const lostWhat = context.lost === undefined ? "" : ` The database ${context.lost.what}.`;
  const cause = error === undefined ? "" : `: ${describeCause(error)}`;
  return new CanoError(
    code,
    `${context.component}: could not ${context.action} in IndexedDB database "${context.database}"${cause}.${lostWhat} ${advice[failure]}`,
    {
      ...(error === undefined ? {} : { cause: error }),
      ...(context.workflowId === undefined ? {} : { workflowId: context.workflowId }),
      ...(context.sequence === undefined ? {} : { sequence: context.sequence }),
      details: {
        database: context.database,
        reason: failure,
        ...(errorName(error) === undefined ? {} : { error: errorName(error) }),
      },
    },
  );
}
