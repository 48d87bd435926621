import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CronFlows, DurableObjectNamespaceLike } from "../../adapters/cloudflare/index.ts";
import {
  assertCronsDeclared,
  cronTriggers,
  DurableObjectKeyValueStore,
  declaredCrons,
  RunHostClient,
} from "../../adapters/cloudflare/index.ts";
import { isCanoError } from "../../core/index.ts";
import { triggers } from "../../examples/worker/triggers.ts";
import { inHost, rejection } from "./harness.ts";
import { allItems } from "./host-harness.ts";

const nightly = "0 3 * * *";
let minutes = 0;
/** A scheduled time no other test uses (whole minutes, as Cloudflare delivers them). */
const freshTime = () => Date.UTC(2030, 0, 1, 3, minutes++);

describe("cronTriggers", () => {
  it("starts one run host per flow, with an id from the cron, the scheduled time and the flow's name", async () => {
    const scheduledTime = freshTime();
    const event = { cron: nightly, scheduledTime };
    const [run] = triggers.runsFor(event);
    expect(run).toEqual({
      workflow: "nightly-report",
      runId: `cron:0_3_.2a_.2a_.2a:${new Date(scheduledTime).toISOString()}:nightly-report`,
    });
    await triggers.scheduled(event, env);
    const client = RunHostClient.forRun(env.RUN_HOST, run?.runId ?? "");
    expect(await client.idle()).toMatchObject({ status: "completed", input: { day: "2029-12-31" } });
    const stub = env.RUN_HOST.get(env.RUN_HOST.idFromName(run?.runId ?? ""));
    const ledger = await inHost(stub, (_host, state) =>
      new DurableObjectKeyValueStore(state.storage).get("ledger"),
    );
    expect(ledger).toEqual(["report for 2029-12-31: 42 orders"]);
  });

  it("a retried delivery of the same event starts nothing new", async () => {
    const event = { cron: nightly, scheduledTime: freshTime() };
    await triggers.scheduled(event, env);
    const client = RunHostClient.forRun(env.RUN_HOST, triggers.runsFor(event)[0]?.runId ?? "");
    const first = await client.idle();
    await triggers.scheduled(event, env);
    await triggers.scheduled(event, env);
    expect(await client.idle()).toEqual(first);
    const starts = (await allItems(await client.events())).filter(
      (item) => item.kind === "event" && item.record.event.type === "run_start",
    );
    expect(starts).toHaveLength(1);
    const next = { cron: nightly, scheduledTime: event.scheduledTime + 86_400_000 };
    expect(triggers.runsFor(next)[0]?.runId).not.toBe(triggers.runsFor(event)[0]?.runId);
  });

  it("run ids follow flow names, not positions: reordering the table keeps them", () => {
    const hosts = () => env.RUN_HOST;
    const a = { workflow: "nightly-report", name: "report" };
    const b = { workflow: "nightly-report", name: "audit" };
    const event = { cron: nightly, scheduledTime: freshTime() };
    const forward = cronTriggers({ [nightly]: [a, b] }, { hosts }).runsFor(event);
    const backward = cronTriggers({ [nightly]: [b, a] }, { hosts }).runsFor(event);
    expect(new Set(forward.map((run) => run.runId))).toEqual(new Set(backward.map((run) => run.runId)));
    expect(forward.map((run) => run.runId.split(":").at(-1))).toEqual(["report", "audit"]);
    // Every id is a URL path segment an API accepts, whatever the cron expression.
    const odd = cronTriggers({ "*/15 9-17 * * MON-FRI": "nightly-report" }, { hosts });
    const [run] = odd.runsFor({ cron: "*/15 9-17 * * MON-FRI", scheduledTime: freshTime() });
    expect(run?.runId).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
    expect(run?.runId).toContain("cron:.2a.2f15_9-17_.2a_.2a_MON-FRI:");
  });

  it("refuses two flows of one cron under the same name, or a name no run id can hold", () => {
    const hosts = () => env.RUN_HOST;
    const refusal = (table: Record<string, CronFlows>) => {
      try {
        cronTriggers(table, { hosts });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    };
    const twice = refusal({ [nightly]: ["nightly-report", { workflow: "nightly-report" }] });
    expect(isCanoError(twice) && twice.message).toContain('lists two flows named "nightly-report"');
    const named = refusal({ [nightly]: [{ workflow: "nightly-report", name: "a b" }] });
    expect(isCanoError(named) && named.code).toBe("configuration");
    expect(
      refusal({ [nightly]: ["nightly-report", { workflow: "nightly-report", name: "second" }] }),
    ).toBeUndefined();
  });

  it("a cron that fires without flows in code is a clear configuration error", async () => {
    const error = await rejection(
      triggers.scheduled({ cron: "*/5 * * * *", scheduledTime: freshTime() }, env),
    );
    expect(isCanoError(error) && error.code).toBe("configuration");
    expect(isCanoError(error) && error.message).toContain(
      'Cron Trigger "*/5 * * * *" fired, but no flow is registered for it (registered: "0 3 * * *")',
    );
  });

  it("reports runs it could not start (unknown workflow) after starting the others", async () => {
    const mixed = cronTriggers<{ RUN_HOST: DurableObjectNamespaceLike }>(
      { [nightly]: [{ workflow: "nightly-report", input: () => ({ day: "2030-01-01" }) }, "no-such-flow"] },
      { hosts: (bindings) => bindings.RUN_HOST },
    );
    const event = { cron: nightly, scheduledTime: freshTime() };
    const error = await rejection(mixed.scheduled(event, env));
    expect(isCanoError(error) && error.message).toMatch(
      /could not start 1 run\(s\): no-such-flow .*no workflow is registered/,
    );
    const [started] = mixed.runsFor(event);
    expect((await RunHostClient.forRun(env.RUN_HOST, started?.runId ?? "").idle())?.status).toBe("completed");
  });

  it("refuses a malformed table when it is built", () => {
    const hosts = () => env.RUN_HOST;
    const tables: Record<string, CronFlows>[] = [
      {},
      { [nightly]: [] },
      { [nightly]: { workflow: "" } },
      { " ": "x" },
    ];
    for (const table of tables) {
      const error = (() => {
        try {
          cronTriggers(table, { hosts });
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(isCanoError(error) && error.code).toBe("configuration");
    }
  });
});

describe("crons declared in wrangler.toml", () => {
  const toml = [
    'name = "x"',
    "[triggers]",
    '# crons = ["commented out"]',
    "crons = [",
    '  "0 3 * * *", # nightly',
    "  '*/15 * * * *',",
    "]",
    "[[migrations]]",
    'crons = ["not in triggers"]',
  ].join("\n");

  it("reads [triggers] crons, single- or multi-line, ignoring comments and other tables", () => {
    expect(declaredCrons(toml)).toEqual(["0 3 * * *", "*/15 * * * *"]);
    expect(declaredCrons('name = "x"\n')).toEqual([]);
  });

  it("names every cron used in code that the file does not list", () => {
    expect(() => assertCronsDeclared(["0 3 * * *"], toml)).not.toThrow();
    const error = (() => {
      try {
        assertCronsDeclared(["0 3 * * *", "0 4 * * 1", "not in triggers"], toml);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(isCanoError(error) && error.details?.missing).toEqual(["0 4 * * 1", "not in triggers"]);
    expect(isCanoError(error) && error.message).toContain(
      '"0 4 * * 1", "not in triggers" are used in code but missing',
    );
  });
});
