// The crash-test child process: runs (or resumes) the payment workflow against a file-backed store.
// Usage: node --import tsx --conditions=source test/crash/child.ts <store dir> <ledger> <workflow id>
//          <succeed|fail> <start|resume> [trace file]
// stdout: `{"ready":true,...}` just before the run starts, then one JSON line with the outcome.
// Exit code: 0 for a finished run (completed, or failed with the rollback done), 2 for any other
// CanoError (e.g. `checkpoint_store` "no checkpoint rows" on a resume), 1 for anything unexpected.
import { appendFileSync } from "node:fs";
import type { CheckpointRow, CheckpointStore, WorkflowEvent } from "cano";
import { isCanoError } from "cano";
import { FileCheckpointStore } from "../support/file-checkpoint-store.ts";
import type { PaymentMode } from "./payment-workflow.ts";
import { paymentModes, paymentWorkflow } from "./payment-workflow.ts";

/** Real milliseconds between a row being written and its `append` resolving, like a remote store's ack. */
export const ackLatencyMs = 2;

/** What the child prints as its last stdout line. */
export type ChildResult =
  | { readonly outcome: "completed"; readonly state: string }
  | {
      readonly outcome: "failed" | "error";
      readonly code: string;
      readonly state?: string;
      readonly message: string;
    }
  | { readonly outcome: "crashed"; readonly message: string };

/** Wraps a store so each append resolves a little after its row is durable, widening the window a kill can land in. */
class AckLatencyStore implements CheckpointStore {
  readonly #inner: CheckpointStore;
  constructor(inner: CheckpointStore) {
    this.#inner = inner;
  }
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    await this.#inner.append(workflowId, row);
    await new Promise((resolve) => setTimeout(resolve, ackLatencyMs));
  }
  loadRun(workflowId: string): Promise<CheckpointRow[]> {
    return this.#inner.loadRun(workflowId);
  }
  clear(workflowId: string): Promise<void> {
    return this.#inner.clear(workflowId);
  }
}

function print(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<number> {
  const [storeDir, ledgerPath, workflowId, mode, action, tracePath] = process.argv.slice(2);
  if (
    storeDir === undefined ||
    ledgerPath === undefined ||
    workflowId === undefined ||
    !paymentModes.includes(mode as PaymentMode) ||
    (action !== "start" && action !== "resume")
  ) {
    print({
      outcome: "crashed",
      message: `usage: child.ts <store dir> <ledger> <workflow id> <succeed|fail> <start|resume> [trace], received ${JSON.stringify(process.argv.slice(2))}`,
    });
    return 1;
  }
  const store = new AckLatencyStore(new FileCheckpointStore(storeDir));
  const workflow = paymentWorkflow({ store, ledgerPath, mode: mode as PaymentMode });
  if (tracePath !== undefined) {
    // Synchronous, so every event before a SIGKILL is on disk.
    workflow.withObserver((event: WorkflowEvent) =>
      appendFileSync(tracePath, `${JSON.stringify({ pid: process.pid, ...event })}\n`, "utf8"),
    );
  }
  print({ ready: true, pid: process.pid, action });
  let result: ChildResult;
  try {
    const state =
      action === "start"
        ? await workflow.orchestrate("reserve", { workflowId })
        : await workflow.resumeFrom(workflowId);
    result = { outcome: "completed", state };
  } catch (error) {
    if (!isCanoError(error)) {
      print({ outcome: "crashed", message: String(error) } satisfies ChildResult);
      return 1;
    }
    // A step's own failure comes back as task_execution only after a clean (or empty) rollback.
    const finished = error.code === "task_execution";
    result = {
      outcome: finished ? "failed" : "error",
      code: error.code,
      ...(error.state === undefined ? {} : { state: error.state }),
      message: error.message,
    };
  }
  print(result);
  return result.outcome === "completed" || result.outcome === "failed" ? 0 : 2;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    print({ outcome: "crashed", message: String(error) } satisfies ChildResult);
    process.exitCode = 1;
  },
);
