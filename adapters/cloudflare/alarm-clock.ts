import type { CancelTimer, Clock } from "../../core/clock.ts";
import { systemClock } from "../../core/clock.ts";
import { CanoError } from "../../core/errors.ts";
import type { SqlStorageLike, SqlValueLike } from "./platform.ts";

/** What an {@link AlarmClock} tells and asks its run host. */
export interface AlarmClockHooks {
  /** Sleeps at or above this many milliseconds wait on an alarm; shorter ones on a timer. */
  readonly thresholdMs: number;
  /** The state the run is in (a resumed run adopts the wait its state was in before). */
  readonly currentState: () => string | undefined;
  /** The set of pending wakes changed: move the alarm. */
  readonly onWakesChanged: () => void;
  /** A sleep started waiting on an alarm. */
  readonly onPark: () => void;
}

interface WakeRow {
  readonly id: number;
  readonly state: string;
  readonly ms: number;
  readonly wake_at: number;
  readonly due: number;
}

/**
 * @internal The run host's clock. Short sleeps use timers; a sleep of `thresholdMs` or more (retry
 * backoff, a `timer` task, a `poll` delay) is written to the object's storage as a wake-up time and
 * resolved by the alarm, so nothing holds the object in memory and it may be evicted meanwhile. If it
 * is, the run resumes from its checkpoint when the alarm fires, and the resumed state's first sleep of
 * the same length adopts the stored wake-up time instead of waiting the whole delay again. Its rows
 * live in `cano_host_wakes` (made by `createHostTables`); a damaged row is `checkpoint_corrupt`.
 */
export class AlarmClock implements Clock {
  readonly #sql: SqlStorageLike;
  readonly #hooks: AlarmClockHooks;
  /** Wake id → how to release the sleep waiting on it in this instance. */
  readonly #sleepers = new Map<number, () => void>();
  /** Wakes left by an earlier instance, adoptable by the resumed state's first visit. */
  #orphans = new Set<number>();
  /** State entries since the last resume. */
  #entries = 0;

  constructor(sql: SqlStorageLike, hooks: AlarmClockHooks) {
    this.#sql = sql;
    this.#hooks = hooks;
  }

  /** Milliseconds since the epoch. */
  now(): number {
    return Date.now();
  }

  /** Calls `callback` after `ms` on a timer (attempt and total timeouts stay in memory). */
  schedule(ms: number, callback: () => void): CancelTimer {
    return systemClock.schedule(ms, callback);
  }

  /** Resolves after `ms`: on a timer below the threshold, on the object's alarm at or above it. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!(ms >= this.#hooks.thresholdMs)) return systemClock.sleep(ms, signal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const state = this.#hooks.currentState() ?? "";
    const wake = this.#adopt(state, ms) ?? this.#insert(state, ms);
    if (wake.due === 1 || wake.wake_at <= this.now()) {
      this.#delete(wake.id);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#sleepers.delete(wake.id);
        this.#delete(wake.id);
        this.#hooks.onWakesChanged();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.set(wake.id, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      this.#hooks.onWakesChanged();
      this.#hooks.onPark();
    });
  }

  /** The alarm fired as of `firedAt`: marks every wake due by then and releases the sleeps waiting here. */
  fire(firedAt: number): void {
    const due = this.#rows().filter((row) => row.wake_at <= firedAt);
    for (const { id } of due) {
      this.#sql.exec("UPDATE cano_host_wakes SET due = 1 WHERE id = ?", id);
      const release = this.#sleepers.get(id);
      if (release === undefined) continue; // an orphan: a resumed run may adopt it
      this.#sleepers.delete(id);
      this.#delete(id);
      release();
    }
  }

  /** The earliest pending wake-up time, if any; a damaged row is `checkpoint_corrupt`, never a time. */
  earliestWake(): number | undefined {
    let earliest: number | undefined;
    for (const row of this.#rows()) {
      if (row.due === 0 && (earliest === undefined || row.wake_at < earliest)) earliest = row.wake_at;
    }
    return earliest;
  }

  /** How many sleeps of this instance wait on the alarm now. */
  sleeping(): number {
    return this.#sleepers.size;
  }

  /** A run is being resumed here: the wakes an earlier instance left become adoptable. */
  adoptOrphans(): void {
    this.#orphans = new Set(this.#rows().map((row) => row.id));
    this.#entries = 0;
  }

  /** The run entered a state; past the resumed state's first visit, unadopted orphans are dropped. */
  enteredState(): void {
    this.#entries++;
    if (this.#entries < 2 || this.#orphans.size === 0) return;
    for (const id of this.#orphans) this.#delete(id);
    this.#orphans.clear();
    this.#hooks.onWakesChanged();
  }

  /** The run ended: forget every stored wake. */
  reset(): void {
    this.#sql.exec("DELETE FROM cano_host_wakes");
    this.detach();
  }

  /** This instance stops driving the run: forgets its sleeps (they never wake) and keeps every row. */
  detach(): void {
    this.#orphans.clear();
    this.#sleepers.clear();
  }

  #adopt(state: string, ms: number): WakeRow | undefined {
    if (this.#orphans.size === 0) return undefined;
    const rows = new Map(this.#rows().map((row) => [row.id, row]));
    for (const id of this.#orphans) {
      const row = rows.get(id);
      if (row === undefined) {
        this.#orphans.delete(id);
        continue;
      }
      if (row.state !== state || row.ms !== ms) continue;
      this.#orphans.delete(id);
      return row;
    }
    return undefined;
  }

  /** Every stored wake, checked: a row with a non-numeric time (or any damaged field) is `checkpoint_corrupt`. */
  #rows(): WakeRow[] {
    return this.#sql
      .exec<Record<string, SqlValueLike>>(
        "SELECT id, state, ms, wake_at, due FROM cano_host_wakes ORDER BY id",
      )
      .toArray()
      .map(checkedWake);
  }

  #insert(state: string, ms: number): WakeRow {
    const wakeAt = this.now() + ms;
    const [row] = this.#sql
      .exec<Record<string, SqlValueLike>>(
        "INSERT INTO cano_host_wakes (state, ms, wake_at) VALUES (?, ?, ?) RETURNING *",
        state,
        ms,
        wakeAt,
      )
      .toArray();
    return row === undefined ? { id: -1, state, ms, wake_at: wakeAt, due: 0 } : checkedWake(row);
  }

  #delete(id: number): void {
    this.#sql.exec("DELETE FROM cano_host_wakes WHERE id = ?", id);
  }
}

/** `row` as a wake, or a `checkpoint_corrupt` error naming the row and its damaged field. */
function checkedWake(row: Record<string, SqlValueLike>): WakeRow {
  const { id, state, ms, wake_at: wakeAt, due } = row;
  const finite = (value: SqlValueLike | undefined) => typeof value === "number" && Number.isFinite(value);
  const problem = !finite(id)
    ? `its id is ${JSON.stringify(id)}`
    : typeof state !== "string"
      ? `field "state" is ${JSON.stringify(state)}, expected a state name`
      : !finite(ms)
        ? `field "ms" is ${JSON.stringify(ms)}, expected milliseconds`
        : !finite(wakeAt)
          ? `field "wake_at" is ${JSON.stringify(wakeAt)}, expected epoch milliseconds`
          : due !== 0 && due !== 1
            ? `field "due" is ${JSON.stringify(due)}, expected 0 or 1`
            : undefined;
  if (problem === undefined) return row as unknown as WakeRow;
  throw new CanoError(
    "checkpoint_corrupt",
    `RunHost: wake ${String(id)} in "cano_host_wakes" is corrupt: ${problem}. Nothing was deleted: repair ` +
      "or delete the row, then resume the run.",
    { details: { table: "cano_host_wakes", id: typeof id === "number" ? id : String(id), problem } },
  );
}
