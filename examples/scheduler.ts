/**
 * Scheduler: three flows on one scheduler, for about two and a half seconds of real time.
 *
 * Shows: the core `Scheduler` with an interval flow (`every`: at start, then 200 ms after each run
 * ends), a cron flow from `cano/cron` (every second, read in Europe/Berlin), and a manual flow that
 * runs only when triggered (a second trigger while it runs is refused: a flow never overlaps
 * itself). `list()` prints each flow's status and counters; `stop()` cancels what is in flight and
 * tears resources down. Before that, `nextRuns` previews a nightly 02:30 Berlin job across the
 * spring-forward night, when 02:30 does not exist and the job runs at 03:00 instead.
 */
import type { FlowInfo } from "cano";
import { isCanoError, Scheduler, systemClock, task, Workflow } from "cano";
import { cron } from "cano/cron";

type State = "work" | "done";

/** A one-state workflow whose task takes `ms` and counts its runs. */
function counted(ms: number) {
  const counter = { runs: 0 };
  const workflow = new Workflow<State>()
    .register(
      "work",
      task({
        to: ["done"],
        run: async ({ signal }) => {
          counter.runs++;
          await systemClock.sleep(ms, signal);
          return "done";
        },
      }),
    )
    .exit("done");
  return { workflow, counter };
}

function show(flows: readonly FlowInfo[]): void {
  for (const flow of flows) {
    const next =
      flow.nextFireAt === undefined ? "" : `  next in ${Math.max(0, flow.nextFireAt - Date.now())} ms`;
    console.log(
      `  ${flow.id.padEnd(9)} ${flow.trigger.padEnd(38)} ${flow.status.padEnd(9)} runs ${flow.runs}, skipped ${flow.skipped}${next}`,
    );
  }
}

const nightly = cron("30 2 * * *", { timezone: "Europe/Berlin" });
console.log(`preview of ${nightly.description} from 2026-03-27:`);
for (const at of nightly.nextRuns(3, Date.UTC(2026, 2, 27))) console.log(`  ${new Date(at).toISOString()}`);

const heartbeat = counted(10);
const tick = counted(10);
const reindex = counted(300);
const started = Date.now();
const running = await new Scheduler<State>({
  onEvent: (event) => {
    if (event.type === "flow_start" && event.flowId !== "heartbeat") {
      console.log(`+${Date.now() - started} ms: ${event.runId} started (${event.cause})`);
    }
  },
})
  .every("heartbeat", heartbeat.workflow, "work", 200)
  .add("tick", tick.workflow, "work", cron("*/1 * * * * *", { timezone: "Europe/Berlin" }))
  .manual("reindex", reindex.workflow, "work")
  .start();

await systemClock.sleep(1_000);
running.trigger("reindex");
try {
  running.trigger("reindex");
} catch (error) {
  if (!isCanoError(error)) throw error;
  console.log(`second trigger refused (${error.code}): the first reindex run is still going`);
}
console.log("status while reindex runs:");
show(running.list());

await systemClock.sleep(1_500);
const result = await running.stop({ timeoutMs: 1_000 });
console.log(`stopped: ${result.timedOut.length} timed out, ${result.teardownErrors.length} teardown errors`);
show(running.list());
console.log(
  `runs: heartbeat ${heartbeat.counter.runs}, tick ${tick.counter.runs}, reindex ${reindex.counter.runs}`,
);
