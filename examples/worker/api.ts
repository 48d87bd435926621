/**
 * The example Worker's HTTP API over run hosts: `POST /runs` starts a run in a new Durable Object,
 * `GET /runs/:id` reads it, `POST /runs/:id/cancel` stops it, `GET /runs/:id/events` streams its
 * events (server-sent events, history first). Refusals are JSON `{ error: { code, message } }` with
 * the run host's status (400 bad input, 404 unknown workflow or run, 409 conflict).
 */
import { isRunHostRequestError, RunHostClient, RunHostRequestError } from "cano/cloudflare";
import type { Env } from "./triggers.ts";
import { workflows } from "./workflows.ts";

const runPath = /^\/runs\/([^/]+)(\/cancel|\/events)?$/;

/** Answers one request of the example API. */
export async function handleApi(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  try {
    if (url.pathname === "/" && request.method === "GET") {
      return Response.json({
        workflows: Object.keys(workflows),
        routes: [
          "POST /runs { workflow, input }",
          "GET /runs/:id",
          "POST /runs/:id/cancel",
          "GET /runs/:id/events",
        ],
      });
    }
    if (url.pathname === "/runs" && request.method === "POST") return await startRun(request, env);
    const match = runPath.exec(url.pathname);
    if (match !== null) {
      const run = RunHostClient.forRun(env.RUN_HOST, decodeURIComponent(match[1] ?? ""));
      const action = `${request.method} ${match[2] ?? ""}`;
      if (action === "GET ") {
        const info = await run.status();
        if (info === undefined) throw new RunHostRequestError("unknown_run", `No run with id "${match[1]}".`);
        return Response.json(info);
      }
      if (action === "POST /cancel") return Response.json(await run.cancel());
      if (action === "GET /events") {
        const after = url.searchParams.get("after") ?? request.headers.get("last-event-id");
        return await run.events(after === null ? {} : { after: Number(after) });
      }
    }
    return Response.json(
      { error: { code: "not_found", message: `No route for ${request.method} ${url.pathname}.` } },
      { status: 404 },
    );
  } catch (error) {
    if (isRunHostRequestError(error)) {
      return Response.json({ error: { code: error.code, message: error.message } }, { status: error.status });
    }
    throw error;
  }
}

async function startRun(request: Request, env: Env): Promise<Response> {
  let body: { workflow?: unknown; input?: unknown };
  try {
    body = (await request.json()) as typeof body;
  } catch {
    throw new RunHostRequestError(
      "invalid_request",
      'The body must be JSON: { "workflow": "<name>", "input": … }.',
    );
  }
  if (typeof body !== "object" || body === null || typeof body.workflow !== "string") {
    throw new RunHostRequestError(
      "invalid_request",
      'The body must name a workflow: { "workflow": "<name>", "input": … }.',
    );
  }
  const runId = crypto.randomUUID();
  const info = await RunHostClient.forRun(env.RUN_HOST, runId).start(body.workflow, body.input);
  return Response.json(info, { status: 202, headers: { location: `/runs/${runId}` } });
}
