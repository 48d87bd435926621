/**
 * Cano: a type-safe workflow engine built on finite state machines, for the browser and the edge.
 * This entry point is the dependency-free core.
 */

export type { BackoffOptions, BackoffPolicy } from "./backoff.ts";
export { backoffDelayMs, backoffPolicy, defaultBackoff, isTripped } from "./backoff.ts";
export type { BatchItemResult, BatchOptions } from "./batch.ts";
export { batch } from "./batch.ts";
export type { CheckpointRow, CheckpointRowKind, CheckpointStore, RunSummary } from "./checkpoint.ts";
export { decodeRow, decodeRun, MemoryCheckpointStore, summarizeRun } from "./checkpoint.ts";
export type {
  BreakerPermit,
  CircuitBreakerJson,
  CircuitBreakerOptions,
  CircuitState,
} from "./circuit-breaker.ts";
export { CircuitBreaker } from "./circuit-breaker.ts";
export type { CancelTimer, Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export type { FailFastPolicy, RetryOnErrorPolicy, SkipAndContinuePolicy } from "./error-policy.ts";
export { failFast, retryOnError, skipAndContinue } from "./error-policy.ts";
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
export type { MultiPermit, MultiRateLimiterOptions, RateLimitTier } from "./multi-rate-limiter.ts";
export { MultiRateLimiter } from "./multi-rate-limiter.ts";
export type { PollErrorPolicy, PollOutcome, PollPending } from "./poll.ts";
export { pending, poll } from "./poll.ts";
export type { Random } from "./random.ts";
export { createCryptoRandom, randomId } from "./random.ts";
export type { Meter, MeterStatus, Reservation } from "./rate-limit.ts";
export type { RateLimiterOptions, RateLimiterSettings } from "./rate-limiter.ts";
export { RateLimiter } from "./rate-limiter.ts";
export type { HealthStatus, Resource } from "./resources.ts";
export { aggregateHealth, checkHealth, setupResources, teardownResources } from "./resources.ts";
export type { ExponentialOptions, RetryPolicy } from "./retry.ts";
export { defaultRetry, exponential, fixed, maxAttempts, none, retryDelayMs } from "./retry.ts";
export type { OrchestrateOptions, ResumeOptions } from "./run.ts";
export type { SagaOutcome, SagaStep } from "./saga.ts";
export { saga } from "./saga.ts";
export type { SchedulerOptions } from "./scheduler.ts";
export { Scheduler } from "./scheduler.ts";
export type { RunningScheduler, StopOptions, StopResult } from "./scheduler-running.ts";
export type {
  FlowInfo,
  FlowStats,
  FlowStatus,
  RunCause,
  SchedulerEvent,
  SkipReason,
} from "./scheduler-status.ts";
export type { SplitOptions, SplitResult } from "./split.ts";
export type { InferOutput, StandardSchemaV1 } from "./standard-schema.ts";
export type { StepOutcome } from "./stepped.ts";
export { done, more, stepped } from "./stepped.ts";
export type { Key, KeyLike, KeyValueStore } from "./store.ts";
export { checkValue, key, keyName, MemoryStore } from "./store.ts";
export type { CloseReason, ProcessedItem, StreamErrorPolicy, StreamWindow, WindowSignal } from "./stream.ts";
export { stream } from "./stream.ts";
export type { Task, TaskContext, TaskKind, TaskOptions } from "./task.ts";
export { node, router, task } from "./task.ts";
export type { TimerWait } from "./timer.ts";
export { timer } from "./timer.ts";
export type { Trigger, TriggerContext, TriggerWake } from "./trigger.ts";
export { every, manual, maxPlannedPerWake } from "./trigger.ts";
export type { WindowedRateLimiterOptions, WindowedRateLimiterSettings } from "./windowed-rate-limiter.ts";
export { WindowedRateLimiter } from "./windowed-rate-limiter.ts";
export type { ObserverLike, WorkflowOptions } from "./workflow.ts";
export { Workflow } from "./workflow.ts";
