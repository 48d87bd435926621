import type { CancelTimer, Clock } from "../../core/clock.ts";
import { systemClock } from "../../core/clock.ts";
import type { SqlStorageLike } from "./platform.ts";

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

interface WakeRow extends Record<string, string | number> {
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
 * the same length adopts the stored wake-up time instead of waiting the whole delay again.
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
    sql.exec(
      "CREATE TABLE IF NOT EXISTS cano_host_wakes (id INTEGER PRIMARY KEY AUTOINCREMENT, state TEXT NOT NULL, " +
        "ms REAL NOT NULL, wake_at REAL NOT NULL, due INTEGER NOT NULL DEFAULT 0)",
    );
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
    const due = this.#sql
      .exec<{ id: number }>("UPDATE cano_host_wakes SET due = 1 WHERE wake_at <= ? RETURNING id", firedAt)
      .toArray();
    for (const { id } of due) {
      const release = this.#sleepers.get(id);
      if (release === undefined) continue; // an orphan: a resumed run may adopt it
      this.#sleepers.delete(id);
      this.#delete(id);
      release();
    }
  }

  /** The earliest pending wake-up time, if any. */
  earliestWake(): number | undefined {
    const [row] = this.#sql
      .exec<{ at: number | null }>("SELECT MIN(wake_at) AS at FROM cano_host_wakes WHERE due = 0")
      .toArray();
    return row?.at ?? undefined;
  }

  /** True while at least one sleep of this instance waits on the alarm. */
  parked(): boolean {
    return this.#sleepers.size > 0;
  }

  /** A run is being resumed here: the wakes an earlier instance left become adoptable. */
  adoptOrphans(): void {
    const rows = this.#sql.exec<{ id: number }>("SELECT id FROM cano_host_wakes").toArray();
    this.#orphans = new Set(rows.map((row) => row.id));
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
    this.#orphans.clear();
    this.#sleepers.clear();
  }

  #adopt(state: string, ms: number): WakeRow | undefined {
    for (const id of this.#orphans) {
      const [row] = this.#sql.exec<WakeRow>("SELECT * FROM cano_host_wakes WHERE id = ?", id).toArray();
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

  #insert(state: string, ms: number): WakeRow {
    const wakeAt = this.now() + ms;
    const [row] = this.#sql
      .exec<WakeRow>(
        "INSERT INTO cano_host_wakes (state, ms, wake_at) VALUES (?, ?, ?) RETURNING *",
        state,
        ms,
        wakeAt,
      )
      .toArray();
    return row ?? { id: -1, state, ms, wake_at: wakeAt, due: 0 };
  }

  #delete(id: number): void {
    this.#sql.exec("DELETE FROM cano_host_wakes WHERE id = ?", id);
  }
}
