import type { Attributes, Counter, Histogram, Meter, UpDownCounter } from "@opentelemetry/api";
import type { EventOf, GraphNode, WorkflowEvent, WorkflowGraph } from "../../core/index.ts";

/**
 * The metrics the observer records: the seed's `cano_*` names (reference §14.3) that can be derived
 * from `WorkflowEvent`s, with the same low-cardinality labels (never a run id). Histograms are in
 * seconds, with buckets from 1 ms to 1 h. `cano_checkpoint_appends_total` only counts
 * `result="ok"` (a failed append has no event of its own) and `cano_checkpoint_clears_total` only
 * `result="failed"` (a clear that worked has none). The §14.3 metrics no event carries are listed in
 * {@link canoMetricsNotEmitted}.
 */
export const canoMetricNames = [
  "cano_workflow_runs_total",
  "cano_workflow_duration_seconds",
  "cano_workflow_active",
  "cano_state_enters_total",
  "cano_observed_task_runs_total",
  "cano_task_retries_total",
  "cano_circuit_open_events_total",
  "cano_circuit_rejections_total",
  "cano_checkpoints_observed_total",
  "cano_resumes_total",
  "cano_observed_workflow_timeouts_total",
  "cano_observed_workflow_timeout_limit_seconds",
  "cano_observed_workflow_timeout_elapsed_seconds",
  "cano_observed_cancellations_total",
  "cano_task_duration_seconds",
  "cano_task_attempts_total",
  "cano_split_branch_results_total",
  "cano_compensations_run_total",
  "cano_compensation_drains_total",
  "cano_checkpoint_appends_total",
  "cano_checkpoint_clears_total",
] as const;

/**
 * The §14.3 metrics the observer does not emit, because no `WorkflowEvent` carries what they count:
 * unknown resume states (a resume into an unknown state fails before its run starts); circuit breaker
 * transitions, acquires and outcomes (breakers report to no run; only a refusal is an event);
 * poll, batch, stepped and stream loop counters (their iterations, items and windows are not
 * events); rate limiter metrics; and the scheduler's (it reports `SchedulerEvent`s, not run events).
 */
export const canoMetricsNotEmitted = [
  "cano_observed_unknown_resume_states_total",
  "cano_circuit_transitions_total",
  "cano_circuit_acquires_total",
  "cano_circuit_outcomes_total",
  "cano_poll_iterations_total",
  "cano_batch_runs_total",
  "cano_batch_items_total",
  "cano_step_iterations_total",
  "cano_stream_runs_total",
  "cano_stream_windows_total",
  "cano_stream_items_total",
  "cano_rate_limiter_acquired_total",
  "cano_rate_limiter_throttled_total",
  "cano_rate_limiter_wait_seconds",
  "cano_rate_limiter_tokens_consumed_total",
  "cano_multi_rate_limiter_throttled_total",
  "cano_scheduler_flow_runs_total",
  "cano_scheduler_flow_duration_seconds",
  "cano_scheduler_flow_backoff_total",
  "cano_scheduler_flow_tripped_total",
  "cano_scheduler_active_flows",
] as const;

/** Bucket boundaries of every `*_seconds` histogram: 1 ms to 1 h (the SDK's default is for milliseconds). */
const secondsBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];

/** One of {@link canoMetricsNotEmitted}. */
export type CanoMetricNotEmitted = (typeof canoMetricsNotEmitted)[number];

/** One of {@link canoMetricNames}. */
export type CanoMetricName = (typeof canoMetricNames)[number];

type Instruments = Record<CanoMetricName, Counter | Histogram | UpDownCounter>;

const help: Record<CanoMetricName, [kind: "counter" | "histogram" | "gauge", description: string]> = {
  cano_workflow_runs_total: ["counter", "Workflow runs ended, by outcome (a cancellation counts as failed)"],
  cano_workflow_duration_seconds: ["histogram", "Duration of workflow runs, by outcome"],
  cano_workflow_active: ["gauge", "Workflow runs in progress"],
  cano_state_enters_total: ["counter", "States entered, by state"],
  cano_observed_task_runs_total: ["counter", "Tasks that finished, by task and outcome"],
  cano_task_retries_total: ["counter", "Failed attempts that were retried, by task"],
  cano_circuit_open_events_total: ["counter", "Attempts refused by an open circuit breaker, by task"],
  cano_circuit_rejections_total: ["counter", "Attempts refused by an open circuit breaker"],
  cano_checkpoints_observed_total: ["counter", "Checkpoint rows written"],
  cano_resumes_total: ["counter", "Runs resumed from a checkpoint log"],
  cano_observed_workflow_timeouts_total: ["counter", "Runs stopped by their total timeout"],
  cano_observed_workflow_timeout_limit_seconds: ["histogram", "Total timeout of runs that hit it"],
  cano_observed_workflow_timeout_elapsed_seconds: [
    "histogram",
    "Time elapsed when a run hit its total timeout",
  ],
  cano_observed_cancellations_total: ["counter", "Runs cancelled"],
  cano_task_duration_seconds: ["histogram", "Duration of a state's task (all attempts), by state and kind"],
  cano_task_attempts_total: ["counter", "Task attempts, by outcome (success or failure)"],
  cano_split_branch_results_total: ["counter", "Split branches settled, by result"],
  cano_compensations_run_total: ["counter", "Compensations run, by result (ok or failed)"],
  cano_compensation_drains_total: [
    "counter",
    "Rollbacks that ran compensations, by outcome (clean or partial)",
  ],
  cano_checkpoint_appends_total: ["counter", "Checkpoint appends, by result"],
  cano_checkpoint_clears_total: ["counter", "Checkpoint log clears reported by events, by result"],
};

/** Per-run bookkeeping for durations and drains. */
interface RunTally {
  /** When each task (by state) started; a split counts from its `split_start`. */
  readonly started: Map<string, { readonly at: number; readonly kind: string }>;
  compensations: { ok: number; failed: number };
}

/** The seed's `kind` label from a graph node kind. */
function seedKind(kind: GraphNode["kind"] | undefined): string {
  switch (kind) {
    case "router":
    case "split":
    case "stepped":
    case "stream":
      return kind;
    case "saga":
      return "compensatable";
    default:
      return "single";
  }
}

/** A split branch's task id without its index: `fetch[2]` → `fetch`, so labels stay few. */
function taskLabel(taskId: string): string {
  return taskId.replace(/\[\d+\]$/, "");
}

/** @internal Records the `cano_*` metrics from events. */
export class RunMetrics {
  readonly #instruments: Instruments;
  readonly #base: Attributes;
  readonly #kinds: ReadonlyMap<string, string>;
  readonly #runs = new Map<string, RunTally>();

  constructor(meter: Meter, base: Attributes, graph: WorkflowGraph | undefined) {
    this.#base = base;
    this.#kinds = new Map(graph?.nodes.map((node) => [node.id, seedKind(node.kind)]) ?? []);
    const made: Partial<Instruments> = {};
    for (const name of canoMetricNames) {
      const [kind, description] = help[name];
      if (kind === "histogram")
        made[name] = meter.createHistogram(name, {
          description,
          unit: "s",
          advice: { explicitBucketBoundaries: [...secondsBuckets] },
        });
      else if (kind === "gauge") made[name] = meter.createUpDownCounter(name, { description });
      else made[name] = meter.createCounter(name, { description });
    }
    this.#instruments = made as Instruments;
  }

  /** Records what one event says. */
  observe(event: WorkflowEvent): void {
    switch (event.type) {
      case "run_start":
        // The same id starting again before its run_end (a lost run, restarted): still one active run.
        if (!this.#runs.has(event.workflowId)) this.#add("cano_workflow_active", 1);
        this.#runs.set(event.workflowId, { started: new Map(), compensations: { ok: 0, failed: 0 } });
        break;
      case "state_enter":
        this.#add("cano_state_enters_total", 1, { state: event.state });
        break;
      case "task_start":
        // A split's branches report task_start too; the split's own clock started at split_start.
        if (!event.taskId.endsWith("]")) this.#start(event.workflowId, event.state, event.at);
        break;
      case "split_start":
        this.#start(event.workflowId, event.state, event.at, "split");
        break;
      case "retry":
        this.#add("cano_task_retries_total", 1, { task: taskLabel(event.taskId) });
        this.#add("cano_task_attempts_total", 1, { outcome: "failure" });
        break;
      case "circuit_open":
        this.#add("cano_circuit_open_events_total", 1, { task: taskLabel(event.taskId) });
        this.#add("cano_circuit_rejections_total", 1);
        break;
      case "task_success":
      case "task_failure":
        this.#taskEnded(event);
        break;
      case "join":
        this.#stop(event.workflowId, event.state, event.at);
        break;
      case "branch_settled":
        this.#add("cano_split_branch_results_total", 1, { result: event.outcome });
        break;
      default:
        this.#other(event);
    }
  }

  #other(event: WorkflowEvent): void {
    switch (event.type) {
      case "checkpoint":
        this.#add("cano_checkpoints_observed_total", 1);
        this.#add("cano_checkpoint_appends_total", 1, { result: "ok" });
        break;
      case "checkpoint_clear_failed":
        this.#add("cano_checkpoint_clears_total", 1, { result: "failed" });
        break;
      case "resume":
        this.#add("cano_resumes_total", 1);
        break;
      case "cancelled":
        this.#add("cano_observed_cancellations_total", 1);
        break;
      case "workflow_timeout":
        this.#add("cano_observed_workflow_timeouts_total", 1);
        this.#add("cano_observed_workflow_timeout_limit_seconds", event.limitMs / 1000);
        this.#add("cano_observed_workflow_timeout_elapsed_seconds", event.elapsedMs / 1000);
        break;
      case "compensate_done": {
        this.#add("cano_compensations_run_total", 1, { result: event.ok ? "ok" : "failed" });
        const tally = this.#runs.get(event.workflowId)?.compensations;
        if (tally !== undefined) tally[event.ok ? "ok" : "failed"] += 1;
        break;
      }
      case "run_end":
        this.#runEnded(event);
        break;
      default:
        break;
    }
  }

  #taskEnded(event: EventOf<"task_success"> | EventOf<"task_failure">): void {
    const outcome = event.type === "task_success" ? "completed" : "failed";
    this.#add("cano_observed_task_runs_total", 1, { task: taskLabel(event.taskId), outcome });
    const isCircuit = event.type === "task_failure" && event.error.code === "circuit_open";
    // An open breaker refuses without spending an attempt.
    if (!isCircuit)
      this.#add("cano_task_attempts_total", 1, { outcome: outcome === "completed" ? "success" : "failure" });
    this.#stop(event.workflowId, event.state, event.at);
  }

  #runEnded(event: EventOf<"run_end">): void {
    const outcome = event.outcome === "completed" ? "completed" : "failed";
    this.#add("cano_workflow_runs_total", 1, { outcome });
    this.#add("cano_workflow_duration_seconds", event.durationMs / 1000, { outcome });
    // Only a run this observer saw start is counted as active (one attached mid-run saw no run_start).
    if (this.#runs.has(event.workflowId)) this.#add("cano_workflow_active", -1);
    const tally = this.#runs.get(event.workflowId)?.compensations;
    if (tally !== undefined && tally.ok + tally.failed > 0)
      this.#add("cano_compensation_drains_total", 1, { outcome: tally.failed === 0 ? "clean" : "partial" });
    this.#runs.delete(event.workflowId);
  }

  #start(workflowId: string, state: string, at: number, kind?: string): void {
    this.#runs.get(workflowId)?.started.set(state, { at, kind: kind ?? this.#kinds.get(state) ?? "single" });
  }

  #stop(workflowId: string, state: string, at: number): void {
    const started = this.#runs.get(workflowId)?.started;
    const begun = started?.get(state);
    if (begun === undefined) return;
    started?.delete(state);
    this.#add("cano_task_duration_seconds", Math.max(0, at - begun.at) / 1000, { state, kind: begun.kind });
  }

  #add(name: CanoMetricName, value: number, labels: Attributes = {}): void {
    const instrument = this.#instruments[name];
    const attributes = { ...this.#base, ...labels };
    if ("record" in instrument) instrument.record(value, attributes);
    else instrument.add(value, attributes);
  }
}
