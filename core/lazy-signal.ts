import type { Clock } from "./clock.ts";
import type { SplitResult } from "./split.ts";
import type { KeyValueStore } from "./store.ts";
import type { TaskContext } from "./task.ts";

/**
 * @internal Something that hands out AbortSignals when asked (and may make them only then); `key`
 * tells a source that serves many contexts (the branches of a split) which one asks.
 */
export interface SignalSource {
  signalOf(key: number): AbortSignal;
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

  signalOf(): AbortSignal {
    return this.signal;
  }

  /** Whether `abort` was called, without making the signal. */
  get aborted(): boolean {
    return this.#reason !== undefined;
  }

  /** The reason given to `abort`, or `undefined` before it. */
  get reason(): unknown {
    return this.#reason?.value;
  }

  /** Aborts the signal (now, or when it is first read); the first reason wins. */
  abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = { value: reason };
    this.#controller?.abort(reason);
  }
}

/** @internal The fields of a task context that stay the same for a whole run. */
export interface RunFields<TResources> {
  readonly store: KeyValueStore;
  readonly resources: TResources;
  readonly workflowId: string;
  readonly clock: Clock;
}

/**
 * @internal The context of a split branch or of a timed attempt: its `signal` comes from a source
 * and is made only when read, since an AbortController per branch or per attempt would cost more
 * than the task itself. A class, so the getter lives on the prototype and making one stays cheap;
 * the price is that a spread copy has no `signal` (documented on {@link TaskContext.signal}).
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
  readonly #key: number;

  constructor(
    run: RunFields<TResources>,
    state: string,
    split: SplitResult | undefined,
    attempt: number,
    source: SignalSource,
    key = 0,
  ) {
    this.state = state;
    this.store = run.store;
    this.resources = run.resources;
    this.attempt = attempt;
    this.workflowId = run.workflowId;
    this.clock = run.clock;
    this.split = split;
    this.#source = source;
    this.#key = key;
  }

  /** The same context for another attempt, with the signal of `source`. */
  static of<TResources>(
    base: TaskContext<TResources>,
    attempt: number,
    source: SignalSource,
    key = 0,
  ): DerivedContext<TResources> {
    return new DerivedContext(base, base.state, base.split, attempt, source, key);
  }

  get signal(): AbortSignal {
    return this.#source.signalOf(this.#key);
  }
}
