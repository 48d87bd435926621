import type { Child } from "./dom.ts";
import { h, replaceChildren } from "./dom.ts";

/** A titled side panel whose body is rebuilt only when its content's signature changes. */
export class Panel {
  readonly element: HTMLElement;
  readonly body: HTMLElement;
  readonly #count: HTMLElement;
  #signature: string | undefined;

  constructor(id: string, title: string, hint?: string) {
    this.#count = h("span", { class: "panel-count" });
    this.body = h("div", { class: "panel-body", id: `${id}-body` });
    this.element = h(
      "section",
      { class: "panel", id, "aria-labelledby": `${id}-title` },
      h("h2", { id: `${id}-title` }, title, this.#count),
      hint === undefined ? undefined : h("p", { class: "panel-hint" }, hint),
      this.body,
    );
  }

  /** Shows `build()` when `signature` differs from the last one; `count` goes next to the title. */
  set(signature: string, build: () => readonly Child[], count?: number): void {
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#count.textContent = count === undefined || count === 0 ? "" : String(count);
    replaceChildren(this.body, ...build());
  }
}

/** An empty-state line for a panel. */
export function empty(text: string): HTMLElement {
  return h("p", { class: "empty" }, text);
}
