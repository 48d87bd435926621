import type { BreakerPermit, CircuitBreakerOptions, CircuitState } from "../../core/circuit-breaker.ts";
import { CircuitBreaker } from "../../core/circuit-breaker.ts";
import { CanoError, describeThrown, isCanoError } from "../../core/errors.ts";
import type { DurableObjectStateLike } from "./platform.ts";

/** What {@link defineSharedCircuitBreaker} takes: the breaker's tuning plus how long a permit may stay out. */
export interface SharedCircuitBreakerOptions extends Omit<CircuitBreakerOptions, "clock"> {
  /** A permit not reported within this many milliseconds counts as a failure (its caller died). Default 60 000. */
  readonly permitLeaseMs?: number;
}

/** A permit from a shared breaker: hand it back once with `recordSuccess` or `recordFailure`. */
export interface SharedBreakerPermit {
  readonly id: string;
}

/**
 * @internal What the breaker object answers: the state, a permit when one was asked for and granted,
 * and why not (a refused permit) or what failed (`code` is a `CanoError` code, on a 4xx/5xx answer).
 */
export interface BreakerReply {
  readonly state?: CircuitState;
  readonly permit?: SharedBreakerPermit;
  readonly error?: { readonly code?: string; readonly message: string };
}

/** A shared breaker Durable Object (one per breaker name), from {@link defineSharedCircuitBreaker}. */
export interface SharedCircuitBreakerObject {
  /** `POST /acquire`, `POST /success`, `POST /failure` (body `{ id }`), `GET /state`. */
  fetch(request: Request): Promise<Response>;
  /** Counts permits whose lease ran out as failures. */
  alarm(): Promise<void>;
}

/** The class {@link defineSharedCircuitBreaker} returns: export it and bind it as a Durable Object. */
export type SharedCircuitBreakerClass = new (
  ctx: DurableObjectStateLike,
  env: unknown,
) => SharedCircuitBreakerObject;

/**
 * Makes a Durable Object class that holds one `CircuitBreaker` for every Worker that reaches it by
 * name, so failures anywhere open it everywhere and only `halfOpenMaxCalls` probes run at once
 * globally. Its state is saved on every change (`toJSON`: a half-open breaker is saved as open, so a
 * restarted object earns half-open again); a permit not reported within `permitLeaseMs` is counted
 * as a failure, so a caller that died cannot hold the probe slot for ever.
 *
 * @example
 * export const Breakers = defineSharedCircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 10_000 });
 * const payments = SharedCircuitBreaker.named(env.BREAKERS, "payments-api");
 * const receipt = await payments.call(() => charge(order));
 */
export function defineSharedCircuitBreaker(
  options: SharedCircuitBreakerOptions = {},
): SharedCircuitBreakerClass {
  const { permitLeaseMs = 60_000, ...tuning } = options;
  if (!(Number.isFinite(permitLeaseMs) && permitLeaseMs > 0)) {
    throw new CanoError(
      "configuration",
      `SharedCircuitBreaker: permitLeaseMs must be milliseconds > 0, received ${permitLeaseMs}`,
    );
  }
  new CircuitBreaker(tuning); // checks the tuning now, when the Worker loads
  return class SharedBreaker implements SharedCircuitBreakerObject {
    readonly #ctx: DurableObjectStateLike;
    /** Permit id → the breaker's permit and when its lease ends. */
    readonly #permits = new Map<string, { readonly permit: BreakerPermit; readonly expiresAt: number }>();
    #breaker: CircuitBreaker | undefined;
    /** When the lease alarm was set for. */
    #alarmAt: number | undefined;

    constructor(ctx: DurableObjectStateLike) {
      this.#ctx = ctx;
      ctx.storage.sql.exec(
        "CREATE TABLE IF NOT EXISTS cano_breaker (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)",
      );
    }

    async fetch(request: Request): Promise<Response> {
      const route = `${request.method} ${new URL(request.url).pathname}`;
      try {
        const breaker = this.#load();
        if (route === "GET /state") return reply(breaker);
        if (route === "POST /acquire") {
          const permit = breaker.tryAcquire();
          if (permit === undefined) return reply(breaker, undefined, breaker.rejectionMessage());
          const id = crypto.randomUUID();
          const expiresAt = Date.now() + permitLeaseMs;
          this.#permits.set(id, { permit, expiresAt });
          this.#save(breaker);
          await this.#armLease();
          return reply(breaker, { id });
        }
        if (route === "POST /success" || route === "POST /failure") {
          const { id } = (await request.json()) as { id?: unknown };
          const held = typeof id === "string" ? this.#permits.get(id) : undefined;
          // An unknown id (already reported, expired, or issued before a restart) changes nothing.
          if (held !== undefined) {
            this.#permits.delete(id as string);
            if (route === "POST /success") breaker.recordSuccess(held.permit);
            else breaker.recordFailure(held.permit);
            this.#save(breaker);
          }
          return reply(breaker);
        }
        const missing: BreakerReply = { error: { message: `SharedCircuitBreaker: no route for ${route}` } };
        return Response.json(missing, { status: 404 });
      } catch (error) {
        const failed: BreakerReply = {
          error: {
            ...(isCanoError(error) ? { code: error.code } : {}),
            message: isCanoError(error) ? error.message : describeThrown(error),
          },
        };
        return Response.json(failed, { status: 500 });
      }
    }

    async alarm(): Promise<void> {
      let breaker: CircuitBreaker;
      try {
        breaker = this.#load();
      } catch (error) {
        // Retrying cannot repair storage: report it and let the alarm go.
        console.error(`SharedCircuitBreaker: alarm skipped: ${describeThrown(error)}`);
        return;
      }
      // Fired early (tests trigger alarms explicitly) counts as the time the alarm was set for.
      const now = Math.max(Date.now(), this.#alarmAt ?? 0);
      for (const [id, held] of this.#permits) {
        if (held.expiresAt > now) continue;
        this.#permits.delete(id);
        breaker.recordFailure(held.permit);
      }
      this.#save(breaker);
      await this.#armLease();
    }

    /** The breaker, restored from storage on first use; a damaged saved state is `checkpoint_corrupt`, kept as is. */
    #load(): CircuitBreaker {
      if (this.#breaker !== undefined) return this.#breaker;
      const [row] = this.#ctx.storage.sql
        .exec<{ body: string }>("SELECT body FROM cano_breaker WHERE id = 1")
        .toArray();
      let breaker: CircuitBreaker;
      if (row === undefined) breaker = new CircuitBreaker(tuning);
      else {
        try {
          breaker = CircuitBreaker.from(JSON.parse(row.body));
        } catch (error) {
          const problem = error instanceof SyntaxError ? "it is not JSON" : describeThrown(error);
          throw new CanoError(
            "checkpoint_corrupt",
            `SharedCircuitBreaker: the saved breaker state is corrupt: ${problem}. Nothing was changed: ` +
              'repair or delete the row of table "cano_breaker".',
            { cause: error, details: { table: "cano_breaker", problem } },
          );
        }
      }
      this.#breaker = breaker;
      return breaker;
    }

    #save(breaker: CircuitBreaker): void {
      this.#ctx.storage.sql.exec(
        "INSERT INTO cano_breaker (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        JSON.stringify(breaker.toJSON()),
      );
    }

    /** The alarm at the earliest lease end, or none. */
    async #armLease(): Promise<void> {
      let earliest = Number.POSITIVE_INFINITY;
      for (const held of this.#permits.values()) earliest = Math.min(earliest, held.expiresAt);
      this.#alarmAt = earliest === Number.POSITIVE_INFINITY ? undefined : earliest;
      if (this.#alarmAt === undefined) await this.#ctx.storage.deleteAlarm();
      else await this.#ctx.storage.setAlarm(this.#alarmAt);
    }
  };
}

function reply(breaker: CircuitBreaker, permit?: SharedBreakerPermit, refusal?: string): Response {
  const body: BreakerReply = {
    state: breaker.state,
    ...(permit === undefined ? {} : { permit }),
    ...(refusal === undefined ? {} : { error: { message: refusal } }),
  };
  return Response.json(body);
}
