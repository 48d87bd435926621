import { CanoError, describeThrown } from "../../core/errors.ts";
import type { DurableObjectNamespaceLike, ScheduledControllerLike } from "./platform.ts";
import { RunHostClient } from "./run-host-client.ts";
import { isRunHostRequestError } from "./run-host-error.ts";

/** A flow a Cron Trigger starts: a workflow of the run host, and optionally its name and input. */
export interface CronFlow {
  /** The workflow's name in `defineRunHost({ workflows })`. */
  readonly workflow: string;
  /**
   * The flow's name in its run ids (1–64 of `A–Z a–z 0–9 _ . -`), unique among the flows of one cron.
   * Default: the workflow's name; set it when one cron starts the same workflow twice.
   */
  readonly name?: string;
  /** The run's input, computed from the event (e.g. the day a nightly report covers). Default `null`. */
  readonly input?: (event: ScheduledControllerLike) => unknown;
}

/** What a flow's name in a run id may hold: a URL path segment, so the run can be read through an API. */
const flowNamePattern = /^[A-Za-z0-9_.-]{1,64}$/;

/** What a cron starts: a workflow name, a {@link CronFlow}, or several of them. */
export type CronFlows = string | CronFlow | readonly (string | CronFlow)[];

/** Options of {@link cronTriggers}. */
export interface CronTriggersOptions<TEnv> {
  /** The run host namespace binding the runs go to, e.g. `(env) => env.RUN_HOST`. */
  readonly hosts: (env: TEnv) => DurableObjectNamespaceLike;
}

/** One run a cron event starts: which workflow, under which id. */
export interface CronRun {
  readonly workflow: string;
  readonly runId: string;
}

/** A `scheduled` handler built by {@link cronTriggers}, plus what it knows. */
export interface CronTriggers<TEnv> {
  /** Every cron expression the table uses: each must be listed in `wrangler.toml` `[triggers] crons`. */
  readonly crons: readonly string[];
  /** The runs `event` starts, with ids derived from its cron, its scheduled time and each flow's name. */
  runsFor(event: ScheduledControllerLike): CronRun[];
  /**
   * The Worker's `scheduled` handler: starts one run host per flow and resolves once each has started
   * (the runs go on in their objects); a retried delivery starts nothing new.
   */
  scheduled(event: ScheduledControllerLike, env: TEnv): Promise<void>;
}

/**
 * Maps Cron Triggers to flows: when `event.cron` fires, each of its flows starts in its own run host
 * object whose id comes from the cron, the scheduled time and the flow's name (never its position, so
 * reordering the table does not change ids), e.g. `cron:0_3_.2a_.2a_.2a:2030-01-01T03:00:00.000Z:report`.
 * A retried delivery of the same event reaches the same objects and is refused there as a duplicate
 * instead of running twice. The ids are predictable: guard the API that can cancel runs with a token.
 *
 * @example
 * const triggers = cronTriggers({ "0 3 * * *": "nightly-report" }, { hosts: (env: Env) => env.RUN_HOST });
 * export default { fetch, scheduled: triggers.scheduled };
 */
export function cronTriggers<TEnv>(
  table: Readonly<Record<string, CronFlows>>,
  options: CronTriggersOptions<TEnv>,
): CronTriggers<TEnv> {
  const flows = new Map<string, readonly CronFlow[]>();
  for (const [cron, given] of Object.entries(table)) flows.set(cron, checkFlows(cron, given));
  if (flows.size === 0)
    throw new CanoError("configuration", "cronTriggers: the table names no cron expression.");
  if (typeof options?.hosts !== "function") {
    throw new CanoError(
      "configuration",
      "cronTriggers: options.hosts must be a function returning the run host namespace.",
    );
  }
  const crons = [...flows.keys()];

  const runsFor = (event: ScheduledControllerLike): CronRun[] => {
    const listed = flows.get(event.cron);
    if (listed === undefined) {
      throw new CanoError(
        "configuration",
        `cronTriggers: Cron Trigger "${event.cron}" fired, but no flow is registered for it ` +
          `(registered: ${crons.map((c) => `"${c}"`).join(", ")}). Add it to cronTriggers({ … }) or remove it ` +
          "from wrangler.toml [triggers] crons.",
      );
    }
    const at = new Date(event.scheduledTime).toISOString();
    return listed.map((flow) => ({
      workflow: flow.workflow,
      runId: `cron:${cronSlug(event.cron)}:${at}:${flow.name ?? flow.workflow}`,
    }));
  };

  const scheduled = async (event: ScheduledControllerLike, env: TEnv): Promise<void> => {
    const namespace = options.hosts(env);
    const listed = flows.get(event.cron) ?? [];
    const failures: string[] = [];
    await Promise.all(
      runsFor(event).map(async (run, index) => {
        const input = listed[index]?.input?.(event) ?? null;
        try {
          await RunHostClient.forRun(namespace, run.runId).start(run.workflow, input);
        } catch (error) {
          // The object already has this run: the same event was delivered again. Nothing to do.
          if (isRunHostRequestError(error) && error.code === "conflict") return;
          failures.push(`${run.workflow} (${run.runId}): ${describeThrown(error)}`);
        }
      }),
    );
    if (failures.length > 0) {
      throw new CanoError(
        "workflow",
        `cronTriggers: "${event.cron}" could not start ${failures.length} run(s): ${failures.join("; ")}`,
      );
    }
  };

  return { crons, runsFor, scheduled };
}

function checkFlows(cron: string, given: CronFlows): CronFlow[] {
  const list = Array.isArray(given) ? given : [given];
  if (cron.trim() === "" || list.length === 0) {
    throw new CanoError(
      "configuration",
      `cronTriggers: cron ${JSON.stringify(cron)} needs a non-empty expression and at least one flow.`,
    );
  }
  const names = new Set<string>();
  return list.map((flow: string | CronFlow) => {
    const checked = typeof flow === "string" ? { workflow: flow } : flow;
    if (typeof checked?.workflow !== "string" || checked.workflow === "") {
      throw new CanoError(
        "configuration",
        `cronTriggers: the flows of "${cron}" must be workflow names or { workflow, name?, input? }, received ${describeThrown(flow)}.`,
      );
    }
    const name = checked.name ?? checked.workflow;
    if (typeof name !== "string" || !flowNamePattern.test(name)) {
      throw new CanoError(
        "configuration",
        `cronTriggers: flow ${JSON.stringify(name)} of "${cron}" cannot name a run id (expected 1–64 of ` +
          "A–Z a–z 0–9 _ . -); give it { name }.",
      );
    }
    if (names.has(name)) {
      throw new CanoError(
        "configuration",
        `cronTriggers: "${cron}" lists two flows named "${name}"; they would share run ids, so the second ` +
          "would never start. Give each a distinct { name }.",
      );
    }
    names.add(name);
    return checked;
  });
}

/**
 * A cron expression as a run id part that any API path accepts: letters, digits and `-` as they are,
 * a space as `_`, every other byte as `.` and two hex digits (so two expressions never share a slug).
 */
function cronSlug(cron: string): string {
  let slug = "";
  for (const byte of new TextEncoder().encode(cron)) {
    const char = String.fromCharCode(byte);
    slug += /[A-Za-z0-9-]/.test(char) ? char : byte === 0x20 ? "_" : `.${byte.toString(16).padStart(2, "0")}`;
  }
  return slug;
}
