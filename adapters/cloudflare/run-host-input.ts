import { CanoError, describeThrown } from "../../core/errors.ts";
import { assertJson } from "../../core/json.ts";
import type { StandardSchemaV1Result } from "../../core/standard-schema.ts";
import { RunHostRequestError } from "./run-host-error.ts";
import type { HostedWorkflow, RunHostOptions } from "./run-host-types.ts";

/** {@link RunHostOptions} with defaults applied and every workflow checked. */
export interface RunHostSettings<TEnv> {
  readonly workflows: ReadonlyMap<string, HostedWorkflow<TEnv>>;
  readonly alarmThresholdMs: number;
  readonly watchdogMs: number;
  readonly maxInputBytes: number;
  readonly heartbeatMs: number;
}

const defaults = {
  alarmThresholdMs: 5_000,
  watchdogMs: 60_000,
  maxInputBytes: 1_048_576,
  heartbeatMs: 15_000,
} as const;

/** The longest run id accepted (it names a Durable Object and prefixes storage keys). */
const maxRunIdLength = 256;

/** @internal Checks `defineRunHost` options once, when the class is made, so mistakes fail at deploy. */
export function checkOptions<TEnv>(options: RunHostOptions<TEnv>): RunHostSettings<TEnv> {
  const merged = { ...defaults, ...options } satisfies RunHostOptions<TEnv>;
  const entries = Object.entries(merged.workflows ?? {});
  if (entries.length === 0) {
    throw new CanoError("configuration", "defineRunHost: `workflows` must name at least one workflow.");
  }
  for (const [name, hosted] of entries) {
    if (typeof hosted?.create !== "function" || typeof hosted.initial !== "string" || hosted.initial === "") {
      throw new CanoError(
        "configuration",
        `defineRunHost: workflow "${name}" must be { initial: "<state>", create: (run) => workflow }, ` +
          `received ${describeThrown(hosted)}.`,
      );
    }
  }
  for (const field of ["alarmThresholdMs", "watchdogMs", "maxInputBytes", "heartbeatMs"] as const) {
    const value = merged[field];
    if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
      throw new CanoError(
        "configuration",
        `defineRunHost: ${field} must be a number > 0, received ${String(value)}.`,
      );
    }
  }
  return {
    workflows: new Map(entries),
    alarmThresholdMs: merged.alarmThresholdMs,
    watchdogMs: merged.watchdogMs,
    maxInputBytes: merged.maxInputBytes,
    heartbeatMs: merged.heartbeatMs,
  };
}

/**
 * @internal The run id when it is 1–256 characters of well-formed text without control characters;
 * else `invalid_request`. Checked before `idFromName`, so an odd id never reaches (or creates) an object.
 */
export function checkedRunId(runId: unknown): string {
  if (typeof runId === "string" && runId !== "" && runId.length <= maxRunIdLength && isPlainText(runId))
    return runId;
  throw new RunHostRequestError(
    "invalid_request",
    `RunHost: runId must be 1–${maxRunIdLength} characters of text without control characters, received ` +
      `${describeThrown(typeof runId === "string" ? runId.slice(0, 80) : runId)}.`,
  );
}

/**
 * @internal The start input as the run keeps it: plain JSON of at most `maxBytes` (UTF-8, else
 * `payload_too_large`), checked by the workflow's schema when it has one.
 */
export async function checkedInput<TEnv>(
  workflow: string,
  hosted: HostedWorkflow<TEnv>,
  input: unknown,
  maxBytes: number,
): Promise<unknown> {
  try {
    if (input !== undefined) assertJson(input, `RunHost: the input of workflow "${workflow}"`);
  } catch (error) {
    throw new RunHostRequestError("invalid_request", (error as Error).message, { cause: error });
  }
  const bytes = input === undefined ? 0 : new TextEncoder().encode(JSON.stringify(input)).length;
  if (bytes > maxBytes) {
    throw new RunHostRequestError(
      "payload_too_large",
      `RunHost: the input of workflow "${workflow}" is ${bytes} bytes of JSON; this host accepts at most ` +
        `${maxBytes} (maxInputBytes). Keep large data elsewhere (R2, KV) and pass its key.`,
    );
  }
  const schema = hosted.input;
  if (schema === undefined) return input ?? null;
  let result: StandardSchemaV1Result<unknown>;
  try {
    result = await schema["~standard"].validate(input);
  } catch (error) {
    throw new RunHostRequestError(
      "invalid_request",
      `RunHost: the input schema of workflow "${workflow}" threw instead of returning issues: ${describeThrown(error)}`,
      { cause: error },
    );
  }
  if (result.issues === undefined) return result.value ?? null;
  const listed = result.issues.map((issue) => {
    const path = (issue.path ?? []).map((step) => String(typeof step === "object" ? step.key : step));
    return path.length === 0 ? issue.message : `${path.join(".")}: ${issue.message}`;
  });
  throw new RunHostRequestError(
    "invalid_request",
    `RunHost: the input of workflow "${workflow}" does not match its schema: ${listed.join("; ")}`,
  );
}

/** True without control characters and without UTF-16 surrogates missing their pair. */
function isPlainText(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f || (code >= 0xdc00 && code <= 0xdfff)) return false;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      index++;
    }
  }
  return true;
}
