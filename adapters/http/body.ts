import type { Context } from "hono";
import type { ZodType } from "zod";
import { z } from "zod";
import { CanoError } from "../../core/index.ts";
import type { FieldIssue } from "./api-error.ts";
import { ApiError } from "./api-error.ts";
import type { ApiWorkflows } from "./api-workflow.ts";
import { strictSchema } from "./strict-schema.ts";

/** `application/json`, `application/json; charset=utf-8`, `application/problem+json`, … */
const jsonType = /^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i;

/**
 * @internal The request's JSON body: a wrong content type is a 415, unparsable JSON a 400 naming the
 * parser's complaint. An empty body is `undefined` unless `required`.
 */
export async function readJson(c: Context, required: boolean): Promise<unknown> {
  const type = c.req.header("content-type");
  const text = await c.req.text();
  if (text === "" && !required) return undefined;
  if (type === undefined || !jsonType.test(type)) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      `HTTP API: expected a JSON body with "Content-Type: application/json", received ${
        type === undefined ? "no Content-Type" : `"${type.slice(0, 100)}"`
      }`,
    );
  }
  if (text.trim() === "")
    throw new ApiError(400, "malformed_json", "HTTP API: expected a JSON body, received an empty one");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : "not JSON";
    throw new ApiError(400, "malformed_json", `HTTP API: the body is not valid JSON (${reason})`);
  }
}

/** @internal Where a value came from: the body (`invalid_body`) or the query string (`invalid_query`). */
export type Source = "body" | "query";

/**
 * @internal `value` checked by `schema`; a failure is a 400 listing every issue once with its field path
 * (`invalid_body` for a body, `invalid_query` for a query string).
 */
export function parseWith<T>(schema: ZodType<T>, value: unknown, what: string, source: Source = "body"): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  const add = (issue: FieldIssue) => {
    const key = `${issue.path}\n${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        add({ path: formatPath([...issue.path, key]), message: "unknown field (not accepted)" });
    } else {
      add({ path: formatPath(issue.path), message: issue.message });
    }
  }
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path || "(root)"}: ${issue.message}`)
    .join("; ");
  const code = source === "query" ? "invalid_query" : "invalid_body";
  throw new ApiError(400, code, `HTTP API: ${what} is invalid: ${summary}`, { issues });
}

/**
 * @internal A query parameter holding a whole number: digits only (no sign, exponent, hex or
 * spaces), from `min` to `max`; one issue per bad value.
 */
export function wholeNumber(min: number, max: number): ZodType<number, string> {
  return z.string().transform((text, ctx) => {
    const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
    if (value >= min && value <= max) return value;
    ctx.addIssue({ code: "custom", message: `expected a whole number from ${min} to ${max}` });
    return z.NEVER;
  });
}

/** `["input", "items", 0, "sku"]` → `input.items[0].sku`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text;
}

/**
 * @internal The schema of each workflow's start body: `{ input }` with `input` checked by the
 * workflow's schema made strict at every depth (see `strictSchema`), or `{}` for a workflow that takes
 * no input. Unknown fields are errors. A schema that cannot be made strict is a `configuration` error.
 */
export function startBodySchemas(
  workflows: ApiWorkflows,
  component: string,
): ReadonlyMap<string, ZodType<{ input?: unknown }>> {
  const schemas = new Map<string, ZodType<{ input?: unknown }>>();
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(workflows)) {
    if (spec.input === undefined) {
      schemas.set(name, z.strictObject({}));
      continue;
    }
    const strict = strictSchema(spec.input, "input");
    if (strict.ok) schemas.set(name, z.strictObject({ input: strict.schema }));
    else problems.push(...strict.problems.map((problem) => `"${name}": ${problem}`));
  }
  if (problems.length > 0) {
    throw new CanoError(
      "configuration",
      `${component}: input schemas that would drop unknown fields: ${problems.join("; ")}`,
    );
  }
  return schemas;
}
