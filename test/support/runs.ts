import type { CanoError } from "cano";
import { isCanoError } from "cano";
import type { VirtualClock } from "cano/testing";

/** The CanoError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<CanoError> {
  try {
    await promise;
  } catch (error) {
    if (isCanoError(error)) return error;
    throw error;
  }
  throw new Error("expected the run to fail");
}

/** The `configuration` CanoError `build` throws synchronously; fails the test otherwise. */
export function configurationError(build: () => unknown): CanoError {
  try {
    build();
  } catch (error) {
    if (isCanoError(error) && error.code === "configuration") return error;
    throw error;
  }
  throw new Error("expected a configuration error");
}

/** Settles a run driven by `clock`: lets virtual time pass until no timer is left, then returns its outcome. */
export async function settle<T>(clock: VirtualClock, run: Promise<T>): Promise<T> {
  const observed = run.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await clock.runAll();
  const result = await observed;
  if (result.ok) return result.value;
  throw result.error;
}
