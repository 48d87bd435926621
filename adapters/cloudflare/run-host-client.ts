import type { DurableObjectNamespaceLike, DurableObjectStubLike } from "./platform.ts";
import type { RunHostErrorCode } from "./run-host-error.ts";
import { RunHostRequestError, runHostErrorStatus } from "./run-host-error.ts";
import type { DurableRunInfo } from "./run-record.ts";

/** Any host: the stub's requests never leave the object, so the origin is a placeholder. */
const origin = "https://run-host.internal";

/** Options of {@link RunHostClient.events}. */
export interface RunHostEventsOptions {
  /** Only events with a greater id (a dropped stream's `Last-Event-ID`). Default 0: the whole history. */
  readonly after?: number;
  /** Aborts the request: the stream ends and the host forgets the subscriber. */
  readonly signal?: AbortSignal;
}

/**
 * Talks to one run host object through its stub: `start`, `status`, `cancel`, `events`. Refusals
 * are {@link RunHostRequestError}s carrying the host's code and HTTP status.
 *
 * @example
 * const run = RunHostClient.forRun(env.RUN_HOST, "order-42");
 * await run.start("orders", { sku: "A-1" });
 * return run.events(); // a text/event-stream Response, ready to return from a Worker
 */
export class RunHostClient {
  readonly #stub: DurableObjectStubLike;
  readonly #runId: string | undefined;

  /** A client for the run whose object is reached by the name `runId` (and whose run id it becomes). */
  static forRun(namespace: DurableObjectNamespaceLike, runId: string): RunHostClient {
    return new RunHostClient(namespace.get(namespace.idFromName(runId)), runId);
  }

  constructor(stub: DurableObjectStubLike, runId?: string) {
    this.#stub = stub;
    this.#runId = runId;
  }

  /** Starts the run; refused with `unknown_workflow` (404), `invalid_request` (400) or `conflict` (409). */
  async start(workflow: string, input?: unknown): Promise<DurableRunInfo> {
    const body = { workflow, input, ...(this.#runId === undefined ? {} : { runId: this.#runId }) };
    return this.#json("POST", "/start", JSON.stringify(body));
  }

  /** The run, or `undefined` when the object has none. */
  async status(): Promise<DurableRunInfo | undefined> {
    return this.#optional("/status");
  }

  /** Waits until the run has ended or sleeps on an alarm, then returns it (`undefined`: no run). */
  async idle(): Promise<DurableRunInfo | undefined> {
    return this.#optional("/status?wait=idle");
  }

  /** Stops the run (completed saga steps are compensated); resolves once it has ended. */
  async cancel(): Promise<DurableRunInfo> {
    return this.#json("POST", "/cancel");
  }

  /** The run's events as a `text/event-stream` response: history after `after`, then live, then `end`. */
  async events(options: RunHostEventsOptions = {}): Promise<Response> {
    const query = options.after === undefined ? "" : `?after=${options.after}`;
    const response = await this.#stub.fetch(`${origin}/events${query}`, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (!response.ok) throw await refusal(response);
    return response;
  }

  async #optional(path: string): Promise<DurableRunInfo | undefined> {
    const response = await this.#stub.fetch(`${origin}${path}`);
    if (response.status === runHostErrorStatus.unknown_run) {
      const error = await refusal(response);
      if (error.code === "unknown_run") return undefined;
      throw error;
    }
    if (!response.ok) throw await refusal(response);
    return (await response.json()) as DurableRunInfo;
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
