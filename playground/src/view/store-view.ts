import type { KeyValueStore } from "cano";
import { h, replaceChildren } from "./dom.ts";
import { empty } from "./panel.ts";

function pretty(value: unknown): string {
  try {
    const compact = JSON.stringify(value) ?? String(value);
    const text = compact.length <= 60 ? compact : (JSON.stringify(value, null, 2) ?? compact);
    return text.length > 1_200 ? `${text.slice(0, 1_200)}…` : text;
  } catch {
    return String(value);
  }
}

/**
 * The run's key-value store, read through its public `keys()` / `get()`: refreshed after each batch
 * of events (at most one read in flight), so it is inspectable at any point, paused runs included.
 */
export class StoreView {
  readonly #body: HTMLElement;
  #store: KeyValueStore | undefined;
  #reading = false;
  #again = false;
  #shown = "";

  constructor(body: HTMLElement) {
    this.#body = body;
    replaceChildren(body, empty("Run a workflow to see its store."));
  }

  /** Shows `store` (the current session's), read now. */
  show(store: KeyValueStore | undefined): void {
    this.#store = store;
    this.#shown = "";
    this.refresh();
  }

  /** Reads the store again (coalesced while a read is in flight). */
  refresh(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    const store = this.#store;
    if (store === undefined) return;
    this.#reading = true;
    void this.#read(store).finally(() => {
      this.#reading = false;
      if (this.#again) {
        this.#again = false;
        this.refresh();
      }
    });
  }

  async #read(store: KeyValueStore): Promise<void> {
    let entries: [string, unknown][];
    try {
      const keys = await store.keys();
      entries = await Promise.all(
        keys.map(async (name): Promise<[string, unknown]> => [name, await store.get(name)]),
      );
    } catch (error) {
      replaceChildren(
        this.#body,
        empty(`The store could not be read: ${error instanceof Error ? error.message : String(error)}`),
      );
      return;
    }
    if (store !== this.#store) return;
    const shown = JSON.stringify(entries);
    if (shown === this.#shown) return;
    this.#shown = shown;
    replaceChildren(
      this.#body,
      entries.length === 0
        ? empty("The store is empty.")
        : h(
            "dl",
            { class: "store" },
            ...entries.flatMap(([name, value]) => [
              h("dt", { "data-key": name }, name),
              h("dd", {}, h("pre", {}, pretty(value))),
            ]),
          ),
    );
  }
}
