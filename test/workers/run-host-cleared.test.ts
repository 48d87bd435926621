import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DurableObjectStubLike } from "../../adapters/cloudflare/index.ts";
import { clearedRunOutcome } from "../../adapters/cloudflare/run-host-cleared.ts";
import type { WorkflowEvent } from "../../core/index.ts";
import { inHost } from "./harness.ts";
import { allItems, eventTypes, freshRun } from "./host-harness.ts";

/**
 * Rewinds a finished run to what storage holds when the object was reset after the engine cleared the
 * checkpoint log but before the host recorded the ending: status "running", an alarm armed, and the
 * history cut after the event with id `keepThrough`.
 */
function rewind(stub: DurableObjectStubLike, keepThrough: number) {
  return inHost(stub, async (_host, state) => {
    const { sql } = state.storage;
    const [row] = sql.exec<{ body: string }>("SELECT body FROM cano_host_meta WHERE key = 'run'").toArray();
    const record = { ...(JSON.parse(row?.body ?? "{}") as Record<string, unknown>), status: "running" };
    sql.exec("UPDATE cano_host_meta SET body = ? WHERE key = 'run'", JSON.stringify(record));
    sql.exec("DELETE FROM cano_host_events WHERE id > ?", keepThrough);
    await state.storage.setAlarm(Date.now() + 60_000);
  });
}

describe("run host: an object reset after its run cleared the log", () => {
  it("with run_end stored: records the ending it shows, without running anything again", async () => {
    const { stub, client } = freshRun("cleared-end");
    await client.start("quick");
    const done = await client.idle();
    await rewind(stub, done?.lastEventId ?? 0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done", resumes: 1 });
    const types = eventTypes(await allItems(await client.events()));
    expect(types.filter((type) => type === "run_start")).toHaveLength(1);
  });

  it("cut right after the exit state's row: completed in that exit state", async () => {
    const { stub, client } = freshRun("cleared-exit");
    await client.start("quick");
    await client.idle();
    // Keep the history up to the exit state's checkpoint event (run_end is the last one).
    const types = eventTypes(await allItems(await client.events()));
    await rewind(stub, types.lastIndexOf("checkpoint") + 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done" });
  });

  it("cut after a cancelled run's rollback: cancelled, running nothing again", async () => {
    const { stub, client } = freshRun("cleared-rollback");
    await client.start("reserve-then-wait");
    await client.idle();
    await client.cancel();
    const types = eventTypes(await allItems(await client.events()));
    await rewind(stub, types.lastIndexOf("compensate_done") + 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const info = await client.idle();
    expect(info).toMatchObject({ status: "cancelled" });
    expect(info?.error?.code).toBe("cancelled");
  });

  it("with no row ever written: starts the run again from its initial state", async () => {
    const { stub, client } = freshRun("cleared-none");
    await client.start("quick");
    await client.idle();
    await rewind(stub, 0);
    await inHost(stub, (_host, state) => state.storage.sql.exec("DELETE FROM cano_checkpoints"));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done", resumes: 1 });
    expect(eventTypes(await allItems(await client.events()))[0]).toBe("run_start");
  });
});

describe("clearedRunOutcome (the history read when no checkpoint row is left)", () => {
  const at = 1;
  const workflowId = "w";
  const history = (...events: WorkflowEvent[]) => events.map((event, index) => ({ id: index + 1, event }));

  it("a rollback after a failure: failed, nothing to resume", () => {
    const outcome = clearedRunOutcome(
      "w",
      history(
        { type: "run_start", at, workflowId, initial: "pay" },
        { type: "checkpoint", at, workflowId, state: "pay", sequence: 0, kind: "state" },
        { type: "task_start", at, workflowId, state: "pay", taskId: "pay" },
        { type: "compensate_start", at, workflowId, state: "pay", taskId: "pay" },
      ),
    );
    expect(outcome?.status).toBe("failed");
    expect(outcome?.status === "failed" && outcome.error.message).toContain(
      "its history shows it rolled back",
    );
  });

  it("no checkpoint event at all: undefined (start again)", () => {
    expect(
      clearedRunOutcome("w", history({ type: "run_start", at, workflowId, initial: "pay" })),
    ).toBeUndefined();
  });
});
