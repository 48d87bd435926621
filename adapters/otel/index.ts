/**
 * `cano/otel`: OpenTelemetry spans and `cano_*` metrics from workflow events, using only
 * `@opentelemetry/api`.
 */

export type { CanoMetricName, CanoMetricNotEmitted } from "./metrics.ts";
export { canoMetricNames, canoMetricsNotEmitted } from "./metrics.ts";
export type { OtelObserverOptions } from "./observer.ts";
export { OtelObserver } from "./observer.ts";
