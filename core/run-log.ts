import type { RunScope } from "./attempt.ts";
import type { CheckpointRowKind } from "./checkpoint.ts";
import type { Durability } from "./definition.ts";
import { describeThrown, engineError, toCanoError } from "./errors.ts";
import { assertJson } from "./json.ts";
import type { ResumePoint } from "./resume.ts";

/**
 * @internal The checkpoint log of one run (reference §11): numbers its rows, stamps the first row
 * of a resumed run with where it resumed from, refuses rows once the run has ended, and clears the
 * log best-effort. Without a checkpoint store every call is a no-op.
 */
export class RunLog {
  readonly #durability: Durability | undefined;
  readonly #scope: RunScope;
  /** The sequence the next row gets. */
  #sequence: number;
  /** Set until the resumed run writes its first state row, which records where it resumed from. */
  #resumedFrom: number | undefined;
  /** Set once the run has returned or thrown: late work of an abandoned task must not write rows. */
  #closed = false;

  constructor(durability: Durability | undefined, scope: RunScope, resume: ResumePoint | undefined) {
    this.#durability = durability;
    this.#scope = scope;
    this.#sequence = resume === undefined ? 0 : resume.lastSequence + 1;
    this.#resumedFrom = resume?.lastSequence;
  }

  /** The sequence the next row gets. */
  get nextSequence(): number {
    return this.#sequence;
  }

  /** No row may be written after this. */
  close(): void {
    this.#closed = true;
  }

  /** Throws when the run has ended: its late `kind` row of `state` is not written. */
  throwIfClosed(state: string, kind: CheckpointRowKind): void {
    if (this.#durability === undefined || !this.#closed) return;
    throw engineError(
      "workflow",
      `Checkpoint: run "${this.#scope.workflowId}" has ended; the late ${kind} row of "${state}" was not written`,
    );
  }

  /**
   * Appends one row; throws a CanoError when `output` is not JSON or the store fails (the caller
   * adds where the run failed). Reports a `checkpoint` event once it is written.
   */
  async append(state: string, kind: CheckpointRowKind, taskId: string, output?: unknown): Promise<void> {
    const durability = this.#durability;
    if (durability === undefined) return;
    const { clock, workflowId } = this.#scope;
    const sequence = this.#sequence;
    const resumedFrom = kind === "state" ? this.#resumedFrom : undefined;
    if (output !== undefined)
      assertJson(output, `Checkpoint: the ${kind} row of state "${state}" (run "${workflowId}")`);
    try {
      await durability.store.append(workflowId, {
        sequence,
        state,
        taskId,
        kind,
        ...(output === undefined ? {} : { output }),
        version: durability.version,
        at: clock.now(),
        ...(durability.name === undefined ? {} : { workflow: durability.name }),
        ...(resumedFrom === undefined ? {} : { resumedFrom }),
      });
    } catch (error) {
      const cause = toCanoError(error, "CheckpointStore.append");
      throw engineError(
        "checkpoint_store",
        `Checkpoint: appending row ${sequence} (${kind}) of run "${workflowId}" failed: ${describeThrown(cause)}`,
        { cause, workflowId, sequence },
      );
    }
    this.#sequence = sequence + 1;
    if (resumedFrom !== undefined) this.#resumedFrom = undefined;
    this.#scope.emit?.({ type: "checkpoint", at: clock.now(), workflowId, state, sequence, kind });
  }

  /** Removes the log, best-effort: a run that finished must not fail because its log stayed. */
  async clear(): Promise<void> {
    const durability = this.#durability;
    if (durability === undefined) return;
    const { clock, workflowId } = this.#scope;
    try {
      await durability.store.clear(workflowId);
    } catch (error) {
      const cause = toCanoError(error, "CheckpointStore.clear");
      this.#scope.emit?.({
        type: "checkpoint_clear_failed",
        at: clock.now(),
        workflowId,
        error: cause.toJSON(),
      });
    }
  }
}
