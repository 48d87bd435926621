import type { CheckpointStore, KeyValueStore, RunningScheduler } from "cano";
import { isCanoError, MemoryStore, Scheduler } from "cano";
import { resumeInTab, withTabLease } from "cano/idb";
import { VirtualClock } from "cano/testing";
import type { RunMeta } from "../persist/storage.ts";
import type { Speed } from "./clock-driver.ts";
import { ClockDriver } from "./clock-driver.ts";
import type { SourceProblem } from "./compile.ts";
import { ProgramStructure } from "./env.ts";
import type { EventSink } from "./events.ts";
import type { FaultTable } from "./faults.ts";
import type { Gate } from "./gate.ts";
import { IoTracker, TrackedCheckpointStore, TrackedKeyValueStore } from "./io.ts";
import type { Program } from "./program.ts";
import { loadProgram } from "./program.ts";

/** How a session's run (or schedule) ended. */
export type SessionEnd =
  | { readonly outcome: "completed"; readonly state?: string }
  | { readonly outcome: "failed"; readonly message: string }
  | { readonly outcome: "cancelled" }
  /** Resume found no log once it held the run: another tab finished it. */
  | { readonly outcome: "gone" };

/** What a session runs against. */
export interface SessionOptions {
  readonly source: string;
  readonly exampleId: string;
  readonly title: string;
  /** Where checkpoints go (IndexedDB in the page). */
  readonly checkpoints: CheckpointStore;
  /** The run's key-value data; a fresh `MemoryStore` when not given. */
  readonly store?: KeyValueStore;
  readonly faults: FaultTable;
  readonly gate: Gate;
  /** The speed the clock runs at, read on every tick. */
  readonly speed: () => Speed;
  /** Receives every event of the session, in order. */
  readonly emit: EventSink;
  /** Where the virtual clock starts, epoch ms. Default: now. */
  readonly startMs?: number;
}

/** A new run id: readable, unique per tab and time. */
export function newRunId(exampleId: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `${exampleId}-${Date.now().toString(36)}-${random}`;
}

/**
 * One run of the editor's code, or one schedule of runs: its own virtual clock (driven at the
 * chosen speed, frozen while paused or while storage is busy), its checkpoints and data, and its
 * events. Build one with {@link Session.prepare}.
 */
export class Session {
  readonly program: Program;
  readonly clock: VirtualClock;
  readonly checkpoints: CheckpointStore;
  readonly store: KeyValueStore;
  readonly #options: SessionOptions;
  readonly #controller = new AbortController();
  readonly #driver: ClockDriver;
  #scheduler: RunningScheduler | undefined;

  private constructor(program: Program, options: SessionOptions, io: IoTracker, store: KeyValueStore) {
    this.program = program;
    this.#options = options;
    this.clock = program.env.clock;
    this.store = store;
    this.checkpoints = new TrackedCheckpointStore(options.checkpoints, io);
    const { gate } = options;
    this.#driver = new ClockDriver(this.clock, options.speed(), () => {
      this.#driver.speed = options.speed();
      return io.idle && (!gate.paused || gate.stepping);
    });
  }

  /** Compiles and loads the code; a problem in it comes back instead of a session. */
  static prepare(
    options: SessionOptions,
  ):
    | { readonly ok: true; readonly session: Session }
    | { readonly ok: false; readonly problem: SourceProblem } {
    const io = new IoTracker();
    const clock = new VirtualClock({ startMs: options.startMs ?? Date.now() });
    const store = new TrackedKeyValueStore(options.store ?? new MemoryStore(), io);
    const signal = { current: undefined as AbortSignal | undefined };
    const emit: EventSink = (event) => {
      options.gate.observe(event);
      options.emit(event);
    };
    const loaded = loadProgram(options.source, {
      clock,
      store,
      emit,
      structure: new ProgramStructure(),
      hooks: {
        beforeTask: (state) => options.gate.enter(state, signal.current ?? new AbortController().signal),
        beforeAttempt: (taskId, ctx) => options.faults.inject(taskId, ctx),
      },
    });
    if (!loaded.ok) return loaded;
    const session = new Session(loaded.program, options, io, store);
    signal.current = session.#controller.signal;
    loaded.program.workflow.withCheckpointStore(session.checkpoints).withObserver(emit);
    return { ok: true, session };
  }

  /** The meta that lets a reloaded page resume `workflowId`. */
  meta(workflowId: string, storeNamespace: string): RunMeta {
    const { exampleId, title, source } = this.#options;
    return { workflowId, exampleId, title, source, storeNamespace, startedAt: Date.now() };
  }

  /** Runs the workflow once under `workflowId` (holding its tab lease), or its schedule. */
  async start(workflowId: string): Promise<SessionEnd> {
    const { workflow, initial, schedule } = this.program;
    return this.#drive(async () => {
      if (schedule !== undefined) return this.#schedule(workflowId);
      const signal = this.#controller.signal;
      const state = await withTabLease(
        workflowId,
        () => workflow.orchestrate(initial, { workflowId, signal }),
        {
          mode: "fail",
        },
      );
      return { outcome: "completed", state };
    });
  }

  /** Replays the run's checkpoint log into the picture, then resumes it in this tab. */
  async resume(workflowId: string): Promise<SessionEnd> {
    return this.#drive(async () => {
      for (const row of await this.checkpoints.loadRun(workflowId)) {
        this.#options.emit({ type: "replayed", at: row.at, workflowId, row });
      }
      const result = await resumeInTab(this.program.workflow, this.checkpoints, workflowId, {
        mode: "fail",
        signal: this.#controller.signal,
      });
      return result.status === "gone" ? { outcome: "gone" } : { outcome: "completed", state: result.state };
    });
  }

  /** Cancels the run (or stops the schedule); the engine compensates and reports it. */
  cancel(): void {
    this.#controller.abort(new Error("cancelled from the playground"));
    void this.#scheduler?.stop();
  }

  /** Stops driving the clock; the session is done. */
  dispose(): void {
    this.#driver.stop();
  }

  async #drive(body: () => Promise<SessionEnd>): Promise<SessionEnd> {
    this.#driver.start();
    try {
      return await body();
    } catch (thrown) {
      if (isCanoError(thrown) && thrown.code === "cancelled") return { outcome: "cancelled" };
      return { outcome: "failed", message: thrown instanceof Error ? thrown.message : String(thrown) };
    } finally {
      this.#driver.stop();
    }
  }

  async #schedule(sessionId: string): Promise<SessionEnd> {
    const { workflow, initial, schedule } = this.program;
    if (schedule === undefined) throw new Error("Session: not a scheduled program");
    let ended = 0;
    let failed = 0;
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const scheduler = new Scheduler({
      clock: this.clock,
      runId: (_flowId, run) => `${sessionId}-run${run}`,
      onEvent: (event) => {
        this.#options.emit(event);
        if (event.type !== "flow_end") return;
        if (event.outcome === "failed") failed++;
        if (++ended >= schedule.runs) finish();
      },
    }).add(this.#options.exampleId, workflow, initial, schedule.trigger);
    this.#scheduler = await scheduler.start();
    const cancelled = new Promise<void>((resolve) =>
      this.#controller.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    await Promise.race([done, cancelled]);
    await this.#scheduler.stop();
    if (this.#controller.signal.aborted) return { outcome: "cancelled" };
    return failed === 0
      ? { outcome: "completed" }
      : { outcome: "failed", message: `${failed} of ${ended} scheduled runs failed` };
  }
}
