import type { DurableObjectNamespaceLike, DurableObjectStubLike } from "./platform.ts";
import type { RunHostErrorCode } from "./run-host-error.ts";
import { RunHostRequestError, runHostErrorStatus } from "./run-host-error.ts";
import { checkedRunId } from "./run-host-input.ts";
import type { DurableRunDetails, DurableRunInfo } from "./run-record.ts";

/** Any host: the stub's requests never leave the object, so the origin is a placeholder. */
const origin = "https://run-host.internal";

/** Options of {@link RunHostClient.events}. */
export interface RunHostEventsOptions {
  /** Only events with a greater id (a dropped stream's `Last-Event-ID`). Default 0: the whole history. */
  readonly after?: number;
  /** Aborts the request: the stream ends and the host forgets the subscriber. */
  readonly signal?: AbortSignal;
  /** Close the stream once the stored history is sent, instead of following the run live. */
  readonly historyOnly?: boolean;
}

/**
 * Talks to one run host object through its stub: `start`, `status`, `details`, `cancel`, `resume`,
 * `events`. Refusals are {@link RunHostRequestError}s carrying the host's code and HTTP status.
 *
 * @example
 * const run = RunHostClient.forRun(env.RUN_HOST, "order-42");
 * await run.start("orders", { sku: "A-1" });
 * return run.events(); // a text/event-stream Response, ready to return from a Worker
 */
export class RunHostClient {
  readonly #stub: DurableObjectStubLike;
  readonly #runId: string | undefined;

  /**
   * A client for the run whose object is reached by the name `runId` (and whose run id it becomes).
   * An id that is not 1–256 characters of text is refused (`invalid_request`) before any object is reached.
   */
  static forRun(namespace: DurableObjectNamespaceLike, runId: string): RunHostClient {
    const checked = checkedRunId(runId);
    return new RunHostClient(namespace.get(namespace.idFromName(checked)), checked);
  }

  constructor(stub: DurableObjectStubLike, runId?: string) {
    this.#stub = stub;
    this.#runId = runId;
  }

  /**
   * Starts the run; refused with `unknown_workflow` (404), `invalid_request` (400), `payload_too_large`
   * (413) or `conflict` (409).
   */
  async start(workflow: string, input?: unknown): Promise<DurableRunInfo> {
    const body = { workflow, input, ...(this.#runId === undefined ? {} : { runId: this.#runId }) };
    return this.#json("POST", "/start", JSON.stringify(body));
  }

  /** The run, or `undefined` when the object has none. */
  async status(): Promise<DurableRunInfo | undefined> {
    return this.#optional("/status");
  }

  /** The run with the states it visited, or `undefined` when the object has none. */
  async details(): Promise<DurableRunDetails | undefined> {
    return this.#optional("/status?history=1");
  }

  /** Waits until the run has ended or all of its work sleeps on an alarm, then returns it (`undefined`: no run). */
  async idle(): Promise<DurableRunInfo | undefined> {
    return this.#optional("/status?wait=idle");
  }

  /**
   * Stops the run (completed saga steps are compensated); resolves once it has ended or waits on an
   * alarm. A finished run is a `conflict` (409), an unknown one `unknown_run` (404).
   */
  async cancel(reason?: string): Promise<DurableRunInfo> {
    return this.#json("POST", "/cancel", reason === undefined ? undefined : JSON.stringify({ reason }));
  }

  /**
   * Continues a failed or cancelled run from its checkpoint rows; refused with `conflict` (409) for a
   * run that is going, completed or has no rows, `unknown_workflow` (404) when its workflow is gone.
   */
  async resume(): Promise<DurableRunInfo> {
    return this.#json("POST", "/resume");
  }

  /** The run's events as a `text/event-stream` response: history after `after`, then live, then `end`. */
  async events(options: RunHostEventsOptions = {}): Promise<Response> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set("after", String(options.after));
    if (options.historyOnly === true) query.set("history", "only");
    const search = query.toString() === "" ? "" : `?${query}`;
    const response = await this.#stub.fetch(`${origin}/events${search}`, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (!response.ok) throw await refusal(response);
    return response;
  }

  async #optional<T extends DurableRunInfo>(path: string): Promise<T | undefined> {
    const response = await this.#stub.fetch(`${origin}${path}`);
    if (response.status === runHostErrorStatus.unknown_run) {
      const error = await refusal(response);
      if (error.code === "unknown_run") return undefined;
      throw error;
    }
    if (!response.ok) throw await refusal(response);
    return (await response.json()) as T;
  }

  async #json(method: string, path: string, body?: string): Promise<DurableRunInfo> {
    const response = await this.#stub.fetch(`${origin}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
    });
    if (!response.ok) throw await refusal(response);
    return (await response.json()) as DurableRunInfo;
  }
}

const codes = new Set<string>(Object.keys(runHostErrorStatus));

/** The host's `{ error: { code, message } }` body as a {@link RunHostRequestError}. */
async function refusal(response: Response): Promise<RunHostRequestError> {
  const text = await response.text();
  let code: RunHostErrorCode = "internal";
  let message = `RunHost: HTTP ${response.status}: ${text.slice(0, 200)}`;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === "string" && codes.has(parsed.error.code))
      code = parsed.error.code as RunHostErrorCode;
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
  } catch {
    // Not the host's error body (e.g. a platform error page): keep the raw text.
  }
  return new RunHostRequestError(code, message);
}
