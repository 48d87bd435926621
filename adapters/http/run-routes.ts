import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { ApiError } from "./api-error.ts";
import type { ApiWorkflows } from "./api-workflow.ts";
import { parseWith, readJson, wholeNumber } from "./body.ts";
import type { RunDetails, RunEventRecord, RunHost, RunPage } from "./run-host.ts";
import { isFinished, isRunHostError, runStatuses } from "./run-host.ts";
import { streamEvents } from "./sse.ts";
import type { Guards } from "./workflow-routes.ts";
import { waitUntilOf } from "./workflow-routes.ts";

/** @internal The settings the run routes read. */
export interface RunRouteSettings {
  readonly heartbeatMs: number;
  readonly onError: (error: unknown) => void;
}

/** Events per page of `GET /runs/:id/events` as JSON: by default, and at most. */
const eventPage = { default: 100, max: 1000 } as const;

const listQuery = z.strictObject({
  limit: wholeNumber(1, 100).default(20),
  cursor: z.string().max(64).optional(),
  workflow: z.string().max(64).optional(),
  status: z.enum(runStatuses).optional(),
});
const eventsQuery = z.strictObject({
  after: wholeNumber(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: wholeNumber(1, eventPage.max).default(eventPage.default),
});
const cancelBody = z.strictObject({ reason: z.string().max(200).optional() });
const resumeBody = z.strictObject({});
const passThrough: MiddlewareHandler = (_c, next) => next();
/** Run ids are UUIDs here; other hosts may use other ids, but never long or odd ones. */
const runIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A page of a run's events as JSON; `nextAfter` (the `after` of the next page) while more are retained. */
export interface RunEventPage {
  readonly events: readonly RunEventRecord[];
  readonly lastEventId: number;
  readonly status: RunDetails["status"];
  readonly nextAfter?: number;
}

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
    const query = parseWith(listQuery, c.req.query(), "the query", "query");
    if (query.workflow !== undefined && !Object.hasOwn(workflows, query.workflow))
      throw new ApiError(404, "unknown_workflow", `HTTP API: no workflow named "${query.workflow}"`);
    return c.json(await listRuns(host, query));
  });

  app.get("/runs/:id", read, async (c) => c.json({ run: await findRun(host, c) }));

  app.get("/runs/:id/events", read, async (c) => {
    const run = await findRun(host, c);
    const query = parseWith(eventsQuery, c.req.query(), "the query", "query");
    const header = lastEventId(c, run);
    if (query.after !== undefined && query.after > run.lastEventId) {
      throw new ApiError(
        400,
        "invalid_query",
        `HTTP API: after=${query.after} is past the run's last event (${run.lastEventId})`,
        {
          issues: [{ path: "after", message: `expected at most ${run.lastEventId}, the run's lastEventId` }],
        },
      );
    }
    const after = header ?? query.after ?? 0;
    const accept = c.req.header("accept") ?? "";
    const json = accept.includes("application/json") && !accept.includes("text/event-stream");
    const ended = isFinished(run.status) && after >= run.lastEventId;
    // Hono answers HEAD with the GET handler and drops the body: a stream would never be read or
    // cancelled, so its reader, heartbeat and buffered writes would stay forever. Headers only.
    if (c.req.method === "HEAD") {
      if (json) return c.body(null, 200, { "Content-Type": "application/json" });
      return ended ? c.body(null, 204) : c.body(null, 200, { "Content-Type": "text/event-stream" });
    }
    if (json) return c.json(await eventPageOf(host, run, after, query.limit));
    // An EventSource reconnects when a stream closes; 204 tells it to stop once nothing more can come.
    if (ended) return c.body(null, 204);
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
    return c.json({ run: await host.resume(run.id, waitUntilOf(c)) }, 202);
  });
}

/** A page of runs; a cursor the host does not know is a query problem like any other. */
async function listRuns(host: RunHost, query: z.output<typeof listQuery>): Promise<RunPage> {
  try {
    return await host.list(query);
  } catch (error) {
    if (isRunHostError(error) && error.code === "invalid_request") {
      throw new ApiError(400, "invalid_query", error.message, {
        issues: [{ path: "cursor", message: "not a cursor this API returned" }],
      });
    }
    throw error;
  }
}

/** Up to `limit` retained events after `after`, and where the next page starts when there are more. */
async function eventPageOf(
  host: RunHost,
  run: RunDetails,
  after: number,
  limit: number,
): Promise<RunEventPage> {
  const events: RunEventRecord[] = [];
  let more = false;
  for await (const entry of host.events(run.id, { after, historyOnly: true })) {
    // One past the page says whether there is a next one; leaving the loop releases the reader.
    if (events.length === limit) {
      more = true;
      break;
    }
    events.push(entry);
  }
  const last = events.at(-1);
  return {
    events,
    lastEventId: Math.max(run.lastEventId, last?.id ?? 0),
    status: run.status,
    ...(more && last !== undefined ? { nextAfter: last.id } : {}),
  };
}

async function findRun(host: RunHost, c: Context): Promise<RunDetails> {
  const id = c.req.param("id") ?? "";
  const run = runIdPattern.test(id) ? await host.status(id) : undefined;
  if (run === undefined)
    throw new ApiError(404, "unknown_run", `HTTP API: no run with id "${id.slice(0, 128)}"`);
  return run;
}

/**
 * The `Last-Event-ID` header a reconnecting `EventSource` sends: digits only, and never past the run's
 * last event (such an id was not sent by this API, e.g. it belongs to another run).
 */
function lastEventId(c: Context, run: RunDetails): number | undefined {
  const header = c.req.header("last-event-id")?.trim();
  if (header === undefined || header === "") return undefined;
  const value = /^\d{1,16}$/.test(header) ? Number(header) : Number.NaN;
  if (value <= run.lastEventId) return value;
  throw new ApiError(
    400,
    "invalid_request",
    Number.isNaN(value)
      ? "HTTP API: Last-Event-ID must be an event id this API sent (digits only)"
      : `HTTP API: Last-Event-ID ${value} is past the run's last event (${run.lastEventId}); it was not sent for this run`,
  );
}
