/**
 * The playground's durable storage, all in one IndexedDB database through `cano/idb`: the checkpoint
 * log of every run, each run's key-value data, and what the playground needs to resume a run after a
 * reload (its source, initial state and title).
 */
import type { CheckpointStore, KeyValueStore, RunSummary } from "cano";
import type { CanoDatabase } from "cano/idb";
import { IndexedDbCheckpointStore, IndexedDbKeyValueStore, openCanoDatabase } from "cano/idb";

/** What the playground keeps about a run so it can resume it after a reload. */
export interface RunMeta {
  readonly workflowId: string;
  /** The gallery entry it came from, or `custom`. */
  readonly exampleId: string;
  readonly title: string;
  /** The TypeScript source it ran. */
  readonly source: string;
  /** The namespace of its key-value data. */
  readonly storeNamespace: string;
  /** When it started, in epoch ms. */
  readonly startedAt: number;
}

/** An unfinished run: its checkpoint summary, and its meta when this playground started it. */
export interface UnfinishedRun {
  readonly summary: RunSummary;
  readonly meta: RunMeta | undefined;
}

/** The database name; one per origin. */
export const databaseName = "cano-playground";
const metaNamespace = "playground:runs";

/** Opens the playground's database and the stores in it. */
export class PlaygroundStorage {
  readonly checkpoints: CheckpointStore & { listRuns(): Promise<RunSummary[]> };
  readonly #db: CanoDatabase;
  readonly #meta: IndexedDbKeyValueStore;

  private constructor(db: CanoDatabase) {
    this.#db = db;
    this.checkpoints = new IndexedDbCheckpointStore(db);
    this.#meta = new IndexedDbKeyValueStore(db, metaNamespace);
  }

  /** Opens (creating on first use) the database. */
  static async open(): Promise<PlaygroundStorage> {
    return new PlaygroundStorage(await openCanoDatabase(databaseName));
  }

  /** The key-value store of one run (or of one scheduled session), under `namespace`. */
  keyValueStore(namespace: string): KeyValueStore {
    return new IndexedDbKeyValueStore(this.#db, namespace);
  }

  /** Remembers how to resume `meta.workflowId`. */
  saveMeta(meta: RunMeta): Promise<void> {
    return this.#meta.put(meta.workflowId, meta);
  }

  /** Every run with a checkpoint log, oldest first, with its meta when known. */
  async unfinishedRuns(): Promise<UnfinishedRun[]> {
    const summaries = await this.checkpoints.listRuns();
    const runs = await Promise.all(
      summaries.map(async (summary) => ({
        summary,
        meta: await this.#meta.get<RunMeta>(summary.workflowId),
      })),
    );
    return runs.sort((a, b) => (a.meta?.startedAt ?? 0) - (b.meta?.startedAt ?? 0));
  }

  /** Forgets a run: its checkpoint log, its data and its meta. */
  async discard(run: UnfinishedRun): Promise<void> {
    await this.checkpoints.clear(run.summary.workflowId);
    if (run.meta !== undefined) await this.keyValueStore(run.meta.storeNamespace).clear();
    await this.#meta.delete(run.summary.workflowId);
  }

  /**
   * Drops the meta and data of runs whose log is gone (they finished), keeping the database small.
   * Call it on load, before anything runs: it clears data no unfinished run uses.
   */
  async forgetFinished(): Promise<void> {
    const live = new Set((await this.checkpoints.listRuns()).map((run) => run.workflowId));
    const metas = await Promise.all((await this.#meta.keys()).map((id) => this.#meta.get<RunMeta>(id)));
    const known = metas.filter((meta): meta is RunMeta => meta !== undefined);
    const kept = new Set(
      known.filter((meta) => live.has(meta.workflowId)).map((meta) => meta.storeNamespace),
    );
    for (const meta of known) {
      if (live.has(meta.workflowId)) continue;
      await this.#meta.delete(meta.workflowId);
      if (!kept.has(meta.storeNamespace)) await this.keyValueStore(meta.storeNamespace).clear();
    }
  }
}
