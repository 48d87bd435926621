import type { HealthStatus, Resource } from "cano";
import { aggregateHealth, checkHealth, isCanoError, setupResources, teardownResources } from "cano";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** A resource that records its calls in `log` and fails where told. */
function recorded(
  log: string[],
  name: string,
  fail: { setup?: boolean; teardown?: boolean } = {},
): Required<Pick<Resource, "setup" | "teardown">> {
  return {
    async setup() {
      log.push(`setup ${name}`);
      await Promise.resolve();
      if (fail.setup) throw new Error(`${name} setup broke`);
    },
    async teardown() {
      log.push(`teardown ${name}`);
      await Promise.resolve();
      if (fail.teardown) throw new Error(`${name} teardown broke`);
    },
  };
}

describe("setupResources / teardownResources", () => {
  it("sets up in key order and tears down in reverse", async () => {
    const log: string[] = [];
    const resources = { a: recorded(log, "a"), b: recorded(log, "b"), c: recorded(log, "c") };
    expect(await setupResources(resources)).toBe(3);
    expect(await teardownResources(resources)).toEqual([]);
    expect(log).toEqual(["setup a", "setup b", "setup c", "teardown c", "teardown b", "teardown a"]);
  });

  it("skips values without lifecycle methods and counts only the participants", async () => {
    const log: string[] = [];
    const resources = {
      config: { url: "https://example.com" },
      n: 3,
      nothing: null,
      fn: () => 1,
      a: recorded(log, "a"),
      healthOnly: { health: (): HealthStatus => ({ status: "healthy" }) },
      b: { teardown: () => void log.push("teardown b") },
    };
    expect(await setupResources(resources)).toBe(3);
    expect(await teardownResources(resources, 3)).toEqual([]);
    expect(log).toEqual(["setup a", "teardown b", "teardown a"]);
  });

  it("finds lifecycle methods on a class prototype", async () => {
    const log: string[] = [];
    class Pool {
      async setup() {
        log.push("open");
      }
      async teardown() {
        log.push("close");
      }
    }
    const resources = { pool: new Pool() };
    expect(await setupResources(resources)).toBe(1);
    await teardownResources(resources);
    expect(log).toEqual(["open", "close"]);
  });

  it("never runs two setups at once", async () => {
    let active = 0;
    let most = 0;
    const slow = (): Resource => ({
      async setup() {
        active += 1;
        most = Math.max(most, active);
        await new Promise((resolve) => setTimeout(resolve, 2));
        active -= 1;
      },
    });
    await setupResources({ a: slow(), b: slow(), c: slow() });
    expect(most).toBe(1);
  });

  it("rolls back the set-up prefix in reverse when setup #3 fails, without tearing down #3", async () => {
    const log: string[] = [];
    const resources = {
      db: recorded(log, "db"),
      cache: recorded(log, "cache"),
      llm: recorded(log, "llm", { setup: true }),
      queue: recorded(log, "queue"),
    };
    let thrown: unknown;
    try {
      await setupResources(resources);
    } catch (error) {
      thrown = error;
    }
    expect(log).toEqual(["setup db", "setup cache", "setup llm", "teardown cache", "teardown db"]);
    expect(isCanoError(thrown) && thrown.code).toBe("resource");
    const error = thrown as Error & { details?: unknown };
    expect(error.message).toBe('Resources: setup of "llm" failed: Error: llm setup broke');
    expect((error.cause as Error).message).toBe("llm setup broke");
    expect(error.details).toEqual({ resource: "llm" });
  });

  it("ignores teardown errors during rollback and still reports the setup error", async () => {
    const log: string[] = [];
    const resources = {
      a: recorded(log, "a"),
      b: recorded(log, "b", { teardown: true }),
      c: recorded(log, "c", { setup: true }),
    };
    await expect(setupResources(resources)).rejects.toThrow(
      'Resources: setup of "c" failed: Error: c setup broke',
    );
    expect(log).toEqual(["setup a", "setup b", "setup c", "teardown b", "teardown a"]);
  });

  it("collects every teardown error and keeps going", async () => {
    const log: string[] = [];
    const resources = {
      a: recorded(log, "a", { teardown: true }),
      b: recorded(log, "b"),
      c: { teardown: () => Promise.reject("plain string") },
    };
    const errors = await teardownResources(resources);
    expect(log).toEqual(["teardown b", "teardown a"]);
    expect(errors.map((e) => [e.code, e.message, e.details])).toEqual([
      ["resource", 'Resources: teardown of "c" failed: "plain string"', { resource: "c" }],
      ["resource", 'Resources: teardown of "a" failed: Error: a teardown broke', { resource: "a" }],
    ]);
    expect(errors[1]?.cause).toBeInstanceOf(Error);
  });

  it("tears down only the first `count` participants", async () => {
    const log: string[] = [];
    const resources = { a: recorded(log, "a"), b: recorded(log, "b"), c: recorded(log, "c") };
    await teardownResources(resources, 2);
    await teardownResources(resources, 0);
    expect(log).toEqual(["teardown b", "teardown a"]);
  });

  it("handles an empty resources object", async () => {
    expect(await setupResources({})).toBe(0);
    expect(await teardownResources({})).toEqual([]);
  });

  it("property: the call sequence is setup 0..k, then teardown k-1..0", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 12 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        async ([n, failing]) => {
          const log: string[] = [];
          const resources: Record<string, Resource> = {};
          for (let i = 0; i < n; i++) resources[`r${i}`] = recorded(log, String(i), { setup: i === failing });
          await expect(setupResources(resources)).rejects.toThrow(`setup of "r${failing}" failed`);
          const expected = [
            ...Array.from({ length: failing + 1 }, (_, i) => `setup ${i}`),
            ...Array.from({ length: failing }, (_, i) => `teardown ${failing - 1 - i}`),
          ];
          expect(log).toEqual(expected);
        },
      ),
    );
  });
});

describe("checkHealth / aggregateHealth", () => {
  it("asks each participant in key order; no health() means healthy; a throw means unhealthy", async () => {
    const order: string[] = [];
    const statuses = await checkHealth({
      plain: { value: 1 },
      db: {
        health: async (): Promise<HealthStatus> => {
          order.push("db");
          return { status: "healthy" };
        },
      },
      cache: {
        health: (): HealthStatus => {
          order.push("cache");
          return { status: "degraded", reason: "slow" };
        },
      },
      lifecycleOnly: { setup() {} },
      llm: {
        health: (): HealthStatus => {
          order.push("llm");
          throw new Error("connection refused");
        },
      },
      weird: { health: () => ({ ok: true }) as unknown as HealthStatus },
    });
    expect(order).toEqual(["db", "cache", "llm"]);
    expect(Object.keys(statuses)).toEqual(["db", "cache", "lifecycleOnly", "llm", "weird"]);
    expect(statuses.db).toEqual({ status: "healthy" });
    expect(statuses.cache).toEqual({ status: "degraded", reason: "slow" });
    expect(statuses.lifecycleOnly).toEqual({ status: "healthy" });
    expect(statuses.llm).toEqual({
      status: "unhealthy",
      reason: "health() threw: Error: connection refused",
    });
    expect(statuses.weird).toMatchObject({
      status: "unhealthy",
      reason: expect.stringMatching(/returned \{"ok":true\}/),
    });
  });

  it("aggregates to the worst status, naming the resources at that level", () => {
    expect(aggregateHealth({})).toEqual({ status: "healthy" });
    expect(aggregateHealth({ a: { status: "healthy" }, b: { status: "healthy" } })).toEqual({
      status: "healthy",
    });
    expect(
      aggregateHealth({
        a: { status: "healthy" },
        b: { status: "degraded", reason: "slow" },
        c: { status: "degraded", reason: "stale" },
      }),
    ).toEqual({ status: "degraded", reason: "b: slow; c: stale" });
    expect(
      aggregateHealth({
        a: { status: "unhealthy", reason: "down" },
        b: { status: "degraded", reason: "slow" },
        c: { status: "unhealthy", reason: "gone" },
      }),
    ).toEqual({ status: "unhealthy", reason: "a: down; c: gone" });
  });

  it("property: aggregate is unhealthy iff any is, else degraded iff any is", () => {
    const status = fc.constantFrom<HealthStatus>(
      { status: "healthy" },
      { status: "degraded", reason: "d" },
      { status: "unhealthy", reason: "u" },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), status), (statuses) => {
        const levels = Object.values(statuses).map((s) => s.status);
        const expected = levels.includes("unhealthy")
          ? "unhealthy"
          : levels.includes("degraded")
            ? "degraded"
            : "healthy";
        expect(aggregateHealth(statuses).status).toBe(expected);
      }),
    );
  });
});
