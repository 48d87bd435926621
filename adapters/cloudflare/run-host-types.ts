import type { CheckpointStore } from "../../core/checkpoint.ts";
import type { Clock } from "../../core/clock.ts";
import type { CanoErrorJson } from "../../core/errors.ts";
import type { OrchestrateOptions, ResumeOptions } from "../../core/run.ts";
import type { StandardSchemaV1 } from "../../core/standard-schema.ts";
import type { KeyValueStore } from "../../core/store.ts";
import type { DurableObjectStateLike } from "./platform.ts";
import type { DurableRunDetails, DurableRunInfo } from "./run-record.ts";

/** What a hosted workflow is built with, once per run start and again on every resume. */
export interface HostedRun<TEnv> {
  /** The run's id: its workflow id and the name its object was reached by. */
  readonly runId: string;
  /** The input the run was started with (after the workflow's `input` schema, if any). */
  readonly input: unknown;
  /** The object's durable key-value store: pass it as `new Workflow({ store })` so `ctx.store` survives eviction. */
  readonly store: KeyValueStore;
  /** The Worker's bindings. */
  readonly env: TEnv;
}

/**
 * The parts of a `Workflow` the run host calls. Any `Workflow<TState, TResources>` fits; the host
 * attaches its own checkpoint store and clock before every run.
 */
export interface HostableWorkflow {
  /** The host passes the object's `DurableObjectCheckpointStore`. */
  withCheckpointStore(store: CheckpointStore): unknown;
  /** The host passes its alarm clock (long sleeps become alarms). */
  withClock(clock: Clock): unknown;
  /** Starts a run. */
  orchestrate(initial: string, options: OrchestrateOptions): Promise<string>;
  /** Continues a run from its checkpoint. */
  resumeFrom(workflowId: string, options: ResumeOptions): Promise<string>;
}

/** One workflow a run host can start: where it begins and how to build it for a run. */
export interface HostedWorkflow<TEnv> {
  /** The state a new run starts in. */
  readonly initial: string;
  /** Builds the workflow for one run (called again on resume, so build it the same way each time). */
  readonly create: (run: HostedRun<TEnv>) => HostableWorkflow;
  /** Checks the start input (any Standard Schema, e.g. zod); a rejected input is a 400 and starts nothing. */
  readonly input?: StandardSchemaV1;
}

/** What {@link defineRunHost} takes. */
export interface RunHostOptions<TEnv> {
  /** The workflows this host can run, by the name `start` uses. */
  readonly workflows: Readonly<Record<string, HostedWorkflow<TEnv>>>;
  /** Sleeps at or above this many milliseconds wait on the object's alarm instead of a timer. Default 5 000. */
  readonly alarmThresholdMs?: number;
  /**
   * While work of an unfinished run is in flight (not every piece of it asleep on the alarm), an alarm
   * is armed at most this far ahead, to pick the run up after a reset. Default 60 000.
   */
  readonly watchdogMs?: number;
  /** The largest start input accepted, in bytes of JSON (a Durable Object stores at most 2 MB per value). Default 1 048 576. */
  readonly maxInputBytes?: number;
  /** Interval of keep-alive comments on event streams. Default 15 000. */
  readonly heartbeatMs?: number;
}

/** Options of a run host's `start`. */
export interface RunHostStartOptions {
  /**
   * The run's id. It must be the name the object was reached by (`idFromName(runId)`); for an object
   * without a name, its id (`ctx.id.toString()`). Default: that name, or that id.
   */
  readonly runId?: string;
}

/** Options of a run host's `events`. */
export interface RunHostEventsRequest {
  /** Close the stream once the stored history is sent instead of waiting for live events. */
  readonly historyOnly?: boolean;
}

/** A run host Durable Object: one instance drives one run. */
export interface RunHostObject {
  /** The HTTP interface: `POST /start`, `GET /status`, `POST /cancel`, `GET /events` (server-sent events). */
  fetch(request: Request): Promise<Response>;
  /** Wakes sleeps that are due, resumes the run from its checkpoint if this object was reset, re-arms the watchdog. */
  alarm(): Promise<void>;
  /**
   * Starts the run; refuses an unknown workflow (404), bad input or a `runId` that is not the object's
   * name (400), an input above `maxInputBytes` (413) and a second start (409).
   */
  start(workflow: string, input?: unknown, options?: RunHostStartOptions): Promise<DurableRunInfo>;
  /** The run, or `undefined` when this object never started one (answered without writing anything). */
  status(): DurableRunInfo | undefined;
  /** The run with the states it visited, or `undefined` when this object never started one. */
  details(): DurableRunDetails | undefined;
  /**
   * Stops the run (completed saga steps are compensated) and resolves once it has ended or all of its
   * work waits on the alarm; a finished run is a `conflict`.
   */
  cancel(reason?: string): Promise<DurableRunInfo>;
  /**
   * Continues a failed or cancelled run from its checkpoint rows (after a deploy that fixed what made it
   * fail); a run that is still going, completed, or has no rows left is a `conflict`.
   */
  resume(): Promise<DurableRunInfo>;
  /** The run's events as server-sent events: stored history after `after`, then live, then `end`. */
  events(after?: number, request?: RunHostEventsRequest): Response;
  /** Resolves once nothing runs in this instance, or everything in flight waits on the alarm. For tests and tooling. */
  idle(): Promise<DurableRunInfo | undefined>;
}

/** The class {@link defineRunHost} returns: export it from the Worker and bind it as a Durable Object. */
export type RunHostClass<TEnv> = new (ctx: DurableObjectStateLike, env: TEnv) => RunHostObject;

/** How a hosted run ended, as the host records it. */
export type RunEnding =
  | { readonly status: "completed"; readonly state: string }
  | { readonly status: "failed" | "cancelled"; readonly error: CanoErrorJson };
