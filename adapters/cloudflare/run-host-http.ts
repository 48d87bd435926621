import { errorResponse, noRunError, RunHostRequestError } from "./run-host-error.ts";
import type { RunHostObject } from "./run-host-types.ts";

/** The body of `POST /start`. */
interface StartBody {
  readonly workflow: string;
  readonly input?: unknown;
  readonly runId?: string;
}

/** The longest cancel reason kept. */
const maxReasonLength = 200;

/**
 * @internal The run host's HTTP interface (what `RunHostClient` calls through the object's stub):
 * `POST /start` `{ workflow, input?, runId? }` → 202, `GET /status[?wait=idle|history=1]` → 200,
 * `POST /cancel` `{ reason? }` → 200, `POST /resume` → 202, `GET /events[?after=N&history=only]` (or
 * `Last-Event-ID`) → server-sent events. Refusals are `{ error: { code, message } }` with 400, 404,
 * 409, 413 or 500; nothing thrown escapes as anything else.
 */
export async function serveRunHost(host: RunHostObject, request: Request): Promise<Response> {
  try {
    const { pathname, searchParams } = new URL(request.url);
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
        const info =
          searchParams.get("wait") === "idle"
            ? await host.idle()
            : searchParams.get("history") === "1"
              ? host.details()
              : host.status();
        if (info === undefined) throw noRunError();
        return Response.json(info);
      }
      case "POST /cancel":
        return Response.json(await host.cancel(await cancelReason(request)));
      case "POST /resume":
        return Response.json(await host.resume(), { status: 202 });
      case "GET /events":
        return host.events(eventCursor(searchParams.get("after") ?? request.headers.get("last-event-id")), {
          historyOnly: searchParams.get("history") === "only",
        });
      default:
        throw new RunHostRequestError(
          "invalid_request",
          `RunHost: no route for ${route}; expected POST /start, GET /status, POST /cancel, POST /resume or GET /events.`,
        );
    }
  } catch (error) {
    return errorResponse(error);
  }
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

/** The optional `{ reason }` of `POST /cancel`: an empty body is no reason. */
async function cancelReason(request: Request): Promise<string | undefined> {
  const text = await request.text();
  if (text.trim() === "") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RunHostRequestError(
      "invalid_request",
      'RunHost: the cancel body must be JSON { "reason"?: "…" }.',
    );
  }
  const reason = typeof body === "object" && body !== null ? (body as { reason?: unknown }).reason : body;
  if (reason === undefined) return undefined;
  if (typeof reason === "string" && reason.length <= maxReasonLength) return reason;
  throw new RunHostRequestError(
    "invalid_request",
    `RunHost: the cancel reason must be a string of at most ${maxReasonLength} characters.`,
  );
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
