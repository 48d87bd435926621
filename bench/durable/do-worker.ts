/**
 * Case 5 in workerd (bundled by bench/durable/workerd.ts, "cano/cloudflare" from dist/, run in
 * Miniflare): `DurableObjectCheckpointStore.append` of a run's rows against one raw
 * `ctx.storage.sql.exec` INSERT per row into a table of the same shape, inside one Durable Object.
 */
import type { CheckpointRow } from "cano";
import type { DurableObjectNamespaceLike, DurableObjectStateLike } from "cano/cloudflare";
import { DurableObjectCheckpointStore } from "cano/cloudflare";
import type { DurableTiming } from "./timing.ts";
import { measureWriters } from "./timing.ts";

/** What the bench posts to the object. */
export interface DurableBenchRequest {
  readonly rows: readonly CheckpointRow[];
  readonly timing: DurableTiming;
}

export class CheckpointBench {
  readonly #ctx: DurableObjectStateLike;

  constructor(ctx: DurableObjectStateLike) {
    this.#ctx = ctx;
  }

  async fetch(request: Request): Promise<Response> {
    const { rows, timing } = (await request.json()) as DurableBenchRequest;
    const { sql } = this.#ctx.storage;
    const store = new DurableObjectCheckpointStore(this.#ctx.storage);
    // The adapter's table, under another name.
    sql.exec(
      "CREATE TABLE IF NOT EXISTS raw_checkpoints (workflow_id TEXT NOT NULL, sequence INTEGER NOT NULL, " +
        "body TEXT NOT NULL, PRIMARY KEY (workflow_id, sequence))",
    );
    const figures = await measureWriters(
      {
        adapter: async (batch) => {
          const id = `run-${batch}`;
          for (const row of rows) await store.append(id, row);
        },
        raw: async (batch) => {
          const id = `run-${batch}`;
          for (const row of rows) {
            sql.exec(
              "INSERT INTO raw_checkpoints (workflow_id, sequence, body) VALUES (?, ?, ?)",
              id,
              row.sequence,
              JSON.stringify(row),
            );
          }
        },
      },
      timing,
    );
    return Response.json(figures);
  }
}

interface Env {
  readonly BENCH: DurableObjectNamespaceLike;
}

export default {
  fetch: (request: Request, env: Env) => env.BENCH.get(env.BENCH.idFromName("bench")).fetch(request),
};
