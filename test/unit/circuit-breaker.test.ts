import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BreakerPermit, CircuitBreakerJson, CircuitState } from "../../core/circuit-breaker.ts";
import { CircuitBreaker } from "../../core/circuit-breaker.ts";
import type { Clock } from "../../core/clock.ts";
import { configurationError } from "../support/runs.ts";

/** A clock that only moves when the test says so. */
function fakeClock(t = 1_000_000): Clock & { t: number } {
  const unused = () => {
    throw new Error("unused");
  };
  return {
    t,
    now() {
      return this.t;
    },
    sleep: unused,
    schedule: unused,
  };
}

function acquired(breaker: CircuitBreaker): BreakerPermit {
  const permit = breaker.tryAcquire();
  if (permit === undefined) throw new Error(`expected a permit, breaker is ${JSON.stringify(breaker.state)}`);
  return permit;
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) breaker.recordFailure(acquired(breaker));
}

/** A breaker already tripped at t = 1 000 000 and held open until 1 000 100. */
function tripped(options: { halfOpenMaxCalls?: number } = {}) {
  const clock = fakeClock();
  const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 100, clock, ...options });
  fail(breaker, 2);
  return { clock, breaker };
}

describe("CircuitBreaker: closed", () => {
  it("starts closed with the seed's defaults", () => {
    const breaker = new CircuitBreaker();
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 0 });
    expect(breaker.options).toEqual({ failureThreshold: 5, resetTimeoutMs: 30_000, halfOpenMaxCalls: 1 });
  });

  it("opens at exactly failureThreshold consecutive failures, with until = now + resetTimeoutMs", () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 500, clock });
    fail(breaker, 2);
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 2 });
    clock.t += 7;
    fail(breaker, 1);
    expect(breaker.state).toEqual({ status: "open", until: 1_000_507 });
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it("resets the consecutive failure count on a success", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock: fakeClock() });
    fail(breaker, 2);
    breaker.recordSuccess(acquired(breaker));
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 0 });
    fail(breaker, 2);
    expect(breaker.state.status).toBe("closed");
  });

  it("does not read the clock to admit a call while closed", () => {
    const clock = fakeClock();
    clock.now = () => {
      throw new Error("clock read on the hot path");
    };
    const breaker = new CircuitBreaker({ clock });
    breaker.recordSuccess(acquired(breaker));
  });
});

describe("CircuitBreaker: open and half-open", () => {
  it("moves lazily to half-open on the first acquire at exactly until, not before", () => {
    const { clock, breaker } = tripped();
    clock.t = 1_000_099;
    expect(breaker.tryAcquire()).toBeUndefined();
    clock.t = 1_000_100;
    expect(breaker.state).toEqual({ status: "open", until: 1_000_100 }); // no timer: still open until asked
    expect(breaker.tryAcquire()).toBeDefined();
    expect(breaker.state).toEqual({ status: "half_open", inFlight: 1, successes: 0 });
  });

  it("admits at most halfOpenMaxCalls probes in flight", () => {
    const { clock, breaker } = tripped({ halfOpenMaxCalls: 2 });
    clock.t += 100;
    const first = acquired(breaker);
    acquired(breaker);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.rejectionMessage()).toBe("circuit breaker half-open: trial slot exhausted");
    breaker.recordSuccess(first); // frees its slot, as in the seed
    expect(breaker.state).toEqual({ status: "half_open", inFlight: 1, successes: 1 });
    expect(breaker.tryAcquire()).toBeDefined();
  });

  it("closes with counters reset after halfOpenMaxCalls probe successes", () => {
    const { clock, breaker } = tripped({ halfOpenMaxCalls: 3 });
    clock.t += 100;
    const probes = [acquired(breaker), acquired(breaker), acquired(breaker)];
    breaker.recordSuccess(probes[0]!);
    breaker.recordSuccess(probes[1]!);
    expect(breaker.state.status).toBe("half_open");
    breaker.recordSuccess(probes[2]!);
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 0 });
    fail(breaker, 1);
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 1 });
  });

  it("reopens with a fresh until on any probe failure", () => {
    const { clock, breaker } = tripped({ halfOpenMaxCalls: 2 });
    clock.t += 150;
    const good = acquired(breaker);
    const bad = acquired(breaker);
    breaker.recordSuccess(good);
    clock.t += 30;
    breaker.recordFailure(bad);
    expect(breaker.state).toEqual({ status: "open", until: 1_000_280 });
    expect(breaker.rejectionMessage()).toBe(
      `circuit breaker open until ${new Date(1_000_280).toISOString()}: rejecting call`,
    );
  });

  it("ignores outcomes of permits from an earlier epoch", () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10, clock });
    const slow = acquired(breaker);
    const slowToo = acquired(breaker);
    breaker.recordFailure(acquired(breaker));
    clock.t += 10;
    const probe = acquired(breaker);
    breaker.recordFailure(slow); // issued while closed: must not reopen the half-open session
    expect(breaker.state).toEqual({ status: "half_open", inFlight: 1, successes: 0 });
    breaker.recordSuccess(probe);
    breaker.recordFailure(slowToo); // still stale after closing again
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 0 });
  });

  it("ignores a second record with the same permit, and permits it never issued", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: fakeClock() });
    const permit = acquired(breaker);
    breaker.recordFailure(permit);
    breaker.recordFailure(permit);
    breaker.recordFailure({ epoch: 0 });
    breaker.recordFailure(acquired(new CircuitBreaker()));
    expect(breaker.state).toEqual({ status: "closed", consecutiveFailures: 1 });
  });
});

describe("CircuitBreaker: listeners", () => {
  it("reports every transition as (to, from) and stops after unsubscribe", () => {
    const { clock, breaker } = tripped();
    const seen: [CircuitState, CircuitState][] = [];
    const unsubscribe = breaker.onStateChange((to, from) => seen.push([to, from]));
    clock.t += 100;
    breaker.recordFailure(acquired(breaker));
    clock.t += 100;
    breaker.recordSuccess(acquired(breaker));
    fail(breaker, 2);
    expect(seen).toEqual([
      [
        { status: "half_open", inFlight: 0, successes: 0 },
        { status: "open", until: 1_000_100 },
      ],
      [
        { status: "open", until: 1_000_200 },
        { status: "half_open", inFlight: 1, successes: 0 },
      ],
      [
        { status: "half_open", inFlight: 0, successes: 0 },
        { status: "open", until: 1_000_200 },
      ],
      [
        { status: "closed", consecutiveFailures: 0 },
        { status: "half_open", inFlight: 1, successes: 0 },
      ],
      [
        { status: "open", until: 1_000_300 },
        { status: "closed", consecutiveFailures: 1 },
      ],
    ]);
    unsubscribe();
    clock.t += 100;
    acquired(breaker);
    expect(seen).toHaveLength(5);
  });

  it("isolates a throwing listener from the breaker and from other listeners", () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    const statuses: string[] = [];
    breaker.onStateChange(() => {
      throw new Error("observer bug");
    });
    breaker.onStateChange((to) => statuses.push(to.status));
    expect(() => breaker.recordFailure(acquired(breaker))).not.toThrow();
    expect(breaker.state.status).toBe("open");
    expect(statuses).toEqual(["open"]);
  });
});

describe("CircuitBreaker: toJSON / from", () => {
  it("round-trips closed and open breakers", () => {
    const clock = fakeClock();
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      resetTimeoutMs: 40,
      halfOpenMaxCalls: 2,
      clock,
    });
    fail(breaker, 2);
    const closed = JSON.parse(JSON.stringify(breaker));
    expect(closed).toEqual({
      version: 1,
      options: { failureThreshold: 3, resetTimeoutMs: 40, halfOpenMaxCalls: 2 },
      state: { status: "closed", consecutiveFailures: 2 },
      epoch: 0,
    });
    expect(CircuitBreaker.from(closed, { clock }).toJSON()).toEqual(closed);
    fail(breaker, 1);
    const open = breaker.toJSON();
    const restored = CircuitBreaker.from(JSON.parse(JSON.stringify(open)), { clock });
    expect(restored.toJSON()).toEqual(open);
    expect(restored.options).toEqual(breaker.options);
    clock.t += 40;
    expect(restored.tryAcquire()).toBeDefined();
    expect(restored.state.status).toBe("half_open");
  });

  it("saves a half-open breaker as open for a fresh resetTimeoutMs", () => {
    const { clock, breaker } = tripped();
    clock.t += 250;
    acquired(breaker);
    const json = breaker.toJSON();
    expect(json.state).toEqual({ status: "open", until: 1_000_350 });
    expect(CircuitBreaker.from(json, { clock }).state).toEqual({ status: "open", until: 1_000_350 });
    const handWritten = { ...json, state: { status: "half_open", inFlight: 1, successes: 0 } };
    expect(CircuitBreaker.from(handWritten, { clock }).state).toEqual({ status: "open", until: 1_000_350 });
  });

  it("rejects malformed JSON, naming the field, the expectation and what it got", () => {
    const good: CircuitBreakerJson = new CircuitBreaker({ clock: fakeClock() }).toJSON();
    const cases: [unknown, string][] = [
      [null, "CircuitBreaker.from: json must be an object, received null"],
      [[], "json must be an object, received []"],
      [{ ...good, version: 2 }, "json.version must be 1 (from CircuitBreaker.toJSON()), received 2"],
      [{ ...good, options: "fast" }, 'json.options must be an object, received "fast"'],
      [
        { ...good, options: { ...good.options, failureThreshold: 0 } },
        "failureThreshold must be an integer ≥ 1",
      ],
      [
        { ...good, options: { ...good.options, resetTimeoutMs: "30s" } },
        'resetTimeoutMs must be a finite number ≥ 0, received "30s"',
      ],
      [
        { ...good, options: { ...good.options, halfOpenMaxCalls: 1.5 } },
        "halfOpenMaxCalls must be an integer ≥ 1, received 1.5",
      ],
      [
        { ...good, state: { status: "ajar" } },
        'json.state.status must be "closed", "open" or "half_open", received "ajar"',
      ],
      [
        { ...good, state: { status: "closed", consecutiveFailures: 5 } },
        "consecutiveFailures must be an integer from 0 to 4, received 5",
      ],
      [
        { ...good, state: { status: "open" } },
        "json.state.until must be a finite number (epoch ms), received undefined",
      ],
      [
        { ...good, state: { status: "half_open", inFlight: -1, successes: 0 } },
        "json.state.inFlight must be an integer ≥ 0, received -1",
      ],
      [{ ...good, epoch: "3" }, 'json.epoch must be an integer ≥ 0, received "3"'],
    ];
    for (const [json, message] of cases) {
      expect(configurationError(() => CircuitBreaker.from(json)).message).toContain(message);
    }
  });
});

describe("CircuitBreaker: options", () => {
  it("rejects invalid options with a configuration error", () => {
    const cases: [object, string][] = [
      [{ failureThreshold: 0 }, "CircuitBreaker: failureThreshold must be an integer ≥ 1, received 0"],
      [{ failureThreshold: 2.5 }, "CircuitBreaker: failureThreshold must be an integer ≥ 1, received 2.5"],
      [{ resetTimeoutMs: -1 }, "CircuitBreaker: resetTimeoutMs must be a finite number ≥ 0, received -1"],
      [
        { resetTimeoutMs: Number.POSITIVE_INFINITY },
        "CircuitBreaker: resetTimeoutMs must be a finite number ≥ 0, received Infinity",
      ],
      [{ halfOpenMaxCalls: 0 }, "CircuitBreaker: halfOpenMaxCalls must be an integer ≥ 1, received 0"],
      [
        { failureThreshold: Number.NaN },
        "CircuitBreaker: failureThreshold must be an integer ≥ 1, received NaN",
      ],
    ];
    for (const [options, message] of cases) {
      expect(configurationError(() => new CircuitBreaker(options)).message).toBe(message);
    }
  });

  it("treats an option explicitly set to undefined as not given", () => {
    expect(new CircuitBreaker({ failureThreshold: undefined }).options.failureThreshold).toBe(5);
  });

  it("does not mutate the options it was given and exposes them frozen", () => {
    const options = { failureThreshold: 2 };
    const breaker = new CircuitBreaker(options);
    expect(options).toEqual({ failureThreshold: 2 });
    expect(Object.isFrozen(breaker.options)).toBe(true);
  });
});

type Op =
  | { readonly kind: "acquire" }
  | { readonly kind: "success" | "failure"; readonly pick: number }
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "forged" };

/** The rules of reference §7, written as plainly as possible, to check the breaker against. */
class Model {
  status: CircuitState["status"] = "closed";
  failures = 0;
  until = 0;
  inFlight = 0;
  successes = 0;
  epoch = 0;
  readonly threshold: number;
  readonly resetMs: number;
  readonly maxCalls: number;
  constructor(threshold: number, resetMs: number, maxCalls: number) {
    this.threshold = threshold;
    this.resetMs = resetMs;
    this.maxCalls = maxCalls;
  }
  go(status: CircuitState["status"], until = 0) {
    Object.assign(this, { status, until, failures: 0, inFlight: 0, successes: 0, epoch: this.epoch + 1 });
  }
  acquire(now: number): { epoch: number; used: boolean } | undefined {
    if (this.status === "open" && now >= this.until) this.go("half_open");
    if (this.status === "open") return undefined;
    if (this.status === "half_open") {
      if (this.inFlight === this.maxCalls) return undefined;
      this.inFlight += 1;
    }
    return { epoch: this.epoch, used: false };
  }
  record(permit: { epoch: number; used: boolean }, ok: boolean, now: number) {
    if (permit.used) return;
    permit.used = true;
    if (permit.epoch !== this.epoch) return;
    if (this.status === "closed" && ok) this.failures = 0;
    if (this.status === "closed" && !ok) {
      this.failures += 1;
      if (this.failures === this.threshold) this.go("open", now + this.resetMs);
    }
    if (this.status === "half_open" && !ok) this.go("open", now + this.resetMs);
    if (this.status === "half_open" && ok) {
      this.inFlight -= 1;
      this.successes += 1;
      if (this.successes === this.maxCalls) this.go("closed");
    }
  }
  snapshot(): CircuitState {
    if (this.status === "closed") return { status: "closed", consecutiveFailures: this.failures };
    if (this.status === "open") return { status: "open", until: this.until };
    return { status: "half_open", inFlight: this.inFlight, successes: this.successes };
  }
}

describe("CircuitBreaker: property", () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: "acquire" } as const) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("success" as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("failure" as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.nat({ max: 150 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: "forged" } as const) },
  );

  it("agrees with the reference model after every step", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(op, { minLength: 20, maxLength: 120, size: "max" }),
        (failureThreshold, resetTimeoutMs, halfOpenMaxCalls, ops) => {
          const clock = fakeClock();
          const breaker = new CircuitBreaker({ failureThreshold, resetTimeoutMs, halfOpenMaxCalls, clock });
          const model = new Model(failureThreshold, resetTimeoutMs, halfOpenMaxCalls);
          const held: [BreakerPermit, { epoch: number; used: boolean }][] = [];
          let transitions = 0;
          breaker.onStateChange(() => transitions++);
          for (const step of ops) {
            if (step.kind === "acquire") {
              const real = breaker.tryAcquire();
              const expected = model.acquire(clock.t);
              expect(real === undefined).toBe(expected === undefined);
              if (real !== undefined && expected !== undefined) held.push([real, expected]);
            } else if (step.kind === "advance") {
              clock.t += step.ms;
            } else if (step.kind === "forged") {
              breaker.recordFailure({ epoch: model.epoch });
            } else if (held.length > 0) {
              const [real, expected] = held[step.pick % held.length]!;
              if (step.kind === "success") breaker.recordSuccess(real);
              else breaker.recordFailure(real);
              model.record(expected, step.kind === "success", clock.t);
            }
            expect(breaker.state).toEqual(model.snapshot());
            expect(breaker.toJSON().epoch).toBe(model.epoch);
            expect(transitions).toBe(model.epoch);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
