import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { CanoError, describeThrown } from "./errors.ts";
import { withDefaults } from "./options.ts";

/** Tuning for a {@link CircuitBreaker}; every field is optional. */
export interface CircuitBreakerOptions {
  /** Consecutive failures in `closed` that open the breaker. Integer ≥ 1, default 5. */
  readonly failureThreshold?: number;
  /** How long the breaker stays `open` before the next call may probe. Finite ms ≥ 0, default 30 000. */
  readonly resetTimeoutMs?: number;
  /** Probes admitted at once in `half_open`, and successes needed to close. Integer ≥ 1, default 1. */
  readonly halfOpenMaxCalls?: number;
  /** Where `open` deadlines come from. Default {@link systemClock}. */
  readonly clock?: Clock;
}

/** Where a {@link CircuitBreaker} stands, as plain data; `until` is epoch ms from the breaker's clock. */
export type CircuitState =
  | { readonly status: "closed"; readonly consecutiveFailures: number }
  | { readonly status: "open"; readonly until: number }
  | { readonly status: "half_open"; readonly inFlight: number; readonly successes: number };

/** Permission for one call, from {@link CircuitBreaker.tryAcquire}; hand it back exactly once. */
export interface BreakerPermit {
  /** The breaker's epoch when the permit was issued; outcomes from an older epoch are ignored. */
  readonly epoch: number;
}

/** A permit remembers who issued it, until its outcome is recorded (cheaper than a WeakSet of permits). */
class Permit implements BreakerPermit {
  readonly epoch: number;
  #issuer: CircuitBreaker | undefined;

  constructor(epoch: number, issuer: CircuitBreaker) {
    this.epoch = epoch;
    this.#issuer = issuer;
  }

  /** True the first time `issuer` (the breaker that issued it) hands it back; false after, or for another breaker. */
  static consume(permit: BreakerPermit, issuer: CircuitBreaker): boolean {
    if (!(permit instanceof Permit) || permit.#issuer !== issuer) return false;
    permit.#issuer = undefined;
    return true;
  }
}

/** The saved form of a {@link CircuitBreaker}, from `toJSON()`, for {@link CircuitBreaker.from}. */
export interface CircuitBreakerJson {
  /** Format version; bumped if the shape ever changes. */
  readonly version: 1;
  readonly options: Required<Omit<CircuitBreakerOptions, "clock">>;
  /** Never `half_open` when written by `toJSON()`. */
  readonly state: CircuitState;
  readonly epoch: number;
}

type Status = CircuitState["status"];
type Fields = Readonly<Record<string, unknown>>;

const defaults = {
  failureThreshold: 5,
  resetTimeoutMs: 30_000,
  halfOpenMaxCalls: 1,
  clock: systemClock,
} satisfies Required<CircuitBreakerOptions>;

function check(ok: boolean, field: string, expected: string, received: unknown): asserts ok {
  if (ok) return;
  // describeThrown goes through JSON, which would print Infinity and NaN as "null".
  const shown = typeof received === "number" ? String(received) : describeThrown(received);
  throw new CanoError("configuration", `${field} must be ${expected}, received ${shown}`);
}

const isCount = (value: unknown, min: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min;

function fields(value: unknown, field: string): Fields {
  check(typeof value === "object" && value !== null && !Array.isArray(value), field, "an object", value);
  return value as Fields;
}

function settings(o: Fields, where: string): Required<Omit<CircuitBreakerOptions, "clock">> {
  const { failureThreshold, resetTimeoutMs, halfOpenMaxCalls } = o;
  check(isCount(failureThreshold, 1), `${where}failureThreshold`, "an integer ≥ 1", failureThreshold);
  const finite = typeof resetTimeoutMs === "number" && Number.isFinite(resetTimeoutMs) && resetTimeoutMs >= 0;
  check(finite, `${where}resetTimeoutMs`, "a finite number ≥ 0", resetTimeoutMs);
  check(isCount(halfOpenMaxCalls, 1), `${where}halfOpenMaxCalls`, "an integer ≥ 1", halfOpenMaxCalls);
  return Object.freeze({ failureThreshold, resetTimeoutMs, halfOpenMaxCalls });
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} ms` : date.toISOString();
}

/**
 * Fails fast on a failing dependency (reference §7): `failureThreshold` consecutive failures open it;
 * after `resetTimeoutMs` the next call lazily moves it to half-open, where up to `halfOpenMaxCalls`
 * probes decide between closing again and reopening. Outcomes of permits from an earlier state are
 * ignored, so a slow call cannot corrupt a later session.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 10_000 });
 * task({ circuitBreaker: breaker, run: () => fetchQuote() }); // or by hand:
 * const permit = breaker.tryAcquire();
 * if (permit === undefined) throw new Error(breaker.rejectionMessage());
 * try { await fetchQuote(); breaker.recordSuccess(permit) } catch (e) { breaker.recordFailure(permit); throw e }
 */
export class CircuitBreaker {
  readonly #options: Required<Omit<CircuitBreakerOptions, "clock">>;
  readonly #clock: Clock;
  readonly #listeners = new Set<(to: CircuitState, from: CircuitState) => void>();
  #status: Status = "closed";
  #failures = 0;
  #until = 0;
  #inFlight = 0;
  #successes = 0;
  #epoch = 0;

  /** A closed breaker; throws a `configuration` CanoError for an invalid option. */
  constructor(options: CircuitBreakerOptions = {}) {
    const merged = withDefaults<Required<CircuitBreakerOptions>>(defaults, options);
    this.#options = settings(merged, "CircuitBreaker: ");
    const { clock } = merged as { readonly clock: Clock | undefined };
    check(typeof clock?.now === "function", "CircuitBreaker: clock", "a Clock with now()", clock);
    this.#clock = clock;
  }

  /** A permit for one call, or `undefined` when open or when every half-open probe slot is taken. */
  tryAcquire(): BreakerPermit | undefined {
    // Lazy: no timer moves an open breaker on; the first caller at or after `until` does.
    if (this.#status === "open" && this.#clock.now() >= this.#until) this.#moveTo("half_open");
    if (this.#status === "open") return undefined;
    if (this.#status === "half_open") {
      if (this.#inFlight >= this.#options.halfOpenMaxCalls) return undefined;
      this.#inFlight++;
    }
    return new Permit(this.#epoch, this);
  }

  /** Records that the permitted call succeeded: resets the failure count, or counts a probe success. */
  recordSuccess(permit: BreakerPermit): void {
    if (!this.#consume(permit)) return;
    if (this.#status === "closed") this.#failures = 0;
    if (this.#status !== "half_open") return;
    if (this.#successes + 1 >= this.#options.halfOpenMaxCalls) this.#moveTo("closed");
    else {
      this.#successes++;
      this.#inFlight--;
    }
  }

  /** Records that the permitted call failed: counts toward opening, or reopens a half-open breaker. */
  recordFailure(permit: BreakerPermit): void {
    if (!this.#consume(permit) || this.#status === "open") return;
    if (this.#status === "closed" && this.#failures + 1 < this.#options.failureThreshold) this.#failures++;
    else this.#moveTo("open", this.#clock.now() + this.#options.resetTimeoutMs);
  }

  /** The current state as a fresh plain object; an expired `open` stays `open` until the next acquire. */
  get state(): CircuitState {
    if (this.#status === "closed") return { status: "closed", consecutiveFailures: this.#failures };
    if (this.#status === "open") return { status: "open", until: this.#until };
    return { status: "half_open", inFlight: this.#inFlight, successes: this.#successes };
  }

  /** The validated settings, defaults filled in (frozen). */
  get options(): Required<Omit<CircuitBreakerOptions, "clock">> {
    return this.#options;
  }

  /** Calls `listener(to, from)` after every transition; returns a function that unsubscribes it. */
  onStateChange(listener: (to: CircuitState, from: CircuitState) => void): () => void {
    const entry = (to: CircuitState, from: CircuitState) => listener(to, from);
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  /** Plain JSON for {@link CircuitBreaker.from}; a half-open breaker is saved as open for a fresh `resetTimeoutMs`. */
  toJSON(): CircuitBreakerJson {
    // In-flight probes cannot survive a restart, so the restored breaker must earn half-open again.
    const state: CircuitState =
      this.#status === "half_open"
        ? { status: "open", until: this.#clock.now() + this.#options.resetTimeoutMs }
        : this.state;
    return { version: 1, options: { ...this.#options }, state, epoch: this.#epoch };
  }

  /** Restores a breaker saved with `toJSON()`; throws a `configuration` CanoError naming any bad field. */
  static from(json: unknown, options: { readonly clock?: Clock } = {}): CircuitBreaker {
    const where = "CircuitBreaker.from: json";
    const root = fields(json, where);
    check(root.version === 1, `${where}.version`, "1 (from CircuitBreaker.toJSON())", root.version);
    const saved = settings(fields(root.options, `${where}.options`), `${where}.options.`);
    const breaker = new CircuitBreaker({ ...saved, clock: options.clock ?? systemClock });
    const state = fields(root.state, `${where}.state`);
    if (state.status === "closed") {
      const { consecutiveFailures: failures } = state;
      const max = saved.failureThreshold - 1;
      const ok = isCount(failures, 0) && failures <= max;
      check(ok, `${where}.state.consecutiveFailures`, `an integer from 0 to ${max}`, failures);
      breaker.#failures = failures;
    } else if (state.status === "open") {
      const { until } = state;
      const ok = typeof until === "number" && Number.isFinite(until);
      check(ok, `${where}.state.until`, "a finite number (epoch ms)", until);
      breaker.#status = "open";
      breaker.#until = until;
    } else if (state.status === "half_open") {
      check(isCount(state.inFlight, 0), `${where}.state.inFlight`, "an integer ≥ 0", state.inFlight);
      check(isCount(state.successes, 0), `${where}.state.successes`, "an integer ≥ 0", state.successes);
      // Downgraded exactly as toJSON() would have saved it: the probes did not survive.
      breaker.#status = "open";
      breaker.#until = breaker.#clock.now() + saved.resetTimeoutMs;
    } else check(false, `${where}.state.status`, '"closed", "open" or "half_open"', state.status);
    check(isCount(root.epoch, 0), `${where}.epoch`, "an integer ≥ 0", root.epoch);
    breaker.#epoch = root.epoch;
    return breaker;
  }

  /** Why `tryAcquire()` just returned `undefined`, for the `circuit_open` error. */
  rejectionMessage(): string {
    if (this.#status === "open") return `circuit breaker open until ${isoTime(this.#until)}: rejecting call`;
    if (this.#status === "half_open") return "circuit breaker half-open: trial slot exhausted";
    return "circuit breaker closed: accepting calls";
  }

  /**
   * True when `permit` was issued here, is not yet recorded, and belongs to the current epoch; a
   * second record, or a permit from elsewhere, is a no-op.
   */
  #consume(permit: BreakerPermit): boolean {
    return Permit.consume(permit, this) && permit.epoch === this.#epoch;
  }

  #moveTo(status: Status, until = 0): void {
    const from = this.#listeners.size > 0 ? this.state : undefined;
    this.#status = status;
    this.#until = until;
    this.#failures = 0;
    this.#inFlight = 0;
    this.#successes = 0;
    this.#epoch++;
    if (from === undefined) return;
    const to = this.state;
    for (const listener of [...this.#listeners]) {
      try {
        listener(to, from);
      } catch {
        // An observer's bug must not leave the breaker half-way through a transition or hide the call's outcome.
      }
    }
  }
}
