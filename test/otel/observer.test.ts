import { SpanStatusCode } from "@opentelemetry/api";
import type { DataPoint, Histogram, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  all,
  CircuitBreaker,
  fixed,
  MemoryCheckpointStore,
  none,
  PermanentError,
  saga,
  task,
  Workflow,
} from "cano";
import { canoMetricNames, canoMetricsNotEmitted, OtelObserver } from "cano/otel";
import { VirtualClock } from "cano/testing";
import { afterEach, describe, expect, it } from "vitest";
import { failure, settle } from "../support/runs.ts";

/** An observer wired to the SDK's in-memory exporters. */
function telemetry(options: { graph?: Parameters<typeof otelFor>[2] } = {}) {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const otel = otelFor(tracerProvider, meterProvider, options.graph);
  const shutdown = async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  };
  providers.push(shutdown);
  return {
    otel,
    spans: () => spans.getFinishedSpans(),
    metrics: async () => {
      await reader.forceFlush();
      return exporter.getMetrics().at(-1)!;
    },
  };
}

function otelFor(
  tracerProvider: BasicTracerProvider,
  meterProvider: MeterProvider,
  graph: ReturnType<Workflow<string>["graph"]> | undefined,
) {
  return new OtelObserver({
    tracer: tracerProvider.getTracer("test"),
    meter: meterProvider.getMeter("test"),
    attributes: { "cano.workflow": "test" },
    ...(graph === undefined ? {} : { graph }),
  });
}

const providers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const shutdown of providers.splice(0)) await shutdown();
});

/** The points of one metric, as `labels → value` (sum for counters, count for histograms). */
function points(resource: ResourceMetrics, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const scope of resource.scopeMetrics)
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints as DataPoint<number | Histogram>[]) {
        const { "cano.workflow": _workflow, ...labels } = point.attributes;
        const value = typeof point.value === "number" ? point.value : point.value.count;
        found.set(JSON.stringify(labels), value);
      }
    }
  return found;
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

type S = "fetch" | "store" | "done";

function flaky(clock: VirtualClock, failures: number) {
  let calls = 0;
  return new Workflow<S>()
    .withClock(clock)
    .register(
      "fetch",
      task({
        to: ["store"],
        retry: fixed(3, 100),
        run: async () => {
          if (++calls <= failures) throw new Error(`503 (call ${calls})`);
          return "store";
        },
      }),
    )
    .register("store", task({ to: ["done"], run: async () => "done" }))
    .exit("done");
}

describe("OtelObserver spans", () => {
  it("nests run → state → attempt, ends failed attempts as errors and marks retries", async () => {
    const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
    const { otel, spans } = telemetry();
    const wf = flaky(clock, 2).withObserver(otel);
    expect(await settle(clock, wf.orchestrate("fetch", { workflowId: "run-1" }))).toBe("done");

    const finished = spans();
    const [run] = named(finished, "cano.run");
    expect(run).toBeDefined();
    expect(run!.attributes).toMatchObject({
      "cano.workflow": "test",
      "cano.workflow_id": "run-1",
      "cano.outcome": "completed",
      "cano.final_state": "done",
    });
    expect(run!.status.code).toBe(SpanStatusCode.OK);
    const states = named(finished, "cano.state");
    expect(states.map((span) => span.attributes["cano.state"])).toEqual(["fetch", "store", "done"]);
    expect(states.every((span) => parentOf(span) === run!.spanContext().spanId)).toBe(true);

    const fetchState = states[0]!;
    const attempts = named(finished, "cano.attempt").filter(
      (span) => span.attributes["cano.task"] === "fetch",
    );
    expect(attempts.map((span) => [span.attributes["cano.attempt"], span.status.code])).toEqual([
      [1, SpanStatusCode.ERROR],
      [2, SpanStatusCode.ERROR],
      [3, SpanStatusCode.OK],
    ]);
    expect(attempts.every((span) => parentOf(span) === fetchState.spanContext().spanId)).toBe(true);
    expect(attempts[0]!.events.map((event) => event.name)).toEqual(["exception"]);
    // The next attempt starts when the backoff is over, 100 ms of virtual time later.
    const gapMs =
      (attempts[1]!.startTime[0] - attempts[0]!.endTime[0]) * 1000 +
      (attempts[1]!.startTime[1] - attempts[0]!.endTime[1]) / 1e6;
    expect(gapMs).toBe(100);
    const retries = fetchState.events.filter((event) => event.name === "retry");
    expect(retries.map((event) => event.attributes?.["cano.attempt"])).toEqual([1, 2]);
    expect(new Set(finished.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(otel.openRuns).toBe(0);
  });

  it("records compensations as spans under the run and events on it, and fails the run span", async () => {
    const { otel, spans } = telemetry();
    type P = "reserve" | "charge" | "ship" | "done";
    const undone: string[] = [];
    const wf = new Workflow<P>()
      .withObserver(otel)
      .registerWithCompensation(
        "reserve",
        saga({
          to: ["charge"],
          run: async () => ({ next: "charge", output: "rsv-1" }),
          compensate: async (id) => void undone.push(id),
        }),
      )
      .registerWithCompensation(
        "charge",
        saga({
          to: ["ship"],
          run: async () => ({ next: "ship", output: "ch-1" }),
          compensate: async () => {
            throw new Error("refund API down");
          },
        }),
      )
      .register(
        "ship",
        task({
          to: ["done"],
          run: async () => {
            throw new PermanentError("address rejected");
          },
        }),
      )
      .exit("done");
    await failure(wf.orchestrate("reserve"));

    const finished = spans();
    const run = named(finished, "cano.run")[0]!;
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    expect(run.attributes["cano.outcome"]).toBe("failed");
    const compensations = named(finished, "cano.compensate");
    expect(compensations.map((span) => [span.attributes["cano.task"], span.status.code])).toEqual([
      ["charge", SpanStatusCode.ERROR],
      ["reserve", SpanStatusCode.UNSET],
    ]);
    expect(compensations.every((span) => parentOf(span) === run.spanContext().spanId)).toBe(true);
    expect(
      run.events.filter((event) => event.name === "compensation").map((e) => e.attributes?.["cano.ok"]),
    ).toEqual([false, true]);
    expect(undone).toEqual(["rsv-1"]);
    expect(otel.openRuns).toBe(0);
  });

  it("marks an open breaker on the state span, and records split branches", async () => {
    const { otel, spans } = telemetry();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    type B = "call" | "done";
    const wf = new Workflow<B>()
      .withObserver(otel)
      .register(
        "call",
        task({
          to: ["done"],
          retry: none(),
          circuitBreaker: breaker,
          run: async () => {
            throw new Error("down");
          },
        }),
      )
      .exit("done");
    await failure(wf.orchestrate("call"));
    const refused = await failure(wf.orchestrate("call"));
    expect(refused.code).toBe("circuit_open");
    const states = named(spans(), "cano.state");
    expect(states[1]!.events.map((event) => event.name)).toContain("circuit_open");

    type F = "fan" | "merge" | "done";
    const split = new Workflow<F>()
      .withObserver(otel)
      .registerSplit(
        "fan",
        [
          task({ run: async () => 1 }),
          task({
            retry: none(),
            run: async () => {
              throw new Error("branch broke");
            },
          }),
        ],
        { strategy: all(), joinState: "merge" },
      )
      .register("merge", task({ to: ["done"], run: async () => "done" }))
      .exit("done");
    await failure(split.orchestrate("fan"));
    const fan = named(spans(), "cano.state").find((span) => span.attributes["cano.state"] === "fan")!;
    expect(fan.events.map((event) => event.name)).toEqual(
      expect.arrayContaining(["split_start", "branch_settled", "join"]),
    );
    const branches = named(spans(), "cano.attempt").filter(
      (span) => parentOf(span) === fan.spanContext().spanId,
    );
    expect(branches).toHaveLength(2);
    expect(otel.openRuns).toBe(0);
  });

  it("ends every span of a cancelled run, with an unset status and the outcome attribute", async () => {
    const { otel, spans } = telemetry();
    const controller = new AbortController();
    type W = "wait" | "done";
    const wf = new Workflow<W>()
      .withObserver(otel)
      .register(
        "wait",
        task({
          to: ["done"],
          run: async ({ signal }) => {
            controller.abort();
            await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
            return "done";
          },
        }),
      )
      .exit("done");
    expect((await failure(wf.orchestrate("wait", { signal: controller.signal }))).code).toBe("cancelled");
    const run = named(spans(), "cano.run")[0]!;
    expect(run.attributes["cano.outcome"]).toBe("cancelled");
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
    expect(run.events.map((event) => event.name)).toContain("cancelled");
    expect(named(spans(), "cano.attempt")).toHaveLength(1);
    expect(otel.openRuns).toBe(0);
  });
});

describe("OtelObserver with checkpoints", () => {
  it("adds checkpoint events to states, a resume event to the run, and counts both", async () => {
    const { otel, spans, metrics } = telemetry();
    const store = new MemoryCheckpointStore();
    let fail = true;
    type D = "load" | "save" | "done";
    const build = () =>
      new Workflow<D>()
        .withObserver(otel)
        .withCheckpointStore(store)
        .register("load", task({ to: ["save"], run: async () => "save" }))
        .register(
          "save",
          task({
            to: ["done"],
            retry: none(),
            run: async () => {
              if (fail) throw new Error("disk full");
              return "done";
            },
          }),
        )
        .exit("done");
    await failure(build().orchestrate("load", { workflowId: "durable-1" }));
    fail = false;
    expect(await build().resumeFrom("durable-1")).toBe("done");

    const runs = named(spans(), "cano.run");
    expect(runs.map((span) => span.attributes["cano.outcome"])).toEqual(["failed", "completed"]);
    expect(runs[1]!.attributes["cano.resumed"]).toBe(true);
    expect(runs[1]!.events.map((event) => event.name)).toContain("resume");
    const load = named(spans(), "cano.state").find((span) => span.attributes["cano.state"] === "load")!;
    expect(load.events.find((event) => event.name === "checkpoint")?.attributes).toEqual({
      "cano.sequence": 0,
      "cano.kind": "state",
    });
    const resource = await metrics();
    expect(points(resource, "cano_resumes_total").get("{}")).toBe(1);
    expect(points(resource, "cano_checkpoints_observed_total").get("{}")).toBeGreaterThanOrEqual(3);
    expect(points(resource, "cano_checkpoint_appends_total").get('{"result":"ok"}')).toBe(
      points(resource, "cano_checkpoints_observed_total").get("{}"),
    );
  });
});

describe("OtelObserver metrics", () => {
  it("mirrors the seed's cano_* names with low-cardinality labels", async () => {
    const clock = new VirtualClock();
    const wf = flaky(clock, 2);
    const { otel, metrics } = telemetry({ graph: wf.graph() });
    wf.withObserver(otel);
    await settle(clock, wf.orchestrate("fetch"));
    const broken = flaky(clock, 10).withObserver(otel);
    await failure(settle(clock, broken.orchestrate("fetch")));

    const resource = await metrics();
    expect(points(resource, "cano_workflow_runs_total")).toEqual(
      new Map([
        ['{"outcome":"completed"}', 1],
        ['{"outcome":"failed"}', 1],
      ]),
    );
    expect(points(resource, "cano_workflow_duration_seconds").get('{"outcome":"completed"}')).toBe(1);
    expect(points(resource, "cano_workflow_active").get("{}")).toBe(0);
    expect(points(resource, "cano_task_retries_total").get('{"task":"fetch"}')).toBe(5);
    expect(points(resource, "cano_task_attempts_total")).toEqual(
      new Map([
        ['{"outcome":"failure"}', 6],
        ['{"outcome":"success"}', 2],
      ]),
    );
    expect(points(resource, "cano_observed_task_runs_total")).toEqual(
      new Map([
        ['{"task":"fetch","outcome":"completed"}', 1],
        ['{"task":"store","outcome":"completed"}', 1],
        ['{"task":"fetch","outcome":"failed"}', 1],
      ]),
    );
    expect(points(resource, "cano_state_enters_total").get('{"state":"fetch"}')).toBe(2);
    expect(points(resource, "cano_task_duration_seconds").get('{"state":"fetch","kind":"single"}')).toBe(2);

    const allowed = new Set(["cano.workflow", "state", "task", "outcome", "kind", "result"]);
    const names = new Set<string>();
    for (const scope of resource.scopeMetrics)
      for (const metric of scope.metrics) {
        names.add(metric.descriptor.name);
        for (const point of metric.dataPoints)
          for (const label of Object.keys(point.attributes)) expect(allowed).toContain(label);
      }
    for (const name of names) expect(canoMetricNames).toContain(name);
  });
});

/** Every metric name of reference §14.3, observer-emitted and always-on alike. */
const section143 = [
  "cano_state_enters_total",
  "cano_observed_task_runs_total",
  "cano_task_retries_total",
  "cano_circuit_open_events_total",
  "cano_checkpoints_observed_total",
  "cano_resumes_total",
  "cano_observed_workflow_timeouts_total",
  "cano_observed_workflow_timeout_limit_seconds",
  "cano_observed_workflow_timeout_elapsed_seconds",
  "cano_observed_unknown_resume_states_total",
  "cano_observed_cancellations_total",
  "cano_workflow_runs_total",
  "cano_workflow_duration_seconds",
  "cano_workflow_active",
  "cano_task_duration_seconds",
  "cano_task_attempts_total",
  "cano_split_branch_results_total",
  "cano_circuit_rejections_total",
  "cano_circuit_transitions_total",
  "cano_circuit_acquires_total",
  "cano_circuit_outcomes_total",
  "cano_poll_iterations_total",
  "cano_batch_runs_total",
  "cano_batch_items_total",
  "cano_step_iterations_total",
  "cano_stream_runs_total",
  "cano_stream_windows_total",
  "cano_stream_items_total",
  "cano_checkpoint_appends_total",
  "cano_checkpoint_clears_total",
  "cano_compensations_run_total",
  "cano_compensation_drains_total",
  "cano_rate_limiter_acquired_total",
  "cano_rate_limiter_throttled_total",
  "cano_rate_limiter_wait_seconds",
  "cano_rate_limiter_tokens_consumed_total",
  "cano_multi_rate_limiter_throttled_total",
  "cano_scheduler_flow_runs_total",
  "cano_scheduler_flow_duration_seconds",
  "cano_scheduler_flow_backoff_total",
  "cano_scheduler_flow_tripped_total",
  "cano_scheduler_active_flows",
];

/** The histogram point of `name` with these labels. */
function histogram(resource: ResourceMetrics, name: string, labels: string): Histogram {
  for (const scope of resource.scopeMetrics)
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints as DataPoint<Histogram>[]) {
        const { "cano.workflow": _workflow, ...rest } = point.attributes;
        if (JSON.stringify(rest) === labels) return point.value;
      }
    }
  throw new Error(`no ${name} point with ${labels}`);
}

const secondsBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];

describe("OtelObserver metrics beyond the basics", () => {
  it("names every §14.3 metric either as emitted or as not derivable from events", () => {
    expect([...canoMetricNames, ...canoMetricsNotEmitted].sort()).toEqual([...section143].sort());
    expect(
      canoMetricNames.filter((name) => (canoMetricsNotEmitted as readonly string[]).includes(name)),
    ).toEqual([]);
  });

  it("counts breaker refusals as cano_circuit_rejections_total", async () => {
    const { otel, metrics } = telemetry();
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    type B = "call" | "done";
    const wf = new Workflow<B>()
      .withObserver(otel)
      .register(
        "call",
        task({
          to: ["done"],
          retry: none(),
          circuitBreaker: breaker,
          run: async () => {
            throw new Error("down");
          },
        }),
      )
      .exit("done");
    await failure(wf.orchestrate("call"));
    for (let i = 0; i < 3; i++) expect((await failure(wf.orchestrate("call"))).code).toBe("circuit_open");
    const resource = await metrics();
    expect(points(resource, "cano_circuit_rejections_total").get("{}")).toBe(3);
    expect(points(resource, "cano_circuit_open_events_total").get('{"task":"call"}')).toBe(3);
    // A refused attempt never ran: only the first run's attempt counts.
    expect(points(resource, "cano_task_attempts_total").get('{"outcome":"failure"}')).toBe(1);
  });

  it("puts durations in seconds buckets from 1 ms to 1 h", async () => {
    const { otel, metrics } = telemetry();
    const at = 1_700_000_000_000;
    const ends = [
      { id: "fast", durationMs: 3 },
      { id: "slow", durationMs: 2_400 },
      { id: "long", durationMs: 45 * 60_000 },
    ];
    for (const { id, durationMs } of ends) {
      otel.observe({ type: "run_start", at, workflowId: id, initial: "a" });
      otel.observe({ type: "state_enter", at, workflowId: id, state: "a" });
      otel.observe({ type: "task_start", at, workflowId: id, state: "a", taskId: "a" });
      otel.observe({
        type: "task_success",
        at: at + durationMs,
        workflowId: id,
        state: "a",
        taskId: "a",
        attempts: 1,
        next: "done",
      });
      otel.observe({
        type: "run_end",
        at: at + durationMs,
        workflowId: id,
        outcome: "completed",
        durationMs,
      });
    }
    const resource = await metrics();
    const runs = histogram(resource, "cano_workflow_duration_seconds", '{"outcome":"completed"}');
    expect(runs.buckets.boundaries).toEqual(secondsBuckets);
    const counts = runs.buckets.counts;
    expect(counts[secondsBuckets.indexOf(0.005)]).toBe(1); // 3 ms: (2.5 ms, 5 ms]
    expect(counts[secondsBuckets.indexOf(2.5)]).toBe(1); // 2.4 s: (1 s, 2.5 s]
    expect(counts[secondsBuckets.indexOf(3600)]).toBe(1); // 45 min: (30 min, 1 h]
    expect(runs.sum).toBeCloseTo(0.003 + 2.4 + 2700);
    const tasks = histogram(resource, "cano_task_duration_seconds", '{"state":"a","kind":"single"}');
    expect(tasks.buckets.boundaries).toEqual(secondsBuckets);
    expect(tasks.count).toBe(3);
  });

  it("keeps cano_workflow_active right when a run starts again before its end", async () => {
    const { otel, metrics, spans } = telemetry();
    otel.observe({ type: "run_start", at: 1_000, workflowId: "lost", initial: "a" });
    otel.observe({ type: "run_start", at: 2_000, workflowId: "lost", initial: "a" });
    expect(points(await metrics(), "cano_workflow_active").get("{}")).toBe(1);
    otel.observe({ type: "run_end", at: 3_000, workflowId: "lost", outcome: "completed", durationMs: 1_000 });
    // An end without a start this observer saw (attached mid-run) does not go below zero.
    otel.observe({ type: "run_end", at: 3_000, workflowId: "other", outcome: "failed", durationMs: 5 });
    expect(points(await metrics(), "cano_workflow_active").get("{}")).toBe(0);
    const runs = named(spans(), "cano.run");
    expect(runs.map((span) => span.attributes["cano.outcome"])).toEqual(["failed", "completed"]);
    expect(otel.openRuns).toBe(0);
  });
});

describe("OtelObserver attempt spans", () => {
  const base = { workflowId: "r", state: "a", taskId: "a" } as const;
  /** Milliseconds after an epoch instant, as a workflow's clock reports them. */
  const t = (ms: number) => 1_700_000_000_000 + ms;
  const error = { code: "task_execution", message: "503" } as const;

  it("makes no span for an attempt cancelled during its backoff, before it ran", () => {
    const { otel, spans } = telemetry();
    otel.observe({ type: "run_start", at: t(1_000), workflowId: "r", initial: "a" });
    otel.observe({ type: "state_enter", at: t(1_000), workflowId: "r", state: "a" });
    otel.observe({ type: "task_start", at: t(1_000), ...base });
    otel.observe({ type: "retry", at: t(1_010), ...base, attempt: 1, delayMs: 60_000, error });
    otel.observe({ type: "cancelled", at: t(1_020), workflowId: "r", state: "a" });
    otel.observe({
      type: "task_failure",
      at: t(1_020),
      ...base,
      error: { code: "cancelled", message: "stop" },
    });
    otel.observe({ type: "run_end", at: t(1_020), workflowId: "r", outcome: "cancelled", durationMs: 20 });
    const attempts = named(spans(), "cano.attempt");
    expect(attempts.map((span) => span.attributes["cano.attempt"])).toEqual([1]);
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(otel.openRuns).toBe(0);
  });

  it("starts a retried attempt when its backoff ends, and makes none for one a breaker refused", () => {
    const { otel, spans } = telemetry();
    otel.observe({ type: "run_start", at: t(1_000), workflowId: "r", initial: "a" });
    otel.observe({ type: "state_enter", at: t(1_000), workflowId: "r", state: "a" });
    otel.observe({ type: "task_start", at: t(1_000), ...base });
    otel.observe({ type: "retry", at: t(1_010), ...base, attempt: 1, delayMs: 100, error });
    otel.observe({ type: "retry", at: t(1_150), ...base, attempt: 2, delayMs: 100, error });
    otel.observe({ type: "circuit_open", at: t(1_250), ...base });
    otel.observe({
      type: "task_failure",
      at: t(1_250),
      ...base,
      error: { code: "circuit_open", message: "open" },
    });
    otel.observe({ type: "run_end", at: t(1_250), workflowId: "r", outcome: "failed", durationMs: 250 });
    const attempts = named(spans(), "cano.attempt");
    const ms = (time: [number, number]) => Math.round(time[0] * 1000 + time[1] / 1e6);
    expect(
      attempts.map((span) => [span.attributes["cano.attempt"], ms(span.startTime), ms(span.endTime)]),
    ).toEqual([
      [1, t(1_000), t(1_010)],
      [2, t(1_110), t(1_150)],
    ]);
    const state = named(spans(), "cano.state")[0]!;
    expect(state.events.map((event) => event.name)).toEqual(["retry", "retry", "circuit_open"]);
  });
});
