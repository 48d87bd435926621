import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointRow } from "../../core/checkpoint.ts";
import type { CanoError } from "../../core/errors.ts";
import { isCanoError } from "../../core/errors.ts";
import { FileCheckpointStore } from "../support/file-checkpoint-store.ts";
import { checkpointStoreCases } from "./checkpoint-store-cases.ts";

const root = mkdtempSync(join(tmpdir(), "cano-file-checkpoints-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let directories = 0;
/** A store in a fresh directory under the test's temp root. */
const freshStore = () => new FileCheckpointStore(join(root, `store-${directories++}`));

describe("CheckpointStore conformance: FileCheckpointStore", () => {
  for (const c of checkpointStoreCases) it(c.name, () => c.run(freshStore()));

  it("runs every case on one shared directory too", async () => {
    const store = freshStore();
    for (const c of checkpointStoreCases) await c.run(store);
  });

  it("rows survive a new store instance on the same directory", async () => {
    const directory = join(root, "reopen");
    await new FileCheckpointStore(directory).append("run", row(0));
    expect(await new FileCheckpointStore(directory).loadRun("run")).toEqual([row(0)]);
  });
});

const row = (sequence: number): CheckpointRow => ({
  sequence,
  state: `s${sequence}`,
  taskId: `t${sequence}`,
  kind: "state",
  version: 0,
  at: sequence,
});

/** The CanoError `action` rejects with; fails the test if it resolves. */
async function canoError(action: Promise<unknown>): Promise<CanoError> {
  try {
    await action;
  } catch (error) {
    if (isCanoError(error)) return error;
    throw error;
  }
  throw new Error("expected a CanoError");
}

/** A store with rows 0 and 1 of "run" written, plus the path of the run's file. */
async function storeWithTwoRows() {
  const store = freshStore();
  await store.append("run", row(0));
  await store.append("run", row(1));
  const [name] = readdirSync(store.directory);
  return { store, path: join(store.directory, name!) };
}

describe("FileCheckpointStore on disk", () => {
  it("names each run's file by the hex of its id", async () => {
    const { path } = await storeWithTwoRows();
    expect(path.endsWith(`${Buffer.from("run").toString("hex")}.jsonl`)).toBe(true);
    expect(readFileSync(path, "utf8").split("\n")).toHaveLength(3);
  });

  it("reports a torn last line as checkpoint_corrupt and leaves the file as it was", async () => {
    const { store, path } = await storeWithTwoRows();
    const torn = JSON.stringify(row(2)).slice(0, 20);
    appendFileSync(path, torn);
    const before = readFileSync(path, "utf8");
    const error = await canoError(store.loadRun("run"));
    expect(error.code).toBe("checkpoint_corrupt");
    expect(error.workflowId).toBe("run");
    expect(error.message).toContain('run "run" row #2 is corrupt');
    expect(error.message).toContain("incomplete");
    expect(error.details).toMatchObject({ position: 2 });
    // Appending after a torn line would glue two rows together: refused the same way.
    expect((await canoError(store.append("run", row(2)))).code).toBe("checkpoint_corrupt");
    expect((await canoError(store.listRuns())).code).toBe("checkpoint_corrupt");
    expect(readFileSync(path, "utf8")).toBe(before);
  });

  it("reports a complete row missing only its newline as torn too", async () => {
    const { store, path } = await storeWithTwoRows();
    appendFileSync(path, JSON.stringify(row(2)));
    expect((await canoError(store.loadRun("run"))).code).toBe("checkpoint_corrupt");
  });

  it("reports a garbage line in the middle and a malformed row, naming the line or the sequence", async () => {
    const { store, path } = await storeWithTwoRows();
    const [first, second] = readFileSync(path, "utf8").split("\n");
    writeFileSync(path, `${first}\nnot json\n${second}\n`);
    const garbage = await canoError(store.loadRun("run"));
    expect(garbage.code).toBe("checkpoint_corrupt");
    expect(garbage.message).toContain("row #1 is corrupt: line 2 is not JSON");

    writeFileSync(path, `${first}\n${JSON.stringify({ ...row(1), kind: "bogus" })}\n`);
    const bad = await canoError(store.loadRun("run"));
    expect(bad.code).toBe("checkpoint_corrupt");
    expect(bad.sequence).toBe(1);
    expect(bad.message).toContain('run "run" row 1 is corrupt: field "kind"');

    writeFileSync(path, `${first}\n${first}\n`);
    const duplicate = await canoError(store.loadRun("run"));
    expect(duplicate.code).toBe("checkpoint_corrupt");
    expect(duplicate.sequence).toBe(0);
  });

  it("refuses ids that cannot name a file with checkpoint_store", async () => {
    const store = freshStore();
    for (const id of ["", "x".repeat(200), "lone \ud800 surrogate"]) {
      expect((await canoError(store.append(id, row(0)))).code).toBe("checkpoint_store");
    }
    expect(readdirSync(store.directory)).toEqual([]);
  });

  it("clear deletes the file; listRuns ignores foreign files", async () => {
    const { store } = await storeWithTwoRows();
    writeFileSync(join(store.directory, "README.txt"), "not a run");
    expect((await store.listRuns()).map((s) => s.workflowId)).toEqual(["run"]);
    await store.clear("run");
    expect(readdirSync(store.directory)).toEqual(["README.txt"]);
    expect(await store.listRuns()).toEqual([]);
  });
});
