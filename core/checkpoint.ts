import { CanoError, isCanoError } from "./errors.ts";
import { assertJson } from "./json.ts";

/**
 * What a checkpoint row records: a state entered, a saga step's output, a stepped/stream cursor, the
 * start of a rollback (output: the error that caused it), or a compensation that finished (output:
 * the sequence of the completion row it undid).
 */
export type CheckpointRowKind = "state" | "completion" | "cursor" | "rollback" | "compensated";

/** Every {@link CheckpointRowKind}, in the order they are documented. */
export const checkpointRowKinds = [
  "state",
  "completion",
  "cursor",
  "rollback",
  "compensated",
] as const satisfies readonly CheckpointRowKind[];

/** One durable record of a run; plain JSON, so every store can keep it as text. */
export interface CheckpointRow {
  /** Position in the run's log: an integer ≥ 0, dense from 0 within a run. */
  readonly sequence: number;
  /** The state's name. */
  readonly state: string;
  /** The task's name; `""` for a split or an exit state. */
  readonly taskId: string;
  /**
   * `"state"`: written before a state's task runs; `"completion"`: a saga step finished (`output` is
   * its JSON output); `"cursor"`: progress of a stepped/stream task (`output` is the cursor).
   */
  readonly kind: CheckpointRowKind;
  /** Plain JSON when present; a `"state"` row may carry the split result handed to a join state. */
  readonly output?: unknown;
  /** The workflow version the row was written under (an integer ≥ 0). */
  readonly version: number;
  /** When the row was written, in milliseconds since the epoch (from the run's clock). */
  readonly at: number;
  /** The workflow's name, when it has one (lets `listRuns` say which workflow a run belongs to). */
  readonly workflow?: string;
  /**
   * On the first `"state"` row a resumed run writes: the last sequence of the log it resumed from.
   * It tells a later resume that this entry re-runs the state the earlier log ended in.
   */
  readonly resumedFrom?: number;
}

/** An unfinished run, summarised from its last row, for "resume" lists. */
export interface RunSummary {
  /** The run's id. */
  readonly workflowId: string;
  /** The workflow's name, when the rows carry one. */
  readonly workflow?: string;
  /** The state of the last row: where a resume re-enters. */
  readonly state: string;
  /** The sequence of the last row. */
  readonly sequence: number;
  /** When the last row was written, in milliseconds since the epoch. */
  readonly at: number;
  /** The workflow version of the last row. */
  readonly version: number;
  /** How many rows the run has. */
  readonly rows: number;
  /**
   * Set when the run's rows could not be read (a corrupt row): the run is still listed, so an app
   * can show it, but resuming it fails with `checkpoint_corrupt` until it is repaired or discarded.
   */
  readonly problem?: string;
}

/**
 * Where a run's checkpoint rows live. The core declares it; adapters (memory, IndexedDB, Durable
 * Objects, KV) implement it and pass the shared conformance suite in `test/conformance/`.
 */
export interface CheckpointStore {
  /** Adds a row; rejects a duplicate (workflowId, sequence) with a `checkpoint_store` error (`details.conflict = true`) and leaves the existing row untouched. */
  append(workflowId: string, row: CheckpointRow): Promise<void>;
  /** Every row of a run in ascending sequence; `[]` for an unknown id. */
  loadRun(workflowId: string): Promise<CheckpointRow[]>;
  /** Removes every row of one run; unknown ids are fine. */
  clear(workflowId: string): Promise<void>;
  /** Unfinished runs (ids with rows), each summarised from its last row. Optional. */
  listRuns?(): Promise<RunSummary[]>;
}

/** What is wrong with a raw row: a sentence with what was expected and received, and the field at fault. */
interface RowProblem {
  readonly problem: string;
  readonly field?: string;
}

const kindList = checkpointRowKinds.map((kind) => `"${kind}"`).join(", ");

/** The row, or what is wrong with it. Never throws. */
function checkRow(raw: unknown): CheckpointRow | RowProblem {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { problem: `the row is not an object (expected a plain object, received ${describe(raw)})` };
  }
  const fields = raw as Record<string, unknown>;
  const { sequence, state, taskId, kind, output, version, at, workflow, resumedFrom } = fields;
  if (!isCount(sequence)) return wrongField("sequence", "an integer ≥ 0", sequence, fields);
  if (typeof state !== "string" || state === "")
    return wrongField("state", "a state name (a non-empty string)", state, fields);
  if (typeof taskId !== "string") return wrongField("taskId", "a string", taskId, fields);
  if (typeof kind !== "string" || !(checkpointRowKinds as readonly string[]).includes(kind))
    return wrongField("kind", `one of ${kindList}`, kind, fields);
  if (!isCount(version)) return wrongField("version", "an integer ≥ 0", version, fields);
  if (typeof at !== "number" || !Number.isFinite(at))
    return wrongField("at", "a finite number of milliseconds since the epoch", at, fields);
  if (workflow !== undefined && typeof workflow !== "string")
    return wrongField("workflow", "a string or nothing", workflow, fields);
  if (resumedFrom !== undefined && !(isCount(resumedFrom) && resumedFrom < sequence))
    return wrongField("resumedFrom", "nothing, or an earlier sequence", resumedFrom, fields);
  if (output !== undefined) {
    try {
      assertJson(output, "output");
    } catch (error) {
      const detail = isCanoError(error) ? error.details?.problem : undefined;
      const where = typeof detail === "string" ? detail.replace(/^value/, "output") : describe(output);
      return {
        field: "output",
        problem:
          `field "output" is not plain JSON (expected plain objects, arrays, strings, finite numbers, ` +
          `booleans and null, received ${where})`,
      };
    }
  }
  const row: { -readonly [K in keyof CheckpointRow]: CheckpointRow[K] } = {
    sequence,
    state,
    taskId,
    kind: kind as CheckpointRowKind,
    version,
    at,
  };
  if (output !== undefined) row.output = output;
  if (workflow !== undefined) row.workflow = workflow;
  if (resumedFrom !== undefined) row.resumedFrom = resumedFrom;
  return row;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function wrongField(
  field: string,
  expected: string,
  value: unknown,
  fields: Record<string, unknown>,
): RowProblem {
  const received = field in fields ? describe(value) : "nothing (the field is missing)";
  return { field, problem: `field "${field}" is wrong (expected ${expected}, received ${received})` };
}

function isProblem(checked: CheckpointRow | RowProblem): checked is RowProblem {
  return "problem" in checked;
}

/** The raw row's sequence when it is a valid one, so messages can name it even when another field is bad. */
function readableSequence(raw: unknown): number | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const sequence: unknown = (raw as { sequence?: unknown }).sequence;
  return isCount(sequence) ? sequence : undefined;
}

function rowName(sequence: number | undefined, position: number): string {
  return sequence === undefined ? `#${position}` : `${sequence}`;
}

const untouched = "Nothing was deleted: repair or clear the run's rows before resuming it.";

/**
 * Validates one raw row read back from a store and returns a fresh plain object with only the known
 * fields; anything malformed is a `checkpoint_corrupt` error naming the run and the row's sequence
 * (or its position when the sequence itself is unreadable).
 */
export function decodeRow(raw: unknown, workflowId: string, position: number): CheckpointRow {
  const checked = checkRow(raw);
  if (!isProblem(checked)) return checked;
  const sequence = readableSequence(raw);
  throw new CanoError(
    "checkpoint_corrupt",
    `Checkpoint: run "${workflowId}" row ${rowName(sequence, position)} is corrupt: ${checked.problem}. ${untouched}`,
    {
      workflowId,
      ...(sequence === undefined ? {} : { sequence }),
      details: {
        position,
        problem: checked.problem,
        ...(checked.field === undefined ? {} : { field: checked.field }),
      },
    },
  );
}

/**
 * Decodes every raw row of a run (see {@link decodeRow}), sorts them by ascending sequence and rejects
 * a sequence that appears twice as `checkpoint_corrupt`. Never mutates `raws`.
 */
export function decodeRun(raws: readonly unknown[], workflowId: string): CheckpointRow[] {
  if (!Array.isArray(raws)) {
    throw new CanoError(
      "checkpoint_corrupt",
      `Checkpoint: loading run "${workflowId}" returned ${describe(raws)} instead of an array of rows. Nothing was deleted.`,
      { workflowId },
    );
  }
  const rows = raws.map((raw, position) => ({ row: decodeRow(raw, workflowId, position), position }));
  rows.sort((a, b) => a.row.sequence - b.row.sequence || a.position - b.position);
  for (let i = 1; i < rows.length; i++) {
    const previous = rows[i - 1]!;
    const current = rows[i]!;
    if (previous.row.sequence !== current.row.sequence) continue;
    const sequence = current.row.sequence;
    const problem =
      `sequence ${sequence} appears more than once (expected each sequence once, received rows at ` +
      `positions ${previous.position} and ${current.position})`;
    throw new CanoError(
      "checkpoint_corrupt",
      `Checkpoint: run "${workflowId}" row ${sequence} is corrupt: ${problem}. ${untouched}`,
      {
        workflowId,
        sequence,
        details: { position: current.position, problem, duplicateOf: previous.position },
      },
    );
  }
  return rows.map(({ row }) => row);
}

/** A run's summary from its last row (highest sequence); `undefined` when it has no rows. */
export function summarizeRun(workflowId: string, rows: readonly CheckpointRow[]): RunSummary | undefined {
  let last: CheckpointRow | undefined;
  let workflow: string | undefined;
  let workflowAt = -1;
  for (const row of rows) {
    if (last === undefined || row.sequence > last.sequence) last = row;
    // The name may be missing on some rows; take it from the latest row that has one.
    if (row.workflow !== undefined && row.sequence > workflowAt) {
      workflow = row.workflow;
      workflowAt = row.sequence;
    }
  }
  if (last === undefined) return undefined;
  return {
    workflowId,
    ...(workflow === undefined ? {} : { workflow }),
    state: last.state,
    sequence: last.sequence,
    at: last.at,
    version: last.version,
    rows: rows.length,
  };
}

/** @internal Throws a `checkpoint_store` error unless `workflowId` is a non-empty string. */
export function checkWorkflowId(
  workflowId: unknown,
  component: string,
  code: "checkpoint_store" | "configuration" = "checkpoint_store",
): asserts workflowId is string {
  if (typeof workflowId === "string" && workflowId !== "") return;
  throw new CanoError(
    code,
    `${component}: expected a workflow id (a non-empty string), received ${describe(workflowId)}. ` +
      `Give the run an id with withWorkflowId() or orchestrate(..., { workflowId }).`,
  );
}

/**
 * @internal The row as the store will keep it: decoded with {@link decodeRow}, so a malformed row is a
 * `checkpoint_store` error naming the run and sequence and is never stored.
 */
export function rowForAppend(workflowId: string, row: unknown, component: string): CheckpointRow {
  const checked = checkRow(row);
  if (!isProblem(checked)) return checked;
  const sequence = readableSequence(row);
  throw new CanoError(
    "checkpoint_store",
    `${component}: cannot append ${sequence === undefined ? "a row" : `row ${sequence}`} to run ` +
      `"${workflowId}": ${checked.problem}. Checkpoint rows must be plain JSON; nothing was written.`,
    {
      workflowId,
      ...(sequence === undefined ? {} : { sequence }),
      details: { problem: checked.problem, ...(checked.field === undefined ? {} : { field: checked.field }) },
    },
  );
}

/** @internal The `checkpoint_store` error for an append whose (workflowId, sequence) is taken. */
export function duplicateRowError(workflowId: string, sequence: number, component: string): CanoError {
  return new CanoError(
    "checkpoint_store",
    `${component}: run "${workflowId}" already has a row with sequence ${sequence}; append never overwrites ` +
      `(expected a new sequence, received a duplicate). Another driver may be running this run, or the id was reused: ` +
      `resume it with resumeFrom() or clear it first.`,
    { workflowId, sequence, details: { conflict: true } },
  );
}

/**
 * The default checkpoint store: rows in memory, each kept as a JSON string, so a stored row is a
 * snapshot (mutating the appended object later changes nothing) and every `loadRun` returns fresh
 * objects. Rows are validated on the way in (a malformed row is a `checkpoint_store` error and is
 * never stored) and decoded again on the way out. Every operation completes synchronously inside
 * the call, so concurrent calls never interleave.
 *
 * @example
 * const store = new MemoryCheckpointStore();
 * await store.append("run-1", { sequence: 0, state: "fetch", taskId: "fetch", kind: "state", version: 0, at: Date.now() });
 * await store.loadRun("run-1"); // [{ sequence: 0, state: "fetch", … }]
 */
export class MemoryCheckpointStore implements CheckpointStore {
  /** Run id → sequence → the row as JSON text; a run with no rows is never kept. */
  readonly #runs = new Map<string, Map<number, string>>();

  /** Adds a snapshot of `row`; a duplicate sequence or a row that is not plain JSON is a `checkpoint_store` error. */
  async append(workflowId: string, row: CheckpointRow): Promise<void> {
    checkWorkflowId(workflowId, "MemoryCheckpointStore");
    const checked = rowForAppend(workflowId, row, "MemoryCheckpointStore");
    const rows = this.#runs.get(workflowId);
    if (rows?.has(checked.sequence))
      throw duplicateRowError(workflowId, checked.sequence, "MemoryCheckpointStore");
    const text = JSON.stringify(checked);
    if (rows === undefined) this.#runs.set(workflowId, new Map([[checked.sequence, text]]));
    else rows.set(checked.sequence, text);
  }

  /** Fresh copies of every row of the run, ascending by sequence; `[]` for an unknown id. */
  async loadRun(workflowId: string): Promise<CheckpointRow[]> {
    checkWorkflowId(workflowId, "MemoryCheckpointStore");
    return this.#decode(workflowId);
  }

  /** Removes every row of the run; an unknown id is a no-op. */
  async clear(workflowId: string): Promise<void> {
    checkWorkflowId(workflowId, "MemoryCheckpointStore");
    this.#runs.delete(workflowId);
  }

  /** Every run with rows, in the order they were first written, each summarised from its last row. */
  async listRuns(): Promise<RunSummary[]> {
    const summaries: RunSummary[] = [];
    for (const workflowId of this.#runs.keys()) {
      const summary = summarizeRun(workflowId, this.#decode(workflowId));
      if (summary !== undefined) summaries.push(summary);
    }
    return summaries;
  }

  #decode(workflowId: string): CheckpointRow[] {
    const texts = this.#runs.get(workflowId);
    if (texts === undefined) return [];
    return decodeRun(
      [...texts.values()].map((text) => JSON.parse(text) as unknown),
      workflowId,
    );
  }
}

/** A short description of a received value for messages: its type, plus the value when it is small. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "function":
      return `a function${value.name === "" ? "" : ` (${value.name})`}`;
    case "object": {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === "string" && name !== "Object" ? `a ${name} object` : "an object";
    }
    case "string":
      return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
    case "bigint":
      return `bigint ${value}n`;
    case "symbol":
      return `a symbol (${String(value)})`;
    default:
      return `${typeof value} ${String(value)}`;
  }
}
