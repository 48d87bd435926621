import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CheckpointRow } from "../../core/checkpoint.ts";
import { decodeRow, decodeRun, MemoryCheckpointStore, summarizeRun } from "../../core/checkpoint.ts";
import type { CanoError } from "../../core/errors.ts";
import { isCanoError } from "../../core/errors.ts";

const good: CheckpointRow = {
  sequence: 3,
  state: "charge",
  taskId: "charge",
  kind: "completion",
  output: { chargeId: "c-1", amount: 12.5, tags: ["a"], none: null },
  version: 2,
  at: 1_700_000_000_000,
  workflow: "orders",
};

/** The CanoError `action` throws (sync or async); fails the test otherwise. */
async function caught(action: () => unknown): Promise<CanoError> {
  try {
    await action();
  } catch (error) {
    if (isCanoError(error)) return error;
    throw error;
  }
  throw new Error("expected a CanoError");
}

describe("decodeRow", () => {
  it("returns a fresh plain object with only the known fields", () => {
    const raw = { ...good, extra: "dropped", another: 1 };
    const decoded = decodeRow(raw, "run-1", 0);
    expect(decoded).toEqual(good);
    expect(decoded).not.toBe(raw);
    expect(Object.keys(decoded).sort()).toEqual(Object.keys(good).sort());
    expect(Object.isFrozen(decoded)).toBe(false);
  });

  it("accepts every kind, optional output and workflow, output null, and any finite at", () => {
    for (const kind of ["state", "completion", "cursor"] as const) {
      expect(decodeRow({ ...good, kind }, "r", 0).kind).toBe(kind);
    }
    const { output: _output, workflow: _workflow, ...bare } = good;
    const decoded = decodeRow(bare, "r", 0);
    expect("output" in decoded || "workflow" in decoded).toBe(false);
    expect(decodeRow({ ...bare, output: undefined }, "r", 0)).toEqual(bare);
    expect(decodeRow({ ...good, output: null }, "r", 0).output).toBeNull();
    expect(decodeRow({ ...good, taskId: "", sequence: 0, version: 0, at: -1.5 }, "r", 0).at).toBe(-1.5);
  });

  const malformed: [string, unknown, string, number | undefined][] = [
    ["a string instead of an object", '{"sequence":3}', "the row is not an object", undefined],
    ["null", null, "the row is not an object", undefined],
    ["an array", [good], "the row is not an object", undefined],
    ["a missing sequence", { ...good, sequence: undefined }, 'field "sequence" is wrong', undefined],
    ["a negative sequence", { ...good, sequence: -1 }, "received number -1", undefined],
    ["a fractional sequence", { ...good, sequence: 1.5 }, "received number 1.5", undefined],
    ["a string sequence", { ...good, sequence: "3" }, 'received string "3"', undefined],
    ["an unsafe sequence", { ...good, sequence: 2 ** 53 }, 'field "sequence"', undefined],
    [
      "a missing state",
      (({ state: _, ...rest }) => rest)(good),
      "received nothing (the field is missing)",
      3,
    ],
    ["an empty state", { ...good, state: "" }, 'field "state"', 3],
    ["a numeric taskId", { ...good, taskId: 7 }, 'field "taskId"', 3],
    [
      "an unknown kind",
      { ...good, kind: "saga" },
      'expected one of "state", "completion", "cursor", "rollback", "compensated", received string "saga"',
      3,
    ],
    ["a missing kind", { ...good, kind: undefined }, 'field "kind"', 3],
    ["a negative version", { ...good, version: -2 }, 'field "version"', 3],
    ["a fractional version", { ...good, version: 0.5 }, 'field "version"', 3],
    ["a NaN at", { ...good, at: Number.NaN }, 'field "at" is wrong (expected a finite number', 3],
    ["an Infinity at", { ...good, at: Number.POSITIVE_INFINITY }, 'field "at"', 3],
    ["a string at", { ...good, at: "2024-01-01" }, 'field "at"', 3],
    ["a numeric workflow", { ...good, workflow: 1 }, 'field "workflow"', 3],
    ["a function output", { ...good, output: () => 1 }, 'field "output" is not plain JSON', 3],
    ["a NaN output", { ...good, output: Number.NaN }, "received output is NaN", 3],
    [
      "a nested function output",
      { ...good, output: { a: [1, { f: () => 1 }] } },
      "received output.a[1].f is a function",
      3,
    ],
    ["a Date output", { ...good, output: new Date(0) }, "output is a Date", 3],
    ["a Map output", { ...good, output: new Map() }, "output is a Map", 3],
    ["a bigint output", { ...good, output: 1n }, "output is a bigint", 3],
  ];

  for (const [what, raw, fragment, sequence] of malformed) {
    it(`rejects ${what} as checkpoint_corrupt naming the run and ${sequence === undefined ? "position" : "sequence"}`, async () => {
      const error = await caught(() => decodeRow(raw, "run-7", 4));
      expect(error.code).toBe("checkpoint_corrupt");
      expect(error.workflowId).toBe("run-7");
      expect(error.sequence).toBe(sequence);
      expect(error.message).toContain(`Checkpoint: run "run-7" row ${sequence ?? "#4"} is corrupt: `);
      expect(error.message).toContain(fragment);
      expect(error.message).toMatch(/\(expected .*, received .*\)/);
      expect(error.details).toMatchObject({ position: 4 });
      expect(typeof error.details?.problem).toBe("string");
    });
  }

  it("rejects a cyclic output", async () => {
    const output: Record<string, unknown> = {};
    output.self = output;
    const error = await caught(() => decodeRow({ ...good, output }, "r", 0));
    expect(error.message).toContain("cycle");
  });
});

describe("decodeRun", () => {
  const at = (sequence: number): CheckpointRow => ({ ...good, sequence, state: `s${sequence}` });

  it("sorts ascending without mutating its input", () => {
    const raws = [at(2), at(0), at(10), at(1)];
    const copy = structuredClone(raws);
    expect(decodeRun(raws, "r").map((r) => r.sequence)).toEqual([0, 1, 2, 10]);
    expect(raws).toEqual(copy);
    expect(decodeRun([], "r")).toEqual([]);
  });

  it("rejects duplicate sequences as checkpoint_corrupt naming the id and sequence", async () => {
    const error = await caught(() =>
      decodeRun([at(0), at(4), at(1), { ...at(4), state: "other" }], "dup-run"),
    );
    expect(error.code).toBe("checkpoint_corrupt");
    expect(error.workflowId).toBe("dup-run");
    expect(error.sequence).toBe(4);
    expect(error.message).toContain(
      'Checkpoint: run "dup-run" row 4 is corrupt: sequence 4 appears more than once',
    );
    expect(error.details).toMatchObject({ position: 3, duplicateOf: 1 });
  });

  it("reports the position of a malformed row among good ones", async () => {
    const error = await caught(() => decodeRun([at(0), "garbage", at(2)], "r"));
    expect(error.message).toContain('run "r" row #1 is corrupt');
    expect(error.details).toMatchObject({ position: 1 });
  });
});

describe("summarizeRun", () => {
  it("summarises from the highest sequence, taking the latest workflow name", () => {
    const rows: CheckpointRow[] = [
      { ...good, sequence: 0, state: "a", workflow: "old-name" },
      { ...good, sequence: 2, state: "c", at: 30, version: 5, workflow: undefined },
      { ...good, sequence: 1, state: "b", workflow: "orders" },
    ];
    expect(summarizeRun("id", rows)).toEqual({
      workflowId: "id",
      workflow: "orders",
      state: "c",
      sequence: 2,
      at: 30,
      version: 5,
      rows: 3,
    });
    expect(summarizeRun("id", [])).toBeUndefined();
    const { workflow: _, ...bare } = good;
    expect(summarizeRun("id", [bare])).not.toHaveProperty("workflow");
  });
});

describe("MemoryCheckpointStore", () => {
  it("rejects a non-JSON output at append with checkpoint_store, keeping earlier rows", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("r", { ...good, sequence: 0 });
    for (const output of [() => 1, Number.NaN, { when: new Date(0) }, [1, undefined]]) {
      const error = await caught(() => store.append("r", { ...good, sequence: 1, output }));
      expect(error.code).toBe("checkpoint_store");
      expect(error.workflowId).toBe("r");
      expect(error.sequence).toBe(1);
      expect(error.message).toContain('MemoryCheckpointStore: cannot append row 1 to run "r"');
      expect(error.message).toContain('field "output" is not plain JSON');
    }
    expect(await store.loadRun("r")).toEqual([{ ...good, sequence: 0 }]);
  });

  it("names the id and sequence of a duplicate, with details.conflict", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("r", good);
    const error = await caught(() => store.append("r", { ...good, state: "other" }));
    expect(error).toMatchObject({
      code: "checkpoint_store",
      workflowId: "r",
      sequence: 3,
      details: { conflict: true },
    });
    expect(error.message).toContain('run "r" already has a row with sequence 3');
  });

  it("rejects an empty or non-string workflow id on every operation", async () => {
    const store = new MemoryCheckpointStore();
    for (const id of ["", 42 as unknown as string]) {
      for (const action of [() => store.append(id, good), () => store.loadRun(id), () => store.clear(id)]) {
        const error = await caught(action);
        expect(error.code).toBe("checkpoint_store");
        expect(error.message).toContain("expected a workflow id (a non-empty string)");
      }
    }
    expect(await store.listRuns()).toEqual([]);
  });

  it("drops unknown fields and does not keep output undefined", async () => {
    const store = new MemoryCheckpointStore();
    await store.append("r", { ...good, output: undefined, extra: true } as CheckpointRow);
    const [loaded] = await store.loadRun("r");
    expect(loaded).not.toHaveProperty("extra");
    expect(loaded).not.toHaveProperty("output");
  });
});

/** Valid rows with distinct sequences. */
const rowsArbitrary = fc.uniqueArray(fc.nat({ max: 10_000 }), { maxLength: 30 }).chain((sequences) =>
  fc.tuple(
    ...sequences.map((sequence) =>
      fc.record(
        {
          sequence: fc.constant(sequence),
          state: fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }),
          taskId: fc.string({ maxLength: 12 }),
          kind: fc.constantFrom("state", "completion", "cursor"),
          output: fc.jsonValue({ maxDepth: 3 }),
          version: fc.nat({ max: 1_000 }),
          at: fc.double({ noNaN: true, noDefaultInfinity: true }),
          workflow: fc.string({ maxLength: 8 }),
        },
        { requiredKeys: ["sequence", "state", "taskId", "kind", "version", "at"] },
      ),
    ),
  ),
);

describe("round trip (property)", () => {
  it("valid rows survive append → loadRun unchanged and sorted", async () => {
    await fc.assert(
      fc.asyncProperty(rowsArbitrary, async (rows) => {
        const store = new MemoryCheckpointStore();
        await Promise.all(rows.map((r) => store.append("prop-run", r)));
        const loaded = await store.loadRun("prop-run");
        // JSON is the contract: what a store gives back is the row as JSON would (-0 becomes 0).
        const expected = [...rows]
          .sort((a, b) => a.sequence - b.sequence)
          .map((r) => JSON.parse(JSON.stringify(r)));
        expect(loaded).toEqual(expected);
        expect(decodeRun(loaded, "prop-run")).toEqual(loaded);
        const summary = await store.listRuns();
        expect(summary).toHaveLength(rows.length === 0 ? 0 : 1);
        if (rows.length > 0) expect(summary[0]?.sequence).toBe(expected.at(-1)?.sequence);
      }),
      { numRuns: 200 },
    );
  });
});
