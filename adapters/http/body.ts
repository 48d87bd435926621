import type { Context } from "hono";
import type { ZodType } from "zod";
import { z } from "zod";
import type { FieldIssue } from "./api-error.ts";
import { ApiError } from "./api-error.ts";

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

/** @internal `value` checked by `schema`; a failure is a 400 listing every issue with its field path. */
export function parseWith<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: FieldIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        issues.push({ path: formatPath([...issue.path, key]), message: "unknown field (not accepted)" });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path || "(root)"}: ${issue.message}`)
    .join("; ");
  throw new ApiError(400, "invalid_body", `HTTP API: ${what} is invalid: ${summary}`, { issues });
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
 * @internal The schema of a start body: `{ input }` with `input` checked by the workflow's schema (a
 * top-level `z.object` made strict), or `{}` for a workflow that takes no input. Unknown fields are errors.
 */
export function startBodySchema(input: ZodType | undefined): ZodType<{ input?: unknown }> {
  if (input === undefined) return z.strictObject({});
  const strict = input instanceof z.ZodObject && input.def.catchall === undefined ? input.strict() : input;
  return z.strictObject({ input: strict });
}
