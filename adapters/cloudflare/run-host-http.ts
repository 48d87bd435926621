import { errorResponse, RunHostRequestError } from "./run-host-error.ts";
import type { RunHostObject } from "./run-host-types.ts";

/** The body of `POST /start`. */
interface StartBody {
  readonly workflow: string;
  readonly input?: unknown;
  readonly runId?: string;
}

/**
 * @internal The run host's HTTP interface (what `RunHostClient` calls through the object's stub):
 * `POST /start` `{ workflow, input?, runId? }` → 202, `GET /status[?wait=idle]` → 200,
 * `POST /cancel` → 200, `GET /events[?after=N]` (or `Last-Event-ID`) → server-sent events.
 * Refusals are `{ error: { code, message } }` with 400, 404, 409 or 500.
 */
export async function serveRunHost(host: RunHostObject, request: Request): Promise<Response> {
  const { pathname, searchParams } = new URL(request.url);
  try {
    const route = `${request.method} ${pathname}`;
    switch (route) {
      case "POST /start": {
        const body = await startBody(request);
        const info = await host.start(
          body.workflow,
          body.input,
          body.runId === undefined ? {} : { runId: body.runId },
        );
        return Response.json(info, { status: 202 });
      }
      case "GET /status": {
        const info = searchParams.get("wait") === "idle" ? await host.idle() : host.status();
        if (info === undefined) throw noRun();
        return Response.json(info);
      }
      case "POST /cancel":
        return Response.json(await host.cancel());
      case "GET /events":
        return host.events(eventCursor(searchParams.get("after") ?? request.headers.get("last-event-id")));
      default:
        throw new RunHostRequestError(
          "invalid_request",
          `RunHost: no route for ${route}; expected POST /start, GET /status, POST /cancel or GET /events.`,
        );
    }
  } catch (error) {
    return errorResponse(error);
  }
}

function noRun(): RunHostRequestError {
  return new RunHostRequestError("unknown_run", "RunHost: this object has no run; start one first.");
}

async function startBody(request: Request): Promise<StartBody> {
  let body: unknown;
  try {
    body = await request.json();
  } catch (error) {
    throw new RunHostRequestError(
      "invalid_request",
      `RunHost: the start request body is not JSON (${error instanceof Error ? error.message : String(error)}); ` +
        'send { "workflow": "<name>", "input": … }.',
    );
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RunHostRequestError(
      "invalid_request",
      'RunHost: the start request body must be an object { "workflow", "input" }.',
    );
  }
  const { workflow, input, runId } = body as Record<string, unknown>;
  if (typeof workflow !== "string" || workflow === "") {
    throw new RunHostRequestError(
      "invalid_request",
      `RunHost: "workflow" must name a registered workflow, received ${JSON.stringify(workflow) ?? "nothing"}.`,
    );
  }
  if (runId !== undefined && typeof runId !== "string") {
    throw new RunHostRequestError(
      "invalid_request",
      `RunHost: "runId" must be a string, received ${JSON.stringify(runId)}.`,
    );
  }
  return { workflow, input, ...(runId === undefined ? {} : { runId }) };
}

/** The event id a stream resumes after: a whole number ≥ 0, else `invalid_request`. */
function eventCursor(text: string | null): number {
  if (text === null || text === "") return 0;
  const after = Number(text);
  if (Number.isSafeInteger(after) && after >= 0) return after;
  throw new RunHostRequestError(
    "invalid_request",
    `RunHost: the event cursor must be a whole number ≥ 0, received ${JSON.stringify(text)}.`,
  );
}
