import type { LaidOutNode } from "./graph-layout.ts";
import { joinProgressShort } from "./join-progress.ts";
import type { RunModel, TaskView } from "./model-types.ts";

/** How a node is drawn now: its status (a CSS class and `data-status`) and its second line. */
export interface NodeLook {
  readonly status:
    | "idle"
    | "current"
    | "visited"
    | "retrying"
    | "failed"
    | "compensating"
    | "compensated"
    | "reached"
    | "cancelled"
    | "rejected";
  readonly line: string;
  /** Came from the checkpoint log of a resumed run. */
  readonly replayed: boolean;
}

const kindLine: Readonly<Record<string, string>> = {
  task: "task",
  node: "node · prep → exec → post",
  router: "router",
  poll: "poll",
  timer: "timer",
  batch: "batch",
  stepped: "stepped",
  stream: "stream",
  saga: "saga step",
  exit: "exit",
  branch: "branch",
};

function taskLine(task: TaskView, now: number): string | undefined {
  switch (task.status) {
    case "running":
      return task.attempt > 1 ? `running · attempt ${task.attempt}` : "running";
    case "retrying":
      return task.retry === undefined
        ? `retrying · attempt ${task.attempt}`
        : `attempt ${task.attempt} in ${((task.retry.until - now) / 1000).toFixed(1)} s`;
    case "failed":
      return task.attempt > 1 ? `failed after ${task.attempt} attempts` : "failed";
    case "rejected":
      return "circuit open · rejected";
    case "cancelled":
      return "cancelled";
    case "succeeded":
      return task.attempt > 1 ? `done · ${task.attempt} attempts` : "done";
  }
}

/** The task of a state (not a branch), when it has run. */
function stateTask(model: RunModel, state: string): TaskView | undefined {
  const branches = model.splitIds.get(state) ?? [];
  for (const task of model.tasks.values())
    if (task.state === state && !branches.includes(task.taskId)) return task;
  return undefined;
}

function branchTask(model: RunModel, node: LaidOutNode): TaskView | undefined {
  const state = node.id.slice(0, node.id.length - node.label.length - 1);
  const task = model.tasks.get(node.label);
  return task?.state === state ? task : undefined;
}

/** How `node` looks in `model` at virtual time `now`; `heldAt` is the state the pause holds, if any. */
export function nodeLook(model: RunModel, node: LaidOutNode, now: number, heldAt?: string): NodeLook {
  const replayed = model.replayed.has(node.id);
  if (node.kind === "branch") {
    const task = branchTask(model, node);
    if (task === undefined) return { status: "idle", line: "branch", replayed };
    const status =
      task.status === "succeeded"
        ? "visited"
        : task.status === "running"
          ? "current"
          : task.status === "retrying"
            ? "retrying"
            : task.status === "failed"
              ? "failed"
              : task.status === "rejected"
                ? "rejected"
                : "cancelled";
    return { status, line: taskLine(task, now) ?? "", replayed };
  }
  const visited = model.path.includes(node.id);
  const compensation = [...model.compensations].reverse().find((c) => c.state === node.id);
  if (compensation !== undefined) {
    const status =
      compensation.status === "running"
        ? "compensating"
        : compensation.status === "done"
          ? "compensated"
          : "failed";
    const line =
      compensation.status === "running"
        ? "compensating…"
        : compensation.status === "done"
          ? "compensated ↺"
          : "compensation failed";
    return { status, line, replayed };
  }
  const split = model.splits.get(node.id);
  const settled = split === undefined ? 0 : split.successes + split.failures + split.cancelled;
  const splitLine =
    split === undefined
      ? undefined
      : joinProgressShort(split.strategy, split.branches.length, split.successes, settled);
  const task = stateTask(model, node.id);
  const line =
    splitLine ?? (task === undefined ? undefined : taskLine(task, now)) ?? kindLine[node.kind] ?? node.kind;
  if (model.failedState === node.id) return { status: "failed", line, replayed };
  if (model.current === node.id) {
    if (node.kind === "exit") return { status: "reached", line: "reached ✓", replayed };
    if (model.status === "cancelled") return { status: "cancelled", line: "cancelled here", replayed };
    if (task?.status === "retrying") return { status: "retrying", line, replayed };
    if (task?.status === "rejected") return { status: "rejected", line, replayed };
    if (heldAt === node.id) return { status: "current", line: "held · paused", replayed };
    return { status: "current", line, replayed };
  }
  if (!visited) return { status: "idle", line: kindLine[node.kind] ?? node.kind, replayed };
  return {
    status: "visited",
    line: replayed && task === undefined && split === undefined ? "done · from the log" : line,
    replayed,
  };
}
