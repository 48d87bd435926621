/**
 * Cano: a type-safe workflow engine built on finite state machines, for the browser and the edge.
 * This entry point is the dependency-free core.
 */

export type {
  BreakerPermit,
  CircuitBreakerJson,
  CircuitBreakerOptions,
  CircuitState,
} from "./circuit-breaker.ts";
export { CircuitBreaker } from "./circuit-breaker.ts";
export type { CancelTimer, Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export type { CanoErrorCode, CanoErrorJson, CanoErrorOptions } from "./errors.ts";
export { CanoError, canoErrorCodes, isCanoError, isPermanentError, PermanentError } from "./errors.ts";
export type { EventOf, Observer, RunOutcome, WorkflowEvent, WorkflowEventType } from "./events.ts";
export { formatEvent } from "./format-event.ts";
export type { GraphEdge, GraphNode, WorkflowGraph } from "./graph.ts";
export type { JoinDecision, JoinStrategy, JoinTally } from "./join.ts";
export {
  all,
  any,
  decideJoin,
  describeStrategy,
  partialResults,
  partialTimeout,
  percentage,
  quorum,
} from "./join.ts";
export type { Random } from "./random.ts";
export { createCryptoRandom } from "./random.ts";
export type { HealthStatus, Resource } from "./resources.ts";
export { aggregateHealth, checkHealth, setupResources, teardownResources } from "./resources.ts";
export type { ExponentialOptions, RetryPolicy } from "./retry.ts";
export { defaultRetry, exponential, fixed, maxAttempts, none, retryDelayMs } from "./retry.ts";
export type { OrchestrateOptions } from "./run.ts";
export type { SplitOptions, SplitResult } from "./split.ts";
export type { InferOutput, StandardSchemaV1 } from "./standard-schema.ts";
export type { Key, KeyLike, KeyValueStore } from "./store.ts";
export { checkValue, key, keyName, MemoryStore } from "./store.ts";
export type { Task, TaskContext, TaskKind, TaskOptions } from "./task.ts";
export { node, router, task } from "./task.ts";
export type { ObserverLike, WorkflowOptions } from "./workflow.ts";
export { Workflow } from "./workflow.ts";
