import type { WorkflowEvent, WorkflowGraph } from "cano";
import { demoHoldMs, demoOrder } from "../../examples/worker/order.ts";

/**
 * Edge mode: the same page, served by `npm start` together with the example Worker, starts a run on
 * the Worker's run host through its HTTP API and reads the run's events back over SSE. The Worker can
 * only run the workflows compiled into it, so only gallery examples with a counterpart there can run
 * on it, and only unedited.
 */

/** A gallery example's counterpart in the Worker (examples/worker/workflows.ts). */
export interface WorkerCounterpart {
  /** The Worker's workflow name (`POST /workflows/:name/runs`). */
  readonly workflow: string;
  readonly input: unknown;
  /** How the Worker's workflow relates to the gallery code, shown next to the button. */
  readonly note: string;
}

/** The gallery examples the Worker also runs, by example id. */
export const workerCounterparts: Readonly<Record<string, WorkerCounterpart>> = {
  "saga-payment": {
    workflow: "order",
    // The order the gallery code runs in the tab (examples/worker/order.ts: demoOrder, demoHoldMs).
    input: { ...demoOrder, holdMs: demoHoldMs },
    note: "Same code on the Worker: examples/worker/order.ts",
  },
};

const tokenKey = "cano-playground:api-token";

/**
 * The API token `npm start` handed over in the URL (`?token=…`): kept for this tab's session and
 * removed from the address bar, so a shared link never carries it.
 */
export function takeToken(): string | undefined {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl !== null) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    try {
      sessionStorage.setItem(tokenKey, fromUrl);
    } catch {
      // No session storage: the token lives as long as the page.
    }
    return fromUrl;
  }
  try {
    return sessionStorage.getItem(tokenKey) ?? undefined;
  } catch {
    return undefined;
  }
}

/** How a Worker run ended, from its SSE `end` event. */
export interface WorkerRunEnd {
  readonly status: string;
  readonly state?: string;
  readonly error?: { readonly message: string };
}

/** One item of a Worker run's stream. */
export type WorkerStreamItem =
  | { readonly kind: "event"; readonly event: WorkflowEvent }
  | { readonly kind: "end"; readonly run: WorkerRunEnd };

/** The local Worker's API, from the page's own origin. */
export class WorkerApi {
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  /** The graph of the Worker's `workflow`, or `undefined` if this origin has no Worker serving it. */
  async graph(workflow: string): Promise<WorkflowGraph | undefined> {
    const response = await fetch(`/workflows/${encodeURIComponent(workflow)}`, {
      headers: { accept: "application/json" },
    }).catch(() => undefined);
    if (response?.ok !== true || !response.headers.get("content-type")?.includes("json")) return undefined;
    const body = (await response.json()) as { workflow?: { graph?: WorkflowGraph } };
    return body.workflow?.graph;
  }

  /** Starts a run of `workflow` and returns its id. */
  async start(workflow: string, input: unknown): Promise<string> {
    const response = await fetch(`/workflows/${encodeURIComponent(workflow)}/runs`, {
      method: "POST",
      headers: { ...this.#auth(), "content-type": "application/json" },
      body: JSON.stringify({ input }),
    });
    const body = (await response.json()) as { run?: { id: string }; error?: { message: string } };
    if (!response.ok || body.run === undefined)
      throw new Error(body.error?.message ?? `the Worker answered ${response.status}`);
    return body.run.id;
  }

  /** Asks the Worker to cancel the run (its saga steps are compensated there). */
  async cancel(runId: string): Promise<void> {
    await fetch(`/runs/${encodeURIComponent(runId)}/cancel`, {
      method: "POST",
      headers: { ...this.#auth(), "content-type": "application/json" },
      body: JSON.stringify({ reason: "cancelled from the playground" }),
    }).catch(() => {});
  }

  /** The run's events as the Worker streams them (SSE), then how it ended. */
  async *events(runId: string, signal: AbortSignal): AsyncGenerator<WorkerStreamItem> {
    const response = await fetch(`/runs/${encodeURIComponent(runId)}/events`, {
      headers: { ...this.#auth(), accept: "text/event-stream" },
      signal,
    });
    if (!response.ok || response.body === null)
      throw new Error(`the Worker's event stream answered ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value.replace(/\r\n?/g, "\n");
        let cut = buffer.indexOf("\n\n");
        while (cut >= 0) {
          const item = parseMessage(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf("\n\n");
          if (item === undefined) continue;
          yield item;
          if (item.kind === "end") return;
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  #auth(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}` };
  }
}

/** One SSE message as a stream item; comments and keep-alives are `undefined`; an `error` event throws. */
function parseMessage(block: string): WorkerStreamItem | undefined {
  let type = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  const parsed = JSON.parse(data.join("\n")) as unknown;
  if (type === "end") return { kind: "end", run: (parsed as { run: WorkerRunEnd }).run };
  if (type === "error") {
    const message = (parsed as { error?: { message?: string } }).error?.message;
    throw new Error(message ?? "the Worker's event stream failed");
  }
  return { kind: "event", event: parsed as WorkflowEvent };
}
