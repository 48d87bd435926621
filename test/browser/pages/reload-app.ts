// The page the reload tests load, reload and open in several tabs. On every load it takes the run's
// tab lease, then resumes the run from IndexedDB if it has rows, reports it ended if its memory says
// it started, or starts it. Query: ?run=<id>&mode=succeed|fail&lease=wait|fail&tab=<label>
// &hold=<state>&pause=<ms>. Progress is on `window.reloadApp` and `document.body.dataset.status`.
import type { CheckpointRow, WorkflowEvent } from "cano";
import { isCanoError } from "cano";
import type { TabLeaseMode } from "cano/idb";
import {
  IndexedDbCheckpointStore,
  IndexedDbKeyValueStore,
  isTabLeaseHeld,
  openCanoDatabase,
  withTabLease,
} from "cano/idb";
import type { LedgerEntry } from "./ledger.ts";
import { openLedger } from "./ledger.ts";
import type { ReloadMode } from "./reload-workflow.ts";
import { keys, reloadWorkflow } from "./reload-workflow.ts";

/** Where the page is. `held` means the run waits in the `hold` state for `release()`. */
export type AppStatus =
  | "loading"
  | "leasing"
  | "waiting"
  | "driving"
  | "held"
  | "done"
  | "failed"
  | "lease-held";

/** What the page did with the run once it held the lease. */
export type Approach = "started" | "resumed" | "ended-earlier" | "none";

/** How the page's drive ended. */
export interface AppResult {
  /** `started` / `resumed` here, or `ended-earlier` (no rows left, memory says the run started). */
  readonly how: Approach;
  /** The exit state, `rolled_back` for a run that ended with its sagas undone, or the error code. */
  readonly final: string;
  readonly message?: string;
}

/** Everything the test reads back about one run. */
export interface RunReport {
  readonly ledger: readonly LedgerEntry[];
  readonly memory: Readonly<Record<string, unknown>>;
  readonly rows: readonly unknown[];
  readonly listed: boolean;
}

const params = new URLSearchParams(location.search);
const run = params.get("run") ?? "reload-run";
const mode: ReloadMode = params.get("mode") === "fail" ? "fail" : "succeed";
const leaseMode: TabLeaseMode = params.get("lease") === "fail" ? "fail" : "wait";
const tab = params.get("tab") ?? "tab";
const hold = params.get("hold") ?? undefined;
const pauseMs = Number(params.get("pause") ?? "8");
const life = crypto.randomUUID();
let approach: Approach = "none";

let releaseHold: () => void = () => {};
const held = new Promise<void>((resolve) => {
  releaseHold = resolve;
});

const app = {
  run,
  life,
  tab,
  status: "loading" as AppStatus,
  /** Checkpoint rows written by this page load. */
  checkpoints: 0,
  /** The highest checkpoint sequence this page load wrote; -1 before its first row. */
  sequence: -1,
  result: undefined as AppResult | undefined,
  events: [] as string[],
  /** Lets a held run go on. */
  release: () => releaseHold(),
  report: async (): Promise<RunReport> => {
    const db = await openCanoDatabase("reload-app");
    try {
      const memory = new IndexedDbKeyValueStore(db, run);
      const contents: Record<string, unknown> = {};
      for (const name of await memory.keys()) contents[name] = await memory.get(name);
      const checkpoints = new IndexedDbCheckpointStore(db);
      const rows: CheckpointRow[] = await checkpoints.loadRun(run);
      const listed = (await checkpoints.listRuns()).some((summary) => summary.workflowId === run);
      return { ledger: await (await openLedger()).entries(run), memory: contents, rows, listed };
    } finally {
      db.close();
    }
  },
};

declare global {
  interface Window {
    reloadApp: typeof app;
  }
}
window.reloadApp = app;

function setStatus(status: AppStatus, result?: AppResult): void {
  app.status = status;
  if (result !== undefined) app.result = result;
  document.body.dataset.status = status;
  document.body.textContent = `${tab} ${run}: ${status}${result === undefined ? "" : ` ${JSON.stringify(result)}`}`;
}

async function main(): Promise<void> {
  const db = await openCanoDatabase("reload-app");
  const ledger = await openLedger();
  await ledger.log({ run, life, tab, type: "boot" });
  const checkpoints = new IndexedDbCheckpointStore(db);
  const memory = new IndexedDbKeyValueStore(db, run);
  const workflow = reloadWorkflow({
    checkpoints,
    memory,
    ledger,
    mode,
    life,
    tab,
    pauseMs,
    gate: async (state) => {
      if (state !== hold) return;
      setStatus("held");
      await held;
      setStatus("driving");
    },
  }).withObserver((event: WorkflowEvent) => {
    if (event.type === "checkpoint") {
      app.checkpoints++;
      app.sequence = Math.max(app.sequence, event.sequence);
    }
    app.events.push(event.type);
  });
  setStatus("leasing");
  const result = await withTabLease(
    run,
    async (): Promise<AppResult> => {
      setStatus("driving");
      const rows = await checkpoints.loadRun(run);
      const last = rows.at(-1);
      await ledger.log({
        run,
        life,
        tab,
        type: "load",
        rows: rows.length,
        ...(last === undefined ? {} : { lastState: last.state, lastKind: last.kind }),
      });
      if (rows.length > 0) {
        approach = "resumed";
        return { how: approach, final: await workflow.resumeFrom(run) };
      }
      if ((await memory.get(keys.plan)) !== undefined) {
        approach = "ended-earlier";
        return { how: approach, final: (await memory.get(keys.outcome))?.state ?? "rolled_back" };
      }
      approach = "started";
      return { how: approach, final: await workflow.orchestrate("plan", { workflowId: run }) };
    },
    {
      mode: leaseMode,
      onEvent: (event) => {
        if (event.type === "lease_waiting") setStatus("waiting");
      },
    },
  );
  setStatus("done", result);
}

main().catch((error: unknown) => {
  if (isTabLeaseHeld(error)) return setStatus("lease-held");
  const code = isCanoError(error) ? error.code : "unexpected";
  const message = error instanceof Error ? error.message : String(error);
  setStatus("failed", { how: approach, final: code, message });
});
