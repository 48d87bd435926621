import { breakerText } from "./describe.ts";
import type { Child } from "./dom.ts";
import { h, seconds } from "./dom.ts";
import { joinProgress } from "./join-progress.ts";
import type { RunModel, TaskView } from "./model-types.ts";
import { empty } from "./panel.ts";

/** A bar that fills as `done` approaches `total`. */
function bar(done: number, total: number, tone: string): HTMLElement {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  return h(
    "div",
    { class: `bar ${tone}`, role: "presentation" },
    h("span", { style: `width:${(ratio * 100).toFixed(1)}%` }),
  );
}

/** Tasks that were retried or rejected, with attempt counts and the backoff countdown. */
export function retries(model: RunModel, now: number): { signature: string; nodes: Child[]; count: number } {
  const tasks = [...model.tasks.values()].filter(
    (t) => t.attempt > 1 || t.status === "retrying" || t.status === "rejected",
  );
  const line = (task: TaskView) => {
    if (task.status === "retrying" && task.retry !== undefined) {
      const left = task.retry.until - now;
      return [
        h(
          "div",
          { class: "row" },
          h("strong", {}, task.taskId),
          h("span", { class: "pill warn" }, `attempt ${task.retry.attempt} failed`),
        ),
        h("div", { class: "detail" }, task.retry.message),
        h(
          "div",
          { class: "row small" },
          `attempt ${task.attempt} in ${seconds(left)}`,
          h("span", { class: "muted" }, `backoff ${seconds(task.retry.delayMs)}`),
        ),
        bar(task.retry.delayMs - left, task.retry.delayMs, "warn"),
      ];
    }
    const tone = task.status === "succeeded" ? "ok" : task.status === "running" ? "info" : "error";
    const what =
      task.status === "succeeded"
        ? `done after ${task.attempt} attempts`
        : task.status === "running"
          ? `attempt ${task.attempt} running`
          : task.status === "rejected"
            ? "rejected: circuit open"
            : `${task.status} after ${task.attempt} attempts`;
    return [
      h("div", { class: "row" }, h("strong", {}, task.taskId), h("span", { class: `pill ${tone}` }, what)),
      task.message === undefined || task.status === "succeeded"
        ? undefined
        : h("div", { class: "detail" }, task.message),
    ];
  };
  const signature = JSON.stringify(
    tasks.map((t) => [
      t.taskId,
      t.status,
      t.attempt,
      t.retry === undefined ? 0 : Math.ceil((t.retry.until - now) / 100),
    ]),
  );
  const nodes =
    tasks.length === 0
      ? [empty("No retries yet.")]
      : tasks.map((t) => h("div", { class: "item", "data-task": t.taskId }, ...line(t)));
  return { signature, nodes, count: tasks.length };
}

/** Every breaker: closed / open (with the time left before a probe) / half-open. */
export function breakers(model: RunModel, now: number): { signature: string; nodes: Child[]; count: number } {
  const list = [...model.breakers.values()];
  const signature = JSON.stringify(
    list.map((b) => [
      b.name,
      b.state,
      b.opened,
      b.state.status === "open" ? Math.ceil((b.state.until - now) / 100) : 0,
    ]),
  );
  const nodes =
    list.length === 0
      ? [empty("No circuit breaker in this workflow.")]
      : list.map((b) => {
          const status = b.state.status;
          const tone = status === "closed" ? "ok" : status === "open" ? "error" : "warn";
          return h(
            "div",
            { class: "item", "data-breaker": b.name, "data-breaker-status": status },
            h(
              "div",
              { class: "row" },
              h("strong", {}, b.name),
              h("span", { class: `pill ${tone}` }, status.replace("_", "-")),
            ),
            h(
              "div",
              { class: "detail" },
              breakerText(b.state, now),
              b.opened > 0 ? ` · opened ${b.opened}×` : "",
            ),
            b.state.status === "open" ? bar(now - b.at, b.state.until - b.at, "error") : undefined,
          );
        });
  return { signature, nodes, count: list.length };
}

/** Each split: its branches racing, and the join strategy's progress. */
export function splits(model: RunModel): { signature: string; nodes: Child[]; count: number } {
  const list = [...model.splits.values()];
  const signature = JSON.stringify(
    list.map((sp) => [
      sp.state,
      sp.successes,
      sp.failures,
      sp.cancelled,
      sp.decision,
      sp.branches.map((b) => b.status),
    ]),
  );
  const nodes =
    list.length === 0
      ? [empty("No split has started.")]
      : list.map((sp) => {
          const settled = sp.successes + sp.failures + sp.cancelled;
          const needed = joinProgress(sp.strategy, sp.branches.length, sp.successes, settled);
          const decision =
            sp.decision === undefined ? "racing" : sp.decision === "proceed" ? "joined" : "join failed";
          return h(
            "div",
            { class: "item", "data-split": sp.state },
            h(
              "div",
              { class: "row" },
              h("strong", {}, sp.state),
              h(
                "span",
                {
                  class: `pill ${sp.decision === "fail" ? "error" : sp.decision === "proceed" ? "ok" : "info"}`,
                },
                decision,
              ),
            ),
            h("div", { class: "detail join-progress" }, needed, sp.timedOut ? " · timed out" : ""),
            bar(sp.successes, sp.branches.length, "ok"),
            h(
              "ul",
              { class: "chips" },
              ...sp.branches.map((b) =>
                h(
                  "li",
                  { class: `chip status-${b.status}`, "data-branch": b.taskId },
                  b.taskId,
                  h("span", { class: "chip-status" }, b.status),
                ),
              ),
            ),
          );
        });
  return { signature, nodes, count: list.length };
}

/** The saga: steps done (the compensation stack) and compensations unwinding, newest first. */
export function compensations(model: RunModel): { signature: string; nodes: Child[]; count: number } {
  const signature = JSON.stringify([model.sagaStack, model.compensations]);
  const stack =
    model.sagaStack.length === 0
      ? undefined
      : h(
          "div",
          { class: "detail" },
          `Completed steps (undone newest first): ${[...model.sagaStack].reverse().join(" ← ")}`,
        );
  const list =
    model.compensations.length === 0
      ? empty(
          model.sagaStack.length === 0
            ? "No saga step has completed."
            : "Nothing to undo unless a later state fails.",
        )
      : h(
          "ol",
          { class: "compensations" },
          ...model.compensations.map((c) =>
            h(
              "li",
              { class: `comp status-${c.status}`, "data-compensation": c.taskId },
              h("span", { class: "comp-order" }, String(c.order)),
              h("strong", {}, c.taskId),
              h(
                "span",
                { class: `pill ${c.status === "done" ? "ok" : c.status === "failed" ? "error" : "warn"}` },
                c.status === "done" ? "compensated" : c.status === "failed" ? "failed" : "compensating",
              ),
              c.message === undefined ? undefined : h("div", { class: "detail" }, c.message),
            ),
          ),
        );
  return { signature, nodes: [stack, list], count: model.compensations.length };
}
