import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { defineSharedCircuitBreaker, SharedCircuitBreaker } from "../../adapters/cloudflare/index.ts";
import { isCanoError } from "../../core/index.ts";
import { rejection } from "./harness.ts";

/** Two clients of one breaker, as two Workers would hold them. */
function twoWorkers() {
  const name = `breaker-${crypto.randomUUID()}`;
  const stub = env.BREAKERS.get(env.BREAKERS.idFromName(name));
  return {
    stub,
    a: SharedCircuitBreaker.named(env.BREAKERS, name),
    b: SharedCircuitBreaker.named(env.BREAKERS, name),
  };
}

const fail = () => Promise.reject(new Error("503 from the payment API"));

describe("SharedCircuitBreaker (one Durable Object per breaker name)", () => {
  it("failures from different Workers open it for all of them", async () => {
    const { a, b } = twoWorkers();
    await rejection(a.call(fail));
    expect(await b.state()).toEqual({ status: "closed", consecutiveFailures: 1 });
    await rejection(b.call(fail));
    expect((await a.state()).status).toBe("open");
  });

  it("admits one half-open probe globally; its success closes the breaker for everyone", async () => {
    const { a, b } = twoWorkers();
    await rejection(a.call(fail));
    await rejection(a.call(fail));
    const probe = await a.tryAcquire();
    expect(probe).toBeDefined();
    expect(await b.tryAcquire()).toBeUndefined();
    const refused = await rejection(b.call(async () => "never runs"));
    expect(isCanoError(refused) && refused.code).toBe("circuit_open");
    expect(isCanoError(refused) && refused.message).toContain("half-open: trial slot exhausted");
    if (probe !== undefined) await a.recordSuccess(probe);
    expect(await b.call(async () => "ok")).toBe("ok");
    expect(await a.state()).toEqual({ status: "closed", consecutiveFailures: 0 });
  });

  it("a probe whose caller died counts as a failure when its lease runs out (the alarm)", async () => {
    const { a, b, stub } = twoWorkers();
    await rejection(a.call(fail));
    await rejection(a.call(fail));
    expect(await a.tryAcquire()).toBeDefined(); // and never reported
    expect(await b.tryAcquire()).toBeUndefined();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await b.state()).status).toBe("open");
    expect(await b.tryAcquire()).toBeDefined(); // a fresh probe slot
  });

  it("keeps its state across an eviction (a half-open breaker comes back open)", async () => {
    const { a, b, stub } = twoWorkers();
    await rejection(a.call(fail));
    await evictDurableObject(stub);
    expect(await a.state()).toEqual({ status: "closed", consecutiveFailures: 1 });
    await rejection(a.call(fail));
    expect(await a.tryAcquire()).toBeDefined();
    expect((await b.state()).status).toBe("half_open");
    await evictDurableObject(stub);
    expect((await b.state()).status).toBe("open");
  });

  it("a damaged saved state is checkpoint_corrupt, for every caller, and is kept as it is", async () => {
    for (const body of [
      "{torn",
      JSON.stringify({ version: 1, options: {}, state: { status: "sideways" } }),
    ]) {
      const { a, stub } = twoWorkers();
      await rejection(a.call(fail));
      await evictDurableObject(stub);
      await runInDurableObject(stub, (_breaker: unknown, state) =>
        state.storage.sql.exec("UPDATE cano_breaker SET body = ?", body),
      );
      const error = await rejection(a.call(async () => "never runs"));
      expect(isCanoError(error) && error.code).toBe("checkpoint_corrupt");
      expect(isCanoError(error) && error.message).toContain("the saved breaker state is corrupt");
      const kept = await runInDurableObject(stub, (_breaker: unknown, state) =>
        state.storage.sql.exec<{ body: string }>("SELECT body FROM cano_breaker").toArray(),
      );
      expect(kept).toEqual([{ body }]);
    }
  });

  it("refuses bad tuning when the class is made", () => {
    const error = (() => {
      try {
        defineSharedCircuitBreaker({ failureThreshold: 0 });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(isCanoError(error) && error.code).toBe("configuration");
  });
});
