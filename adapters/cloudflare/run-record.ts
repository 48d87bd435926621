import type { CanoErrorJson } from "../../core/errors.ts";
import { CanoError } from "../../core/errors.ts";
import type { SqlStorageLike } from "./platform.ts";

/** Where a hosted run is: going, asked to stop, or ended (the run's outcome). */
export type DurableRunStatus = "running" | "cancelling" | "completed" | "failed" | "cancelled";

/** Every {@link DurableRunStatus}. */
export const durableRunStatuses = [
  "running",
  "cancelling",
  "completed",
  "failed",
  "cancelled",
] as const satisfies readonly DurableRunStatus[];

/**
 * A hosted run as plain JSON: what `status()` returns and the run host keeps in its storage.
 *
 * It corresponds field for field to `RunInfo` of `cano/http` (same names, types and meanings; the
 * statuses are the same five), plus `waitingUntil`, so a `DurableRunInfo` can be returned wherever a
 * `RunInfo` is expected. It is declared here rather than imported because adapters never import each
 * other; the example Worker's `DurableRunHost` (which implements http's `RunHost`) is where the
 * compiler checks the two still match.
 */
export interface DurableRunInfo {
  /** The run's id (its workflow id, and the name its Durable Object was reached by). */
  readonly id: string;
  /** The name the workflow is registered under in `defineRunHost({ workflows })`. */
  readonly workflow: string;
  readonly status: DurableRunStatus;
  /** The state the run is in, or the state it ended in; absent before the first state. */
  readonly state?: string;
  /**
   * Why the run failed or was cancelled; while it is still `running` (or `cancelling`), why it cannot go
   * on yet (its workflow is not registered in this deployment). Never a stack trace.
   */
  readonly error?: CanoErrorJson;
  /** The input the run was started with. */
  readonly input: unknown;
  /** When the run was started, in milliseconds since the epoch. */
  readonly createdAt: number;
  /** When the status or state last changed, in milliseconds since the epoch. */
  readonly updatedAt: number;
  /** The id of the newest event (0 before the first); pass it as `Last-Event-ID` to resume a stream. */
  readonly lastEventId: number;
  /** How many times the run was picked up again after its object was reset or evicted. */
  readonly resumes: number;
  /** While the run sleeps on an alarm: when it wakes, in milliseconds since the epoch. */
  readonly waitingUntil?: number;
}

/** One state a run entered, and when; `StateVisit` of `cano/http`. */
export interface DurableStateVisit {
  readonly state: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

/** A hosted run with the states it visited, oldest first; `RunDetails` of `cano/http`. */
export interface DurableRunDetails extends DurableRunInfo {
  readonly history: readonly DurableStateVisit[];
}

/** True once the run has ended. */
export function isFinished(status: DurableRunStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/**
 * @internal The run host's own rows in `cano_host_meta`: the run record, the alarm it last set, and
 * how often it has waited for an unregistered workflow. The table is made by `createHostTables`.
 */
export class RunRecordTable {
  readonly #sql: SqlStorageLike;

  constructor(sql: SqlStorageLike) {
    this.#sql = sql;
  }

  /** The stored run, `undefined` when this object never started one; a corrupt record is `checkpoint_corrupt`. */
  read(): DurableRunInfo | undefined {
    const text = this.#get("run");
    if (text === undefined) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw corrupt(`its text is not JSON (received ${JSON.stringify(text.slice(0, 40))})`);
    }
    const problem = recordProblem(raw);
    if (problem !== undefined) throw corrupt(problem);
    return raw as DurableRunInfo;
  }

  /** Replaces the stored run. */
  write(run: DurableRunInfo): void {
    this.#put("run", JSON.stringify(run));
  }

  /** The alarm time last set by the host, in epoch milliseconds. */
  alarmAt(): number | undefined {
    const text = this.#get("alarm");
    const value = text === undefined ? undefined : Number(text);
    return value !== undefined && Number.isFinite(value) ? value : undefined;
  }

  /** Remembers the alarm time just set (`undefined`: none). */
  setAlarmAt(at: number | undefined): void {
    if (at === undefined) this.#sql.exec("DELETE FROM cano_host_meta WHERE key = 'alarm'");
    else this.#put("alarm", String(at));
  }

  /** How many alarms in a row found the run's workflow unregistered (0 when it is registered). */
  workflowWaits(): number {
    const value = Number(this.#get("workflow_waits") ?? "0");
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  }

  /** Remembers how many alarms in a row found the workflow unregistered (0: forget it). */
  setWorkflowWaits(count: number): void {
    if (count === 0) this.#sql.exec("DELETE FROM cano_host_meta WHERE key = 'workflow_waits'");
    else this.#put("workflow_waits", String(count));
  }

  #get(key: string): string | undefined {
    const [row] = this.#sql
      .exec<{ body: string }>("SELECT body FROM cano_host_meta WHERE key = ?", key)
      .toArray();
    return row?.body;
  }

  #put(key: string, body: string): void {
    this.#sql.exec(
      "INSERT INTO cano_host_meta (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body",
      key,
      body,
    );
  }
}

function corrupt(problem: string): CanoError {
  return new CanoError(
    "checkpoint_corrupt",
    `RunHost: the stored run record is corrupt: ${problem}. Nothing was deleted; repair the ` +
      `"cano_host_meta" row "run" or delete the object's storage.`,
    { details: { problem } },
  );
}

/** What is wrong with a parsed run record, or `undefined` when it is well-formed. */
function recordProblem(raw: unknown): string | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "it is not an object";
  const run = raw as Record<string, unknown>;
  const text = (field: string) => typeof run[field] === "string" && run[field] !== "";
  const count = (field: string) => typeof run[field] === "number" && Number.isFinite(run[field]);
  if (!text("id")) return 'field "id" is not a non-empty string';
  if (!text("workflow")) return 'field "workflow" is not a non-empty string';
  if (!(durableRunStatuses as readonly unknown[]).includes(run.status))
    return `field "status" is ${JSON.stringify(run.status)}, expected one of ${durableRunStatuses.join(", ")}`;
  for (const field of ["createdAt", "updatedAt", "lastEventId", "resumes"]) {
    if (!count(field)) return `field "${field}" is not a finite number`;
  }
  if (run.state !== undefined && !text("state")) return 'field "state" is not a state name';
  return undefined;
}
