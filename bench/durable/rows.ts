/**
 * The rows both sides of case 5 write: the checkpoint log of one real run of the 100-state chain,
 * recorded as the engine appended it (one `append` call per row).
 */
import type { CheckpointRow, CheckpointStore } from "cano";
import { MemoryCheckpointStore, task, Workflow } from "cano";
import { chain, exitState } from "../chain.ts";

/** A store that keeps a copy of every appended row (the engine clears a finished run's log). */
class RecordingStore implements CheckpointStore {
  readonly rows: CheckpointRow[] = [];
  readonly #inner = new MemoryCheckpointStore();

  append(workflowId: string, row: CheckpointRow): Promise<void> {
    this.rows.push(structuredClone(row));
    return this.#inner.append(workflowId, row);
  }
  loadRun(workflowId: string): Promise<CheckpointRow[]> {
    return this.#inner.loadRun(workflowId);
  }
  clear(workflowId: string): Promise<void> {
    return this.#inner.clear(workflowId);
  }
}

/** Runs a named `length`-state chain once with checkpoints and returns the rows it appended. */
export async function checkpointRows(length = 100): Promise<CheckpointRow[]> {
  const { names, steps } = chain(length);
  const workflow = new Workflow<string>({ name: "bench-chain" });
  names.forEach((name, i) => {
    workflow.register(name, task({ to: [names[i + 1] ?? exitState], run: steps[i]! }));
  });
  workflow.exit(exitState);
  const store = new RecordingStore();
  workflow.withCheckpointStore(store);
  await workflow.orchestrate(names[0]!, { workflowId: "bench-rows" });
  return store.rows;
}
