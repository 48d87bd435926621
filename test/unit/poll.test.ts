import type { Task, TaskContext } from "cano";
import { fixed, Workflow } from "cano";
import { RecordingObserver, VirtualClock } from "cano/testing";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as policies from "../../core/error-policy.ts";
import type { PollErrorPolicy, PollOutcome } from "../../core/poll.ts";
import { failFast, pending, poll, retryOnError } from "../../core/poll.ts";
import { failure, settle } from "../support/runs.ts";

type S = "wait" | "done" | "failed";

/** Runs `run` on `clock` to completion: lets virtual time pass until it settles. */

/** A poll body that plays `script` in order: a state, `pending(ms)`, or an Error to throw. */
function scripted(script: readonly (PollOutcome<"done"> | Error)[]) {
  const calls: number[] = [];
  const body = ({ clock }: TaskContext) => {
    calls.push(clock.now());
    const step = script[calls.length - 1];
    if (step === undefined) throw new Error("script exhausted");
    if (step instanceof Error) throw step;
    return step;
  };
  return { body, calls };
}

function workflow(clock: VirtualClock, t: Task<"done" | "failed">) {
  return new Workflow<S>({ random: () => 0.5 }).withClock(clock).register("wait", t).exit("done", "failed");
}

describe("poll: pending", () => {
  it("sleeps each pending delay on the clock and returns the ready state", async () => {
    const clock = new VirtualClock();
    const { body, calls } = scripted([pending(100), pending(250), pending(0), "done"]);
    const wf = workflow(clock, poll({ to: ["done"], poll: body }));
    await expect(settle(clock, wf.orchestrate("wait"))).resolves.toBe("done");
    expect(calls).toEqual([0, 100, 350, 350]);
    expect(clock.now()).toBe(350);
    expect(clock.pendingTimers).toBe(0);
  });

  it("does not poll again before the delay has passed", async () => {
    const clock = new VirtualClock();
    const { body, calls } = scripted([pending(1_000), "done"]);
    const run = workflow(clock, poll({ to: ["done"], poll: body })).orchestrate("wait");
    await clock.advance(999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    await expect(run).resolves.toBe("done");
    expect(calls).toEqual([0, 1_000]);
  });

  it("is one attempt with no retries by default", async () => {
    const recorder = new RecordingObserver();
    const t = poll({ to: ["done"], poll: () => pending(5) });
    expect(t.kind).toBe("poll");
    expect(t.retry).toEqual({ kind: "none" });
    const clock = new VirtualClock();
    const { body } = scripted([pending(5), pending(5), "done"]);
    await settle(
      clock,
      workflow(clock, poll({ to: ["done"], poll: body }))
        .withObserver(recorder)
        .orchestrate("wait"),
    );
    expect(recorder.ofType("task_success")[0]?.attempts).toBe(1);
    expect(recorder.ofType("retry")).toEqual([]);
  });
});

describe("poll: errors", () => {
  it("fails at once on the first error by default (fail_fast)", async () => {
    const clock = new VirtualClock();
    const { body, calls } = scripted([pending(10), new Error("boom"), "done"]);
    const error = await failure(
      settle(clock, workflow(clock, poll({ to: ["done"], poll: body })).orchestrate("wait")),
    );
    expect(error.code).toBe("task_execution");
    expect((error.cause as Error).message).toBe("boom");
    expect(calls).toHaveLength(2);
  });

  it("re-polls a tolerated error at once, without letting time pass", async () => {
    const clock = new VirtualClock();
    const { body, calls } = scripted([new Error("a"), new Error("b"), new Error("c"), "done"]);
    const wf = workflow(clock, poll({ to: ["done"], onError: retryOnError(3), poll: body }));
    // No settle: a re-poll that slept would leave the run waiting on the clock forever.
    await expect(wf.orchestrate("wait")).resolves.toBe("done");
    expect(calls).toEqual([0, 0, 0, 0]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fails with the last error once consecutive errors exceed maxErrors", async () => {
    const clock = new VirtualClock();
    const { body, calls } = scripted([new Error("e1"), new Error("e2"), new Error("e3"), "done"]);
    const wf = workflow(clock, poll({ to: ["done"], onError: retryOnError(2), poll: body }));
    const error = await failure(wf.orchestrate("wait"));
    expect(calls).toHaveLength(3);
    expect(error.code).toBe("task_execution");
    expect((error.cause as Error).message).toBe("e3");
    expect(error.state).toBe("wait");
  });

  it("resets the consecutive-error count on a pending result", async () => {
    const clock = new VirtualClock();
    const e = () => new Error("flaky");
    const { body, calls } = scripted([e(), pending(10), e(), pending(10), e(), "done"]);
    const wf = workflow(clock, poll({ to: ["done"], onError: retryOnError(1), poll: body }));
    await expect(settle(clock, wf.orchestrate("wait"))).resolves.toBe("done");
    expect(calls).toEqual([0, 0, 10, 10, 20, 20]);
  });

  it("tolerates nothing with retryOnError(0)", async () => {
    const clock = new VirtualClock();
    const { body, calls } = scripted([new Error("only"), "done"]);
    const error = await failure(
      workflow(clock, poll({ to: ["done"], onError: retryOnError(0), poll: body })).orchestrate("wait"),
    );
    expect((error.cause as Error).message).toBe("only");
    expect(calls).toHaveLength(1);
  });
});

describe("poll: attempt timeout and retries", () => {
  it("bounds the whole loop with attemptTimeoutMs, not each poll", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const t = poll({
      to: ["done"],
      attemptTimeoutMs: 1_000,
      poll: () => {
        calls++;
        return pending(100);
      },
    });
    const error = await failure(settle(clock, workflow(clock, t).orchestrate("wait")));
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("exceeded attemptTimeoutMs (1000 ms)");
    expect(clock.now()).toBe(1_000);
    expect(calls).toBe(10);
    expect(clock.pendingTimers).toBe(0);
  });

  it("restarts the whole loop when retries are configured", async () => {
    const clock = new VirtualClock();
    const seen: [number, number][] = [];
    const t = poll({
      to: ["done"],
      retry: fixed(1, 0),
      attemptTimeoutMs: 250,
      poll: ({ attempt }) => {
        seen.push([attempt, clock.now()]);
        return attempt === 2 && clock.now() >= 350 ? "done" : pending(100);
      },
    });
    await expect(settle(clock, workflow(clock, t).orchestrate("wait"))).resolves.toBe("done");
    expect(seen).toEqual([
      [1, 0],
      [1, 100],
      [1, 200],
      [2, 250],
      [2, 350],
    ]);
  });

  it("stops polling when the run is cancelled during a pending sleep", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    let calls = 0;
    const t = poll({
      to: ["done"],
      poll: () => {
        calls++;
        return pending(60_000);
      },
    });
    const run = workflow(clock, t).orchestrate("wait", { signal: controller.signal });
    await clock.flush();
    expect(clock.pendingTimers).toBe(1);
    controller.abort();
    const error = await failure(run);
    expect(error.code).toBe("cancelled");
    expect(clock.pendingTimers).toBe(0);
    await clock.runAll();
    expect(calls).toBe(1);
  });
});

describe("poll: configuration", () => {
  it("rejects a negative, NaN or infinite pending delay", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => pending(bad)).toThrow(
        expect.objectContaining({
          code: "configuration",
          message: expect.stringContaining(
            `poll: pending(delayMs) expects a finite number of milliseconds ≥ 0, received ${bad}`,
          ),
        }),
      );
    }
  });

  it("rejects a bad maxErrors or policy", () => {
    // retryOnError is shared with stream, so its own message names no model.
    expect(() => retryOnError(-1)).toThrow(
      /^retryOnError expects maxErrors to be an integer ≥ 0, received -1$/,
    );
    expect(() => retryOnError(1.5)).toThrow(/received 1\.5/);
    expect(() => retryOnError(Number.NaN)).toThrow(/received NaN/);
    const handBuilt = { kind: "retry_on_error", maxErrors: -2 } as const;
    expect(() => poll({ onError: handBuilt, poll: () => "done" })).toThrow(
      /poll: retryOnError expects maxErrors to be an integer ≥ 0, received -2/,
    );
    const unknown = { kind: "sometimes" } as unknown as PollErrorPolicy;
    expect(() => poll({ onError: unknown, poll: () => "done" })).toThrow(
      /onError must be failFast\(\) or retryOnError\(maxErrors\), received \{"kind":"sometimes"\}/,
    );
    expect(failFast()).toEqual({ kind: "fail_fast" });
    expect(retryOnError(2)).toEqual({ kind: "retry_on_error", maxErrors: 2 });
  });

  it("re-exports the policy constructors it shares with stream", () => {
    expect(failFast).toBe(policies.failFast);
    expect(retryOnError).toBe(policies.retryOnError);
  });

  it("rejects stream's skipAndContinue() as an onError policy", () => {
    const skip = policies.skipAndContinue() as unknown as PollErrorPolicy;
    expect(() => poll({ onError: skip, poll: () => "done" })).toThrow(
      /poll: onError must be failFast\(\) or retryOnError\(maxErrors\), received \{"kind":"skip_and_continue"\}/,
    );
  });

  it("shows a hand-built pending delay that is not a number as JSON", async () => {
    const clock = new VirtualClock();
    const t = poll({
      to: ["done"],
      poll: () => ({ kind: "pending", delayMs: { ms: 5 } as unknown as number }) as const,
    });
    const error = await failure(workflow(clock, t).orchestrate("wait"));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain('received {"ms":5}. Use pending(0) to poll again at once.');
  });

  it("never tolerates a configuration error, even under retry_on_error", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const t = poll({
      to: ["done"],
      onError: retryOnError(5),
      poll: () => {
        calls++;
        return pending(-5);
      },
    });
    const error = await failure(workflow(clock, t).orchestrate("wait"));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain("received -5");
    expect(calls).toBe(1);
  });

  it("checks a hand-built pending result too", async () => {
    const clock = new VirtualClock();
    const t = poll({ to: ["done"], poll: () => ({ kind: "pending", delayMs: Number.NaN }) as const });
    const error = await failure(workflow(clock, t).orchestrate("wait"));
    expect(error.code).toBe("configuration");
    expect(error.message).toContain("received NaN");
  });
});

describe("poll: types", () => {
  it("infers the declared targets and refuses undeclared ones", () => {
    const t = poll({ to: ["done", "failed"], poll: () => pending(1) });
    expectTypeOf(t).toEqualTypeOf<Task<"done" | "failed", unknown>>();
    expect(() =>
      // @ts-expect-error skipAndContinue() is a stream policy, not a poll one
      poll({ onError: policies.skipAndContinue(), poll: () => "done" }),
    ).toThrow(/onError must be/);
    // @ts-expect-error "elsewhere" is not among the declared targets
    poll({ to: ["done"], poll: () => "elsewhere" });
    // @ts-expect-error nor asynchronously
    poll({ to: ["done"], poll: async () => (Math.random() > 0.5 ? pending(1) : "elsewhere") });
  });

  it("infers the targets from the body when none are declared", () => {
    const t = poll({ poll: async () => (Math.random() > 0.5 ? pending(10) : "done") });
    expectTypeOf(t).toEqualTypeOf<Task<"done", unknown>>();
    const _checks = (wf: Workflow<S>) => {
      // @ts-expect-error "nope" is not a state of S
      wf.register("wait", poll({ poll: () => "nope" }));
    };
    expectTypeOf(_checks).toBeFunction();
  });
});
