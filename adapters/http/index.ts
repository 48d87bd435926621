/**
 * `cano/http`: an HTTP API over workflow runs (Hono, request validation with zod) that runs
 * unchanged on Workers and Node, and the in-process run host behind it.
 */

export type { ApiOptions, CorsOptions } from "./api.ts";
export { createApi } from "./api.ts";
export type { ApiErrorBody, ApiErrorCode, FieldIssue } from "./api-error.ts";
export type { ApiWorkflow, ApiWorkflows, RunnableWorkflow } from "./api-workflow.ts";
export { apiWorkflow } from "./api-workflow.ts";
export type { InProcessRunHostOptions } from "./in-process-host.ts";
export { InProcessRunHost } from "./in-process-host.ts";
export type {
  EventsOptions,
  ListQuery,
  ResumeRunOptions,
  RunDetails,
  RunEventRecord,
  RunHost,
  RunHostErrorCode,
  RunInfo,
  RunPage,
  RunStatus,
  StartOptions,
  StartResult,
  StateVisit,
} from "./run-host.ts";
export { isFinished, isRunHostError, RunHostError, runStatuses } from "./run-host.ts";
export type { RunEventPage } from "./run-routes.ts";
export type { WorkflowDescription } from "./workflow-routes.ts";
