/**
 * `cano/cloudflare`: durable workflow runs on Cloudflare Workers. `DurableObjectCheckpointStore` and
 * `DurableObjectKeyValueStore` keep a run in a Durable Object's SQLite storage; `defineRunHost` makes
 * a Durable Object class where one object drives one run (long waits are alarms, a watchdog alarm
 * resumes a reset object from its checkpoint, a failed run can be resumed, events stream as
 * server-sent events);
 * `KvCheckpointStore` archives finished runs in Workers KV; `cronTriggers` maps Cron Triggers to runs.
 * No dependency on `@cloudflare/workers-types`: platform objects are typed by small `*Like` shapes.
 */
export { assertCronsDeclared, declaredCrons } from "./cron-declared.ts";
export type { CronFlow, CronFlows, CronRun, CronTriggers, CronTriggersOptions } from "./cron-triggers.ts";
export { cronTriggers } from "./cron-triggers.ts";
export type { DurableObjectCheckpointStoreOptions } from "./do-checkpoint-store.ts";
export { DurableObjectCheckpointStore } from "./do-checkpoint-store.ts";
export type { DurableObjectKeyValueStoreOptions } from "./do-key-value-store.ts";
export { DurableObjectKeyValueStore } from "./do-key-value-store.ts";
export type { CorruptEventRecord, RunEventRecord } from "./event-log.ts";
export type { KvCheckpointStoreOptions } from "./kv-checkpoint-store.ts";
export { KvCheckpointStore } from "./kv-checkpoint-store.ts";
export type {
  DurableObjectAlarmStorageLike,
  DurableObjectIdLike,
  DurableObjectKvStorageLike,
  DurableObjectListOptionsLike,
  DurableObjectNamespaceLike,
  DurableObjectSqlStorageLike,
  DurableObjectStateLike,
  DurableObjectStorageLike,
  DurableObjectStubLike,
  KvListKeyLike,
  KvListResultLike,
  KvNamespaceLike,
  ScheduledControllerLike,
  SqlCursorLike,
  SqlStorageLike,
  SqlValueLike,
} from "./platform.ts";
export { defineRunHost } from "./run-host.ts";
export type { RunHostEventsOptions } from "./run-host-client.ts";
export { RunHostClient } from "./run-host-client.ts";
export type { RunHostErrorCode } from "./run-host-error.ts";
export { isRunHostRequestError, RunHostRequestError, runHostErrorStatus } from "./run-host-error.ts";
export type {
  HostableWorkflow,
  HostedRun,
  HostedWorkflow,
  RunEnding,
  RunHostClass,
  RunHostEventsRequest,
  RunHostObject,
  RunHostOptions,
  RunHostStartOptions,
} from "./run-host-types.ts";
export type {
  DurableRunDetails,
  DurableRunInfo,
  DurableRunStatus,
  DurableStateVisit,
} from "./run-record.ts";
export { durableRunStatuses, isFinished } from "./run-record.ts";
export type {
  SharedBreakerPermit,
  SharedCircuitBreakerClass,
  SharedCircuitBreakerObject,
  SharedCircuitBreakerOptions,
} from "./shared-circuit-breaker.ts";
export { defineSharedCircuitBreaker } from "./shared-circuit-breaker.ts";
export { SharedCircuitBreaker } from "./shared-circuit-breaker-client.ts";
export type { ReadRunStreamOptions, RunStreamError, RunStreamItem } from "./sse.ts";
export { readRunStream } from "./sse.ts";
