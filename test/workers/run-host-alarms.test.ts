import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DurableObjectStubLike, RunHostObject } from "../../adapters/cloudflare/index.ts";
import {
  DurableObjectCheckpointStore,
  DurableObjectKeyValueStore,
  RunHostClient,
} from "../../adapters/cloudflare/index.ts";
import { inHost, rejection } from "./harness.ts";
import { allItems, freshRun, parkedRun } from "./host-harness.ts";
import { backoffMs, holdShipping, longMs } from "./test-workflows.ts";

/** The run host's durable counters of one object. */
const counters = (stub: DurableObjectStubLike, names: readonly string[]) =>
  inHost(stub, async (_host, state) => {
    const store = new DurableObjectKeyValueStore(state.storage);
    return Promise.all(names.map(async (name) => (await store.get<number>(`calls:${name}`)) ?? 0));
  });

const alarmOf = (stub: DurableObjectStubLike) => inHost(stub, (_host, state) => state.storage.getAlarm());

describe("run host: long waits sleep on the object's alarm", () => {
  it("a timer task: the wait is stored and the alarm is set for it; firing it finishes the run", async () => {
    const { stub, client } = freshRun("timer");
    const before = Date.now();
    const parked = await parkedRun(stub, client, "long-timer");
    expect(parked.waitingUntil).toBeGreaterThanOrEqual(before + longMs);
    expect(parked.waitingUntil).toBeLessThanOrEqual(Date.now() + longMs);
    expect(await alarmOf(stub)).toBe(parked.waitingUntil);
    expect(await parked.wake()).toMatchObject({ status: "completed", state: "done", resumes: 0 });
    expect(await counters(stub, ["woke"])).toEqual([1]);
    expect(await alarmOf(stub)).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it("retry backoff: a 10-minute backoff waits on the alarm, then the retry succeeds", async () => {
    const { stub, client } = freshRun("retry");
    const parked = await parkedRun(stub, client, "long-retry");
    expect(parked.state).toBe("flaky");
    expect(await alarmOf(stub)).toBe(parked.waitingUntil);
    expect(await parked.wake()).toMatchObject({ status: "completed", state: "done" });
    expect(await counters(stub, ["flaky"])).toEqual([2]);
    const retries = (await allItems(await client.events())).filter(
      (item) => item.kind === "event" && item.record.event.type === "retry",
    );
    expect(retries).toHaveLength(1);
    expect(retries[0]?.kind === "event" && retries[0].record.event).toMatchObject({
      delayMs: backoffMs,
      attempt: 1,
    });
  });

  it("a poll delay: pending(10 min) waits on the alarm, then the next poll is ready", async () => {
    const { stub, client } = freshRun("poll");
    const parked = await parkedRun(stub, client, "long-poll");
    expect(await parked.wake()).toMatchObject({ status: "completed", state: "done" });
    expect(await counters(stub, ["check"])).toEqual([2]);
  });

  it("a wait below the threshold stays on a timer: nothing stored, the watchdog armed", async () => {
    const { stub, client } = freshRun("short");
    const before = Date.now();
    await client.start("short-wait");
    const during = await inHost(stub, async (host: RunHostObject, state) => ({
      wakes: state.storage.sql.exec("SELECT id FROM cano_host_wakes").toArray().length,
      alarm: await state.storage.getAlarm(),
      status: host.status()?.status,
    }));
    expect(during.status).toBe("running");
    expect(during.wakes).toBe(0);
    expect(during.alarm).toBeGreaterThanOrEqual(before + 60_000);
    expect((await client.idle())?.status).toBe("completed");
  });

  it("an object evicted during a long wait resumes on its alarm and keeps the original wake-up time", async () => {
    const { stub, client } = freshRun("evicted-wait");
    const parked = await parkedRun(stub, client, "long-timer");
    await evictDurableObject(stub);
    expect(await client.status()).toMatchObject({ status: "running", waitingUntil: parked.waitingUntil });
    // Had the resumed timer waited its hour again, the run would still be running here.
    expect(await parked.wake()).toMatchObject({ status: "completed", state: "done", resumes: 1 });
    expect(await counters(stub, ["woke"])).toEqual([1]);
    const types = (await allItems(await client.events())).map((item) =>
      item.kind === "event" ? item.record.event.type : "END",
    );
    expect(types.filter((type) => type === "resume")).toHaveLength(1);
  });
});

/** Starts "saga-crash" with its ship task held, and checks the log when the task is reached. */
async function heldInShip(label: string) {
  const run = freshRun(label);
  const gate = holdShipping(run.runId);
  const before = Date.now();
  await run.client.start("saga-crash");
  await gate.reached;
  const watchdog = await alarmOf(run.stub);
  expect(watchdog).toBeGreaterThanOrEqual(before + 60_000);
  expect(watchdog).toBeLessThanOrEqual(Date.now() + 60_000);
  return run;
}

/** The checkpoint log of a run, as kind:state. */
const logOf = (stub: DurableObjectStubLike, runId: string) =>
  inHost(stub, async (_host, state) =>
    (await new DurableObjectCheckpointStore(state.storage).loadRun(runId)).map(
      (row) => `${row.kind}:${row.state}`,
    ),
  );

/** Checks a saga-crash run finished once, with every completion recorded exactly once. */
async function expectFinishedOnce(stub: DurableObjectStubLike, client: RunHostClient) {
  expect(await client.idle()).toMatchObject({ status: "completed", state: "done", resumes: 1 });
  expect(await counters(stub, ["reserve", "charge", "ship", "release", "refund"])).toEqual([1, 1, 2, 0, 0]);
  const completions = (await allItems(await client.events())).flatMap((item) =>
    item.kind === "event" &&
    item.record.event.type === "checkpoint" &&
    item.record.event.kind === "completion"
      ? [item.record.event.state]
      : [],
  );
  expect(completions).toEqual(["reserve", "charge"]);
  expect(await alarmOf(stub)).toBeNull();
}

describe("run host: crash safety (the watchdog alarm resumes a reset object from its checkpoint)", () => {
  const loggedAtShip = [
    "state:reserve",
    "completion:reserve",
    "state:charge",
    "completion:charge",
    "state:ship",
  ];

  it("evicted mid-task: the watchdog resumes at the task, completed steps are not redone", async () => {
    const { runId, stub, client } = await heldInShip("evicted-task");
    await evictDurableObject(stub);
    expect(await logOf(stub, runId)).toEqual(loggedAtShip);
    expect(await client.status()).toMatchObject({ status: "running", state: "ship" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await expectFinishedOnce(stub, client);
    expect(await logOf(stub, runId)).toEqual([]);
  });

  it("aborted mid-task (ctx.abort(): a hard reset of the object): the same", async () => {
    const { runId, stub } = await heldInShip("aborted-task");
    const aborted = await rejection(
      runInDurableObject(stub, (_host: unknown, state) => state.abort("crash test")),
    );
    expect(String(aborted)).toContain("crash test");
    // Stubs to an aborted object are broken: reach it again by name, as a new request would.
    const again = env.TEST_HOST.get(env.TEST_HOST.idFromName(runId));
    const client = new RunHostClient(again, runId);
    expect(await logOf(again, runId)).toEqual(loggedAtShip);
    expect(await runDurableObjectAlarm(again)).toBe(true);
    await expectFinishedOnce(again, client);
  });

  it("a corrupt checkpoint row found on resume fails the run with checkpoint_corrupt and keeps every row", async () => {
    const { runId, stub, client } = await heldInShip("corrupt-resume");
    await evictDurableObject(stub);
    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("UPDATE cano_checkpoints SET body = '{torn' WHERE sequence = 3"),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const info = await client.idle();
    expect(info).toMatchObject({ status: "failed", resumes: 1 });
    expect(info?.error?.code).toBe("checkpoint_corrupt");
    expect(info?.error?.message).toContain(`run "${runId}" row 3 is corrupt`);
    const rows = await inHost(stub, (_host, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM cano_checkpoints").toArray(),
    );
    expect(rows).toEqual([{ n: 5 }]);
    expect(await counters(stub, ["reserve", "charge", "ship", "release", "refund"])).toEqual([1, 1, 1, 0, 0]);
  });

  it("a run whose workflow is no longer registered fails clearly on resume and keeps its rows", async () => {
    const { runId, stub, client } = freshRun("retired");
    await parkedRun(stub, client, "long-timer");
    await evictDurableObject(stub);
    await inHost(stub, (_host, state) => {
      const [row] = state.storage.sql
        .exec<{ body: string }>("SELECT body FROM cano_host_meta WHERE key = 'run'")
        .toArray();
      const record = { ...(JSON.parse(row?.body ?? "{}") as object), workflow: "retired-flow" };
      state.storage.sql.exec("UPDATE cano_host_meta SET body = ? WHERE key = 'run'", JSON.stringify(record));
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const info = await client.idle();
    expect(info).toMatchObject({ status: "failed" });
    expect(info?.error?.message).toContain(
      'belongs to workflow "retired-flow", which this deployment no longer registers',
    );
    expect(await logOf(stub, runId)).toEqual(["state:wait"]);
  });

  it("a watchdog firing while the run is alive here just re-arms itself", async () => {
    const { stub, client } = freshRun("alive");
    const parked = await parkedRun(stub, client, "long-timer");
    await inHost(stub, (_host, state) => state.storage.setAlarm(Date.now() + 1_000));
    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("DELETE FROM cano_host_meta WHERE key = 'alarm'"),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.status()).toMatchObject({
      status: "running",
      resumes: 0,
      waitingUntil: parked.waitingUntil,
    });
    expect(await alarmOf(stub)).toBe(parked.waitingUntil);
  });
});
