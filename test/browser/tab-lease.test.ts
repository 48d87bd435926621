// withTabLease and resumeInTab on real Web Locks in Chromium: refuse or queue a second driver, give up
// a wait on abort, release on failure, and run unleased (with a warning event) without navigator.locks.
// Two real tabs contending for one run are in tabs.test.ts.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserHarness } from "./harness/index.ts";
import { startHarness } from "./harness/index.ts";
import { labPages, openLab } from "./harness/lab.ts";

let harness: BrowserHarness;
let page: Page;

beforeAll(async () => {
  harness = await startHarness({ pages: labPages });
  page = await openLab(harness);
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

describe("withTabLease", () => {
  it('{ mode: "fail" } refuses a second driver at once with a clear checkpoint_store error', async () => {
    const seen = await page.evaluate(async () => {
      const { adapter, describeError } = window.lab;
      let finish = () => {};
      const first = adapter.withTabLease(
        "run-a",
        () => new Promise<string>((resolve) => (finish = () => resolve("first"))),
      );
      const second = await adapter
        .withTabLease("run-a", async () => "second", { mode: "fail" })
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error: describeError(error), held: adapter.isTabLeaseHeld(error) }),
        );
      finish();
      const firstValue = await first; // settled: the browser has released the lock
      const after = await adapter.withTabLease("run-a", async () => "third", { mode: "fail" });
      return { first: firstValue, second, after };
    });
    expect(seen.first).toBe("first");
    expect(seen.after).toBe("third");
    expect(seen.second).toMatchObject({
      held: true,
      error: {
        code: "checkpoint_store",
        workflowId: "run-a",
        details: { lease: "held", conflict: true, lockName: "cano:run:run-a" },
      },
    });
    expect("error" in seen.second && seen.second.error.message).toContain(
      'run "run-a" is being driven by another tab',
    );
  });

  it('{ mode: "wait" } queues behind the driver and reports waiting, acquired and released', async () => {
    const seen = await page.evaluate(async () => {
      const { adapter } = window.lab;
      const order: string[] = [];
      let finish = () => {};
      let queued = () => {};
      const waiting = new Promise<void>((resolve) => (queued = resolve));
      const first = adapter.withTabLease("run-b", async () => {
        order.push("first starts");
        await new Promise<void>((resolve) => (finish = resolve));
        order.push("first ends");
      });
      const second = adapter.withTabLease(
        "run-b",
        async () => {
          order.push("second starts");
        },
        {
          onEvent: (event) => {
            order.push(event.type);
            if (event.type === "lease_waiting") queued();
          },
        },
      );
      await waiting; // the second call reports waiting before the first is let go
      finish();
      await Promise.all([first, second]);
      return order;
    });
    expect(seen).toEqual([
      "first starts",
      "lease_waiting",
      "first ends",
      "lease_acquired",
      "second starts",
      "lease_released",
    ]);
  });

  it("stops waiting when its signal aborts, with a cancelled error, and never drives", async () => {
    const seen = await page.evaluate(async () => {
      const { adapter, rejection } = window.lab;
      let finish = () => {};
      const first = adapter.withTabLease("run-c", () => new Promise<void>((resolve) => (finish = resolve)));
      const controller = new AbortController();
      let drove = false;
      const waiting = adapter.withTabLease(
        "run-c",
        async () => {
          drove = true;
        },
        {
          signal: controller.signal,
          onEvent: (event) => event.type === "lease_waiting" && controller.abort(new Error("user left")),
        },
      );
      const error = await rejection(waiting);
      finish();
      await first;
      return { error, drove };
    });
    expect(seen.drove).toBe(false);
    expect(seen.error).toMatchObject({ code: "cancelled", causeName: "Error", causeMessage: "user left" });
  });

  it("releases the lease when the drive fails", async () => {
    const seen = await page.evaluate(async () => {
      const { adapter, rejection } = window.lab;
      const failed = await rejection(
        adapter.withTabLease("run-d", async () => Promise.reject(new Error("boom"))),
      );
      const next = await adapter.withTabLease("run-d", async () => "free again", { mode: "fail" });
      return { failed: failed.message, next };
    });
    expect(seen).toEqual({ failed: "boom", next: "free again" });
  });

  it("runs without a lease, and says so, where navigator.locks is missing", async () => {
    const context = await harness.newContext();
    await context.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined }),
    );
    const bare = await context.newPage();
    const warnings: string[] = [];
    bare.on("console", (message) => {
      if (message.type() === "warning") warnings.push(message.text());
    });
    await bare.goto(harness.url("/lab.html"));
    await bare.waitForFunction(() => document.title === "lab ready");
    const seen = await bare.evaluate(async () => {
      const { adapter } = window.lab;
      const events: string[] = [];
      const quiet = await adapter.withTabLease("run-e", async () => "drove", {
        onEvent: (event) => events.push(event.type),
      });
      const loud = await adapter.withTabLease("run-e", async () => "drove again");
      return { hasLocks: "locks" in navigator && navigator.locks !== undefined, quiet, loud, events };
    });
    expect(seen).toEqual({
      hasLocks: false,
      quiet: "drove",
      loud: "drove again",
      events: ["lease_unavailable"],
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'running "run-e" without a lease: navigator.locks (the Web Locks API) is not available',
    );
    await context.close();
  });

  it("rejects a bad mode or an empty workflow id with a configuration error", async () => {
    const codes = await page.evaluate(async () => {
      const { adapter, rejection } = window.lab;
      const bad = { mode: "maybe" } as unknown as { mode: "wait" };
      return [
        (await rejection(adapter.withTabLease("run-f", async () => 1, bad))).code,
        (await rejection(adapter.withTabLease("", async () => 1))).code,
      ];
    });
    expect(codes).toEqual(["configuration", "configuration"]);
  });
});

describe("resumeInTab", () => {
  it("resumes a run that has rows, and reports a run without rows as gone", async () => {
    const seen = await page.evaluate(async () => {
      const { cano, adapter } = window.lab;
      const db = await adapter.openCanoDatabase(`resume-${crypto.randomUUID()}`);
      const checkpoints = new adapter.IndexedDbCheckpointStore(db);
      await checkpoints.append("half-done", {
        sequence: 0,
        state: "second",
        taskId: "second",
        kind: "state",
        version: 0,
        at: 1,
      });
      const wf = new cano.Workflow<"first" | "second" | "done">()
        .withCheckpointStore(checkpoints)
        .register("first", cano.task({ to: ["second"], run: async () => "second" }))
        .register("second", cano.task({ to: ["done"], run: async () => "done" }))
        .exit("done");
      const events: string[] = [];
      const resumed = await adapter.resumeInTab(wf, checkpoints, "half-done", {
        onEvent: (event) => events.push(event.type),
        onLeaseEvent: (event) => events.push(event.type),
      });
      const gone = await adapter.resumeInTab(wf, checkpoints, "half-done");
      db.close();
      return {
        resumed,
        gone,
        events: events.filter((type) => type.startsWith("lease") || type === "resume"),
      };
    });
    expect(seen).toEqual({
      resumed: { status: "completed", state: "done" },
      gone: { status: "gone" },
      events: ["lease_acquired", "resume", "lease_released"],
    });
  });
});
