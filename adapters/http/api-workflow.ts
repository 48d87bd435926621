import type { ZodType } from "zod";
import type { CheckpointStore, OrchestrateOptions, ResumeOptions, WorkflowGraph } from "../../core/index.ts";
import { CanoError } from "../../core/index.ts";

/** The part of a `Workflow` the API and the in-process host call; every `Workflow<TState, TResources>` has it. */
export interface RunnableWorkflow {
  /** Starts a run (the host passes the run id, its signal and an observer). */
  orchestrate(initial: string, options?: OrchestrateOptions): Promise<string>;
  /** Continues a run from its checkpoint log. */
  resumeFrom(workflowId: string, options?: ResumeOptions): Promise<string>;
  /**
   * Set by the host before every run, so runs can be resumed; the host refuses a workflow that already
   * has a store of its own (configure the store on the host instead).
   */
  withCheckpointStore(store: CheckpointStore): unknown;
  /** The store attached so far, if any. */
  readonly checkpointStore: CheckpointStore | undefined;
  /** Checked once by `createApi` and the host, so a broken workflow fails at startup. */
  validate(initial?: string): void;
  /** Listed by `GET /workflows`. */
  graph(): WorkflowGraph;
  /** Listed by `GET /workflows`. */
  toMermaid(): string;
}

/**
 * A workflow the API can start. `workflow` is drawn by `GET /workflows` and runs every start unless
 * `create` builds a fresh one per run from its input (the way to hand each run its own input, e.g.
 * in a new `MemoryStore` or in `resources`).
 */
export interface ApiWorkflow<TInput = unknown> {
  /** The workflow: its graph is listed, and it runs every start when there is no `create`. */
  readonly workflow: RunnableWorkflow;
  /** The state a run starts in. */
  readonly initial: string;
  /**
   * Validates the `input` of a start request. Every `z.object` in it is made strict, however deep
   * (unknown fields are rejected with 400, never stripped); `z.looseObject` keeps them. `createApi`
   * refuses a schema that cannot be made strict (an intersection of objects). Without it a start takes no input.
   */
  readonly input?: ZodType<TInput>;
  /** Builds the workflow for one run (start and resume); its checkpoint store is set by the host. */
  create?(input: TInput, runId: string): RunnableWorkflow;
  /** One line for `GET /workflows`. */
  readonly description?: string;
}

/** The registered workflows by name; names are URL path segments (`[A-Za-z0-9_.-]`, 1–64 characters). */
export type ApiWorkflows = Readonly<Record<string, ApiWorkflow<unknown>>>;

/**
 * Declares a workflow for the API with its input type inferred from the schema.
 *
 * @example
 * const order = apiWorkflow({
 *   workflow: buildOrder(),
 *   initial: "reserve",
 *   input: z.object({ sku: z.string(), quantity: z.number().int().positive() }),
 *   create: (input) => buildOrder(input),
 * });
 */
export function apiWorkflow<TInput>(spec: ApiWorkflow<TInput>): ApiWorkflow<TInput> {
  return spec;
}

const namePattern = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * @internal Throws a `configuration` error naming every bad entry: a name that is not a URL segment,
 * a missing workflow, or a workflow that fails `validate(initial)`.
 */
export function checkWorkflows(workflows: ApiWorkflows, component: string): void {
  if (typeof workflows !== "object" || workflows === null) {
    throw new CanoError(
      "configuration",
      `${component}: expected { workflows: { name: { workflow, initial } } }`,
    );
  }
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(workflows)) {
    if (!namePattern.test(name))
      problems.push(`"${name}" is not a usable name (expected 1–64 of A–Z a–z 0–9 _ . -)`);
    if (typeof spec?.workflow?.orchestrate !== "function") {
      problems.push(`"${name}" has no workflow (expected { workflow: new Workflow(…), initial })`);
      continue;
    }
    try {
      spec.workflow.validate(spec.initial);
    } catch (error) {
      problems.push(`"${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) {
    throw new CanoError("configuration", `${component}: bad workflows: ${problems.join("; ")}`);
  }
}

/**
 * @internal JSON with object keys sorted, so equal values compare equal whatever their key order.
 * Every own key counts, `__proto__` included (a parsed body can have one): the sorted copies have no
 * prototype, so no key is taken for a prototype setter.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== "object" || inner === null || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}
