// The lab page: the library (bundled from the sources), raw `idb` and the shared conformance cases on
// `window.lab`, so browser tests can drive IndexedDB from `page.evaluate`.
import * as cano from "cano";
import * as adapter from "cano/idb";
import { deleteDB, openDB } from "idb";
import { checkpointStoreCases } from "../../conformance/checkpoint-store-cases.ts";

/** A thrown value as plain data, so `page.evaluate` can return it. */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly workflowId?: string;
  readonly sequence?: number;
  readonly causeName?: string;
  readonly causeMessage?: string;
}

function describeError(error: unknown): ErrorInfo {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error) };
  const cause: unknown = error.cause;
  const info: ErrorInfo = {
    name: error.name,
    message: error.message,
    ...(cause instanceof Error || cause instanceof DOMException
      ? { causeName: cause.name, causeMessage: cause.message }
      : {}),
  };
  if (!cano.isCanoError(error)) return info;
  return {
    ...info,
    code: error.code,
    ...(error.details === undefined ? {} : { details: error.details }),
    ...(error.workflowId === undefined ? {} : { workflowId: error.workflowId }),
    ...(error.sequence === undefined ? {} : { sequence: error.sequence }),
  };
}

/** The error `promise` rejects with, as plain data; throws if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ErrorInfo> {
  try {
    await promise;
  } catch (error) {
    return describeError(error);
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Runs one conformance case against a fresh database; resolves with `null` or the failure's message. */
async function runCase(name: string): Promise<string | null> {
  const found = checkpointStoreCases.find((c) => c.name === name);
  if (found === undefined) return `no conformance case named ${JSON.stringify(name)}`;
  const db = await adapter.openCanoDatabase(`conformance-${crypto.randomUUID()}`);
  try {
    await found.run(new adapter.IndexedDbCheckpointStore(db));
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
  } finally {
    db.close();
  }
}

const lab = {
  cano,
  adapter,
  raw: { openDB, deleteDB },
  caseNames: checkpointStoreCases.map((c) => c.name),
  cases: checkpointStoreCases,
  runCase,
  describeError,
  rejection,
};

/** What the lab page puts on `window.lab`. */
export type Lab = typeof lab;

declare global {
  interface Window {
    lab: Lab;
  }
}

window.lab = lab;
document.title = "lab ready";
