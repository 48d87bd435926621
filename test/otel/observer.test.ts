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
import { canoMetricNames, OtelObserver } from "cano/otel";
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
