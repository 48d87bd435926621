import { h, relativeTime } from "./dom.ts";
import type { RunModel, TimelineEntry } from "./model-types.ts";

/**
 * The timeline of events, newest at the bottom. Rows are appended as entries arrive and removed as
 * the model drops old ones, so a burst of a thousand events costs a thousand appends, not a rebuild.
 */
export class TimelineView {
  readonly element: HTMLElement;
  readonly #list: HTMLOListElement;
  #next = 0;
  #origin = Number.NaN;

  constructor() {
    this.#list = h("ol", { class: "timeline-list", "aria-live": "off" });
    this.element = h(
      "div",
      { class: "timeline-scroll", tabindex: 0, "aria-label": "Timeline of events" },
      h(
        "p",
        { class: "timeline-empty" },
        "Press Run (Ctrl+Enter) to watch the workflow's events arrive, with their virtual time.",
      ),
      this.#list,
    );
  }

  /** Forgets every row (a new session starts). */
  clear(): void {
    this.#list.replaceChildren();
    this.#next = 0;
  }

  /** Appends the model's new entries and drops the ones it dropped. */
  update(model: RunModel): void {
    if (model.origin !== this.#origin || this.#next > model.dropped + model.timeline.length) {
      this.#origin = model.origin;
      this.clear();
    }
    const atBottom = this.element.scrollTop + this.element.clientHeight >= this.element.scrollHeight - 24;
    const first = model.dropped;
    while (
      this.#list.firstElementChild !== null &&
      Number((this.#list.firstElementChild as HTMLElement).dataset.seq) < first
    ) {
      this.#list.firstElementChild.remove();
    }
    const start = Math.max(this.#next, first);
    const rows: HTMLElement[] = [];
    for (let seq = start; seq < first + model.timeline.length; seq++) {
      const entry = model.timeline[seq - first];
      if (entry !== undefined) rows.push(this.#row(entry, model.origin));
    }
    this.#next = first + model.timeline.length;
    if (rows.length === 0) return;
    this.#list.append(...rows);
    if (atBottom) this.element.scrollTop = this.element.scrollHeight;
  }

  #row(entry: TimelineEntry, origin: number): HTMLElement {
    const time = entry.kind === "replayed" ? "log" : relativeTime(entry.at, origin);
    return h(
      "li",
      { class: `event tone-${entry.tone}`, "data-seq": entry.seq, "data-kind": entry.kind },
      h("time", {}, time),
      h("span", { class: "kind" }, entry.kind.replace(/_/g, " ")),
      h("span", { class: "text" }, entry.text),
    );
  }
}
