import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { ApiError } from "./api-error.ts";
import type { ApiWorkflows } from "./api-workflow.ts";
import { parseWith, readJson } from "./body.ts";
import type { RunDetails, RunEventRecord, RunHost } from "./run-host.ts";
import { isFinished, runStatuses } from "./run-host.ts";
import { streamEvents } from "./sse.ts";
import type { Guards } from "./workflow-routes.ts";

/** @internal The settings the run routes read. */
export interface RunRouteSettings {
  readonly heartbeatMs: number;
  readonly onError: (error: unknown) => void;
}

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
  workflow: z.string().max(64).optional(),
  status: z.enum(runStatuses).optional(),
});
const eventId = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const eventsQuery = z.strictObject({ after: eventId.optional() });
const cancelBody = z.strictObject({ reason: z.string().max(200).optional() });
const resumeBody = z.strictObject({});
const passThrough: MiddlewareHandler = (_c, next) => next();
/** Run ids are UUIDs here; other hosts may use other ids, but never long or odd ones. */
const runIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

/** @internal `GET /runs`, `GET /runs/:id`, `GET /runs/:id/events`, `POST /runs/:id/cancel|resume`. */
export function runRoutes(
  app: Hono,
  workflows: ApiWorkflows,
  host: RunHost,
  guards: Guards,
  settings: RunRouteSettings,
): void {
  const read = guards.readAuth ?? passThrough;

  app.get("/runs", guards.auth, async (c) => {
    const query = parseWith(listQuery, c.req.query(), "the query");
    if (query.workflow !== undefined && !Object.hasOwn(workflows, query.workflow))
      throw new ApiError(404, "unknown_workflow", `HTTP API: no workflow named "${query.workflow}"`);
    return c.json(await host.list(query));
  });

  app.get("/runs/:id", read, async (c) => c.json({ run: await findRun(host, c) }));

  app.get("/runs/:id/events", read, async (c) => {
    const run = await findRun(host, c);
    const query = parseWith(eventsQuery, c.req.query(), "the query");
    const after = lastEventId(c) ?? query.after ?? 0;
    const accept = c.req.header("accept") ?? "";
    if (accept.includes("application/json") && !accept.includes("text/event-stream")) {
      const events: RunEventRecord[] = [];
      for await (const entry of host.events(run.id, { after, historyOnly: true })) events.push(entry);
      return c.json({ events, lastEventId: run.lastEventId, status: run.status });
    }
    // An EventSource reconnects when a stream closes; 204 tells it to stop once nothing more can come.
    if (isFinished(run.status) && after >= run.lastEventId) return c.body(null, 204);
    return streamEvents(c, {
      host,
      runId: run.id,
      after,
      heartbeatMs: settings.heartbeatMs,
      report: settings.onError,
    });
  });

  app.post("/runs/:id/cancel", guards.auth, guards.limit, async (c) => {
    const body = parseWith(cancelBody, (await readJson(c, false)) ?? {}, "the cancel request");
    const run = await findRun(host, c);
    return c.json({ run: await host.cancel(run.id, body.reason) }, 202);
  });

  app.post("/runs/:id/resume", guards.auth, guards.limit, async (c) => {
    parseWith(resumeBody, (await readJson(c, false)) ?? {}, "the resume request");
    const run = await findRun(host, c);
    return c.json({ run: await host.resume(run.id) }, 202);
  });
}

async function findRun(host: RunHost, c: Context): Promise<RunDetails> {
  const id = c.req.param("id") ?? "";
  const run = runIdPattern.test(id) ? await host.status(id) : undefined;
  if (run === undefined)
    throw new ApiError(404, "unknown_run", `HTTP API: no run with id "${id.slice(0, 128)}"`);
  return run;
}

/** The `Last-Event-ID` header a reconnecting `EventSource` sends, checked. */
function lastEventId(c: Context): number | undefined {
  const header = c.req.header("last-event-id");
  if (header === undefined || header.trim() === "") return undefined;
  const parsed = eventId.safeParse(header.trim());
  if (parsed.success) return parsed.data;
  throw new ApiError(
    400,
    "invalid_request",
    "HTTP API: Last-Event-ID must be an event id this API sent (an integer ≥ 0)",
  );
}
