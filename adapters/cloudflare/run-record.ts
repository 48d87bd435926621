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

/** A hosted run as plain JSON: what `status()` returns and the run host keeps in its storage. */
export interface DurableRunInfo {
  /** The run's id (its workflow id, and the name its Durable Object was reached by). */
  readonly id: string;
  /** The name the workflow is registered under in `defineRunHost({ workflows })`. */
  readonly workflow: string;
  readonly status: DurableRunStatus;
  /** The state the run is in, or the state it ended in; absent before the first state. */
  readonly state?: string;
  /** Why the run failed or was cancelled; never a stack trace. */
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

/** True once the run has ended. */
export function isFinished(status: DurableRunStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** @internal The run host's own rows: the run record and the alarm it last set. */
export class RunRecordTable {
  readonly #sql: SqlStorageLike;

  constructor(sql: SqlStorageLike) {
    this.#sql = sql;
    sql.exec("CREATE TABLE IF NOT EXISTS cano_host_meta (key TEXT PRIMARY KEY, body TEXT NOT NULL)");
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
