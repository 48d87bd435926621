/**
 * The Standard Schema v1 interface (https://standardschema.dev), declared here so the core can accept
 * zod, valibot, arktype and any other implementation without depending on one. Types only.
 */

/** Options a caller may pass to `validate` (added in Standard Schema 1.1; Cano passes none). */
export interface StandardSchemaV1Options {
  /** Vendor-specific parameters. */
  readonly libraryOptions?: Record<string, unknown> | undefined;
}

/** The input and output types a schema carries for inference only; never present at run time. */
export interface StandardSchemaV1Types<Input = unknown, Output = Input> {
  /** The type the schema accepts. */
  readonly input: Input;
  /** The type the schema produces (after transforms). */
  readonly output: Output;
}

/** One step of an issue's path when the vendor wraps keys in objects. */
export interface StandardSchemaV1PathSegment {
  /** The property key of this step. */
  readonly key: PropertyKey;
}

/** One problem found by `validate`. */
export interface StandardSchemaV1Issue {
  /** What is wrong, in the vendor's words. */
  readonly message: string;
  /** Where in the value the problem is; absent for the value itself. */
  readonly path?: ReadonlyArray<PropertyKey | StandardSchemaV1PathSegment> | undefined;
}

/** What `validate` returns when the value is accepted. */
export interface StandardSchemaV1SuccessResult<Output> {
  /** The validated, possibly transformed, value. */
  readonly value: Output;
  /** Always absent on success: the absence of issues is what marks success. */
  readonly issues?: undefined;
}

/** What `validate` returns when the value is rejected. */
export interface StandardSchemaV1FailureResult {
  /** Every problem found; non-empty by convention. */
  readonly issues: ReadonlyArray<StandardSchemaV1Issue>;
}

/** The result of `validate`: success with a value, or failure with issues. */
export type StandardSchemaV1Result<Output> =
  | StandardSchemaV1SuccessResult<Output>
  | StandardSchemaV1FailureResult;

/** The properties under a schema's `"~standard"` key. */
export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  /** The version of the standard; always 1. */
  readonly version: 1;
  /** The library that made the schema, e.g. `"zod"`. */
  readonly vendor: string;
  /** Checks an unknown value; may be synchronous or asynchronous. */
  readonly validate: (
    value: unknown,
    options?: StandardSchemaV1Options | undefined,
  ) => StandardSchemaV1Result<Output> | Promise<StandardSchemaV1Result<Output>>;
  /** Inference-only input and output types. */
  readonly types?: StandardSchemaV1Types<Input, Output> | undefined;
}

/** A Standard Schema: an object with a `"~standard"` property, such as a zod 4 schema. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard's properties. */
  readonly "~standard": StandardSchemaV1Props<Input, Output>;
}

/** The type a schema accepts. */
export type InferInput<TSchema extends StandardSchemaV1> = NonNullable<
  TSchema["~standard"]["types"]
>["input"];

/** The type a schema produces: what a value is once validated (and transformed). */
export type InferOutput<TSchema extends StandardSchemaV1> = NonNullable<
  TSchema["~standard"]["types"]
>["output"];
