import type { Speed } from "../runtime/clock-driver.ts";
import { speedLabel, speeds } from "../runtime/clock-driver.ts";
import { h, setText } from "./dom.ts";

/** What the controls do. */
export interface ControlActions {
  readonly run: () => void;
  readonly cancel: () => void;
  readonly togglePause: () => void;
  readonly step: () => void;
  readonly setSpeed: (speed: Speed) => void;
  readonly reload: () => void;
}

/** What the controls show. */
export interface ControlState {
  /** A run (or schedule) is in progress. */
  readonly running: boolean;
  readonly paused: boolean;
  /** The code compiles and loads. */
  readonly runnable: boolean;
  readonly speed: Speed;
  /** A short status: `running`, `paused before "charge"`, `completed in "done"`, … */
  readonly status: string;
  readonly tone: string;
  /** The virtual clock, relative to the run's start. */
  readonly clock: string;
}

/** The run controls: run, cancel, pause/step, speed, reload, and the run's status. */
export class ControlsView {
  readonly element: HTMLElement;
  readonly #run: HTMLButtonElement;
  readonly #cancel: HTMLButtonElement;
  readonly #pause: HTMLButtonElement;
  readonly #step: HTMLButtonElement;
  readonly #speeds: HTMLButtonElement[];
  readonly #status: HTMLElement;
  readonly #clock: HTMLElement;

  constructor(actions: ControlActions) {
    this.#run = h(
      "button",
      { class: "primary", type: "button", id: "run", title: "Run (Ctrl+Enter)", onclick: actions.run },
      "▶ Run",
    );
    this.#cancel = h("button", { type: "button", id: "cancel", onclick: actions.cancel }, "■ Cancel");
    this.#pause = h(
      "button",
      { type: "button", id: "pause", "aria-pressed": "false", onclick: actions.togglePause },
      "❚❚ Pause",
    );
    this.#step = h(
      "button",
      { type: "button", id: "step", title: "Run one transition", onclick: actions.step },
      "Step ›",
    );
    this.#speeds = speeds.map((speed) =>
      h(
        "button",
        {
          type: "button",
          class: "speed",
          "data-speed": speedLabel(speed),
          "aria-pressed": "false",
          onclick: () => actions.setSpeed(speed),
        },
        speedLabel(speed),
      ),
    );
    this.#status = h(
      "span",
      { class: "status", id: "run-status", role: "status", "aria-live": "polite" },
      "ready",
    );
    this.#clock = h(
      "span",
      { class: "clock", id: "virtual-clock", title: "Virtual time since the run started" },
      "+0 ms",
    );
    this.element = h(
      "div",
      { class: "controls-wrap" },
      h(
        "div",
        { class: "controls", role: "toolbar", "aria-label": "Run controls" },
        this.#run,
        this.#cancel,
        this.#pause,
        this.#step,
        h(
          "div",
          { class: "speeds", role: "group", "aria-label": "Clock speed" },
          h("span", { class: "muted" }, "speed"),
          ...this.#speeds,
        ),
        h(
          "button",
          {
            type: "button",
            class: "ghost",
            id: "reload",
            title: "Reload the tab mid-run: the run stops, its checkpoints stay in IndexedDB",
            onclick: actions.reload,
          },
          "⟳ Reload tab",
        ),
      ),
      h("div", { class: "status-box" }, this.#status, this.#clock),
    );
  }

  /** Shows `state`. */
  sync(state: ControlState): void {
    this.#run.disabled = state.running || !state.runnable;
    this.#cancel.disabled = !state.running;
    this.#step.disabled = !state.paused;
    this.#pause.setAttribute("aria-pressed", String(state.paused));
    setText(this.#pause, state.paused ? "▶ Continue" : "❚❚ Pause");
    for (const button of this.#speeds) {
      button.setAttribute("aria-pressed", String(button.dataset.speed === speedLabel(state.speed)));
    }
    setText(this.#status, state.status);
    this.#status.dataset.tone = state.tone;
    setText(this.#clock, state.clock);
  }
}
