import type { Clock } from "./clock.ts";
import type { SplitResult } from "./split.ts";
import type { KeyValueStore } from "./store.ts";
import type { TaskContext } from "./task.ts";

/** @internal Something that hands out an AbortSignal when asked (and may make it only then). */
export interface SignalSource {
  readonly signal: AbortSignal;
}

/**
 * @internal An AbortSignal made only if someone reads it: most tasks never look at theirs, and an
 * AbortController (with its signal) costs more than a short task. `abort` before the first read is
 * remembered, so a late reader gets an already-aborted signal.
 */
export class LazySignal implements SignalSource {
  #controller: AbortController | undefined;
  #reason: { readonly value: unknown } | undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason.value);
    }
    return this.#controller.signal;
  }

  /** Aborts the signal (now, or when it is first read); the first reason wins. */
  abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = { value: reason };
    this.#controller?.abort(reason);
  }
}

/**
 * @internal A task context that copies a base context's fields and takes its `signal` from a source
 * (read on demand). A class, so the getter lives on the prototype and making one stays cheap.
 */
export class DerivedContext<TResources> implements TaskContext<TResources> {
  readonly state: string;
  readonly store: KeyValueStore;
  readonly resources: TResources;
  readonly attempt: number;
  readonly workflowId: string;
  readonly clock: Clock;
  readonly split: SplitResult | undefined;
  readonly #source: SignalSource;

  constructor(base: TaskContext<TResources>, attempt: number, source: SignalSource) {
    this.state = base.state;
    this.store = base.store;
    this.resources = base.resources;
    this.attempt = attempt;
    this.workflowId = base.workflowId;
    this.clock = base.clock;
    this.split = base.split;
    this.#source = source;
  }

  get signal(): AbortSignal {
    return this.#source.signal;
  }
}
