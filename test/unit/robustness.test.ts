import type { RetryPolicy } from "cano";
import {
  CanoError,
  CircuitBreaker,
  exponential,
  fixed,
  key,
  node,
  randomId,
  systemClock,
  task,
  Workflow,
} from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { configurationError, failure, settle } from "../support/runs.ts";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("stopping a run leaves nothing behind", () => {
  it("an observer that cancels on task_start fails the run cleanly (no unhandled rejection)", async () => {
    const controller = new AbortController();
    let ran = false;
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          run: () => {
            ran = true;
            throw new Error("would be unhandled");
          },
        }),
      )
      .exit("done")
      .withObserver((event) => event.type === "task_start" && controller.abort());
    expect((await failure(wf.orchestrate("a", { signal: controller.signal }))).code).toBe("cancelled");
    expect(ran).toBe(false);
  });

  it("a task that cancels its own run and then throws does not leak a rejection", async () => {
    const controller = new AbortController();
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          run: async () => {
            controller.abort();
            throw new Error("after abort");
          },
        }),
      )
      .exit("done");
    expect((await failure(wf.orchestrate("a", { signal: controller.signal }))).code).toBe("cancelled");
  });

  it("a half-open probe that ignores its signal still counts as a breaker failure when the run stops", async () => {
    const clock = new VirtualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 100, clock });
    breaker.recordFailure(breaker.tryAcquire()!);
    await clock.advance(100);
    const wf = new Workflow<"probe" | "done">()
      .withClock(clock)
      .register(
        "probe",
        task({ to: ["done"], circuitBreaker: breaker, run: () => new Promise<never>(() => {}) }),
      )
      .exit("done");
    const controller = new AbortController();
    const outcome = failure(wf.orchestrate("probe", { signal: controller.signal }));
    await clock.flush();
    expect(breaker.state.status).toBe("half_open");
    controller.abort();
    expect((await outcome).code).toBe("cancelled");
    expect(breaker.state.status).toBe("open");
  });

  it("stops a node between phases once the run is cancelled", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const phases: string[] = [];
    const wf = new Workflow<"n" | "done">()
      .withClock(clock)
      .register(
        "n",
        node({
          to: ["done"],
          prep: async () => {
            phases.push("prep");
            await clock.sleep(100);
          },
          exec: () => phases.push("exec"),
          post: () => {
            phases.push("post");
            return "done";
          },
        }),
      )
      .exit("done");
    const outcome = failure(wf.orchestrate("n", { signal: controller.signal }));
    await clock.advance(10);
    controller.abort();
    expect((await outcome).code).toBe("cancelled");
    await clock.runAll();
    expect(phases).toEqual(["prep"]);
  });

  it("gives every run its own signal, so a listener a task forgets dies with its run", async () => {
    const signals: AbortSignal[] = [];
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          run: ({ signal }) => {
            signal.addEventListener("abort", () => {});
            signals.push(signal);
            return "done";
          },
        }),
      )
      .exit("done");
    await wf.orchestrate("a");
    await wf.orchestrate("a");
    expect(signals[0]).not.toBe(signals[1]);
  });
});

describe("the plain-task path (no breaker, no attempt timeout, nothing can stop the run)", () => {
  it("retries a body that throws synchronously, with fresh attempt numbers and the run's live signal", async () => {
    const clock = new VirtualClock();
    const seen: { attempt: number; aborted: boolean; split: unknown }[] = [];
    const observer = new RecordingObserver();
    const wf = new Workflow<"a" | "b" | "done">()
      .withClock(clock)
      .withObserver(observer)
      .register("a", task({ to: ["b"], run: () => "b" }))
      .register(
        "b",
        task({
          to: ["done"],
          retry: fixed(2, 50),
          run: ({ attempt, signal, split }) => {
            seen.push({ attempt, aborted: signal.aborted, split });
            if (attempt < 3) throw new Error(`flaky ${attempt}`);
            return "done";
          },
        }),
      )
      .exit("done");
    expect(await settle(clock, wf.orchestrate("a"))).toBe("done");
    expect(seen).toEqual([1, 2, 3].map((attempt) => ({ attempt, aborted: false, split: undefined })));
    const retries = observer.events.filter((event) => event.type === "retry");
    expect(retries.map((event) => [event.attempt, event.delayMs])).toEqual([
      [1, 50],
      [2, 50],
    ]);
    const successes = observer.events.filter((event) => event.type === "task_success");
    expect(successes.map((event) => [event.state, event.attempts])).toEqual([
      ["a", 1],
      ["b", 3],
    ]);
  });

  it("never starts the first state inside orchestrate(): a cancel right after it stops the run first", async () => {
    const ran: string[] = [];
    const observer = new RecordingObserver();
    const wf = new Workflow<"a" | "done">()
      .withObserver(observer)
      .register(
        "a",
        task({
          to: ["done"],
          run: () => {
            ran.push("a");
            return "done";
          },
        }),
      )
      .exit("done");
    const controller = new AbortController();
    const outcome = failure(wf.orchestrate("a", { signal: controller.signal }));
    expect(ran).toEqual([]);
    controller.abort();
    const error = await outcome;
    expect(error.code).toBe("cancelled");
    expect(error.path).toEqual([]);
    expect(ran).toEqual([]);
    expect(observer.events.map((event) => event.type)).toEqual(["run_start", "cancelled", "run_end"]);
    // Unobserved runs take another path through the engine; they start no sooner.
    const quiet = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          run: () => {
            ran.push("quiet");
            return "done";
          },
        }),
      )
      .exit("done");
    const run = quiet.orchestrate("a");
    expect(ran).toEqual([]);
    expect(await run).toBe("done");
    expect(ran).toEqual(["quiet"]);
  });

  it("hands tasks a context whose copies keep the signal", async () => {
    const copies: Record<string, unknown>[] = [];
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          run: (ctx) => {
            copies.push({ ...ctx });
            return "done";
          },
        }),
      )
      .exit("done");
    await wf.orchestrate("a");
    expect(Object.keys(copies[0]!)).toEqual(
      expect.arrayContaining(["state", "store", "resources", "signal", "attempt", "workflowId", "clock"]),
    );
    expect(copies[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  it("fails with the task's error, its attempt count and the path when the retries run out", async () => {
    const clock = new VirtualClock();
    const wf = new Workflow<"a" | "done">()
      .withClock(clock)
      .register(
        "a",
        task({ to: ["done"], retry: fixed(1, 10), run: () => Promise.reject(new Error("down")) }),
      )
      .exit("done");
    const error = await failure(settle(clock, wf.orchestrate("a")));
    expect(error.code).toBe("retry_exhausted");
    expect(error.message).toContain("down");
    expect(error.state).toBe("a");
    expect(error.attempt).toBe(2);
    expect(error.path).toEqual(["a"]);
  });
});

describe("observers", () => {
  it("isolates an async observer that rejects and reports it once", async () => {
    const report = vi.spyOn(console, "error").mockImplementation(() => {});
    const wf = new Workflow<"a" | "done">()
      .register("a", task({ to: ["done"], run: () => "done" }))
      .exit("done")
      .withObserver(async () => {
        throw new Error("async observer failed");
      });
    await expect(wf.orchestrate("a")).resolves.toBe("done");
    await new Promise((resolve) => setImmediate(resolve));
    expect(report).toHaveBeenCalledTimes(1);
    expect(String(report.mock.calls[0]?.[0])).toContain("async observer failed");
  });

  it("treats a CanoError a task throws with a stop code as the task's error, not as the run stopping", async () => {
    const recorder = new RecordingObserver();
    const wf = new Workflow<"a" | "done">()
      .register(
        "a",
        task({
          to: ["done"],
          retry: fixed(0, 0),
          run: () => {
            throw new CanoError("workflow_timeout", "a nested workflow timed out");
          },
        }),
      )
      .exit("done")
      .withObserver(recorder);
    const error = await failure(wf.orchestrate("a"));
    expect(error.code).toBe("workflow_timeout");
    expect(error.attempt).toBe(1);
    expect(recorder.ofType("workflow_timeout")).toEqual([]);
  });
});

describe("bad input is refused where it is written", () => {
  it("validates a hand-built retry policy when the task is built", () => {
    const broken = { kind: "fixed", retries: Number.NaN, delayMs: 1 } as RetryPolicy;
    expect(configurationError(() => task({ retry: broken, run: () => "x" })).message).toContain(
      "received NaN",
    );
    const unknown = { kind: "sometimes" } as unknown as RetryPolicy;
    expect(configurationError(() => task({ retry: unknown, run: () => "x" })).message).toContain(
      "expected a policy made by none(), fixed() or exponential()",
    );
  });

  it("refuses a task without its callback and a state without a task", () => {
    const noRun = {} as Parameters<typeof task>[0];
    expect(configurationError(() => task(noRun)).message).toBe(
      'task: "run" must be a function, received undefined',
    );
    const wf = new Workflow<"a" | "done">();
    const missing = undefined as unknown as ReturnType<typeof task<"done">>;
    expect(configurationError(() => wf.register("a", missing)).message).toContain(
      'state "a" was given undefined instead of a task',
    );
  });

  it("keeps a default when an option is explicitly undefined", () => {
    expect(exponential(3, { baseMs: undefined })).toMatchObject({ baseMs: 100 });
  });

  it("lists the known states when nothing is close to an unknown one", async () => {
    const wf = new Workflow<string>().register("fetch", task({ run: () => "done" })).exit("done");
    expect((await failure(wf.orchestrate("zzz"))).message).toBe(
      'Workflow: initial state "zzz" is neither registered nor an exit state. Known: "fetch", "done".',
    );
  });

  it("stops retrying when retryIf itself throws", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const wf = new Workflow<"a" | "done">()
      .withClock(clock)
      .register(
        "a",
        task({
          to: ["done"],
          retry: fixed(5, 1),
          retryIf: () => {
            throw new Error("predicate bug");
          },
          run: () => {
            calls++;
            throw new Error("fails");
          },
        }),
      )
      .exit("done");
    await failure(settle(clock, wf.orchestrate("a")));
    expect(calls).toBe(1);
  });

  it("does not retry a store write that fails its schema", async () => {
    const clock = new VirtualClock();
    const age = key("age", z.number().int());
    let calls = 0;
    const wf = new Workflow<"a" | "done">()
      .withClock(clock)
      .register(
        "a",
        task({
          to: ["done"],
          run: async ({ store }) => {
            calls++;
            await store.put(age, 1.5);
            return "done";
          },
        }),
      )
      .exit("done");
    expect((await failure(settle(clock, wf.orchestrate("a")))).code).toBe("store");
    expect(calls).toBe(1);
  });
});

describe("randomness and time", () => {
  it("draws retry jitter in batches, not one crypto call per delay", async () => {
    const spy = vi.spyOn(crypto, "getRandomValues");
    const clock = new VirtualClock();
    let calls = 0;
    const wf = new Workflow<"a" | "done">()
      .withClock(clock)
      .register(
        "a",
        task({
          to: ["done"],
          retry: exponential(40, { baseMs: 1, maxDelayMs: 2 }),
          run: () => {
            if (++calls <= 40) throw new Error("again");
            return "done";
          },
        }),
      )
      .exit("done");
    await settle(clock, wf.orchestrate("a", { workflowId: "fixed" }));
    expect(calls).toBe(41);
    expect(spy.mock.calls.length).toBe(1);
  });

  it("makes distinct RFC 4122 version 4 ids from batched getRandomValues, even without crypto.randomUUID", () => {
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    // A plain-http page has no randomUUID; ids must not need it.
    Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true });
    const draws = vi.spyOn(crypto, "getRandomValues");
    try {
      const ids = Array.from({ length: 600 }, randomId);
      expect(new Set(ids).size).toBe(600);
      for (const id of ids) expect(id).toMatch(v4);
      // 256 ids per draw: 600 ids cross at least two refills, and never draw once per id.
      expect(draws.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(draws.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      // Restore the real method (the property was shadowed on the instance above).
      Reflect.deleteProperty(crypto, "randomUUID");
    }
  });

  it("waits past the 2^31 - 1 ms limit of setTimeout instead of firing at once", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    systemClock.schedule(2 ** 31 + 1_000, fired);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1_001);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});
