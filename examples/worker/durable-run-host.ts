/**
 * The glue between `cano/http` and `cano/cloudflare`: http's `RunHost` port over run host Durable
 * Objects, one object per run, reached by the run id. It lives in the example Worker because adapters
 * never import each other and this is where both meet; `implements RunHost` has the compiler check
 * that the run host's `DurableRunInfo` / `DurableRunDetails` still fit http's `RunInfo` / `RunDetails`.
 *
 * Shows: starting, reading, cancelling and resuming runs through `RunHostClient`; an `Idempotency-Key`
 * turned into an unguessable run id; event streams relayed with `readRunStream`.
 */
import type { DurableObjectNamespaceLike } from "cano/cloudflare";
import { isRunHostRequestError, RunHostClient, readRunStream } from "cano/cloudflare";
import type {
  EventsOptions,
  RunDetails,
  RunEventRecord,
  RunHost,
  RunInfo,
  RunPage,
  StartOptions,
  StartResult,
} from "cano/http";
import { RunHostError } from "cano/http";

/** Run ids the API accepts: random UUIDs, `key-…` from an idempotency key, `cron:…` from a Cron Trigger. */
const runIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

const encoder = new TextEncoder();

/** A request the Durable Object host cannot answer (the API turns it into a 501). */
export class UnsupportedByHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedByHostError";
  }
}

/** True for an {@link UnsupportedByHostError}. */
export function isUnsupportedByHost(value: unknown): value is UnsupportedByHostError {
  return value instanceof UnsupportedByHostError;
}

/** What a {@link DurableRunHost} is built with. */
export interface DurableRunHostOptions {
  /** The run host namespace binding (`env.RUN_HOST`). */
  readonly namespace: DurableObjectNamespaceLike;
  /**
   * Keys `Idempotency-Key`s into run ids (HMAC-SHA-256), so the id of a keyed run cannot be worked
   * out from its key. Without it a start with a key is refused. The example passes its API token: a
   * key then holds while the token stays the same.
   */
  readonly idempotencySecret?: string;
}

/**
 * http's `RunHost` over run host Durable Objects. `start` makes a random UUID the run id (or derives
 * one from the `Idempotency-Key`) and starts the run in the object of that name; `status`, `events`,
 * `cancel` and `resume` ask that object. `list` cannot be answered (nothing indexes the objects): it
 * throws {@link UnsupportedByHostError}. `waitUntil` is not needed: the run goes on in its object.
 *
 * @example
 * const api = createApi({ workflows, host: new DurableRunHost({ namespace: env.RUN_HOST }) });
 */
export class DurableRunHost implements RunHost {
  readonly #namespace: DurableObjectNamespaceLike;
  readonly #secret: string | undefined;
  #hmac: Promise<CryptoKey> | undefined;

  constructor(options: DurableRunHostOptions) {
    this.#namespace = options.namespace;
    this.#secret = options.idempotencySecret;
  }

  /** Starts a run in a new object; a repeated `Idempotency-Key` with the same request returns the first run. */
  async start(workflow: string, input: unknown, options: StartOptions = {}): Promise<StartResult> {
    const key = options.idempotencyKey;
    const runId = key === undefined ? crypto.randomUUID() : await this.#keyedRunId(key);
    const client = RunHostClient.forRun(this.#namespace, runId);
    try {
      return { run: await client.start(workflow, input), created: true };
    } catch (error) {
      if (key === undefined || !isRunHostRequestError(error) || error.code !== "conflict")
        throw portError(error);
    }
    // The key's object already has a run: the same request again gets that run, another is a conflict.
    const existing = await client.status();
    if (
      existing !== undefined &&
      existing.workflow === workflow &&
      canonicalJson(existing.input) === canonicalJson(input ?? null)
    ) {
      return { run: existing, created: false };
    }
    throw new RunHostError(
      "conflict",
      "DurableRunHost: this Idempotency-Key was already used for a different request (another workflow or " +
        "input); use a new key for a new request.",
    );
  }

  /** The run with the states it visited, or `undefined` for an unknown (or malformed) id. */
  async status(runId: string): Promise<RunDetails | undefined> {
    if (!runIdPattern.test(runId)) return undefined;
    try {
      return await this.#client(runId).details();
    } catch (error) {
      throw portError(error);
    }
  }

  /** The run's events, relayed from its object's stream; a damaged event row ends the iteration with an error. */
  async *events(runId: string, options: EventsOptions = {}): AsyncGenerator<RunEventRecord> {
    const { signal } = options;
    let response: Response;
    try {
      response = await this.#client(runId).events({
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.historyOnly === true ? { historyOnly: true } : {}),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw portError(error);
    }
    for await (const item of readRunStream(response, signal === undefined ? {} : { signal })) {
      if (item.kind === "end") return;
      if (item.kind === "error") throw new Error(`DurableRunHost: run "${runId}": ${item.error.message}`);
      yield item.record;
    }
  }

  /** Stops the run (its saga steps are compensated); a finished run is a `conflict`. */
  async cancel(runId: string, reason?: string): Promise<RunInfo> {
    try {
      return await this.#client(runId).cancel(reason);
    } catch (error) {
      throw portError(error);
    }
  }

  /** Continues a failed or cancelled run from its checkpoint rows. */
  async resume(runId: string): Promise<RunInfo> {
    try {
      return await this.#client(runId).resume();
    } catch (error) {
      throw portError(error);
    }
  }

  /** Not available: each run lives in its own object and nothing indexes them. */
  async list(): Promise<RunPage> {
    throw new UnsupportedByHostError(
      "DurableRunHost: listing runs is not available: each run lives in its own Durable Object and nothing " +
        "indexes them. Keep the ids of the runs you start (the Location header of the start), or keep an index.",
    );
  }

  /** The client of a run; a malformed id is an unknown run, refused before any object is reached. */
  #client(runId: string): RunHostClient {
    if (!runIdPattern.test(runId)) {
      throw new RunHostError("unknown_run", `DurableRunHost: no run with id "${runId.slice(0, 128)}"`);
    }
    return RunHostClient.forRun(this.#namespace, runId);
  }

  /** `key-` and 32 hex digits of HMAC-SHA-256(secret, key). */
  async #keyedRunId(key: string): Promise<string> {
    const secret = this.#secret;
    if (secret === undefined) {
      throw new RunHostError(
        "invalid_request",
        "DurableRunHost: this host takes no Idempotency-Key (it has no idempotencySecret to key run ids with).",
      );
    }
    this.#hmac ??= crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await this.#hmac, encoder.encode(key)));
    return `key-${[...mac.slice(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
  }
}

/**
 * A run host refusal as the port's error: the codes both share pass through (the API answers 400, 404
 * or 409); an input too large to store is a 400 here (the API's own body limit answers 413 first);
 * anything else (a damaged row, an outage) stays as it is, and the API answers a logged 500.
 */
function portError(error: unknown): unknown {
  if (!isRunHostRequestError(error)) return error;
  if (error.code === "payload_too_large") return new RunHostError("invalid_request", error.message);
  return error;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== "object" || inner === null || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = Object.create(null);
    for (const name of Object.keys(inner).sort()) sorted[name] = (inner as Record<string, unknown>)[name];
    return sorted;
  });
}
