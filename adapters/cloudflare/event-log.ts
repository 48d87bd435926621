import { CanoError } from "../../core/errors.ts";
import type { WorkflowEvent } from "../../core/events.ts";
import type { SqlStorageLike } from "./platform.ts";
import type { DurableStateVisit } from "./run-record.ts";

/** One event of a hosted run with its id: ids start at 1 and grow by 1 for the life of the run, across resumes. */
export interface RunEventRecord {
  readonly id: number;
  readonly event: WorkflowEvent;
}

/** A stored event row that is not a readable event (damaged in storage): its id and what is wrong. */
export interface CorruptEventRecord {
  readonly id: number;
  readonly problem: string;
}

/** The newest state visits `status` reports with the history; older ones are left out. */
const maxVisits = 1_000;

/**
 * @internal A run's events in the object's SQLite table `cano_host_events` (made by
 * `createHostTables`), written synchronously as the engine emits them, so the history survives
 * eviction; plus the wake-ups of the streams waiting for the next one.
 */
export class EventLog {
  readonly #sql: SqlStorageLike;
  readonly #listeners = new Set<() => void>();

  constructor(sql: SqlStorageLike) {
    this.#sql = sql;
  }

  /** Stores `event`, wakes every waiting stream, and returns its id. */
  append(event: WorkflowEvent): number {
    const [row] = this.#sql
      .exec<{ id: number }>(
        "INSERT INTO cano_host_events (body) VALUES (?) RETURNING id",
        JSON.stringify(event),
      )
      .toArray();
    this.#notify();
    return row?.id ?? 0;
  }

  /**
   * Up to `limit` stored rows with an id above `after`, oldest first. A row that is not a readable
   * event comes back as a {@link CorruptEventRecord} in its place, never skipped.
   */
  page(after: number, limit: number): (RunEventRecord | CorruptEventRecord)[] {
    const rows = this.#sql
      .exec<{ id: number; body: string }>(
        "SELECT id, body FROM cano_host_events WHERE id > ? ORDER BY id LIMIT ?",
        after,
        limit,
      )
      .toArray();
    return rows.map(({ id, body }) => parseEvent(id, body));
  }

  /** Every stored event, oldest first; a damaged row is a `checkpoint_corrupt` error naming it. */
  history(): RunEventRecord[] {
    return this.page(0, Number.MAX_SAFE_INTEGER).map((record) => {
      if (!("problem" in record)) return record;
      throw new CanoError(
        "checkpoint_corrupt",
        `RunHost: event ${record.id} in "cano_host_events" is corrupt: ${record.problem}. Nothing was ` +
          "deleted: repair or delete the row, then resume the run.",
        { details: { table: "cano_host_events", id: record.id, problem: record.problem } },
      );
    });
  }

  /**
   * The states the run entered (its newest 1 000 `state_enter` events), oldest first. Damaged rows
   * are not visits and are left out here; the event stream reports each one as an `error` frame.
   */
  visits(): DurableStateVisit[] {
    const rows = this.#sql
      .exec<{ state: string | null; at: number | null }>(
        "SELECT json_extract(body, '$.state') AS state, json_extract(body, '$.at') AS at " +
          "FROM cano_host_events WHERE CASE WHEN json_valid(body) " +
          "THEN json_extract(body, '$.type') = 'state_enter' ELSE 0 END ORDER BY id DESC LIMIT ?",
        maxVisits,
      )
      .toArray();
    const visits: DurableStateVisit[] = [];
    for (const { state, at } of rows.reverse()) {
      if (typeof state === "string" && typeof at === "number") visits.push({ state, at });
    }
    return visits;
  }

  /** The newest event's id, 0 when there is none. */
  lastId(): number {
    const [row] = this.#sql
      .exec<{ id: number | null }>("SELECT MAX(id) AS id FROM cano_host_events")
      .toArray();
    return row?.id ?? 0;
  }

  /** Calls `wake` after every new event and when the run ends; returns the function that stops it. */
  subscribe(wake: () => void): () => void {
    this.#listeners.add(wake);
    return () => this.#listeners.delete(wake);
  }

  /** The run ended: wakes every waiting stream so it can send its `end` frame. */
  end(): void {
    this.#notify();
  }

  #notify(): void {
    for (const wake of [...this.#listeners]) wake();
  }
}

/** A stored row as an event, or what is wrong with it. */
function parseEvent(id: number, body: unknown): RunEventRecord | CorruptEventRecord {
  if (typeof body !== "string") return { id, problem: `the stored value is a ${typeof body}, not JSON text` };
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    const shown = body.length > 40 ? `${body.slice(0, 40)}…` : body;
    return { id, problem: `the stored text is not JSON (received ${JSON.stringify(shown)})` };
  }
  if (typeof event !== "object" || event === null || typeof (event as { type?: unknown }).type !== "string") {
    return { id, problem: 'it is not an event (expected an object with a "type")' };
  }
  return { id, event: event as WorkflowEvent };
}
