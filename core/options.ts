/**
 * @internal `{ ...defaults, ...options }` where an option explicitly set to `undefined` keeps its
 * default, as callers spreading partial objects expect.
 */
export function withDefaults<T extends object>(defaults: T, options: Partial<T>): T {
  const merged: T = { ...defaults };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) (merged as Record<string, unknown>)[name] = value;
  }
  return merged;
}
