/**
 * `cano/idb`: durable workflows in the browser. Checkpoints and key-value data in IndexedDB (through
 * the `idb` package), so a run resumes after a tab reload, and a tab lease (Web Locks) so two tabs
 * never drive the same run.
 *
 * @example
 * const db = await openCanoDatabase("my-app");
 * const checkpoints = new IndexedDbCheckpointStore(db);
 * const wf = new Workflow<State>({ name: "agent", store: new IndexedDbKeyValueStore(db, runId) })
 *   .withCheckpointStore(checkpoints); // …register states…
 * await withTabLease(runId, () => wf.orchestrate("plan", { workflowId: runId }));
 * // after a reload:
 * for (const run of await checkpoints.listRuns()) await resumeInTab(wf, checkpoints, run.workflowId);
 */

export { IndexedDbCheckpointStore } from "./checkpoint-store.ts";
export type { CanoStoreName, OpenCanoDatabaseOptions } from "./database.ts";
export { CanoDatabase, openCanoDatabase } from "./database.ts";
export type { ConnectionLoss, StorageFailure } from "./errors.ts";
export { IndexedDbKeyValueStore } from "./key-value-store.ts";
export type { ResumableLike, ResumeInTabOptions, TabResume } from "./resume-in-tab.ts";
export { resumeInTab } from "./resume-in-tab.ts";
export { canoDatabaseVersion, checkpointsStore, keyValueStore } from "./schema.ts";
export type { LockManagerLike, TabLeaseEvent, TabLeaseMode, TabLeaseOptions } from "./tab-lease.ts";
export { isTabLeaseHeld, withTabLease } from "./tab-lease.ts";
