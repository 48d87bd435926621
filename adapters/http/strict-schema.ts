import type { ZodType } from "zod";
import { z } from "zod";

/** The schema made strict, or why it cannot be: one line per problem, each with its path. */
export type StrictResult =
  | { readonly ok: true; readonly schema: ZodType }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * @internal `schema` with every `z.object` in it strict, however deep (inside objects, arrays, tuples,
 * records, unions, optionals, nullables, defaults, `.transform`/`.pipe` inputs, lazy schemas): an
 * unknown field is an error, never silently dropped. `z.looseObject` / `.catchall()` are kept (their
 * unknown fields are kept, not dropped). A part that cannot be made strict (an intersection of objects,
 * whose sides would reject each other's fields) is a problem. Parts with nothing to change are reused.
 */
export function strictSchema(schema: ZodType, path: string): StrictResult {
  const walker = new Strictifier();
  const strict = walker.visit(schema, path);
  return walker.problems.length === 0
    ? { ok: true, schema: strict }
    : { ok: false, problems: walker.problems };
}

/** Walks a schema once; shared and recursive parts are rewritten once. */
class Strictifier {
  readonly problems: string[] = [];
  readonly #done = new Map<ZodType, ZodType>();

  visit(schema: ZodType, path: string): ZodType {
    const known = this.#done.get(schema);
    if (known !== undefined) return known;
    // Placeholder for a schema that refers to itself (through z.lazy) while it is being rewritten.
    this.#done.set(schema, schema);
    const made = this.#rewrite(schema, path);
    this.#done.set(schema, made);
    return made;
  }

  #rewrite(schema: ZodType, path: string): ZodType {
    if (schema instanceof z.ZodObject) return this.#object(schema, path);
    if (schema instanceof z.ZodArray) {
      const element = this.visit(schema.element as ZodType, `${path}[]`);
      return element === schema.element ? schema : copy(schema, { ...schema.def, element });
    }
    if (schema instanceof z.ZodUnion) {
      const given = schema.options as readonly ZodType[];
      const options = given.map((option) => this.visit(option, path));
      return sameItems(options, given) ? schema : copy(schema, { ...schema.def, options });
    }
    if (schema instanceof z.ZodTuple) {
      const given = schema.def.items as readonly ZodType[];
      const items = given.map((item, index) => this.visit(item, `${path}[${index}]`));
      const rest = schema.def.rest === null ? null : this.visit(schema.def.rest as ZodType, `${path}[]`);
      return sameItems(items, given) && rest === schema.def.rest
        ? schema
        : copy(schema, { ...schema.def, items, rest });
    }
    if (schema instanceof z.ZodRecord) {
      const valueType = this.visit(schema.def.valueType as ZodType, `${path}.*`);
      return valueType === schema.def.valueType ? schema : copy(schema, { ...schema.def, valueType });
    }
    if (schema instanceof z.ZodPipe) {
      const input = this.visit(schema.def.in as ZodType, path);
      const output = this.visit(schema.def.out as ZodType, path);
      return input === schema.def.in && output === schema.def.out
        ? schema
        : copy(schema, { ...schema.def, in: input, out: output });
    }
    if (schema instanceof z.ZodLazy) return this.#lazy(schema, path);
    if (schema instanceof z.ZodIntersection) {
      const sides = [schema.def.left, schema.def.right] as ZodType[];
      if (sides.some((side) => this.visit(side, path) !== side))
        this.problems.push(
          `${path}: an intersection (z.intersection / .and) of objects cannot reject unknown fields, ` +
            "because each side would reject the other's fields; use one z.strictObject (e.g. a.extend(b.shape))",
        );
      return schema;
    }
    // optional, nullable, default, prefault, nonoptional, readonly, catch, success, …
    const inner = innerTypeOf(schema);
    if (inner === undefined) return schema;
    const innerType = this.visit(inner, path);
    return innerType === inner ? schema : copy(schema, { ...schema.def, innerType });
  }

  #object(schema: z.ZodObject, path: string): ZodType {
    const given = schema.shape as Record<string, ZodType>;
    const catchall =
      schema.def.catchall === undefined ? z.never() : this.visit(schema.def.catchall as ZodType, `${path}.*`);
    // zod reads an object's shape on first use, so it is filled in below; registering the copy first
    // makes a field that refers back to this object (a getter, for recursion) point at the copy.
    const shape: Record<string, ZodType> = {};
    const made = copy(schema, { ...schema.def, shape, catchall });
    this.#done.set(schema, made);
    let changed = catchall !== schema.def.catchall;
    for (const [key, value] of Object.entries(given)) {
      shape[key] = this.visit(value, path === "" ? key : `${path}.${key}`);
      if (shape[key] !== value) changed = true;
    }
    return changed ? made : schema;
  }

  #lazy(schema: z.ZodLazy, path: string): ZodType {
    const inner = schema.def.getter() as ZodType;
    let rewritten: ZodType = inner;
    const lazy = z.lazy(() => rewritten);
    // Registered first, so a reference back to this schema inside `inner` points at the new one.
    this.#done.set(schema, lazy);
    rewritten = this.visit(inner, path);
    return rewritten === inner ? schema : lazy;
  }
}

/** A wrapper's wrapped schema (`optional`, `nullable`, `default`, `readonly`, …), if it has one. */
function innerTypeOf(schema: ZodType): ZodType | undefined {
  const inner: unknown = Reflect.get(schema.def, "innerType");
  return inner instanceof z.ZodType ? inner : undefined;
}

function sameItems(a: readonly ZodType[], b: readonly ZodType[]): boolean {
  return a.every((item, index) => item === b[index]);
}

/** `schema` rebuilt from `def` (keeping its checks and error messages) and its description/metadata. */
function copy<TSchema extends ZodType>(schema: TSchema, def: object): TSchema {
  const made = schema.clone(def as TSchema["def"]);
  const meta = z.globalRegistry.get(schema);
  if (meta !== undefined) {
    // An `id` names one schema in a JSON Schema document: the copy must not claim it twice.
    const { id: _id, ...rest } = meta;
    z.globalRegistry.add(made, rest);
  }
  return made;
}
