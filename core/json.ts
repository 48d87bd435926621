import { CanoError } from "./errors.ts";

function problemAt(value: unknown, path: string, seen: Set<object>): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path} is ${value}`;
  if (value === undefined) return `${path} is undefined`;
  if (typeof value !== "object") return `${path} is a ${typeof value}`;
  if (seen.has(value)) return `${path} refers back to itself (a cycle)`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = problemAt(value[i], `${path}[${i}]`, seen);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      return `${path} is a ${value.constructor?.name ?? "class instance"}, not a plain object`;
    }
    for (const [name, field] of Object.entries(value)) {
      const problem = problemAt(field, `${path}.${name}`, seen);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

/**
 * @internal Throws a `configuration` error unless `value` survives a JSON round trip unchanged:
 * plain objects, arrays, strings, finite numbers, booleans and null.
 */
export function assertJson(value: unknown, what: string): void {
  const problem = problemAt(value, "value", new Set());
  if (problem !== undefined) {
    throw new CanoError("configuration", `${what} must be plain JSON, but ${problem}`, {
      details: { problem },
    });
  }
}
