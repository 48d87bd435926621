/**
 * HTTP API: serve workflows over HTTP on Node, and drive them with curl.
 *
 * Shows: `createApi({ workflows, host, token })` from `cano/http` served by `@hono/node-server` on
 * 127.0.0.1, a zod-validated start body (unknown fields are rejected), runs executing in this
 * process (`InProcessRunHost`), and the printed curl commands: list workflows, start a run with an
 * idempotency key, read its status, follow its events live (server-sent events) or page them as
 * JSON, cancel with a reason, resume.
 * It keeps serving until Ctrl+C. Options: `--port <n>` (default 8080; 0 picks a free one).
 */
import { serve } from "@hono/node-server";
import { exponential, MemoryStore, task, timer, Workflow } from "cano";
import { apiWorkflow, createApi, InProcessRunHost } from "cano/http";
import { z } from "zod";

type State = "reserve" | "charge" | "ship" | "done";

/** What `POST /workflows/order/runs` accepts as `input`. */
const Order = z.object({
  sku: z.string().min(1).max(40),
  quantity: z.number().int().min(1).max(100),
});
type Order = z.infer<typeof Order>;

/** One workflow per run, so each run has its own input and store; the timers make progress visible. */
function orderWorkflow(order?: Order) {
  let chargeCalls = 0;
  return new Workflow<State>({ store: new MemoryStore(), name: "order" })
    .register("reserve", timer({ to: ["charge"], wait: 400, afterWait: () => "charge" }))
    .register(
      "charge",
      task({
        to: ["ship"],
        retry: exponential(3, { baseMs: 200 }),
        run: async () => {
          // The payment provider is flaky: its first call fails and the retry succeeds.
          if (++chargeCalls === 1) throw new Error(`502 from the payment provider (sku ${order?.sku})`);
          return "ship";
        },
      }),
    )
    .register("ship", timer({ to: ["done"], wait: 400, afterWait: () => "done" }))
    .exit("done");
}

const workflows = {
  order: apiWorkflow({
    workflow: orderWorkflow(),
    initial: "reserve",
    input: Order,
    create: (order) => orderWorkflow(order),
    description: "reserve → charge (retried once) → ship → done, about a second in all",
  }),
};

const portFlag = process.argv.indexOf("--port");
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : 8080;
const token = process.env.CANO_API_TOKEN ?? "demo-token";
const host = new InProcessRunHost({ workflows });
const app = createApi({ workflows, host, token });

const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, (info) => {
  const url = `http://127.0.0.1:${info.port}`;
  const auth = `-H 'Authorization: Bearer ${token}'`;
  const json = "-H 'Content-Type: application/json'";
  console.log(`Cano HTTP API listening on ${url}`);
  if (process.env.CANO_API_TOKEN === undefined)
    console.log(`Demo token: ${token} (set CANO_API_TOKEN to use your own)`);
  console.log(`
  # the workflows, with their graphs
  curl -s ${url}/workflows

  # start a run (a retry with the same Idempotency-Key returns the same run)
  curl -s -X POST ${url}/workflows/order/runs ${auth} ${json} \\
       -H 'Idempotency-Key: order-1' -d '{"input":{"sku":"A-1","quantity":2}}'

  # its status, current state and history; its events, live (replace RUN_ID), or as JSON pages
  curl -s ${url}/runs/RUN_ID
  curl -N ${url}/runs/RUN_ID/events
  curl -s '${url}/runs/RUN_ID/events?limit=5' -H 'Accept: application/json'   # then ?after=<nextAfter>

  # cancel it (the reason is kept in its error) or resume it, and list runs
  curl -s -X POST ${url}/runs/RUN_ID/cancel ${auth} ${json} -d '{"reason":"changed my mind"}'
  curl -s -X POST ${url}/runs/RUN_ID/resume ${auth}
  curl -s '${url}/runs?limit=10' ${auth}

  # rejected: an unknown field (400), no token (401)
  curl -s -X POST ${url}/workflows/order/runs ${auth} ${json} -d '{"input":{"sku":"A-1","quantity":2,"color":"red"}}'
  curl -s -X POST ${url}/workflows/order/runs ${json} -d '{"input":{"sku":"A-1","quantity":2}}'

Press Ctrl+C to stop.`);
});

function stop() {
  // Runs still going end with the process. With a durable store, new InProcessRunHost({ workflows, store })
  // (set on the host, never on the workflows), they could be resumed.
  server.close();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
