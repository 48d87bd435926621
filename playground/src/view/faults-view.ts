import type { TaskInfo } from "../runtime/env.ts";
import type { FaultTable } from "../runtime/faults.ts";
import { h, replaceChildren } from "./dom.ts";
import { empty } from "./panel.ts";

/** A stable, id-safe form of a task id for element ids. */
const slug = (taskId: string) => taskId.replace(/[^a-zA-Z0-9_-]/g, "_");

/**
 * Fault injection per task: a failure probability and added latency for every attempt, applied on
 * the next attempt of the running run and kept for later runs of the same workflow.
 */
export class FaultsView {
  readonly #body: HTMLElement;
  readonly #faults: FaultTable;
  #shown = "";

  constructor(body: HTMLElement, faults: FaultTable) {
    this.#body = body;
    this.#faults = faults;
  }

  /** Lists `tasks` (rebuilt only when the list changes, so focus survives). */
  show(tasks: readonly TaskInfo[]): void {
    const signature = JSON.stringify(tasks.map((task) => task.taskId));
    if (signature === this.#shown) return;
    this.#shown = signature;
    if (tasks.length === 0) {
      replaceChildren(this.#body, empty("No task to inject faults into."));
      return;
    }
    replaceChildren(this.#body, h("div", { class: "faults" }, ...tasks.map((task) => this.#row(task))));
  }

  #row(task: TaskInfo): HTMLElement {
    const id = slug(task.taskId);
    const fault = this.#faults.get(task.taskId);
    const output = h("output", { for: `fail-${id}` }, `${Math.round(fault.failureRate * 100)} %`);
    const rate = h("input", {
      type: "range",
      id: `fail-${id}`,
      min: 0,
      max: 100,
      step: 5,
      value: Math.round(fault.failureRate * 100),
      "data-fault-rate": task.taskId,
      "aria-label": `Failure probability of ${task.taskId}, percent`,
    });
    const latency = h("input", {
      type: "number",
      id: `lat-${id}`,
      min: 0,
      max: 600_000,
      step: 100,
      value: fault.latencyMs,
      "data-fault-latency": task.taskId,
      "aria-label": `Added latency of ${task.taskId}, milliseconds`,
    });
    const update = () => {
      const failureRate = Math.min(1, Math.max(0, Number(rate.value) / 100));
      const latencyMs = Math.max(0, Number(latency.value) || 0);
      this.#faults.set(task.taskId, { failureRate, latencyMs });
      output.textContent = `${Math.round(failureRate * 100)} %`;
      row.classList.toggle("active", failureRate > 0 || latencyMs > 0);
    };
    rate.addEventListener("input", update);
    latency.addEventListener("input", update);
    const row = h(
      "div",
      { class: "fault" },
      h("div", { class: "row" }, h("strong", {}, task.taskId), h("span", { class: "muted" }, task.kind)),
      h("label", { class: "fault-field", for: `fail-${id}` }, "fail", rate, output),
      h(
        "label",
        { class: "fault-field", for: `lat-${id}` },
        "+latency",
        latency,
        h("span", { class: "muted" }, "ms"),
      ),
    );
    row.classList.toggle("active", fault.failureRate > 0 || fault.latencyMs > 0);
    return row;
  }
}
