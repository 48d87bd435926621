import type { WorkflowEvent } from "cano";
import type { PlaygroundEvent } from "../runtime/events.ts";
import { describe } from "./describe.ts";
import type { BranchView, RunModel, SplitView, TaskView } from "./model-types.ts";
import { edgeKey } from "./model-types.ts";

/** The most timeline lines kept; older ones are dropped (and counted) so bursts stay cheap. */
export const timelineLimit = 1_500;

/**
 * An empty model; timeline times are shown relative to `origin` (virtual epoch ms). `splits` names
 * each split's branches before they start (from the program's structure).
 */
export function createModel(
  origin: number,
  splits: ReadonlyMap<string, readonly string[]> = new Map(),
): RunModel {
  return {
    origin,
    splitIds: splits,
    workflowId: undefined,
    status: "idle",
    current: undefined,
    path: [],
    edges: new Set(),
    replayed: new Set(),
    failedState: undefined,
    error: undefined,
    tasks: new Map(),
    splits: new Map(),
    compensations: [],
    sagaStack: [],
    breakers: new Map(),
    timeline: [],
    dropped: 0,
    events: 0,
    schedule: undefined,
    resumedAt: undefined,
  };
}

/** Forgets the picture of the previous run (a scheduled session starts another); breakers and timeline stay. */
function startRun(model: RunModel, workflowId: string): void {
  model.workflowId = workflowId;
  model.current = undefined;
  model.path.length = 0;
  model.edges.clear();
  model.replayed.clear();
  model.failedState = undefined;
  model.error = undefined;
  model.tasks.clear();
  model.splits.clear();
  model.compensations.length = 0;
  model.sagaStack.length = 0;
}

function enter(model: RunModel, state: string): void {
  const resumed = model.resumedAt === state;
  model.resumedAt = undefined;
  if (resumed && model.current === state) return;
  if (model.current !== undefined) model.edges.add(edgeKey(model.current, state));
  model.current = state;
  model.path.push(state);
}

/** The view of a split branch, when `taskId` is one (`name[index]` in a split state). */
function branchOf(model: RunModel, state: string, taskId: string): BranchView | undefined {
  return model.splits.get(state)?.branches.find((branch) => branch.taskId === taskId);
}

function task(model: RunModel, state: string, taskId: string): TaskView {
  let view = model.tasks.get(taskId);
  if (view === undefined) {
    view = { taskId, state, status: "running", attempt: 1, retry: undefined, message: undefined };
    model.tasks.set(taskId, view);
  }
  return view;
}

function split(event: Extract<WorkflowEvent, { type: "split_start" }>, ids: readonly string[]): SplitView {
  const branches = Array.from({ length: event.branches }, (_, index) => ({
    taskId: ids[index] ?? `${event.state}[${index}]`,
    index,
    status: "waiting" as const,
  }));
  return {
    state: event.state,
    strategy: event.strategy,
    branches,
    successes: 0,
    failures: 0,
    cancelled: 0,
    decision: undefined,
    timedOut: false,
  };
}

function applyTaskEvent(model: RunModel, event: WorkflowEvent): void {
  if (!("taskId" in event)) return;
  const { state, taskId } = event;
  const branch = branchOf(model, state, taskId);
  switch (event.type) {
    case "task_start": {
      const view = task(model, state, taskId);
      Object.assign(view, { status: "running", attempt: 1, retry: undefined, message: undefined });
      if (branch !== undefined) branch.status = "running";
      return;
    }
    case "retry": {
      const view = task(model, state, taskId);
      view.status = "retrying";
      view.attempt = event.attempt + 1;
      view.message = event.error.message;
      const { attempt, delayMs } = event;
      view.retry = { attempt, delayMs, until: event.at + delayMs, message: event.error.message };
      if (branch !== undefined) branch.status = "retrying";
      return;
    }
    case "task_success": {
      const view = task(model, state, taskId);
      Object.assign(view, { status: "succeeded", attempt: event.attempts, retry: undefined });
      return;
    }
    case "task_failure": {
      const view = task(model, state, taskId);
      const cancelled = event.error.code === "cancelled";
      Object.assign(view, {
        status: cancelled ? "cancelled" : "failed",
        retry: undefined,
        message: event.error.message,
      });
      if (branch === undefined && !cancelled) model.failedState = state;
      return;
    }
    case "circuit_open": {
      const view = task(model, state, taskId);
      Object.assign(view, { status: "rejected", retry: undefined, message: "circuit open: call rejected" });
      return;
    }
    case "branch_settled": {
      const view = task(model, state, taskId);
      const status =
        event.outcome === "success" ? "succeeded" : event.outcome === "failure" ? "failed" : "cancelled";
      Object.assign(view, { status, retry: undefined, message: event.error?.message });
      if (branch !== undefined) branch.status = status;
      const tally = model.splits.get(state);
      if (tally !== undefined) {
        if (event.outcome === "success") tally.successes++;
        else if (event.outcome === "failure") tally.failures++;
        else tally.cancelled++;
      }
      return;
    }
    case "compensate_start": {
      model.compensations.push({
        order: model.compensations.length + 1,
        state,
        taskId,
        status: "running",
        message: undefined,
      });
      return;
    }
    case "compensate_done": {
      const entry = [...model.compensations]
        .reverse()
        .find((c) => c.taskId === taskId && c.status === "running");
      if (entry !== undefined) {
        entry.status = event.ok ? "done" : "failed";
        entry.message = event.error?.message;
      }
      const index = model.sagaStack.lastIndexOf(state);
      if (index >= 0) model.sagaStack.splice(index, 1);
      return;
    }
  }
}

function applyRunEvent(model: RunModel, event: PlaygroundEvent): void {
  switch (event.type) {
    case "replayed":
      if (model.workflowId !== event.workflowId) startRun(model, event.workflowId);
      if (event.row.kind === "state") {
        enter(model, event.row.state);
        model.replayed.add(event.row.state);
      } else if (event.row.kind === "completion") {
        model.sagaStack.push(event.row.state);
      }
      return;
    case "run_start":
      if (model.workflowId !== event.workflowId) startRun(model, event.workflowId);
      model.status = "running";
      return;
    case "resume":
      model.resumedAt = event.state;
      return;
    case "state_enter":
      enter(model, event.state);
      return;
    case "split_start":
      model.splits.set(event.state, split(event, model.splitIds.get(event.state) ?? []));
      return;
    case "checkpoint":
      if (event.kind === "completion") model.sagaStack.push(event.state);
      return;
    case "join": {
      const view = model.splits.get(event.state);
      if (view !== undefined) Object.assign(view, { decision: event.decision, timedOut: event.timedOut });
      return;
    }
    case "run_end":
      model.status = event.outcome;
      model.error = event.error;
      if (event.state !== undefined) model.current = event.state;
      return;
    case "breaker": {
      const known = model.breakers.get(event.name);
      const opened =
        (known?.opened ?? 0) + (event.to.status === "open" && event.from.status !== "open" ? 1 : 0);
      model.breakers.set(event.name, { name: event.name, state: event.to, at: event.at, opened });
      return;
    }
    case "flow_start":
    case "flow_end":
    case "flow_skipped":
    case "flow_backoff":
    case "flow_tripped": {
      model.schedule ??= { started: 0, ended: 0, failed: 0, note: undefined };
      if (event.type === "flow_start") model.schedule.started++;
      else if (event.type === "flow_end") {
        model.schedule.ended++;
        if (event.outcome === "failed") model.schedule.failed++;
      } else model.schedule.note = describe(event).text;
      return;
    }
    default:
      applyTaskEvent(model, event as WorkflowEvent);
  }
}

/** Whether an event is worth a timeline line (a breaker attached without changing is not). */
function shown(event: PlaygroundEvent): boolean {
  return !(event.type === "breaker" && event.from.status === event.to.status);
}

/** Applies one event to the model, in place; the view redraws from the model. */
export function apply(model: RunModel, event: PlaygroundEvent): void {
  model.events++;
  applyRunEvent(model, event);
  if (!shown(event)) return;
  const { text, tone } = describe(event);
  const seq = model.dropped + model.timeline.length;
  model.timeline.push({ seq, at: event.at, kind: event.type, text, tone });
  if (model.timeline.length > timelineLimit) {
    const excess = model.timeline.length - timelineLimit;
    model.timeline.splice(0, excess);
    model.dropped += excess;
  }
}
