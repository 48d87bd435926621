import type { Attributes, Context, Meter, Tracer } from "@opentelemetry/api";
import { metrics, trace } from "@opentelemetry/api";
import type { WorkflowEvent, WorkflowGraph } from "../../core/index.ts";
import { RunMetrics } from "./metrics.ts";
import { RunTracer } from "./traces.ts";

/** What {@link OtelObserver} is built with; everything is optional. */
export interface OtelObserverOptions {
  /** Where spans go. Default: `trace.getTracer("cano")` (the global provider). */
  readonly tracer?: Tracer;
  /** Where metrics go. Default: `metrics.getMeter("cano")` (the global provider). */
  readonly meter?: Meter;
  /** Parent of every run span (e.g. the active HTTP request's context). Default: each run starts a trace. */
  readonly parent?: Context;
  /**
   * Added to every run span and every metric point; keep them low-cardinality (e.g.
   * `{ "cano.workflow": "order" }`), never a run id.
   */
  readonly attributes?: Attributes;
  /** The workflow's `graph()`, so `cano_task_duration_seconds` gets the seed's `kind` label per state. */
  readonly graph?: WorkflowGraph;
  /** Record spans. Default true. */
  readonly traces?: boolean;
  /** Record metrics. Default true. */
  readonly metrics?: boolean;
}

/**
 * Turns `WorkflowEvent`s into OpenTelemetry spans (`cano.run` → `cano.state` → `cano.attempt`, and
 * `cano.compensate`), span events (retry, circuit_open, compensation, checkpoint, split, join, …)
 * and the seed's `cano_*` metrics (`canoMetricNames`; histograms in seconds), using only
 * `@opentelemetry/api`: bring any SDK or none (without one the API is a no-op). The seed metrics no
 * event carries are not emitted (`canoMetricsNotEmitted`). Attach it with `withObserver(otel)` or
 * `orchestrate(…, { onEvent: otel.observe })`.
 *
 * @example
 * const otel = new OtelObserver({ attributes: { "cano.workflow": "order" }, graph: wf.graph() });
 * wf.withObserver(otel);
 */
export class OtelObserver {
  readonly #tracer: RunTracer | undefined;
  readonly #metrics: RunMetrics | undefined;

  constructor(options: OtelObserverOptions = {}) {
    const attributes = options.attributes ?? {};
    this.#tracer =
      options.traces === false
        ? undefined
        : new RunTracer({
            tracer: options.tracer ?? trace.getTracer("cano"),
            parent: options.parent,
            attributes,
          });
    this.#metrics =
      options.metrics === false
        ? undefined
        : new RunMetrics(options.meter ?? metrics.getMeter("cano"), attributes, options.graph);
  }

  /** Runs whose spans are still open (their `run_end` has not arrived). */
  get openRuns(): number {
    return this.#tracer?.openRuns ?? 0;
  }

  /** Records one event; a plain function, so it can be passed around unbound. */
  readonly observe = (event: WorkflowEvent): void => {
    this.#tracer?.observe(event);
    this.#metrics?.observe(event);
  };
}
