import { CanoError } from "../../core/errors.ts";

/** Where a stored row came from, for messages. */
interface RowOrigin {
  readonly workflowId: string;
  /** The sequence the storage key (or SQL column) says the row has. */
  readonly sequence: number;
  /** Its position among the run's stored rows. */
  readonly position: number;
  readonly component: string;
}

const untouched = "Nothing was deleted: repair or clear the run's rows before resuming it.";

function corrupt(origin: RowOrigin, problem: string): CanoError {
  const { workflowId, sequence, position, component } = origin;
  return new CanoError(
    "checkpoint_corrupt",
    `${component}: run "${workflowId}" row ${sequence} is corrupt: ${problem}. ${untouched}`,
    { workflowId, sequence, details: { position, problem } },
  );
}

/**
 * @internal The raw row parsed from its stored text, for `decodeRun` to validate. Text that is not
 * JSON, or a row whose own sequence differs from the one its key names, is `checkpoint_corrupt`.
 */
export function parseStoredRow(text: unknown, origin: RowOrigin): unknown {
  if (typeof text !== "string") {
    throw corrupt(origin, `the stored value is a ${text === null ? "null" : typeof text}, not JSON text`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    throw corrupt(origin, `the stored text is not JSON (received ${JSON.stringify(shown)})`);
  }
  const own: unknown =
    typeof raw === "object" && raw !== null ? (raw as { sequence?: unknown }).sequence : undefined;
  if (typeof own === "number" && own !== origin.sequence) {
    throw corrupt(
      origin,
      `it is stored under sequence ${origin.sequence} but says it is row ${own} (expected the two to match)`,
    );
  }
  return raw;
}

/** @internal `name` when it is a plain SQL identifier (letters, digits, `_`); a `configuration` error otherwise. */
export function sqlIdentifier(name: string, component: string): string {
  if (typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) return name;
  throw new CanoError(
    "configuration",
    `${component}: table name must be letters, digits and "_" (not starting with a digit, at most 63), ` +
      `received ${JSON.stringify(name)}`,
  );
}
