import type { Context, Hono, MiddlewareHandler } from "hono";
import type { ZodType } from "zod";
import { z } from "zod";
import { ApiError } from "./api-error.ts";
import type { ApiWorkflow, ApiWorkflows } from "./api-workflow.ts";
import { parseWith, readJson } from "./body.ts";
import type { RunHost, StartOptions } from "./run-host.ts";

/** @internal The middleware the routes share. */
export interface Guards {
  /** Requires the bearer token. */
  readonly auth: MiddlewareHandler;
  /** Caps the body size (413). */
  readonly limit: MiddlewareHandler;
  /** Requires the token for reads when `protectReads` is on. */
  readonly readAuth: MiddlewareHandler | undefined;
}

/** A workflow as `GET /workflows` lists it. */
export interface WorkflowDescription {
  readonly name: string;
  readonly description?: string;
  readonly initial: string;
  /** JSON Schema of the start body's `input` (absent when the workflow takes none or has no JSON form). */
  readonly inputSchema?: unknown;
  readonly graph: ReturnType<ApiWorkflow["workflow"]["graph"]>;
  /** The graph as a Mermaid flowchart. */
  readonly mermaid: string;
}

/** Printable ASCII, as the Idempotency-Key draft allows, and short. */
const keyPattern = /^[\x21-\x7e]{1,255}$/;

/** @internal `GET /workflows`, `GET /workflows/:name` and `POST /workflows/:name/runs`. */
export function workflowRoutes(
  app: Hono,
  workflows: ApiWorkflows,
  startSchemas: ReadonlyMap<string, ZodType<{ input?: unknown }>>,
  host: RunHost,
  guards: Guards,
): void {
  const descriptions = new Map(
    Object.entries(workflows).map(([name, spec]) => [
      name,
      describe(name, spec, spec.input === undefined ? undefined : startSchemas.get(name)),
    ]),
  );
  const find = (name: string): ApiWorkflow<unknown> => {
    const spec = Object.hasOwn(workflows, name) ? workflows[name] : undefined;
    if (spec !== undefined) return spec;
    throw new ApiError(404, "unknown_workflow", `HTTP API: no workflow named "${name.slice(0, 64)}"`);
  };

  app.get("/workflows", (c) => c.json({ workflows: [...descriptions.values()].map((entry) => entry()) }));
  app.get("/workflows/:name", (c) => {
    const name = c.req.param("name");
    find(name);
    return c.json({ workflow: descriptions.get(name)!() });
  });

  app.post("/workflows/:name/runs", guards.auth, guards.limit, async (c) => {
    const name = c.req.param("name");
    const spec = find(name);
    const idempotencyKey = c.req.header("idempotency-key");
    if (idempotencyKey !== undefined && !keyPattern.test(idempotencyKey)) {
      throw new ApiError(
        400,
        "invalid_request",
        "HTTP API: the Idempotency-Key header must be 1–255 printable ASCII characters",
      );
    }
    const raw = await readJson(c, spec.input !== undefined);
    const body = parseWith(startSchemas.get(name)!, raw ?? {}, "the start request");
    const options: StartOptions = {
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      ...waitUntilOf(c),
    };
    const { run, created } = await host.start(name, body.input, options);
    c.header("Location", c.req.path.replace(/\/workflows\/[^/]+\/runs\/?$/, `/runs/${run.id}`));
    if (!created) c.header("Idempotent-Replayed", "true");
    return c.json({ run }, created ? 201 : 200);
  });
}

/** The listing of one workflow; its JSON Schema is made once, its graph on every call (edges are learned). */
function describe(
  name: string,
  spec: ApiWorkflow<unknown>,
  startSchema: ZodType | undefined,
): () => WorkflowDescription {
  const inputSchema = startSchema === undefined ? undefined : jsonSchemaOf(startSchema);
  return () => ({
    name,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    initial: spec.initial,
    ...(inputSchema === undefined ? {} : { inputSchema }),
    graph: spec.workflow.graph(),
    mermaid: spec.workflow.toMermaid(),
  });
}

function jsonSchemaOf(schema: ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { unrepresentable: "any" });
  } catch {
    // Some schemas (transforms, custom checks) have no JSON Schema form; the listing just omits it.
    return undefined;
  }
}

/** @internal Workers' `executionCtx.waitUntil`, so a run outlives the response there; nothing elsewhere. */
export function waitUntilOf(c: Context): Pick<StartOptions, "waitUntil"> {
  let ctx: { waitUntil(work: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    // Hono throws when the platform has no execution context (Node).
    return {};
  }
  return { waitUntil: (work) => ctx.waitUntil(work) };
}
