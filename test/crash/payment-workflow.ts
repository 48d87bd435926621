// The checkpointed saga both crash-test processes run: the child that gets SIGKILLed and the one that resumes it.
import { randomUUID } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import type { CheckpointStore, TaskContext } from "cano";
import { none, PermanentError, saga, task, Workflow } from "cano";

/** The states of the payment workflow, in forward order; `done` is the only exit. */
export type PaymentState = "reserve" | "charge" | "ship" | "notify" | "done";

/** `succeed`: every step succeeds. `fail`: `ship` fails permanently, so reserve and charge are rolled back. */
export type PaymentMode = "succeed" | "fail";

/** Every mode, for parsing the child's arguments. */
export const paymentModes: readonly PaymentMode[] = ["succeed", "fail"];

/** The states in forward order. */
export const paymentStates: readonly PaymentState[] = ["reserve", "charge", "ship", "notify", "done"];

/** The states registered as saga steps (their outputs are checkpointed and compensated). */
export const sagaStates: readonly PaymentState[] = ["reserve", "charge", "ship"];

/** Real milliseconds each step waits before and after its effect, so kills land mid-step. */
export const stepPauseMs = 4;

/** Real milliseconds each compensation waits before and after its effect, so kills land mid-rollback. */
export const undoPauseMs = 3;

/** One line of the effects ledger: an effect done by a step, or undone by its compensation. */
export interface Effect {
  readonly kind: "do" | "undo";
  readonly step: string;
  /** The idempotency key `${workflowId}:${state}`. */
  readonly key: string;
  /** The reference the effect produced (e.g. a charge id); an undo names the reference it undid. */
  readonly ref: string;
  /** The process that recorded it, for debugging a failed trial. */
  readonly pid: number;
}

/** What a saga step hands its compensation (and what its completion row keeps). */
export interface EffectRef {
  readonly key: string;
  readonly ref: string;
}

/** The ledger's effects in the order they were recorded; `[]` when nothing was recorded yet. */
export function readLedger(path: string): Effect[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return [];
    throw error;
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Effect);
}

/** Appends one effect as one JSON line in a single write, so a SIGKILL leaves all of it or none. */
function record(path: string, effect: Omit<Effect, "pid">): void {
  appendFileSync(path, `${JSON.stringify({ ...effect, pid: process.pid })}\n`, "utf8");
}

/** Does the step's effect once per key: a re-run finds it in the ledger and returns the same reference. */
function doOnce(path: string, step: string, key: string): EffectRef {
  const done = readLedger(path).find((effect) => effect.kind === "do" && effect.key === key);
  if (done !== undefined) return { key, ref: done.ref };
  const ref = `${step}-${randomUUID()}`;
  record(path, { kind: "do", step, key, ref });
  return { key, ref };
}

/** Undoes an effect once per key: a re-run compensation finds its undo in the ledger and does nothing. */
function undoOnce(path: string, step: string, output: EffectRef): void {
  const undone = readLedger(path).some((effect) => effect.kind === "undo" && effect.key === output.key);
  if (!undone) record(path, { kind: "undo", step, key: output.key, ref: output.ref });
}

/** A real wait on the workflow's clock (the system clock here). */
function pause(ctx: TaskContext, ms: number): Promise<void> {
  return ctx.clock.sleep(ms);
}

/** Options of {@link paymentWorkflow}. */
export interface PaymentWorkflowOptions {
  /** Where the run's checkpoint rows go; must survive the process for the crash tests. */
  readonly store: CheckpointStore;
  /** The append-only effects ledger (JSON lines). */
  readonly ledgerPath: string;
  readonly mode: PaymentMode;
}

/**
 * reserve → charge → ship → notify → done, checkpointed: reserve, charge and ship are saga steps
 * (each undone by its compensation), notify a plain task. Every step is idempotent by
 * `${ctx.workflowId}:${ctx.state}`, as a resumed run re-runs the state it stopped in.
 *
 * @example
 * await paymentWorkflow({ store, ledgerPath, mode: "fail" }).orchestrate("reserve", { workflowId: "w-1" });
 */
export function paymentWorkflow(options: PaymentWorkflowOptions): Workflow<PaymentState> {
  const { ledgerPath, mode } = options;
  const step = <TNext extends PaymentState>(state: PaymentState, next: TNext) =>
    saga({
      to: [next],
      retry: none(),
      run: async (ctx) => {
        await pause(ctx, stepPauseMs);
        if (state === "ship" && mode === "fail") {
          throw new PermanentError("ship: the carrier rejected the parcel");
        }
        const output = doOnce(ledgerPath, state, `${ctx.workflowId}:${ctx.state}`);
        await pause(ctx, stepPauseMs);
        return { next, output };
      },
      compensate: async (output: EffectRef, ctx) => {
        await pause(ctx, undoPauseMs);
        undoOnce(ledgerPath, state, output);
        await pause(ctx, undoPauseMs);
      },
    });
  return new Workflow<PaymentState>({ name: "payment" })
    .withCheckpointStore(options.store)
    .registerWithCompensation("reserve", step("reserve", "charge"))
    .registerWithCompensation("charge", step("charge", "ship"))
    .registerWithCompensation("ship", step("ship", "notify"))
    .register(
      "notify",
      task({
        to: ["done"],
        retry: none(),
        run: async (ctx) => {
          await pause(ctx, stepPauseMs);
          doOnce(ledgerPath, "notify", `${ctx.workflowId}:${ctx.state}`);
          await pause(ctx, stepPauseMs);
          return "done";
        },
      }),
    )
    .exit("done");
}
