import { checkWorkflowId } from "../../core/checkpoint.ts";
import { CanoError, describeThrown, isCanoError } from "../../core/errors.ts";

/**
 * `"wait"`: queue behind the tab driving the run; `"fail"`: reject at once with a lease error. On page
 * load prefer `"wait"`: right after a reload, the previous page of the same tab may hold the lease
 * for a moment longer.
 */
export type TabLeaseMode = "wait" | "fail";

/** The part of the Web Locks API (`navigator.locks`) the lease uses. */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { readonly mode?: "exclusive"; readonly ifAvailable?: boolean; readonly signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>;
}

/** Fields every lease event carries. */
interface LeaseEventBase {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly workflowId: string;
  /** The Web Lock's name. */
  readonly lockName: string;
}

/**
 * What the lease does, for logs and UIs ("running in another tab…"). `lease_unavailable` is a
 * warning: there is no `navigator.locks` here, so the run goes ahead without a lease.
 */
export type TabLeaseEvent =
  | (LeaseEventBase & { readonly type: "lease_waiting" })
  | (LeaseEventBase & { readonly type: "lease_acquired"; readonly waitedMs: number })
  | (LeaseEventBase & { readonly type: "lease_released" })
  | (LeaseEventBase & { readonly type: "lease_unavailable"; readonly reason: string });

/** Options of {@link withTabLease}. */
export interface TabLeaseOptions {
  /** What to do when another tab holds the run. Default `"wait"`. */
  readonly mode?: TabLeaseMode;
  /** Stops waiting for the lease (mode `"wait"`); the call rejects with a `cancelled` error. */
  readonly signal?: AbortSignal;
  /** Receives lease events. Default: `lease_unavailable` is logged with `console.warn`. */
  readonly onEvent?: (event: TabLeaseEvent) => void;
  /** The lock manager. Default `navigator.locks`; `null` runs without a lease (and says so). */
  readonly locks?: LockManagerLike | null;
  /** The Web Lock's name. Default `cano:run:<workflowId>`. */
  readonly lockName?: string;
}

const component = "withTabLease";

/** The default lock manager, when this environment has one. */
function defaultLocks(): LockManagerLike | undefined {
  const nav: unknown = (globalThis as { navigator?: unknown }).navigator;
  const locks: unknown =
    typeof nav === "object" && nav !== null ? (nav as { locks?: unknown }).locks : undefined;
  return typeof locks === "object" &&
    locks !== null &&
    typeof (locks as LockManagerLike).request === "function"
    ? (locks as LockManagerLike)
    : undefined;
}

/** True when `error` is the rejection of a `"fail"`-mode lease because another tab drives the run. */
export function isTabLeaseHeld(error: unknown): boolean {
  return isCanoError(error) && error.details?.lease === "held";
}

function heldError(workflowId: string, lockName: string): CanoError {
  return new CanoError(
    "checkpoint_store",
    `${component}: run "${workflowId}" is being driven by another tab (its Web Lock "${lockName}" is held). ` +
      `Wait for it with { mode: "wait" }, or tell the user the run continues in the other tab.`,
    { workflowId, details: { conflict: true, lease: "held", lockName } },
  );
}

/**
 * Runs `drive` while this tab holds the run's lease, a Web Lock (`navigator.locks`), so at most one
 * tab drives a run at a time. The browser releases the lease when `drive` settles or the tab dies
 * (closed, reloaded, crashed). With another tab holding it, mode `"wait"` queues until it is free
 * and mode `"fail"` rejects at once with a `checkpoint_store` error (`isTabLeaseHeld(error)`).
 * Without Web Locks, `drive` runs unleased after a `lease_unavailable` warning event.
 *
 * @example
 * const final = await withTabLease(runId, () => wf.orchestrate("plan", { workflowId: runId }), { mode: "fail" });
 */
export async function withTabLease<T>(
  workflowId: string,
  drive: () => Promise<T>,
  options: TabLeaseOptions = {},
): Promise<T> {
  checkWorkflowId(workflowId, component, "configuration");
  const { mode = "wait", signal, onEvent } = options;
  if (mode !== "wait" && mode !== "fail") {
    throw new CanoError(
      "configuration",
      `${component}: mode must be "wait" or "fail", received ${describeThrown(mode)}.`,
    );
  }
  const lockName = options.lockName ?? `cano:run:${workflowId}`;
  const emit = (event: TabLeaseEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // A throwing listener must not change who drives the run.
    }
  };
  const locks = options.locks === undefined ? defaultLocks() : (options.locks ?? undefined);
  if (locks === undefined) {
    const event: TabLeaseEvent = {
      type: "lease_unavailable",
      at: Date.now(),
      workflowId,
      lockName,
      reason:
        "navigator.locks (the Web Locks API) is not available, so two tabs could drive this run at once",
    };
    if (onEvent === undefined)
      console.warn(`Cano ${component}: running "${workflowId}" without a lease: ${event.reason}.`);
    emit(event);
    return drive();
  }
  if (isAborted(signal)) throw cancelled(workflowId, signal);
  const start = Date.now();
  let started = false;
  const held = (): Promise<T> => {
    started = true;
    emit({ type: "lease_acquired", at: Date.now(), workflowId, lockName, waitedMs: Date.now() - start });
    return drive();
  };
  try {
    // First without waiting, to tell "free" from "held by another tab".
    type Attempt = { readonly held: true } | { readonly held: false; readonly value: T };
    const immediate = await locks.request<Attempt>(
      lockName,
      { mode: "exclusive", ifAvailable: true },
      (lock) =>
        lock === null ? Promise.resolve({ held: true }) : held().then((value) => ({ held: false, value })),
    );
    if (!immediate.held) return immediate.value;
    if (mode === "fail") throw heldError(workflowId, lockName);
    emit({ type: "lease_waiting", at: Date.now(), workflowId, lockName });
    return await locks.request(
      lockName,
      { mode: "exclusive", ...(signal === undefined ? {} : { signal }) },
      held,
    );
  } catch (error) {
    // The wait was given up before `drive` ran (the browser rejects with the signal's reason).
    if (!started && isAborted(signal)) throw cancelled(workflowId, signal);
    throw error;
  } finally {
    // Reported once the browser has let the lock go, so a listener may take it again at once.
    if (started) emit({ type: "lease_released", at: Date.now(), workflowId, lockName });
  }
}

/** A function, so TypeScript does not keep a narrowing of `aborted` across awaits. */
function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}

function cancelled(workflowId: string, signal: AbortSignal): CanoError {
  return new CanoError(
    "cancelled",
    `${component}: stopped waiting for the lease of run "${workflowId}": ${describeThrown(signal.reason)}`,
    { cause: signal.reason, workflowId },
  );
}
