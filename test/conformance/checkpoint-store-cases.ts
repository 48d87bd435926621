// The CheckpointStore conformance suite: what every store (memory, file, IndexedDB, Durable Object,
// KV) must do. Framework-agnostic on purpose: plain `throw new Error` assertions, no test runner and
// no Node built-ins, so the same cases run under vitest in Node, in Chromium and inside workerd.
import type { CheckpointRow, CheckpointStore, RunSummary } from "../../core/checkpoint.ts";
import { isCanoError } from "../../core/errors.ts";

/** One conformance case: `run` resolves when the store behaves, rejects with an Error saying what is wrong. */
export interface CheckpointStoreCase {
  /** What the case checks, for test titles. */
  readonly name: string;
  /** Checks `store`; uses fresh unique ids, so one store can run every case. */
  run(store: CheckpointStore): Promise<void>;
}

/** JSON with object keys sorted, so equality ignores the order a store returns fields in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => {
    if (typeof field !== "object" || field === null || Array.isArray(field)) return field;
    const sorted: Record<string, unknown> = {};
    for (const name of Object.keys(field).sort()) sorted[name] = (field as Record<string, unknown>)[name];
    return sorted;
  });
}

function shorten(text: string | undefined): string {
  if (text === undefined) return "undefined";
  return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text;
}

/** Throws unless `actual` and `expected` are equal as JSON (key order ignored). */
function assertEqual(actual: unknown, expected: unknown, message: string): void {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) throw new Error(`${message}\n  expected: ${shorten(e)}\n  received: ${shorten(a)}`);
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The error `action` rejects with; throws if it resolves. */
async function rejection(action: Promise<unknown>, message: string): Promise<unknown> {
  try {
    await action;
  } catch (error) {
    return error;
  }
  throw new Error(`${message}: expected a rejection, but it resolved`);
}

/** Throws unless `error` is a CanoError with code `checkpoint_store`. */
function assertStoreError(error: unknown, message: string): void {
  const seen = isCanoError(error) ? `CanoError ${error.code}: ${error.message}` : String(error);
  assert(
    isCanoError(error) && error.code === "checkpoint_store",
    `${message}: expected a checkpoint_store CanoError, received ${seen}`,
  );
}

/** A new run id no other case (or earlier test run against a persistent store) uses. */
function freshId(label = "run"): string {
  return `conformance-${label}-${crypto.randomUUID()}`;
}

const at = 1_700_000_000_000;

/** A valid row with the given sequence; `fields` override the defaults. */
function row(sequence: number, fields: Partial<CheckpointRow> = {}): CheckpointRow {
  return {
    sequence,
    state: `state-${sequence}`,
    taskId: `task-${sequence}`,
    kind: "state",
    version: 1,
    at: at + sequence,
    ...fields,
  };
}

/** Every case, in a stable order; each is independent of the others. */
export const checkpointStoreCases: readonly CheckpointStoreCase[] = [
  {
    name: "round-trips every row kind and every field",
    async run(store) {
      const id = freshId();
      const rows: CheckpointRow[] = [
        { sequence: 0, state: "fetch", taskId: "fetch", kind: "state", version: 3, at },
        {
          sequence: 1,
          state: "reserve",
          taskId: "reserve-task",
          kind: "state",
          version: 3,
          at: at + 1,
          workflow: "orders",
        },
        {
          sequence: 2,
          state: "reserve",
          taskId: "reserve-task",
          kind: "completion",
          output: { reservationId: "r-1", items: [1, 2, 3], nested: { ok: true, none: null } },
          version: 3,
          at: at + 2,
          workflow: "orders",
        },
        { sequence: 3, state: "scan", taskId: "scan", kind: "cursor", output: 0, version: 3, at: at + 3 },
        {
          sequence: 4,
          state: "scan",
          taskId: "scan",
          kind: "cursor",
          output: { page: "next", n: 2.5 },
          version: 3,
          at: at + 4,
        },
        { sequence: 5, state: "fan-out", taskId: "", kind: "state", version: 3, at: at + 5 },
        {
          sequence: 6,
          state: "join",
          taskId: "join",
          kind: "state",
          output: [
            { ok: true, value: "a" },
            { ok: false, error: "b" },
          ],
          version: 3,
          at: at + 6,
        },
        {
          sequence: 7,
          state: "step",
          taskId: "step",
          kind: "completion",
          output: null,
          version: 0,
          at: -5.5,
        },
        { sequence: 8, state: "step", taskId: "step", kind: "cursor", output: "", version: 0, at: 0 },
        { sequence: 9, state: "done", taskId: "", kind: "state", version: 3, at: at + 9, workflow: "orders" },
      ];
      for (const r of rows) await store.append(id, r);
      const loaded = await store.loadRun(id);
      assertEqual(loaded, rows, "loadRun returns exactly the appended rows");
      assert(
        loaded[7] !== undefined && "output" in loaded[7] && loaded[7].output === null,
        "output null stays null",
      );
      assert(loaded[0] !== undefined && loaded[0].output === undefined, "a row without output has none");
      assert(loaded[0] !== undefined && loaded[0].workflow === undefined, "a row without workflow has none");
    },
  },
  {
    name: "loads in ascending numeric sequence when appended out of order",
    async run(store) {
      const id = freshId();
      // Numeric order, not text order: "10" < "2" as strings.
      const sequences = [10, 2, 1, 0, 100, 9, 3, 1_000_000, 20];
      for (const sequence of sequences) await store.append(id, row(sequence));
      const loaded = await store.loadRun(id);
      assertEqual(
        loaded.map((r) => r.sequence),
        [...sequences].sort((a, b) => a - b),
        "sequences are ascending",
      );
      assertEqual(
        loaded,
        [...sequences].sort((a, b) => a - b).map((s) => row(s)),
        "rows are intact",
      );
    },
  },
  {
    name: "rejects a duplicate (id, sequence) with checkpoint_store and keeps the first row",
    async run(store) {
      const id = freshId();
      const first = row(0, { state: "first", output: { n: 1 } });
      await store.append(id, first);
      await store.append(id, row(1));
      for (const duplicate of [
        row(0, { state: "second" }),
        row(0, { state: "first", kind: "completion", output: { n: 2 } }),
        first,
      ]) {
        const error = await rejection(store.append(id, duplicate), "appending a duplicate sequence");
        assertStoreError(error, "a duplicate sequence");
        assert(
          isCanoError(error) && error.details?.conflict === true,
          `a duplicate is reported with details.conflict = true, received details ${canonical(isCanoError(error) ? error.details : undefined)}`,
        );
      }
      assertEqual(await store.loadRun(id), [first, row(1)], "the first row is untouched");
    },
  },
  {
    name: "concurrent appends of the same (id, sequence): exactly one wins",
    async run(store) {
      const id = freshId();
      const contenders = Array.from({ length: 5 }, (_, i) => row(0, { state: `contender-${i}` }));
      const results = await Promise.allSettled(contenders.map((r) => store.append(id, r)));
      const won = results.filter((r) => r.status === "fulfilled").length;
      assertEqual(won, 1, "exactly one concurrent append of the same sequence succeeds");
      for (const result of results) {
        if (result.status === "rejected") assertStoreError(result.reason, "a losing concurrent duplicate");
      }
      const loaded = await store.loadRun(id);
      assertEqual(loaded.length, 1, "one row is stored");
      const winner = contenders[results.findIndex((r) => r.status === "fulfilled")];
      assertEqual(loaded, [winner], "the stored row is the one whose append succeeded");
    },
  },
  {
    name: "loadRun of an unknown id is []",
    async run(store) {
      assertEqual(await store.loadRun(freshId("unknown")), [], "an unknown id loads as []");
    },
  },
  {
    name: "clear removes only that id; clearing an unknown id is fine",
    async run(store) {
      const kept = freshId("kept");
      const cleared = freshId("cleared");
      await store.append(kept, row(0));
      await store.append(kept, row(1));
      await store.append(cleared, row(0));
      await store.append(cleared, row(1));
      await store.clear(cleared);
      assertEqual(await store.loadRun(cleared), [], "the cleared run has no rows");
      assertEqual(await store.loadRun(kept), [row(0), row(1)], "the other run keeps its rows");
      await store.clear(cleared);
      await store.clear(freshId("never-written"));
      // A cleared id can be reused from sequence 0.
      await store.append(cleared, row(0, { state: "again" }));
      assertEqual(await store.loadRun(cleared), [row(0, { state: "again" })], "a cleared id starts afresh");
    },
  },
  {
    name: "concurrent appends (50 rows over 5 ids) are all present",
    async run(store) {
      const ids = Array.from({ length: 5 }, (_, i) => freshId(`concurrent-${i}`));
      // Interleaved and shuffled by a fixed permutation so no store sees one id's rows in order.
      const order = Array.from({ length: 50 }, (_, i) => (i * 17) % 50);
      await Promise.all(
        order.map((i) => store.append(ids[i % 5]!, row(Math.floor(i / 5), { state: `s-${i}` }))),
      );
      for (let k = 0; k < ids.length; k++) {
        const expected = Array.from({ length: 10 }, (_, sequence) =>
          row(sequence, { state: `s-${sequence * 5 + k}` }),
        );
        assertEqual(await store.loadRun(ids[k]!), expected, `run ${k} has all of its 10 rows in order`);
      }
    },
  },
  {
    name: "large outputs: a ~1 MB string and a nested object",
    async run(store) {
      const id = freshId("large");
      const big = "x".repeat(1_000_000);
      let nested: unknown = { leaf: "bottom" };
      for (let depth = 0; depth < 50; depth++) nested = { depth, child: nested, list: [depth, `${depth}`] };
      const wide = Array.from({ length: 2_000 }, (_, i) => ({
        i,
        name: `item-${i}`,
        tags: ["a", "b"],
        ok: i % 2 === 0,
      }));
      const rows = [
        row(0, { kind: "completion", output: big }),
        row(1, { kind: "cursor", output: nested }),
        row(2, { kind: "completion", output: { wide } }),
      ];
      for (const r of rows) await store.append(id, r);
      const loaded = await store.loadRun(id);
      assertEqual(loaded.length, 3, "three rows");
      assert(loaded[0]?.output === big, "the 1 MB string comes back unchanged");
      assertEqual(loaded, rows, "the nested and wide outputs come back unchanged");
    },
  },
  {
    name: "unicode ids, states, task ids and outputs",
    async run(store) {
      const id = `ワークフロー/🚀-${crypto.randomUUID()}`;
      const other = `ワークフロー/🚀-${crypto.randomUUID()}`;
      const rows = [
        row(0, { state: "état", taskId: "tâche-🚀", workflow: "commande·été" }),
        row(1, {
          state: "注文",
          taskId: "注文",
          kind: "completion",
          output: { 名前: "値", emoji: "👩‍💻", rtl: "שלום" },
        }),
      ];
      for (const r of rows) await store.append(id, r);
      await store.append(other, row(0, { state: "autre" }));
      assertEqual(await store.loadRun(id), rows, "unicode round-trips");
      assertEqual(
        await store.loadRun(other),
        [row(0, { state: "autre" })],
        "a similar unicode id is separate",
      );
    },
  },
  {
    name: "ids with separator-like characters never collide with each other or with prefixes",
    async run(store) {
      const base = freshId("sep");
      const ids = [
        base,
        `${base}:1`,
        `${base}1`,
        `${base}/1`,
        `${base}:`,
        `:${base}`,
        `${base}|1`,
        `${base}\\1`,
        `${base}.1`,
        `${base}%3A1`,
        `${base}:1:0`,
        `${base} 1`,
      ];
      for (const [index, id] of ids.entries()) await store.append(id, row(0, { state: `owner-${index}` }));
      // Sequences that look like part of another key: "run" + ":1" row 0 vs "run" row 10.
      await store.append(base, row(10, { state: "owner-0" }));
      for (const [index, id] of ids.entries()) {
        const expected = [row(0, { state: `owner-${index}` })];
        if (index === 0) expected.push(row(10, { state: "owner-0" }));
        assertEqual(await store.loadRun(id), expected, `id ${JSON.stringify(id)} sees only its own rows`);
      }
      await store.clear(base);
      assertEqual(await store.loadRun(base), [], "the base id is cleared");
      for (const id of ids.slice(1)) {
        assertEqual(
          (await store.loadRun(id)).length,
          1,
          `clearing the base id left ${JSON.stringify(id)} alone`,
        );
      }
    },
  },
  {
    name: "listRuns (when present) returns exactly the runs with rows, summarised from their last row",
    async run(store) {
      if (store.listRuns === undefined) return;
      const a = freshId("list-a");
      const b = freshId("list-b");
      const cleared = freshId("list-cleared");
      await store.append(a, row(0, { state: "start", workflow: "orders", version: 2, at: at + 10 }));
      await store.append(a, row(2, { state: "ship", workflow: "orders", version: 2, at: at + 30 }));
      await store.append(a, row(1, { state: "charge", workflow: "orders", version: 2, at: at + 20 }));
      await store.append(b, row(0, { state: "only", version: 0, at: at + 5 }));
      await store.append(cleared, row(0));
      await store.clear(cleared);
      const ours = [a, b, cleared];
      const listed = (await store.listRuns())
        .filter((summary) => ours.includes(summary.workflowId))
        .sort((x, y) => ours.indexOf(x.workflowId) - ours.indexOf(y.workflowId));
      const expected: RunSummary[] = [
        { workflowId: a, workflow: "orders", state: "ship", sequence: 2, at: at + 30, version: 2, rows: 3 },
        { workflowId: b, state: "only", sequence: 0, at: at + 5, version: 0, rows: 1 },
      ];
      assertEqual(listed, expected, "listRuns lists the two runs with rows and drops the cleared one");
    },
  },
  {
    name: "a stored row is a snapshot: mutating the appended or loaded objects changes nothing",
    async run(store) {
      const id = freshId("snapshot");
      const output = { items: [1, 2], meta: { note: "original" } };
      const appended = { ...row(0, { kind: "completion", output }) } as {
        -readonly [K in keyof CheckpointRow]: CheckpointRow[K];
      };
      await store.append(id, appended);
      appended.state = "mutated";
      appended.sequence = 99;
      output.items.push(3);
      output.meta.note = "mutated";
      const expected = row(0, { kind: "completion", output: { items: [1, 2], meta: { note: "original" } } });
      const loaded = await store.loadRun(id);
      assertEqual(loaded, [expected], "the stored row is the one at append time");
      const first = loaded[0] as { state: string; output: { items: number[] } };
      first.state = "changed after load";
      first.output.items.push(4);
      assertEqual(await store.loadRun(id), [expected], "mutating a loaded row does not change the store");
    },
  },
  {
    name: "a row that is not plain JSON is rejected with checkpoint_store and nothing is stored",
    async run(store) {
      const id = freshId("invalid");
      await store.append(id, row(0));
      const invalid: unknown[] = [
        row(1, { kind: "completion", output: { fn: () => 1 } }),
        row(1, { kind: "completion", output: Number.NaN }),
        row(1, { kind: "cursor", output: new Date(0) }),
        { ...row(1), kind: "bogus" },
        { ...row(1), sequence: -1 },
        { ...row(1), sequence: 1.5 },
      ];
      for (const bad of invalid) {
        const error = await rejection(store.append(id, bad as CheckpointRow), `appending ${canonical(bad)}`);
        assertStoreError(error, "an invalid row");
      }
      assertEqual(await store.loadRun(id), [row(0)], "only the valid row is stored");
      await store.append(id, row(1));
      assertEqual(await store.loadRun(id), [row(0), row(1)], "the rejected sequence is still free");
    },
  },
];
