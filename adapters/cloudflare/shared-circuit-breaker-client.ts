import type { CircuitState } from "../../core/circuit-breaker.ts";
import type { CanoErrorCode } from "../../core/errors.ts";
import { CanoError, canoErrorCodes } from "../../core/errors.ts";
import type { DurableObjectNamespaceLike, DurableObjectStubLike } from "./platform.ts";
import type { BreakerReply, SharedBreakerPermit } from "./shared-circuit-breaker.ts";

const origin = "https://breaker.internal";

const knownCodes: ReadonlySet<string> = new Set(canoErrorCodes);

/** A reply that answered the request: it always carries the state. */
type Answer = BreakerReply & { readonly state: CircuitState };

/**
 * One shared circuit breaker, as seen from any Worker: a client of the breaker object reached by
 * name. `call(fn)` asks for a permit, runs `fn`, and reports the outcome; a refusal is a
 * `circuit_open` CanoError.
 *
 * @example
 * const breaker = SharedCircuitBreaker.named(env.BREAKERS, "payments-api");
 * task({ run: async () => (await breaker.call(() => charge(order)), "ship") });
 */
export class SharedCircuitBreaker {
  readonly #stub: DurableObjectStubLike;
  readonly #name: string;

  /** The breaker called `name` in `namespace` (every Worker using the same name shares it). */
  static named(namespace: DurableObjectNamespaceLike, name: string): SharedCircuitBreaker {
    return new SharedCircuitBreaker(namespace.get(namespace.idFromName(name)), name);
  }

  constructor(stub: DurableObjectStubLike, name = "shared") {
    this.#stub = stub;
    this.#name = name;
  }

  /** A permit for one call, or `undefined` when the breaker is open or every probe slot is taken. */
  async tryAcquire(): Promise<SharedBreakerPermit | undefined> {
    return (await this.#send("POST", "/acquire")).permit;
  }

  /** Reports that the permitted call succeeded. */
  async recordSuccess(permit: SharedBreakerPermit): Promise<void> {
    await this.#send("POST", "/success", permit);
  }

  /** Reports that the permitted call failed. */
  async recordFailure(permit: SharedBreakerPermit): Promise<void> {
    await this.#send("POST", "/failure", permit);
  }

  /** The breaker's state as plain data. */
  async state(): Promise<CircuitState> {
    return (await this.#send("GET", "/state")).state;
  }

  /** Runs `fn` under a permit and reports its outcome; throws `circuit_open` when no permit is granted. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const reply = await this.#send("POST", "/acquire");
    const permit = reply.permit;
    if (permit === undefined) {
      throw new CanoError(
        "circuit_open",
        `SharedCircuitBreaker "${this.#name}": ${reply.error?.message ?? "no permit granted"}`,
        { details: { state: reply.state } },
      );
    }
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      // If the report is lost too, the permit's lease runs out and counts as this failure.
      await this.recordFailure(permit).catch(() => undefined);
      throw error;
    }
    await this.recordSuccess(permit);
    return result;
  }

  /** One request to the breaker object; a failure keeps the object's error code (e.g. `checkpoint_corrupt`). */
  async #send(method: string, path: string, body?: SharedBreakerPermit): Promise<Answer> {
    const response = await this.#stub.fetch(`${origin}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify({ id: body.id }) }),
    });
    const reply = (await response.json()) as BreakerReply;
    if (!response.ok || reply.state === undefined) {
      const given = reply.error?.code;
      const code: CanoErrorCode =
        given !== undefined && knownCodes.has(given) ? (given as CanoErrorCode) : "configuration";
      throw new CanoError(
        code,
        `SharedCircuitBreaker "${this.#name}": the breaker object answered ${response.status}: ${reply.error?.message ?? "no message"}`,
      );
    }
    return reply as Answer;
  }
}
