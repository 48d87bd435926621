import type { AttemptTarget, RunScope } from "./attempt.ts";
import { isPlainTask, retryAfter, runAttempts } from "./attempt.ts";
import { BranchSignals } from "./branch-signals.ts";
import type { CanoErrorJson } from "./errors.ts";
import { engineError, toCanoError } from "./errors.ts";
import type { JoinDecision, JoinStrategy } from "./join.ts";
import { decideJoin, describeStrategy } from "./join.ts";
import { assertJson } from "./json.ts";
import { DerivedContext } from "./lazy-signal.ts";
import { maxAttempts } from "./retry.ts";
import type { Task, TaskContext } from "./task.ts";

/** How each branch of a split ended; the join state's task receives it as `ctx.split`. */
export interface SplitResult {
  /** Branches that succeeded, by index, with the value each task returned. */
  readonly successes: readonly { readonly index: number; readonly value: unknown }[];
  /** Branches that failed, by index. */
  readonly errors: readonly { readonly index: number; readonly error: CanoErrorJson }[];
  /** Branches cancelled (or never started) because the join decided without them. */
  readonly cancelled: readonly number[];
}

/** The options of `registerSplit`. */
export interface SplitOptions<TState extends string> {
  /** When the split may move on; see `all()`, `any()`, `quorum(n)`, … */
  readonly strategy: JoinStrategy;
  /** The state entered once the join is satisfied. */
  readonly joinState: TState;
  /** Bound for the whole split; what happens when it fires depends on the strategy. */
  readonly timeoutMs?: number;
  /** At most this many branch bodies run at once; a branch keeps its slot across its retries. */
  readonly bulkhead?: number;
}

/** @internal A registered split state. */
export interface SplitConfig<TResources> extends SplitOptions<string> {
  readonly tasks: readonly Task<unknown, TResources>[];
  /** `"<name>[<index>]"` per branch, for events. */
  readonly taskIds: readonly string[];
}

function joinFailure(state: string, split: SplitConfig<unknown>, result: SplitResult, timedOut: boolean) {
  const strategy = describeStrategy(split.strategy);
  const total = split.tasks.length;
  if (timedOut) {
    const settled = result.successes.length + result.errors.length;
    return engineError(
      "workflow",
      `Split "${state}": timed out after ${split.timeoutMs} ms with ${settled} of ${total} branches settled (strategy ${strategy})`,
    );
  }
  const errors = result.errors
    .slice(0, 3)
    .map(({ index, error }) => `[${index}] ${error.message}`)
    .join("; ");
  return engineError(
    "workflow",
    `Split "${state}": join condition not met: ${result.successes.length} of ${total} branches succeeded (strategy ${strategy})${errors === "" ? "" : `; errors: ${errors}`}`,
    { details: { successes: result.successes.length, failures: result.errors.length, total } },
  );
}

/**
 * @internal Runs every branch of a split (at most `bulkhead` at once, each under its own retry
 * settings) and resolves with the result once the join decides to proceed (reference §6). A branch
 * that reads `ctx.signal` gets its own, aborted from here when the join no longer needs it or the run
 * stops; the run's own stop rejects at once.
 */
export function runSplit<TResources>(
  scope: RunScope,
  state: string,
  split: SplitConfig<TResources>,
  base: TaskContext<TResources>,
  abortable: boolean,
): Promise<SplitResult> {
  const { clock, workflowId, emit } = scope;
  const total = split.tasks.length;
  const strategy = describeStrategy(split.strategy);
  // Read only when it can fire: reading the run's signal makes it.
  const outer = abortable ? base.signal : undefined;
  const running = new BranchSignals(total);
  /** Per branch: 0 while pending, 1 succeeded (`results` holds its value), 2 failed (its error JSON). */
  const outcomes = new Uint8Array(total);
  const results: unknown[] = new Array(total);
  const tally = { total, successes: 0, failures: 0, timedOut: false };
  const limit = split.bulkhead ?? total;
  let started = 0;
  let decided = false;
  emit?.({ type: "split_start", at: clock.now(), workflowId, state, branches: total, strategy });
  const settledEvent = (index: number, outcome: "success" | "failure" | "cancelled", error?: CanoErrorJson) =>
    emit?.({
      type: "branch_settled",
      at: clock.now(),
      workflowId,
      state,
      taskId: split.taskIds[index]!,
      index,
      outcome,
      ...(error === undefined ? {} : { error }),
    });
  /** Aborts every branch still running, reporting each as cancelled. */
  const cancelRunning = (reason: () => unknown) => {
    for (const index of running.stopAll(reason)) settledEvent(index, "cancelled");
  };
  /** The branches by outcome, in index order. */
  const collect = (): SplitResult => {
    const successes: { index: number; value: unknown }[] = [];
    const errors: { index: number; error: CanoErrorJson }[] = [];
    const cancelled: number[] = [];
    for (let index = 0; index < total; index++) {
      const outcome = outcomes[index];
      if (outcome === 1) successes.push({ index, value: results[index] });
      else if (outcome === 2) errors.push({ index, error: results[index] as CanoErrorJson });
      else cancelled.push(index);
    }
    return { successes, errors, cancelled };
  };

  return new Promise<SplitResult>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const onOuterAbort = () => {
      if (decided) return;
      decided = true;
      cancelTimer?.();
      cancelRunning(() => outer?.reason);
      reject(outer?.reason);
    };
    const finish = (decision: Exclude<JoinDecision, "wait">) => {
      decided = true;
      cancelTimer?.();
      outer?.removeEventListener("abort", onOuterAbort);
      cancelRunning(() =>
        engineError("cancelled", `Split "${state}": branch no longer needed (strategy ${strategy})`),
      );
      // Branches never started are cancelled too, without having run.
      for (let index = started; index < total; index++) settledEvent(index, "cancelled");
      const result = collect();
      emit?.({
        type: "join",
        at: clock.now(),
        workflowId,
        state,
        strategy,
        successes: tally.successes,
        failures: tally.failures,
        cancelled: result.cancelled.length,
        timedOut: tally.timedOut,
        decision,
      });
      if (decision === "proceed") resolve(result);
      else reject(joinFailure(state, split as SplitConfig<unknown>, result, tally.timedOut));
    };
    const decide = () => {
      const decision = decideJoin(split.strategy, tally);
      if (decision !== "wait") finish(decision);
    };
    const onSettled = (index: number, value: unknown, thrown: unknown, failed: boolean) => {
      if (decided || !running.settle(index)) return;
      if (failed) {
        const error = toCanoError(thrown, `Task "${split.taskIds[index]}"`).toJSON();
        outcomes[index] = 2;
        results[index] = error;
        tally.failures++;
        settledEvent(index, "failure", error);
      } else {
        // A branch run for its side effects returns undefined; JSON (and so a checkpoint) has null.
        outcomes[index] = 1;
        results[index] = value === undefined ? null : value;
        tally.successes++;
        settledEvent(index, "success");
      }
      decide();
      startMore();
    };
    /** Runs branch `index`; a plain task's body is called as it is, as lean as `Promise.all`. */
    const start = (index: number) => {
      running.start(index);
      const task = split.tasks[index]!;
      const taskId = split.taskIds[index]!;
      const ctx = DerivedContext.of(base, base.attempt, running, index);
      emit?.({ type: "task_start", at: clock.now(), workflowId, state, taskId });
      const succeeded = (value: unknown) => onSettled(index, value, undefined, false);
      const failed = (error: unknown) => onSettled(index, undefined, error, true);
      if (!isPlainTask(task)) return void executed(task, taskId, ctx).then(succeeded, failed);
      const { body } = task;
      let first: Promise<unknown>;
      try {
        first = Promise.resolve(body(ctx));
      } catch (error) {
        first = Promise.reject(error);
      }
      // The retry loop only after a failure; a failure with no retry to make settles as fast as a success.
      first.then(succeeded, (thrown: unknown) => {
        if (maxAttempts(task.retry) === 1) failed(thrown);
        else
          retryAfter(scope, { state, taskId, task, attempt: 1 }, ctx, true, body, thrown).then(
            succeeded,
            failed,
          );
      });
    };
    /** Any other task, through its processing model. */
    const executed = (task: Task<unknown, TResources>, taskId: string, ctx: TaskContext<TResources>) => {
      const target: AttemptTarget<TResources> = { state, taskId, task, attempt: 0 };
      try {
        return task.body !== undefined
          ? runAttempts(scope, target, ctx, true, task.body)
          : task.execute(ctx, {
              attempts: (body) => runAttempts(scope, target, ctx, true, body),
              cursor: undefined,
              saveCursor: async (cursor) =>
                assertJson(cursor, `Workflow: the cursor saved by branch "${taskId}"`),
            });
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const startMore = () => {
      while (!decided && running.size < limit && started < total) start(started++);
    };

    if (outer !== undefined) {
      if (outer.aborted) return onOuterAbort();
      outer.addEventListener("abort", onOuterAbort, { once: true });
    }
    if (split.timeoutMs !== undefined) {
      cancelTimer = clock.schedule(split.timeoutMs, () => {
        if (decided) return;
        tally.timedOut = true;
        decide();
      });
    }
    startMore();
  });
}
