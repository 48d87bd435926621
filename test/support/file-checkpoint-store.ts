// Node-only test store that survives the process, for crash tests that SIGKILL a child mid-run.
import { Buffer } from "node:buffer";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointRow, CheckpointStore, RunSummary } from "../../core/checkpoint.ts";
import {
  checkWorkflowId,
  decodeRun,
  duplicateRowError,
  rowForAppend,
  summarizeRun,
} from "../../core/checkpoint.ts";
import { CanoError, describeThrown } from "../../core/errors.ts";

const component = "FileCheckpointStore";
const extension = ".jsonl";
/** Most file systems cap a name at 255 bytes. */
const maxNameLength = 255;
const fileName = /^((?:[0-9a-f]{2})+)\.jsonl$/;

/**
 * A CheckpointStore on disk for Node tests: one append-only JSON-lines file per run under
 * `directory`, named by the hex of the id's UTF-8 bytes (so any id is a safe, collision-free file
 * name; ids up to 124 bytes).
 *
 * Each `append` validates the row, reads the run's file to reject a duplicate sequence, then writes
 * the row and its newline with one `appendFileSync` call. A SIGKILL therefore normally leaves the
 * whole line or none of it. If a write is ever cut short, the file ends without a newline: `loadRun`
 * (and any later `append` to that run) reports that torn last line as `checkpoint_corrupt` naming the
 * run and line, and never drops or repairs it, exactly as a corrupt row in any other store.
 *
 * Not for production: no fsync (rows survive a killed process, not a power cut), no locking between
 * processes (one writer per run), and every append re-reads the run's file.
 *
 * @example
 * const store = new FileCheckpointStore(mkdtempSync(join(tmpdir(), "cano-")));
 */
export class FileCheckpointStore implements CheckpointStore {
  /** The directory holding one `<hex id>.jsonl` file per run. */
  readonly directory: string;

  constructor(directory: string) {
    this.directory = directory;
    mkdirSync(directory, { recursive: true });
  }

  /** Validates the row, rejects a duplicate sequence, then appends one line in a single write. */
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    const path = this.#path(workflowId);
    const checked = rowForAppend(workflowId, row, component);
    // Everything below is synchronous, so concurrent calls in this process cannot interleave.
    if (this.#read(workflowId, path).some((stored) => stored.sequence === checked.sequence)) {
      throw duplicateRowError(workflowId, checked.sequence, component);
    }
    this.#io(workflowId, "append to", path, () =>
      appendFileSync(path, `${JSON.stringify(checked)}\n`, "utf8"),
    );
  }

  /** The run's rows, ascending; `[]` when it has no file. A torn or malformed line is `checkpoint_corrupt`. */
  async loadRun(workflowId: string): Promise<CheckpointRow[]> {
    return this.#read(workflowId, this.#path(workflowId));
  }

  /** Deletes the run's file; an unknown id is a no-op. */
  async clear(workflowId: string): Promise<void> {
    const path = this.#path(workflowId);
    this.#io(workflowId, "delete", path, () => rmSync(path, { force: true }));
  }

  /** Every run with rows in the directory, in file-name order, summarised from its last row. */
  async listRuns(): Promise<RunSummary[]> {
    const names = this.#io("", "list", this.directory, () => readdirSync(this.directory)).sort();
    const summaries: RunSummary[] = [];
    for (const name of names) {
      const hex = fileName.exec(name)?.[1];
      if (hex === undefined) continue;
      const workflowId = Buffer.from(hex, "hex").toString("utf8");
      const summary = summarizeRun(workflowId, this.#read(workflowId, join(this.directory, name)));
      if (summary !== undefined) summaries.push(summary);
    }
    return summaries;
  }

  /** The run's file; a `checkpoint_store` error for an id that is empty, too long or not well-formed UTF-16. */
  #path(workflowId: string): string {
    checkWorkflowId(workflowId, component);
    const hex = Buffer.from(workflowId, "utf8").toString("hex");
    // A lone surrogate becomes U+FFFD in UTF-8, so two different ids could share a file.
    const wellFormed = Buffer.from(hex, "hex").toString("utf8") === workflowId;
    if (!wellFormed || hex.length + extension.length > maxNameLength) {
      throw new CanoError(
        "checkpoint_store",
        `${component}: run id "${workflowId}" cannot name a file (expected well-formed text of at most ` +
          `${(maxNameLength - extension.length) >> 1} UTF-8 bytes, received ${hex.length >> 1} bytes` +
          `${wellFormed ? "" : " with a lone surrogate"}). Use a shorter id, such as a UUID.`,
        { workflowId },
      );
    }
    return join(this.directory, `${hex}${extension}`);
  }

  /** Reads and decodes the run's file; a missing file is `[]`. */
  #read(workflowId: string, path: string): CheckpointRow[] {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") return [];
      throw storeError(workflowId, "read", path, error);
    }
    if (text === "") return [];
    const lines = text.split("\n");
    // A file whose every write completed ends with "\n", so the last split piece is "".
    const tail = lines.pop();
    if (tail !== "") {
      throw corruptLine(
        workflowId,
        path,
        lines.length,
        `the last line is incomplete, a write cut short by a crash (expected a JSON row ending in a newline, ` +
          `received ${tail?.length ?? 0} characters without one)`,
      );
    }
    const raws = lines.map((line, position) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (error) {
        throw corruptLine(
          workflowId,
          path,
          position,
          `line ${position + 1} is not JSON (expected one JSON row per line, received ${describeThrown(error)})`,
        );
      }
    });
    return decodeRun(raws, workflowId);
  }

  /** Runs a file-system call, turning its failure into a `checkpoint_store` error. */
  #io<T>(workflowId: string, action: string, path: string, call: () => T): T {
    try {
      return call();
    } catch (error) {
      throw storeError(workflowId, action, path, error);
    }
  }
}

function storeError(workflowId: string, action: string, path: string, error: unknown): CanoError {
  const run = workflowId === "" ? "" : ` for run "${workflowId}"`;
  return new CanoError(
    "checkpoint_store",
    `${component}: could not ${action} ${path}${run}: ${describeThrown(error)}`,
    { cause: error, ...(workflowId === "" ? {} : { workflowId }), details: { path } },
  );
}

function corruptLine(workflowId: string, path: string, position: number, problem: string): CanoError {
  return new CanoError(
    "checkpoint_corrupt",
    `Checkpoint: run "${workflowId}" row #${position} is corrupt: ${problem}. Nothing was deleted: ` +
      `repair or clear the run's rows before resuming it.`,
    { workflowId, details: { position, problem, path } },
  );
}
