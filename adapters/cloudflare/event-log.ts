import type { WorkflowEvent } from "../../core/events.ts";
import type { SqlStorageLike } from "./platform.ts";

/** One event of a hosted run with its id: ids start at 1 and grow by 1 for the life of the run, across resumes. */
export interface RunEventRecord {
  readonly id: number;
  readonly event: WorkflowEvent;
}

/** What a live subscriber of an {@link EventLog} is told. */
export interface EventLogListener {
  /** A new event, after it was stored. */
  readonly event: (record: RunEventRecord) => void;
  /** The run ended: no more events will come. */
  readonly end: () => void;
}

/**
 * @internal A run's events in the object's SQLite database, written synchronously as the engine
 * emits them (so history survives eviction), plus the live subscribers of the event stream.
 */
export class EventLog {
  readonly #sql: SqlStorageLike;
  readonly #listeners = new Set<EventLogListener>();

  constructor(sql: SqlStorageLike) {
    this.#sql = sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS cano_host_events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
    );
  }

  /** Stores `event` and hands it to every subscriber; returns its id. */
  append(event: WorkflowEvent): number {
    const [row] = this.#sql
      .exec<{ id: number }>(
        "INSERT INTO cano_host_events (body) VALUES (?) RETURNING id",
        JSON.stringify(event),
      )
      .toArray();
    const id = row?.id ?? 0;
    for (const listener of this.#listeners) listener.event({ id, event });
    return id;
  }

  /** Stored events with an id above `after`, oldest first. Rows that are not JSON are skipped. */
  since(after = 0): RunEventRecord[] {
    const rows = this.#sql
      .exec<{ id: number; body: string }>(
        "SELECT id, body FROM cano_host_events WHERE id > ? ORDER BY id",
        after,
      )
      .toArray();
    const records: RunEventRecord[] = [];
    for (const { id, body } of rows) {
      try {
        records.push({ id, event: JSON.parse(body) as WorkflowEvent });
      } catch {
        // A damaged history entry must not hide the rest of the history or the live stream.
      }
    }
    return records;
  }

  /** The newest event's id, 0 when there is none. */
  lastId(): number {
    const [row] = this.#sql
      .exec<{ id: number | null }>("SELECT MAX(id) AS id FROM cano_host_events")
      .toArray();
    return row?.id ?? 0;
  }

  /** Adds a live subscriber; returns the function that removes it. */
  subscribe(listener: EventLogListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every subscriber the run ended and forgets them. */
  end(): void {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener.end();
  }
}
