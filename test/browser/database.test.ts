// The IndexedDB database behind cano/idb in Chromium: schema upgrades from an older database made by
// hand, refusal of a newer one, a blocked upgrade, a database deleted by another tab, a full quota,
// and listRuns for "resume" lists. Every storage failure must be a CanoError with the browser's cause.
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserHarness } from "./harness/index.ts";
import { startHarness } from "./harness/index.ts";
import { labPages, openLab } from "./harness/lab.ts";

let harness: BrowserHarness;

beforeAll(async () => {
  harness = await startHarness({ pages: labPages });
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

/** The lab page, in `context` or in a fresh profile. */
const labPage = (context?: BrowserContext): Promise<Page> => openLab(harness, context);

describe("schema versions", () => {
  it("opening a version 1 database made by hand upgrades it; its run resumes and completes", async () => {
    const page = await labPage();
    const seen = await page.evaluate(async () => {
      const { cano, adapter, raw } = window.lab;
      const name = `v1-${crypto.randomUUID()}`;
      // Version 1, as the first release of the adapter laid it out: only the checkpoint log.
      const v1 = await raw.openDB(name, 1, { upgrade: (db) => void db.createObjectStore("checkpoints") });
      const row = (sequence: number, state: string) => ({
        sequence,
        state,
        taskId: state,
        kind: "state",
        version: 0,
        at: 1_700_000_000_000 + sequence,
        workflow: "upgrade",
      });
      await v1.put("checkpoints", row(0, "fetch"), ["run-1", 0]);
      await v1.put("checkpoints", row(1, "summarize"), ["run-1", 1]);
      v1.close();

      const db = await adapter.openCanoDatabase(name);
      const checkpoints = new adapter.IndexedDbCheckpointStore(db);
      const memory = new adapter.IndexedDbKeyValueStore(db, "run-1");
      const listed = await checkpoints.listRuns();
      const ran: string[] = [];
      const wf = new cano.Workflow<"fetch" | "summarize" | "done">({ name: "upgrade", store: memory })
        .withCheckpointStore(checkpoints)
        .register(
          "fetch",
          cano.task({
            to: ["summarize"],
            run: async () => {
              ran.push("fetch");
              return "summarize";
            },
          }),
        )
        .register(
          "summarize",
          cano.task({
            to: ["done"],
            run: async ({ store }) => {
              ran.push("summarize");
              await store.put("summary", "resumed after an upgrade");
              return "done";
            },
          }),
        )
        .exit("done");
      const final = await wf.resumeFrom("run-1");
      const result = {
        version: db.version,
        stores: [...(await raw.openDB(name)).objectStoreNames],
        listed,
        final,
        ran,
        summary: await memory.get("summary"),
        rowsLeft: (await checkpoints.loadRun("run-1")).length,
      };
      db.close();
      return result;
    });
    expect(seen).toEqual({
      version: 2,
      stores: ["checkpoints", "kv"],
      listed: [
        {
          workflowId: "run-1",
          workflow: "upgrade",
          state: "summarize",
          sequence: 1,
          at: 1_700_000_000_001,
          version: 0,
          rows: 2,
        },
      ],
      final: "done",
      ran: ["summarize"],
      summary: "resumed after an upgrade",
      rowsLeft: 0,
    });
  });

  it("a database written by newer code is refused with checkpoint_store, not downgraded", async () => {
    const page = await labPage();
    const error = await page.evaluate(async () => {
      const { adapter, raw, rejection } = window.lab;
      const name = `newer-${crypto.randomUUID()}`;
      (await raw.openDB(name, 7)).close();
      return rejection(adapter.openCanoDatabase(name));
    });
    expect(error).toMatchObject({ code: "checkpoint_store", causeName: "VersionError" });
    expect(error.details).toMatchObject({ reason: "version" });
    expect(error.message).toContain("created by a newer version");
  });

  it("an upgrade blocked by another open connection is a checkpoint_store error; it opens once that closes", async () => {
    const page = await labPage();
    const seen = await page.evaluate(async () => {
      const { adapter, raw, rejection } = window.lab;
      const name = `blocked-${crypto.randomUUID()}`;
      // An old tab's connection that ignores "versionchange" (idb closes nothing by itself).
      const old = await raw.openDB(name, 1, { upgrade: (db) => void db.createObjectStore("checkpoints") });
      const blocked = await rejection(adapter.openCanoDatabase(name));
      old.close();
      const db = await adapter.openCanoDatabase(name);
      const version = db.version;
      db.close();
      return { blocked, version };
    });
    expect(seen.blocked).toMatchObject({ code: "checkpoint_store", details: { reason: "blocked" } });
    expect(seen.blocked.message).toContain("upgrade from schema version 1 to 2");
    expect(seen.blocked.message).toContain("close or reload the other tabs");
    expect(seen.version).toBe(2);
  });
});

describe("storage failures are errors, never silent loss", () => {
  it("a database deleted by another tab: every later read and write fails with a clear error", async () => {
    const context = await harness.newContext();
    const [page, other] = [await labPage(context), await labPage(context)];
    const name = `deleted-${Date.now()}`;
    await page.evaluate(async (database) => {
      const { adapter } = window.lab;
      const db = await adapter.openCanoDatabase(database, {
        onLost: (loss) => {
          (window as unknown as { loss: string }).loss = loss.what;
        },
      });
      const checkpoints = new adapter.IndexedDbCheckpointStore(db);
      await checkpoints.append("run", {
        sequence: 0,
        state: "a",
        taskId: "a",
        kind: "state",
        version: 0,
        at: 1,
      });
      Object.assign(window, {
        kept: { db, checkpoints, memory: new adapter.IndexedDbKeyValueStore(db, "run") },
      });
    }, name);
    await other.evaluate((database) => window.lab.raw.deleteDB(database), name);
    const seen = await page.evaluate(async () => {
      const { cano, rejection } = window.lab;
      type Kept = {
        checkpoints: import("cano").CheckpointStore;
        memory: import("cano").KeyValueStore;
      };
      const { checkpoints, memory } = (window as unknown as { kept: Kept }).kept;
      const row = { sequence: 1, state: "b", taskId: "b", kind: "state" as const, version: 0, at: 2 };
      const wf = new cano.Workflow<"a" | "done">({ name: "w" })
        .withCheckpointStore(checkpoints)
        .register("a", cano.task({ to: ["done"], run: async () => "done" }))
        .exit("done");
      return {
        loss: (window as unknown as { loss?: string }).loss,
        append: await rejection(checkpoints.append("run", row)),
        load: await rejection(checkpoints.loadRun("run")),
        put: await rejection(memory.put("k", 1)),
        run: await rejection(wf.orchestrate("a", { workflowId: "run-2" })),
      };
    });
    expect(seen.loss).toBe("was deleted by another tab or connection");
    for (const error of [seen.append, seen.load]) {
      expect(error).toMatchObject({ code: "checkpoint_store", details: { reason: "connection_lost" } });
      expect(error.message).toContain('the browser fired a "versionchange" event');
      expect(error.message).toContain("was deleted by another tab or connection");
    }
    expect(seen.put).toMatchObject({ code: "store", details: { reason: "connection_lost" } });
    expect(seen.run).toMatchObject({ code: "checkpoint_store" });
    expect(seen.run.message).toContain("was deleted by another tab");
    await context.close();
  });

  it("a full quota is a checkpoint_store error with QuotaExceededError as cause; earlier rows stay", async () => {
    const context = await harness.newContext();
    const page = await labPage(context);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: harness.server.origin, quotaSize: 300_000 });
    const seen = await page.evaluate(async () => {
      const { cano, adapter, rejection } = window.lab;
      const db = await adapter.openCanoDatabase(`quota-${crypto.randomUUID()}`);
      const checkpoints = new adapter.IndexedDbCheckpointStore(db);
      const memory = new adapter.IndexedDbKeyValueStore(db, "run");
      const big = "x".repeat(1_000_000);
      let compensated: unknown;
      const wf = new cano.Workflow<"fetch" | "done">({ name: "quota", store: memory })
        .withCheckpointStore(checkpoints)
        .registerWithCompensation(
          "fetch",
          cano.saga({
            to: ["done"],
            run: async () => ({ next: "done", output: big }),
            compensate: (output: string) => {
              compensated = output.length;
            },
          }),
        )
        .exit("done");
      const run = await rejection(wf.orchestrate("fetch", { workflowId: "run" }));
      const small = { sequence: 0, state: "s", taskId: "s", kind: "state" as const, version: 0, at: 1 };
      await checkpoints.append("other", small);
      const direct = await rejection(
        checkpoints.append("other", { ...small, sequence: 1, kind: "completion", output: big }),
      );
      const put = await rejection(memory.put("page", big));
      const rows = (await checkpoints.loadRun("other")).map((row) => `${row.sequence} ${row.kind}`);
      const runRows = (await checkpoints.loadRun("run")).length;
      db.close();
      return { run, direct, put, rows, compensated, runRows };
    });
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: harness.server.origin });
    expect(seen.direct).toMatchObject({
      code: "checkpoint_store",
      causeName: "QuotaExceededError",
      workflowId: "other",
      sequence: 1,
      details: { reason: "quota_exceeded" },
    });
    expect(seen.direct.message).toContain("storage quota is exhausted");
    expect(seen.put).toMatchObject({ code: "store", causeName: "QuotaExceededError" });
    expect(seen.rows, "the rows written before the failed append stay").toEqual(["0 state"]);
    // The run fails when its saga step's output cannot be checkpointed; the step is compensated (its
    // effect undone, not forgotten) and, the rollback being clean, the run's log is cleared.
    expect(seen.run).toMatchObject({ code: "checkpoint_store" });
    expect(seen.run.message).toContain("QuotaExceededError");
    expect(seen.compensated).toBe(1_000_000);
    expect(seen.runRows).toBe(0);
    await context.close();
  });
});

describe("listRuns", () => {
  it("lists unfinished runs with their last state, time and workflow name, not finished ones", async () => {
    const page = await labPage();
    const seen = await page.evaluate(async () => {
      const { cano, adapter } = window.lab;
      const db = await adapter.openCanoDatabase(`list-${crypto.randomUUID()}`);
      const checkpoints = new adapter.IndexedDbCheckpointStore(db);
      const build = (failAt: string | undefined) =>
        new cano.Workflow<"fetch" | "ship" | "done">({ name: "orders" })
          .withCheckpointStore(checkpoints)
          .register("fetch", cano.task({ to: ["ship"], run: async () => "ship" }))
          .register(
            "ship",
            cano.task({
              to: ["done"],
              run: async () => {
                if (failAt === "ship") throw new cano.PermanentError("carrier down");
                return "done";
              },
            }),
          )
          .exit("done");
      const before = Date.now();
      await build("ship")
        .orchestrate("fetch", { workflowId: "stopped" })
        .catch(() => undefined);
      await build(undefined).orchestrate("fetch", { workflowId: "finished" });
      const runs = await checkpoints.listRuns();
      db.close();
      return { runs, before, after: Date.now() };
    });
    expect(seen.runs).toHaveLength(1);
    const [run] = seen.runs;
    expect(run).toMatchObject({
      workflowId: "stopped",
      workflow: "orders",
      state: "ship",
      sequence: 1,
      rows: 2,
      version: 0,
    });
    expect(run?.at).toBeGreaterThanOrEqual(seen.before);
    expect(run?.at).toBeLessThanOrEqual(seen.after);
  });

  it("still lists every run when one of them has a corrupt row, naming the problem", async () => {
    const page = await labPage();
    const seen = await page.evaluate(async () => {
      const { adapter, raw } = window.lab;
      const name = `list-corrupt-${crypto.randomUUID()}`;
      const db = await adapter.openCanoDatabase(name);
      const checkpoints = new adapter.IndexedDbCheckpointStore(db);
      const row = {
        sequence: 0,
        state: "a",
        taskId: "a",
        kind: "state" as const,
        version: 0,
        at: 1,
        workflow: "w",
      };
      await checkpoints.append("healthy-1", row);
      await checkpoints.append("healthy-2", row);
      db.close();
      const direct = await raw.openDB(name);
      await direct.put("checkpoints", { ...row, state: 42 }, ["broken", 0]);
      direct.close();
      const reopened = await adapter.openCanoDatabase(name);
      const runs = await new adapter.IndexedDbCheckpointStore(reopened).listRuns();
      reopened.close();
      return runs.map((run) => ({ id: run.workflowId, state: run.state, problem: run.problem }));
    });
    expect(seen.map((run) => run.id).sort()).toEqual(["broken", "healthy-1", "healthy-2"]);
    expect(seen.find((run) => run.id === "healthy-1")).toEqual({
      id: "healthy-1",
      state: "a",
      problem: undefined,
    });
    expect(seen.find((run) => run.id === "broken")?.problem).toContain('run "broken" row 0 is corrupt');
  });
});
