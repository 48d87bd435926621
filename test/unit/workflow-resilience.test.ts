import type { CanoError, TaskOptions } from "cano";
import { CircuitBreaker, exponential, fixed, isCanoError, none, PermanentError, task, Workflow } from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import { describe, expect, it } from "vitest";
import { failure, settle } from "../support/runs.ts";

type S = "call" | "done";

/** Runs `wf` on `clock` to completion: starts it, then lets virtual time pass until it settles. */

function flaky(failures: number, options: Pick<TaskOptions, "retry"> = {}) {
  let calls = 0;
  const attempts: number[] = [];
  const t = task({
    to: ["done"],
    ...options,
    run: ({ attempt }) => {
      attempts.push(attempt);
      if (++calls <= failures) throw new Error(`failure ${calls}`);
      return "done";
    },
  });
  return { t, attempts };
}

function workflow(clock: VirtualClock, recorder: RecordingObserver) {
  return new Workflow<S>({ random: () => 0.5 }).withClock(clock).withObserver(recorder).exit("done");
}

describe("retries", () => {
  it("retries with the default exponential backoff on the virtual clock: 100, 200, 400 ms", async () => {
    const clock = new VirtualClock();
    const recorder = new RecordingObserver();
    const { t, attempts } = flaky(3);
    const wf = workflow(clock, recorder).register("call", t);
    await expect(settle(clock, wf.orchestrate("call"))).resolves.toBe("done");
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(recorder.ofType("retry").map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
    expect(clock.now()).toBe(700);
    expect(recorder.ofType("task_success")[0]?.attempts).toBe(4);
  });

  it("does not wait before the next attempt until the delay has passed", async () => {
    const clock = new VirtualClock();
    const { t, attempts } = flaky(1, { retry: fixed(1, 1_000) });
    const run = new Workflow<S>().withClock(clock).register("call", t).exit("done").orchestrate("call");
    await clock.advance(999);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    await expect(run).resolves.toBe("done");
    expect(attempts).toEqual([1, 2]);
  });

  it("fails with retry_exhausted keeping the attempt count and the last cause", async () => {
    const clock = new VirtualClock();
    const recorder = new RecordingObserver();
    const { t } = flaky(10, { retry: fixed(2, 10) });
    const error = await failure(
      settle(clock, workflow(clock, recorder).register("call", t).orchestrate("call")),
    );
    expect(error.code).toBe("retry_exhausted");
    expect(error.attempt).toBe(3);
    expect(error.details).toEqual({ attempts: 3 });
    expect(error.state).toBe("call");
    expect(error.path).toEqual(["call"]);
    expect((error.cause as CanoError).code).toBe("task_execution");
    expect(((error.cause as CanoError).cause as Error).message).toBe("failure 3");
    expect(error.message).toContain('Task "call" failed after 3 attempts');
    expect(recorder.ofType("task_failure")[0]?.error.code).toBe("retry_exhausted");
    recorder.assertPath(["call"]);
  });

  it("returns the raw error when the policy allows a single attempt", async () => {
    const clock = new VirtualClock();
    const { t } = flaky(1, { retry: none() });
    const error = await failure(
      settle(clock, workflow(clock, new RecordingObserver()).register("call", t).orchestrate("call")),
    );
    expect(error.code).toBe("task_execution");
    expect(error.attempt).toBe(1);
  });

  it("never retries a PermanentError", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const wf = workflow(clock, new RecordingObserver()).register(
      "call",
      task({
        to: ["done"],
        run: () => {
          calls++;
          throw new PermanentError("card declined");
        },
      }),
    );
    const error = await failure(settle(clock, wf.orchestrate("call")));
    expect(calls).toBe(1);
    expect(error.code).toBe("task_execution");
    expect((error.cause as Error).name).toBe("PermanentError");
  });

  it("asks retryIf which failures to retry", async () => {
    const clock = new VirtualClock();
    const errors = [new Error("503"), new Error("400")];
    let calls = 0;
    const wf = workflow(clock, new RecordingObserver()).register(
      "call",
      task({
        to: ["done"],
        retry: fixed(5, 1),
        retryIf: (error) => (error.cause as Error).message === "503",
        run: () => {
          throw errors[calls++];
        },
      }),
    );
    const error = await failure(settle(clock, wf.orchestrate("call")));
    expect(calls).toBe(2);
    expect(error.attempt).toBe(2);
    expect((error.cause as Error).message).toBe("400");
  });
});

describe("per-attempt timeout", () => {
  it("aborts the attempt's signal, fails it with timeout, and retries", async () => {
    const clock = new VirtualClock();
    const recorder = new RecordingObserver();
    const reasons: unknown[] = [];
    let calls = 0;
    const wf = workflow(clock, recorder).register(
      "call",
      task({
        to: ["done"],
        retry: fixed(1, 0),
        attemptTimeoutMs: 50,
        run: ({ signal }) => {
          if (++calls === 2) return "done";
          signal.addEventListener("abort", () => reasons.push(signal.reason));
          return new Promise<"done">(() => {}); // never settles and ignores the signal
        },
      }),
    );
    await expect(settle(clock, wf.orchestrate("call"))).resolves.toBe("done");
    expect(calls).toBe(2);
    expect(clock.now()).toBe(50);
    expect(isCanoError(reasons[0]) && reasons[0].code).toBe("timeout");
    expect(recorder.ofType("retry")[0]?.error.code).toBe("timeout");
    expect(recorder.ofType("retry")[0]?.error.message).toContain("exceeded attemptTimeoutMs (50 ms)");
  });

  it("leaves no timer behind when the attempt finishes in time", async () => {
    const clock = new VirtualClock();
    const wf = new Workflow<S>()
      .withClock(clock)
      .register("call", task({ to: ["done"], attemptTimeoutMs: 10_000, run: () => "done" }))
      .exit("done");
    await expect(wf.orchestrate("call")).resolves.toBe("done");
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects a non-positive attemptTimeoutMs when the task is built", () => {
    expect(() => task({ attemptTimeoutMs: 0, run: () => "done" })).toThrow(
      /attemptTimeoutMs must be .* > 0, received 0/,
    );
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures and ends the retry loop without consuming an attempt", async () => {
    const clock = new VirtualClock();
    const recorder = new RecordingObserver();
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, clock });
    let calls = 0;
    const wf = workflow(clock, recorder).register(
      "call",
      task({
        to: ["done"],
        retry: fixed(5, 10),
        circuitBreaker: breaker,
        run: () => {
          calls++;
          throw new Error("down");
        },
      }),
    );
    const error = await failure(settle(clock, wf.orchestrate("call")));
    expect(calls).toBe(2);
    expect(error.code).toBe("circuit_open");
    expect(error.attempt).toBe(0);
    expect(breaker.state.status).toBe("open");
    expect(recorder.ofType("circuit_open")).toHaveLength(1);
    expect(recorder.events.filter((e) => e.type === "retry")).toHaveLength(2);
  });

  it("lets a probe through after the reset timeout and closes on success", async () => {
    const clock = new VirtualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1_000, clock });
    let healthy = false;
    const wf = new Workflow<S>()
      .withClock(clock)
      .register(
        "call",
        task({
          to: ["done"],
          retry: none(),
          circuitBreaker: breaker,
          run: () => {
            if (!healthy) throw new Error("down");
            return "done";
          },
        }),
      )
      .exit("done");
    expect((await failure(wf.orchestrate("call"))).code).toBe("task_execution");
    expect((await failure(wf.orchestrate("call"))).code).toBe("circuit_open");
    healthy = true;
    await clock.advance(1_000);
    await expect(wf.orchestrate("call")).resolves.toBe("done");
    expect(breaker.state.status).toBe("closed");
  });

  it("counts a timed-out attempt as a breaker failure", async () => {
    const clock = new VirtualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    const wf = new Workflow<S>()
      .withClock(clock)
      .register(
        "call",
        task({
          to: ["done"],
          retry: none(),
          attemptTimeoutMs: 5,
          circuitBreaker: breaker,
          run: () => new Promise<never>(() => {}),
        }),
      )
      .exit("done");
    expect((await failure(settle(clock, wf.orchestrate("call")))).code).toBe("timeout");
    expect(breaker.state.status).toBe("open");
  });
});

describe("cancellation and total timeout", () => {
  it("stops waiting for a task that ignores the signal once the run is cancelled", async () => {
    const controller = new AbortController();
    const recorder = new RecordingObserver();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const wf = new Workflow<"slow" | "done">()
      .withObserver(recorder)
      .register(
        "slow",
        task({
          to: ["done"],
          run: () => {
            started();
            return new Promise<"done">(() => {});
          },
        }),
      )
      .exit("done");
    const run = wf.orchestrate("slow", { signal: controller.signal });
    await running;
    controller.abort("user pressed stop");
    const error = await failure(run);
    expect(error.code).toBe("cancelled");
    expect(error.attempt).toBe(0);
    expect(error.path).toEqual(["slow"]);
    expect(recorder.ofType("cancelled")).toHaveLength(1);
    expect(recorder.ofType("task_failure")[0]?.error.code).toBe("cancelled");
    expect(recorder.ofType("run_end")[0]?.outcome).toBe("cancelled");
  });

  it("fires ctx.signal with a cancelled CanoError as its reason", async () => {
    const controller = new AbortController();
    let reason: unknown;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const wf = new Workflow<"slow" | "done">()
      .register(
        "slow",
        task({
          to: ["done"],
          run: ({ signal }) => {
            started();
            return new Promise<"done">((_, reject) =>
              signal.addEventListener("abort", () => {
                reason = signal.reason;
                reject(signal.reason);
              }),
            );
          },
        }),
      )
      .exit("done");
    const run = wf.orchestrate("slow", { signal: controller.signal });
    await running;
    controller.abort();
    await failure(run);
    expect(isCanoError(reason) && reason.code).toBe("cancelled");
  });

  it("checks cancellation at the state boundary and leaves the unentered state out of the path", async () => {
    const controller = new AbortController();
    const entered: string[] = [];
    const record = <T extends string>(state: string, next: T): T => {
      entered.push(state);
      return next;
    };
    const wf = new Workflow<"a" | "b" | "done">()
      .register("a", task({ to: ["b"], run: () => record("a", "b") }))
      .register("b", task({ to: ["done"], run: () => record("b", "done") }))
      .exit("done")
      .withObserver((event) => event.type === "task_success" && controller.abort());
    const error = await failure(wf.orchestrate("a", { signal: controller.signal }));
    expect(entered).toEqual(["a"]);
    expect(error.code).toBe("cancelled");
    expect(error.state).toBe("b");
    expect(error.path).toEqual(["a"]);
  });

  it("cancels during a retry backoff without waiting it out", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const { t, attempts } = flaky(5, { retry: fixed(3, 60_000) });
    const run = new Workflow<S>().withClock(clock).register("call", t).exit("done").orchestrate("call", {
      signal: controller.signal,
    });
    await clock.flush();
    controller.abort();
    expect((await failure(run)).code).toBe("cancelled");
    expect(attempts).toEqual([1]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fails with workflow_timeout when the total budget runs out mid-task", async () => {
    const clock = new VirtualClock();
    const recorder = new RecordingObserver();
    const wf = new Workflow<"a" | "slow" | "done">()
      .withClock(clock)
      .withObserver(recorder)
      .withTotalTimeout(1_000)
      .register("a", task({ to: ["slow"], run: () => clock.sleep(600).then(() => "slow" as const) }))
      .register("slow", task({ to: ["done"], run: () => clock.sleep(600).then(() => "done" as const) }))
      .exit("done");
    const error = await failure(settle(clock, wf.orchestrate("a")));
    expect(error.code).toBe("workflow_timeout");
    expect(error.state).toBe("slow");
    expect(error.details).toEqual({ elapsedMs: 1_000, limitMs: 1_000 });
    expect(recorder.ofType("workflow_timeout")).toEqual([
      expect.objectContaining({ elapsedMs: 1_000, limitMs: 1_000 }),
    ]);
  });

  it("does not let the total timeout outlive a finished run", async () => {
    const clock = new VirtualClock();
    const wf = new Workflow<S>()
      .withClock(clock)
      .withTotalTimeout(5_000)
      .register("call", task({ to: ["done"], retry: exponential(1), run: () => "done" }))
      .exit("done");
    await expect(wf.orchestrate("call")).resolves.toBe("done");
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects a non-positive total timeout", () => {
    expect(() => new Workflow<S>().withTotalTimeout(-1)).toThrow(
      /withTotalTimeout expects milliseconds > 0, received -1/,
    );
  });
});
