import type { CircuitBreaker } from "./circuit-breaker.ts";
import type { Clock } from "./clock.ts";
import { CanoError } from "./errors.ts";
import type { RetryPolicy } from "./retry.ts";
import { checkRetryPolicy, defaultRetry } from "./retry.ts";
import type { SplitResult } from "./split.ts";
import type { KeyValueStore } from "./store.ts";

/** What every task receives. */
export interface TaskContext<TResources = unknown> {
  /** The state being executed. */
  readonly state: string;
  /** The workflow's key-value store, shared by every state of the run. */
  readonly store: KeyValueStore;
  /** The resources the workflow was built with. */
  readonly resources: TResources;
  /**
   * Fires on run cancellation, attempt timeout, total timeout, and for split branches that lost.
   * Pass it to `fetch` and friends; the engine stops waiting for the task when it fires anyway.
   * In a split branch and in a task with `attemptTimeoutMs` it is made when first read (a getter):
   * a copy made with `{ ...ctx }` there has none, so copy it by name (`{ ...ctx, signal: ctx.signal }`).
   */
  readonly signal: AbortSignal;
  /** 1-based attempt number within the retry loop. */
  readonly attempt: number;
  /** The run's id; with `state` it makes an idempotency key for side effects. */
  readonly workflowId: string;
  /** The workflow's clock: use it instead of `setTimeout`/`Date.now` to stay testable. */
  readonly clock: Clock;
  /** In the join state of a split: how each branch ended. `undefined` everywhere else. */
  readonly split?: SplitResult;
}

/** The retry, timeout and breaker settings of a task. */
export interface TaskOptions<TTo = string> {
  /** The states this task may return. When given, returning anything else does not compile. */
  readonly to?: readonly TTo[];
  /** Retry policy for the retried part. Default `exponential(3)`; `none()` for a single attempt. */
  readonly retry?: RetryPolicy;
  /** Upper bound for each attempt; an attempt that exceeds it fails with a `timeout` error (retried). */
  readonly attemptTimeoutMs?: number;
  /** Checked before every attempt; an open breaker ends the retry loop with `circuit_open`. */
  readonly circuitBreaker?: CircuitBreaker;
  /** Decides whether a failed attempt is retried; `PermanentError`s never are. Default: retry everything. */
  readonly retryIf?: (error: CanoError) => boolean;
  /** The task's id in events and checkpoints. Default: the state it is registered under. */
  readonly name?: string;
}

/** The kind of processing model a task is. */
export type TaskKind =
  | "task"
  | "node"
  | "router"
  | "poll"
  | "timer"
  | "batch"
  | "stepped"
  | "stream"
  | "saga";

/** @internal Runs `body` under the task's retry, timeout and breaker settings. */
export type AttemptRunner<TResources> = <T>(
  body: (ctx: TaskContext<TResources>) => T | Promise<T>,
) => Promise<T>;

/** @internal What the engine hands a task besides its context. */
export interface TaskRuntime<TResources> {
  /** Runs `body` under the task's retry, timeout and breaker settings. */
  readonly attempts: AttemptRunner<TResources>;
  /** The cursor this state saved last, when the run resumed in it; `undefined` otherwise. */
  readonly cursor: unknown;
  /** Records the state's progress (a JSON value); with a checkpoint store attached it is persisted. */
  readonly saveCursor: (cursor: unknown) => Promise<void>;
}

/**
 * A unit of work a state runs; build one with {@link task}, {@link node} or {@link router}.
 * `TTo` is the union of states it can return (or, for a split branch, the value it produces).
 */
export interface Task<TTo = string, TResources = unknown> {
  /** The processing model that built it. */
  readonly kind: TaskKind;
  /** Its id in events and checkpoints; `undefined` means "the state it is registered under". */
  readonly name: string | undefined;
  /** The states it may return, when declared. */
  readonly to: readonly TTo[] | undefined;
  /** How the retried part is retried. */
  readonly retry: RetryPolicy;
  /** Bound for each attempt of the retried part. */
  readonly attemptTimeoutMs: number | undefined;
  /** Checked before each attempt. */
  readonly circuitBreaker: CircuitBreaker | undefined;
  /** Which failures are retried. */
  readonly retryIf: ((error: CanoError) => boolean) | undefined;
  /**
   * How the engine stops a task when the run is cancelled or times out: `"race"` stops waiting at
   * once; `"cooperative"` lets the task see `ctx.signal`, wind down (a stream flushes) and throw.
   */
  readonly cancellation: "race" | "cooperative";
  /**
   * @internal For tasks that are nothing but a retried body (`task`, `router`): the body itself, so
   * the engine can skip building a runtime for them. `execute` does the same thing.
   */
  readonly body?: (ctx: TaskContext<TResources>) => TTo | Promise<TTo>;
  /** @internal Drives the task; `runtime.attempts` wraps the part that is retried. */
  readonly execute: (ctx: TaskContext<TResources>, runtime: TaskRuntime<TResources>) => Promise<TTo>;
}

/** @internal A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** A task with declared targets: its body may only return one of them. */
export type Declared<TTo extends string> = TaskOptions<TTo> & { readonly to: readonly TTo[] };
/** A task without declared targets: the targets are whatever its body returns. */
export type Undeclared = TaskOptions<never> & { readonly to?: undefined };

/** @internal Throws a `configuration` error unless each named callback of a definition is a function. */
export function requireFunctions(kind: TaskKind, definition: object, names: readonly string[]): void {
  for (const name of names) {
    const value = (definition as Record<string, unknown>)[name];
    if (typeof value !== "function") {
      throw new CanoError("configuration", `${kind}: "${name}" must be a function, received ${typeof value}`);
    }
  }
}

/** @internal What a processing model adds to the common settings: how it runs, and its body if it is nothing more. */
export interface TaskModel<TTo, TResources> {
  readonly execute: Task<TTo, TResources>["execute"];
  readonly body?: Task<TTo, TResources>["body"];
}

/**
 * @internal A task of `kind`: its validated common settings, `defaults` being the model's own, and
 * the model. Every task is built here with the same keys in the same order, so all tasks share one
 * hidden class and the engine's reads of them stay monomorphic (a spread made one class per task).
 */
export function defineTask<TTo, TResources>(
  kind: TaskKind,
  options: TaskOptions<TTo>,
  model: TaskModel<TTo, TResources>,
  defaults: { readonly retry: RetryPolicy; readonly cancellation?: "race" | "cooperative" } = {
    retry: defaultRetry,
  },
): Task<TTo, TResources> {
  const { attemptTimeoutMs } = options;
  if (attemptTimeoutMs !== undefined && !(Number.isFinite(attemptTimeoutMs) && attemptTimeoutMs > 0)) {
    throw new CanoError(
      "configuration",
      `${kind}: attemptTimeoutMs must be a finite number of milliseconds > 0, received ${String(attemptTimeoutMs)}`,
    );
  }
  if (options.to !== undefined && !Array.isArray(options.to)) {
    throw new CanoError(
      "configuration",
      `${kind}: "to" must be an array of states, received ${typeof options.to}`,
    );
  }
  return {
    kind,
    name: options.name,
    to: options.to,
    retry: checkRetryPolicy(options.retry ?? defaults.retry),
    attemptTimeoutMs,
    circuitBreaker: options.circuitBreaker,
    retryIf: options.retryIf,
    cancellation: defaults.cancellation ?? "race",
    body: model.body,
    execute: model.execute,
  };
}

/**
 * The simplest processing model: one `run` that returns the next state. The whole `run` is retried.
 *
 * @example
 * task({ to: ["summarize", "failed"], retry: exponential(3), attemptTimeoutMs: 5_000,
 *   run: async ({ store, signal }) => { await store.put("page", await (await fetch(url, { signal })).text()); return "summarize"; } })
 */
export function task<const TTo extends string, TResources = unknown>(
  definition: Declared<TTo> & { readonly run: (ctx: TaskContext<TResources>) => MaybePromise<NoInfer<TTo>> },
): Task<TTo, TResources>;
export function task<TTo extends string, TResources = unknown>(
  definition: Undeclared & { readonly run: (ctx: TaskContext<TResources>) => MaybePromise<TTo> },
): Task<TTo, TResources>;
/** A split branch may produce any value; the join state sees it in `ctx.split.successes`. */
export function task<TOutput, TResources = unknown>(
  definition: Undeclared & { readonly run: (ctx: TaskContext<TResources>) => MaybePromise<TOutput> },
): Task<TOutput, TResources>;
export function task<TTo, TResources>(
  definition: TaskOptions<TTo> & { readonly run: (ctx: TaskContext<TResources>) => MaybePromise<TTo> },
): Task<TTo, TResources> {
  requireFunctions("task", definition, ["run"]);
  const { run } = definition;
  return defineTask("task", definition, { body: run, execute: (_ctx, { attempts }) => attempts(run) });
}

/**
 * A read-only branch: `route` looks at the store or resources and picks the next state. Registered
 * with `registerRouter`, it writes no checkpoint row.
 */
export function router<const TTo extends string, TResources = unknown>(
  definition: Declared<TTo> & {
    readonly route: (ctx: TaskContext<TResources>) => MaybePromise<NoInfer<TTo>>;
  },
): Task<TTo, TResources>;
export function router<TTo extends string, TResources = unknown>(
  definition: Undeclared & { readonly route: (ctx: TaskContext<TResources>) => MaybePromise<TTo> },
): Task<TTo, TResources>;
export function router<TTo extends string, TResources>(
  definition: TaskOptions<TTo> & { readonly route: (ctx: TaskContext<TResources>) => MaybePromise<TTo> },
): Task<TTo, TResources> {
  requireFunctions("router", definition, ["route"]);
  const { route } = definition;
  return defineTask("router", definition, { body: route, execute: (_ctx, { attempts }) => attempts(route) });
}

/** The three phases of a {@link node}. */
interface NodePhases<TTo extends string, TResources, TPrep, TExec> {
  /** Loads inputs; runs once, not retried. */
  readonly prep: (ctx: TaskContext<TResources>) => MaybePromise<TPrep>;
  /** The work itself; retried under the node's policy, each attempt given the same `prep` result. */
  readonly exec: (prep: TPrep, ctx: TaskContext<TResources>) => MaybePromise<TExec>;
  /** Stores results and picks the next state; runs once, not retried. */
  readonly post: (ctx: TaskContext<TResources>, exec: TExec, prep: TPrep) => MaybePromise<TTo>;
}

/**
 * A structured task in three phases: `prep` → `exec` (retried) → `post`. A node works wherever a
 * task does.
 *
 * @example
 * node({ prep: ({ store }) => store.get(doc), exec: (text) => llm.summarize(text),
 *   post: async ({ store }, summary) => { await store.put(summaryKey, summary); return "done"; } })
 */
export function node<const TTo extends string, TResources = unknown, TPrep = unknown, TExec = unknown>(
  definition: Declared<TTo> & NodePhases<NoInfer<TTo>, TResources, TPrep, TExec>,
): Task<TTo, TResources>;
export function node<TTo extends string, TResources = unknown, TPrep = unknown, TExec = unknown>(
  definition: Undeclared & NodePhases<TTo, TResources, TPrep, TExec>,
): Task<TTo, TResources>;
export function node<TTo extends string, TResources, TPrep, TExec>(
  definition: TaskOptions<TTo> & NodePhases<TTo, TResources, TPrep, TExec>,
): Task<TTo, TResources> {
  requireFunctions("node", definition, ["prep", "exec", "post"]);
  const { prep, exec, post } = definition;
  return defineTask("node", definition, {
    async execute(ctx, { attempts }) {
      const prepared = await prep(ctx);
      // The engine stops waiting when the signal fires; the next phases must not run behind its back.
      ctx.signal.throwIfAborted();
      const result = await attempts((attemptCtx) => exec(prepared, attemptCtx));
      ctx.signal.throwIfAborted();
      return post(ctx, result, prepared);
    },
  });
}
