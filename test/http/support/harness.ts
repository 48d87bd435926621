import type { ApiOptions, RunInfo } from "cano/http";
import { createApi, InProcessRunHost } from "cano/http";
import type { Listening } from "./server.ts";
import { listen } from "./server.ts";
import type { Switches } from "./workflows.ts";
import { Gates, switches, testWorkflows } from "./workflows.ts";

/** The token the tests configure. */
export const token = "test-token_0123456789abcdef";

/** A running API over a real socket, with the handles a test steps it with. */
export interface Harness {
  readonly gates: Gates;
  readonly switches: Switches;
  readonly host: InProcessRunHost;
  readonly server: Listening;
  /** `fetch` against the server; `path` starts with `/`. */
  readonly call: (path: string, init?: RequestInit) => Promise<Response>;
  /** POSTs `body` as JSON with the test token (unless `headers` replaces the Authorization). */
  readonly post: (path: string, body?: unknown, headers?: Record<string, string>) => Promise<Response>;
  /** Starts a run of `workflow` and returns it (fails the test unless the API answers 201). */
  readonly start: (workflow: string, input?: unknown) => Promise<RunInfo>;
}

const open: Harness[] = [];

/** Serves a fresh API (fresh host, gates and switches) on 127.0.0.1; `closeAll` stops it. */
export async function harness(options: Partial<ApiOptions> = {}): Promise<Harness> {
  const gates = new Gates();
  const flags = switches();
  const workflows = testWorkflows(gates, flags);
  const host = new InProcessRunHost({ workflows });
  const server = await listen(createApi({ workflows, host, token, ...options }));
  const call = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const start = async (workflow: string, input?: unknown) => {
    const response = await post(`/workflows/${workflow}/runs`, input === undefined ? {} : { input });
    const body = (await response.json()) as { run: RunInfo };
    if (response.status !== 201)
      throw new Error(`start answered ${response.status}: ${JSON.stringify(body)}`);
    return body.run;
  };
  const made: Harness = { gates, switches: flags, host, server, call, post, start };
  open.push(made);
  return made;
}

/** Stops every harness started so far (after the host's runs settle). */
export async function closeAll(): Promise<void> {
  for (const made of open.splice(0)) {
    await made.server.close();
  }
}

/** The JSON body of a response, typed by the caller. */
export async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
