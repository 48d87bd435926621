// The saga is the example Worker's "order" workflow itself: one file, run in the tab and on the Worker.
import sagaPayment from "../../examples/worker/order.ts?raw";
import agentChain from "../examples/agent-chain.ts?raw";
import etlSplitJoin from "../examples/etl-split-join.ts?raw";
import pollUntilReady from "../examples/poll-until-ready.ts?raw";
import retryCircuitBreaker from "../examples/retry-circuit-breaker.ts?raw";
import scatterGather from "../examples/scatter-gather.ts?raw";
import scheduledReport from "../examples/scheduled-report.ts?raw";
import streamWindows from "../examples/stream-windows.ts?raw";
import type { Speed } from "./runtime/clock-driver.ts";

/** A workflow the gallery offers. */
export interface Example {
  readonly id: string;
  readonly title: string;
  /** One line: what it shows. */
  readonly blurb: string;
  /** The TypeScript source, as the editor shows it. */
  readonly source: string;
  /** The clock speed it is best watched at. */
  readonly speed: Speed;
}

/** Every example, in the order the gallery shows them. */
export const gallery: readonly Example[] = [
  {
    id: "agent-chain",
    title: "AI-agent chain",
    blurb: "plan → research (retried) → draft ⇄ critique → publish",
    source: agentChain,
    speed: 1,
  },
  {
    id: "etl-split-join",
    title: "ETL split/join",
    blurb: "four branches, all(), bulkhead 2, one retried",
    source: etlSplitJoin,
    speed: 1,
  },
  {
    id: "scatter-gather",
    title: "Scatter-gather",
    blurb: "quorum(2), then partialTimeout() cancels the slow one",
    source: scatterGather,
    speed: 1,
  },
  {
    id: "saga-payment",
    title: "Saga payment",
    blurb: "shipping fails: refund, then release; also on the Worker",
    source: sagaPayment,
    speed: 1,
  },
  {
    id: "retry-circuit-breaker",
    title: "Retry + breaker",
    blurb: "backoff, breaker opens, half-open probe, closes",
    source: retryCircuitBreaker,
    speed: 100,
  },
  {
    id: "poll-until-ready",
    title: "Poll until ready",
    blurb: "pending(2 s) until done; a flaky 502 tolerated",
    source: pollUntilReady,
    speed: 10,
  },
  {
    id: "stream-windows",
    title: "Stream windows",
    blurb: "batches of 3, a cursor committed after each",
    source: streamWindows,
    speed: 1,
  },
  {
    id: "scheduled-report",
    title: "Scheduled (cron)",
    blurb: "every minute on the minute, three runs",
    source: scheduledReport,
    speed: 100,
  },
];

/** The example with `id`, if any. */
export function exampleById(id: string): Example | undefined {
  return gallery.find((example) => example.id === id);
}
