import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DurableObjectStubLike, RunHostObject } from "../../adapters/cloudflare/index.ts";
import {
  DurableObjectCheckpointStore,
  DurableObjectKeyValueStore,
  isRunHostRequestError,
  RunHostClient,
} from "../../adapters/cloudflare/index.ts";
import { inHost, rejection } from "./harness.ts";
import { allItems, freshRun, parkedRun } from "./host-harness.ts";
import { backoffMs, gate, holdShipping, longMs } from "./test-workflows.ts";

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
    const { runId, stub, client } = freshRun("short");
    const held = gate(`${runId}:short`);
    const before = Date.now();
    await client.start("short-wait");
    // The task has started its 20 ms sleep and is held at the gate: whatever the timer did, it is in the wait.
    await held.reached;
    const during = await inHost(stub, async (host: RunHostObject, state) => ({
      wakes: state.storage.sql.exec("SELECT id FROM cano_host_wakes").toArray().length,
      alarm: await state.storage.getAlarm(),
      status: host.status()?.status,
    }));
    expect(during.status).toBe("running");
    expect(during.wakes).toBe(0);
    expect(during.alarm).toBeGreaterThanOrEqual(before + 60_000);
    expect(during.alarm).toBeLessThanOrEqual(Date.now() + 60_000);
    held.release();
    expect((await client.idle())?.status).toBe("completed");
  });

  it("a split with one branch asleep on the alarm and one busy keeps the watchdog until both wait", async () => {
    const { runId, stub, client } = freshRun("split");
    const busy = gate(`${runId}:busy`);
    const parked = gate(`${runId}:parked`, "mark");
    const before = Date.now();
    await client.start("split-parked-busy");
    await Promise.all([busy.reached, parked.reached]);
    // One branch sleeps an hour on the alarm, the other works: a reset now must be noticed within 60 s.
    const watchdog = await alarmOf(stub);
    expect(watchdog).toBeGreaterThanOrEqual(before + 60_000);
    expect(watchdog).toBeLessThanOrEqual(Date.now() + 60_000);
    busy.release();
    // Now everything in flight sleeps: the alarm moves to the wake, and the run counts as idle.
    const waiting = await client.idle();
    expect(waiting).toMatchObject({ status: "running", state: "fan" });
    expect(waiting?.waitingUntil).toBeGreaterThanOrEqual(before + longMs);
    expect(await alarmOf(stub)).toBe(waiting?.waitingUntil);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done" });
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

  it("a corrupt checkpoint row found on resume fails the run; repaired, the run can be resumed", async () => {
    const { runId, stub, client } = await heldInShip("corrupt-resume");
    await evictDurableObject(stub);
    const rowSql = "SELECT body FROM cano_checkpoints WHERE sequence = 3";
    const original = await inHost(stub, (_host, state) => {
      const [row] = state.storage.sql.exec<{ body: string }>(rowSql).toArray();
      state.storage.sql.exec("UPDATE cano_checkpoints SET body = '{torn' WHERE sequence = 3");
      return row?.body ?? "";
    });
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

    // Still damaged: the resume is refused and nothing changes.
    const refused = await rejection(client.resume());
    expect(isRunHostRequestError(refused) && [refused.status, refused.code]).toEqual([500, "corrupt"]);
    expect((await client.status())?.status).toBe("failed");
    // Repaired: the run goes on from its checkpoint, and completed saga steps are not redone.
    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("UPDATE cano_checkpoints SET body = ? WHERE sequence = 3", original),
    );
    expect(await client.resume()).toMatchObject({ status: "running", resumes: 2 });
    expect((await client.status())?.error).toBeUndefined();
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done", resumes: 2 });
    expect(await counters(stub, ["reserve", "charge", "ship", "release", "refund"])).toEqual([1, 1, 2, 0, 0]);
    expect(await alarmOf(stub)).toBeNull();
  });

  it("a run whose workflow is no longer registered stays running, looks again later, and goes on once it is back", async () => {
    const { runId, stub, client } = freshRun("retired");
    await parkedRun(stub, client, "long-timer");
    await evictDurableObject(stub);
    const setWorkflow = (workflow: string) =>
      inHost(stub, (_host, state) => {
        const [row] = state.storage.sql
          .exec<{ body: string }>("SELECT body FROM cano_host_meta WHERE key = 'run'")
          .toArray();
        const record = { ...(JSON.parse(row?.body ?? "{}") as object), workflow };
        state.storage.sql.exec(
          "UPDATE cano_host_meta SET body = ? WHERE key = 'run'",
          JSON.stringify(record),
        );
      });
    await setWorkflow("retired-flow");
    const delays: number[] = [];
    for (let look = 0; look < 3; look++) {
      const before = Date.now();
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      delays.push(((await alarmOf(stub)) ?? 0) - before);
    }
    // 60 s, then twice as long each time.
    expect(delays[0]).toBeGreaterThanOrEqual(60_000);
    expect(delays[0]).toBeLessThan(120_000);
    expect(delays[1]).toBeGreaterThanOrEqual(120_000);
    expect(delays[2]).toBeGreaterThanOrEqual(240_000);
    const info = await client.status();
    expect(info).toMatchObject({ status: "running", resumes: 0 });
    expect(info?.error?.code).toBe("configuration");
    expect(info?.error?.message).toContain(
      'belongs to workflow "retired-flow", which this deployment does not register',
    );
    expect(await logOf(stub, runId)).toEqual(["state:wait"]);
    // A resume is for failed runs: this one is still running.
    const early = await rejection(client.resume());
    expect(isRunHostRequestError(early) && early.code).toBe("conflict");

    // "Deployed again": the next alarm resumes the run where it stopped. Its timer's wake was due at
    // the first of those alarms (set for the wake), so the resumed timer adopts it and goes on at once.
    await setWorkflow("long-timer");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const resumed = await client.idle();
    expect(resumed).toMatchObject({ status: "completed", state: "done", resumes: 1 });
    expect(resumed?.error).toBeUndefined();
    expect(await counters(stub, ["woke"])).toEqual([1]);
    expect(await inHost(stub, (_host, state) => state.storage.getAlarm())).toBeNull();
  });

  it("a corrupt wake row is checkpoint_corrupt: never an alarm time; the run fails, and resumes once repaired", async () => {
    const { stub, client } = freshRun("corrupt-wake");
    await parkedRun(stub, client, "long-timer");
    await evictDurableObject(stub);
    await inHost(stub, (_host, state) =>
      state.storage.sql.exec("UPDATE cano_host_wakes SET wake_at = 'soon', ms = 'x'"),
    );
    const read = await rejection(client.status());
    expect(isRunHostRequestError(read) && [read.status, read.code]).toEqual([500, "corrupt"]);
    expect(isRunHostRequestError(read) && read.message).toMatch(
      /wake \d+ in "cano_host_wakes" is corrupt: field "ms" is "x"/,
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarmOf(stub)).toBeNull();
    const wakes = await inHost(stub, (_host, state) =>
      state.storage.sql.exec<{ wake_at: string }>("SELECT wake_at FROM cano_host_wakes").toArray(),
    );
    expect(wakes).toEqual([{ wake_at: "soon" }]);
    // Repaired (here: the row deleted), the failed run is resumed and waits on its timer again.
    await inHost(stub, (_host, state) => state.storage.sql.exec("DELETE FROM cano_host_wakes"));
    const failed = await client.status();
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed?.error?.code).toBe("checkpoint_corrupt");
    await client.resume();
    const waiting = await client.idle();
    expect(waiting?.waitingUntil).toBeGreaterThan(Date.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await client.idle()).toMatchObject({ status: "completed", state: "done" });
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
