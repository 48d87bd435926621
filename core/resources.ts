import { CanoError, describeThrown } from "./errors.ts";

/**
 * The lifecycle a resource may opt into; every method is optional. Any value in a workflow's
 * resources object that has at least one of them takes part, whatever else it offers.
 *
 * @example
 * const resources = {
 *   db: { async setup() { await pool.connect() }, async teardown() { await pool.end() } },
 *   llm: openAiClient, // no lifecycle methods: handed to tasks untouched
 * };
 */
export interface Resource {
  /** Called once per run before the first state, in key order. */
  setup?(): void | Promise<void>;
  /** Called once per run after the last state, in reverse key order, only if setup succeeded. */
  teardown?(): void | Promise<void>;
  /** Reports whether the resource can serve; only called on demand, never by the engine. */
  health?(): HealthStatus | Promise<HealthStatus>;
}

/** A resource's health: healthy, or degraded / unhealthy with a reason. */
export type HealthStatus =
  | { readonly status: "healthy" }
  | { readonly status: "degraded"; readonly reason: string }
  | { readonly status: "unhealthy"; readonly reason: string };

const healthy: HealthStatus = Object.freeze({ status: "healthy" });

/** The values of `resources` that take part in the lifecycle, as `[key, resource]`, in key order. */
function participants(resources: object): Array<readonly [string, Resource]> {
  if ((typeof resources !== "object" && typeof resources !== "function") || resources === null) return [];
  const found: Array<readonly [string, Resource]> = [];
  for (const name of Object.keys(resources)) {
    const value: unknown = (resources as Record<string, unknown>)[name];
    if (isResource(value)) found.push([name, value]);
  }
  return found;
}

/** @internal True when some resource has a `setup` or `teardown` to run. */
export function hasLifecycle(resources: object): boolean {
  return participants(resources).some(
    ([, resource]) => resource.setup !== undefined || resource.teardown !== undefined,
  );
}

/** True when `value` has a `setup`, `teardown` or `health` method (own or inherited). */
function isResource(value: unknown): value is Resource {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const candidate = value as Record<"setup" | "teardown" | "health", unknown>;
  return (
    typeof candidate.setup === "function" ||
    typeof candidate.teardown === "function" ||
    typeof candidate.health === "function"
  );
}

/**
 * Sets up every participating resource one after another, in key order. If one fails, the ones
 * already set up are torn down in reverse order (their teardown errors are ignored, the setup error
 * is what matters) and a `resource` error is thrown; the failed one is not torn down. Returns how
 * many resources were set up, to pass to {@link teardownResources}.
 */
export async function setupResources(resources: object): Promise<number> {
  const list = participants(resources);
  for (const [index, [name, resource]] of list.entries()) {
    try {
      await resource.setup?.();
    } catch (error) {
      // The setup error is what the caller needs; rollback failures would only bury it.
      await teardownList(list.slice(0, index));
      throw new CanoError("resource", `Resources: setup of "${name}" failed: ${describeThrown(error)}`, {
        cause: error,
        details: { resource: name },
      });
    }
  }
  return list.length;
}

/**
 * Tears down the first `count` participating resources (default: all) one after another, in reverse
 * key order. Never throws: each failure is collected as a `resource` error and the sequence goes on.
 */
export async function teardownResources(resources: object, count?: number): Promise<CanoError[]> {
  return teardownList(participants(resources).slice(0, Math.max(0, count ?? Number.POSITIVE_INFINITY)));
}

/** Tears down `list` in reverse order, collecting every failure. */
async function teardownList(list: Array<readonly [string, Resource]>): Promise<CanoError[]> {
  const errors: CanoError[] = [];
  for (const [name, resource] of [...list].reverse()) {
    try {
      await resource.teardown?.();
    } catch (error) {
      errors.push(
        new CanoError("resource", `Resources: teardown of "${name}" failed: ${describeThrown(error)}`, {
          cause: error,
          details: { resource: name },
        }),
      );
    }
  }
  return errors;
}

/**
 * Asks every participating resource for its health, one after another in key order. A resource
 * without `health()` is healthy; one whose `health()` throws, or returns something that is not a
 * HealthStatus, is unhealthy with the reason.
 */
export async function checkHealth(resources: object): Promise<Record<string, HealthStatus>> {
  const statuses: Record<string, HealthStatus> = {};
  for (const [name, resource] of participants(resources)) {
    statuses[name] = await healthOf(resource);
  }
  return statuses;
}

/** One resource's health, never throwing. */
async function healthOf(resource: Resource): Promise<HealthStatus> {
  if (resource.health === undefined) return healthy;
  let status: unknown;
  try {
    status = await resource.health();
  } catch (error) {
    return { status: "unhealthy", reason: `health() threw: ${describeThrown(error)}` };
  }
  if (isHealthStatus(status)) return status;
  return {
    status: "unhealthy",
    reason:
      `health() returned ${describeThrown(status)}; expected { status: "healthy" } or ` +
      `{ status: "degraded" | "unhealthy", reason: string }`,
  };
}

/** True for a well-formed {@link HealthStatus}. */
function isHealthStatus(value: unknown): value is HealthStatus {
  if (typeof value !== "object" || value === null) return false;
  const { status, reason } = value as { status?: unknown; reason?: unknown };
  if (status === "healthy") return true;
  return (status === "degraded" || status === "unhealthy") && typeof reason === "string";
}

/**
 * The worst of several statuses (unhealthy > degraded > healthy). The reason names every resource
 * at that level with its own reason: `db: connection refused; cache: timeout`.
 */
export function aggregateHealth(statuses: Record<string, HealthStatus>): HealthStatus {
  for (const level of ["unhealthy", "degraded"] as const) {
    const reasons: string[] = [];
    for (const [name, status] of Object.entries(statuses)) {
      if (status.status === level) reasons.push(`${name}: ${status.reason}`);
    }
    if (reasons.length > 0) return { status: level, reason: reasons.join("; ") };
  }
  return healthy;
}
