import type { Attributes, Context, Span, Tracer } from "@opentelemetry/api";
import { ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import type { CanoErrorJson, EventOf, WorkflowEvent } from "../../core/index.ts";

/** A span with the time it started, so ends are never earlier than starts. */
interface Open {
  readonly span: Span;
  readonly context: Context;
  readonly startedAt: number;
}

/**
 * An attempt that is due to run or running, by task id. Its span is made only once an event shows it
 * ran (it failed, succeeded, or was still running when the run stopped): an attempt refused by an
 * open breaker, or one whose backoff a cancellation cut short, never ran and gets no span.
 */
interface Attempt {
  readonly number: number;
  /** When it starts: at `task_start`, or when the backoff after the previous attempt is over. */
  readonly startAt: number;
  /** The state span it belongs to. */
  readonly parent: Context;
}

/** Everything open for one run. */
interface RunSpans {
  readonly run: Open;
  state: Open | undefined;
  readonly attempts: Map<string, Attempt>;
  readonly compensations: Map<string, Open>;
}

/** @internal The settings spans are made with. */
export interface TraceSettings {
  readonly tracer: Tracer;
  /** Parent of every run span; default: a new trace per run. */
  readonly parent: Context | undefined;
  /** Added to every run span (e.g. `{ "cano.workflow": "order" }`). */
  readonly attributes: Attributes;
}

/**
 * @internal Turns one run's events into spans: `cano.run` → `cano.state` → `cano.attempt`, plus
 * `cano.compensate` under the run; retries, breaker trips, checkpoints, splits and compensations
 * become span events. An attempt's span is made once it is known to have run; every span is ended
 * by the run's `run_end` (or by the same run id starting again, as a lost run).
 */
export class RunTracer {
  readonly #settings: TraceSettings;
  readonly #runs = new Map<string, RunSpans>();

  constructor(settings: TraceSettings) {
    this.#settings = settings;
  }

  /** Runs whose `run_end` has not been seen yet. */
  get openRuns(): number {
    return this.#runs.size;
  }

  /** Updates the spans for one event. */
  observe(event: WorkflowEvent): void {
    if (event.type === "run_start") {
      this.#end(event.workflowId, event.at, "failed", undefined);
      this.#begin(event);
      return;
    }
    const run = this.#runs.get(event.workflowId);
    if (run === undefined) return;
    const at = event.at;
    switch (event.type) {
      case "state_enter":
        if (run.state !== undefined) finish(run.state, at);
        run.state = this.#open("cano.state", run.run.context, at, { "cano.state": event.state });
        break;
      case "task_start":
        this.#startAttempt(run, event.taskId, 1, at);
        break;
      case "retry": {
        this.#endAttempt(run, event.taskId, at, { error: event.error });
        stateSpan(run).addEvent(
          "retry",
          {
            ...taskAttributes(event),
            "cano.attempt": event.attempt,
            "cano.delay_ms": event.delayMs,
            "cano.error.code": event.error.code,
          },
          at,
        );
        this.#startAttempt(run, event.taskId, event.attempt + 1, at + event.delayMs);
        break;
      }
      case "circuit_open":
        // The breaker refused the attempt before it ran: a span event, no attempt span.
        stateSpan(run).addEvent("circuit_open", taskAttributes(event), at);
        run.attempts.delete(event.taskId);
        break;
      case "task_success":
        this.#endAttempt(run, event.taskId, at, {
          attributes: { "cano.next": event.next, "cano.attempts": event.attempts },
        });
        break;
      case "task_failure":
        this.#endAttempt(run, event.taskId, at, { error: event.error });
        stateSpan(run).setStatus({ code: SpanStatusCode.ERROR, message: event.error.message });
        break;
      case "branch_settled":
        stateSpan(run).addEvent(
          "branch_settled",
          { ...taskAttributes(event), "cano.index": event.index, "cano.outcome": event.outcome },
          at,
        );
        this.#endAttempt(run, event.taskId, at, {
          ...(event.outcome === "failure" && event.error !== undefined ? { error: event.error } : {}),
          attributes: { "cano.outcome": event.outcome },
          settled: event.outcome === "success",
        });
        break;
      case "compensate_start":
        run.compensations.set(
          event.taskId,
          this.#open("cano.compensate", run.run.context, at, taskAttributes(event)),
        );
        break;
      case "compensate_done": {
        run.run.span.addEvent("compensation", { ...taskAttributes(event), "cano.ok": event.ok }, at);
        const open = run.compensations.get(event.taskId);
        if (open !== undefined) finish(open, at, event.ok ? undefined : event.error);
        run.compensations.delete(event.taskId);
        break;
      }
      case "run_end":
        this.#end(event.workflowId, at, event.outcome, event);
        break;
      default:
        this.#annotate(run, event);
    }
  }

  /** Events that only add a span event. */
  #annotate(run: RunSpans, event: WorkflowEvent): void {
    const at = event.at;
    switch (event.type) {
      case "checkpoint":
        stateSpan(run).addEvent(
          "checkpoint",
          { "cano.sequence": event.sequence, "cano.kind": event.kind },
          at,
        );
        break;
      case "split_start":
        stateSpan(run).addEvent(
          "split_start",
          { "cano.branches": event.branches, "cano.strategy": event.strategy },
          at,
        );
        break;
      case "join":
        stateSpan(run).addEvent(
          "join",
          {
            "cano.strategy": event.strategy,
            "cano.successes": event.successes,
            "cano.failures": event.failures,
            "cano.cancelled": event.cancelled,
            "cano.timed_out": event.timedOut,
            "cano.decision": event.decision,
          },
          at,
        );
        break;
      case "resume":
        run.run.span.setAttribute("cano.resumed", true);
        run.run.span.addEvent(
          "resume",
          { "cano.state": event.state, "cano.last_sequence": event.lastSequence },
          at,
        );
        break;
      case "cancelled":
        run.run.span.addEvent("cancelled", { "cano.state": event.state }, at);
        break;
      case "workflow_timeout":
        run.run.span.addEvent(
          "workflow_timeout",
          { "cano.elapsed_ms": event.elapsedMs, "cano.limit_ms": event.limitMs },
          at,
        );
        break;
      case "checkpoint_clear_failed":
      case "teardown_failed":
        run.run.span.addEvent(event.type, errorAttributes(event.error), at);
        break;
      default:
        break;
    }
  }

  #begin(event: EventOf<"run_start">): void {
    const parent = this.#settings.parent ?? ROOT_CONTEXT;
    const run = this.#open("cano.run", parent, event.at, {
      ...this.#settings.attributes,
      "cano.workflow_id": event.workflowId,
      "cano.initial": event.initial,
    });
    this.#runs.set(event.workflowId, {
      run,
      state: undefined,
      attempts: new Map(),
      compensations: new Map(),
    });
  }

  #end(workflowId: string, at: number, outcome: string, event: EventOf<"run_end"> | undefined): void {
    const run = this.#runs.get(workflowId);
    if (run === undefined) return;
    this.#runs.delete(workflowId);
    const error = event?.error ?? (event === undefined ? lostRun : undefined);
    // Whatever is still open ended with the run (a cancellation or timeout stops tasks mid-attempt).
    for (const [taskId, attempt] of run.attempts) {
      const failed = outcome !== "completed" && error !== undefined;
      this.#endAttempt(run, taskId, at, { ...(failed ? { error } : {}), settled: false }, attempt);
    }
    for (const open of run.compensations.values()) finish(open, at, error);
    if (run.state !== undefined) finish(run.state, at, outcome === "failed" ? error : undefined);
    const span = run.run.span;
    span.setAttribute("cano.outcome", outcome);
    if (event?.state !== undefined) span.setAttribute("cano.final_state", event.state);
    if (event !== undefined) span.setAttribute("cano.duration_ms", event.durationMs);
    if (outcome === "completed") span.setStatus({ code: SpanStatusCode.OK });
    // A cancellation is a requested stop, not an error: the status stays unset and `cano.outcome` says it.
    finish(run.run, at, outcome === "failed" ? error : undefined);
  }

  #startAttempt(run: RunSpans, taskId: string, number: number, at: number): void {
    // Another attempt of the same task without an end in between: the earlier one ran until now.
    this.#endAttempt(run, taskId, at, { settled: false });
    run.attempts.set(taskId, { number, startAt: at, parent: (run.state ?? run.run).context });
  }

  /**
   * Records the task's pending attempt as a span from its start to `at`, unless it never began (its
   * backoff was still running at `at`). With an `error` it is an error; `settled` (default true) and no
   * error make it OK; otherwise (cancelled, or its end is unknown) the status stays unset.
   */
  #endAttempt(
    run: RunSpans,
    taskId: string,
    at: number,
    end: { readonly error?: CanoErrorJson; readonly attributes?: Attributes; readonly settled?: boolean },
    attempt: Attempt | undefined = run.attempts.get(taskId),
  ): void {
    if (attempt === undefined) return;
    run.attempts.delete(taskId);
    if (at < attempt.startAt) return;
    const open = this.#open("cano.attempt", attempt.parent, attempt.startAt, {
      "cano.task": taskId,
      "cano.attempt": attempt.number,
      ...end.attributes,
    });
    if (end.error === undefined && end.settled !== false) open.span.setStatus({ code: SpanStatusCode.OK });
    finish(open, at, end.error);
  }

  #open(name: string, parent: Context, at: number, attributes: Attributes): Open {
    const span = this.#settings.tracer.startSpan(name, { startTime: at, attributes }, parent);
    return { span, context: trace.setSpan(parent, span), startedAt: at };
  }
}

const lostRun: CanoErrorJson = {
  code: "workflow",
  message: "the run started again before it reported its end",
};

function stateSpan(run: RunSpans): Span {
  return (run.state ?? run.run).span;
}

function taskAttributes(event: { readonly state: string; readonly taskId: string }): Attributes {
  return { "cano.state": event.state, "cano.task": event.taskId };
}

function errorAttributes(error: CanoErrorJson): Attributes {
  return { "cano.error.code": error.code, "cano.error.message": error.message };
}

/** Ends a span at `at` (never before it started), as an error when `error` is given. */
function finish(open: Open, at: number, error?: CanoErrorJson): void {
  if (error !== undefined) {
    open.span.recordException({ name: error.code, message: error.message }, Math.max(at, open.startedAt));
    open.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  open.span.end(Math.max(at, open.startedAt));
}
