// Helpers shared by the workers tests: a fresh object per call, and run host handles.
import { env, runInDurableObject } from "cloudflare:test";
import type {
  DurableObjectStateLike,
  DurableObjectStubLike,
  RunHostObject,
} from "../../adapters/cloudflare/index.ts";

let objects = 0;

/** A stub for a fresh StoreHarness object (its storage is empty). */
export function freshHarness(label = "store"): DurableObjectStubLike {
  return env.STORE_HARNESS.get(env.STORE_HARNESS.idFromName(`${label}-${objects++}-${crypto.randomUUID()}`));
}

/** Runs `body` with the storage of the object behind `stub`. */
export function withStorage<T>(
  stub: DurableObjectStubLike,
  body: (state: DurableObjectStateLike) => T | Promise<T>,
): Promise<T> {
  return runInDurableObject(stub, (_instance: unknown, state) => body(state));
}

/** Runs `body` with the test run host instance behind `stub` and its state. */
export function inHost<T>(
  stub: DurableObjectStubLike,
  body: (host: RunHostObject, state: DurableObjectStateLike) => T | Promise<T>,
): Promise<T> {
  return runInDurableObject(stub, (host: RunHostObject, state) => body(host, state));
}

/** The error `action` rejects with; throws when it resolves. */
export async function rejection(action: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof action === "function" ? action() : action);
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but it resolved");
}
