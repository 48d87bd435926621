// Real crash tests: a child process runs the checkpointed payment saga against a file-backed store and is
// killed with SIGKILL at a seeded random moment; new children resume it until it finishes. The log held at
// each kill and the effects ledger prove: no sequence gaps or duplicates, every effect once, every
// completed step compensated exactly once in reverse order, and the log cleared at the end.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CheckpointRow, WorkflowEvent } from "cano";
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom } from "../support/faulty-checkpoint-store.ts";
import { FileCheckpointStore } from "../support/file-checkpoint-store.ts";
import type { ChildResult } from "./child.ts";
import type { Effect, EffectRef, PaymentMode } from "./payment-workflow.ts";
import { paymentStates, readLedger, sagaStates } from "./payment-workflow.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const childPath = fileURLToPath(new URL("./child.ts", import.meta.url));

/** How many runs are crashed; half with each mode. */
const trials = 40;
/** Children running at once (each is a Node process loading tsx). */
const parallelTrials = 3;
/** Share of first kills timed from the spawn, before the child can have written anything. */
const earlyKillShare = 0.15;
/** Kills timed from the child's ready line land uniformly in [0, this) ms; a run takes ~50–60 ms. */
const killWindowMs = 80;
/** Chance that each resume is itself killed (at most twice per trial). */
const resumeKillShare = 0.4;
/** A child still alive after this long is hung: killed, and the trial fails. */
const watchdogMs = 30_000;

type Action = "start" | "resume";

/** When to SIGKILL a child: `delayMs` after it was spawned, or after it printed its ready line. */
interface KillPlan {
  readonly anchor: "spawn" | "ready";
  readonly delayMs: number;
}

/** How one child process ended. */
interface ChildRun {
  readonly pid: number;
  readonly action: Action;
  readonly killed: boolean;
  readonly hung: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last JSON line on stdout other than the ready line, if the child got that far. */
  readonly result: ChildResult | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where a kill landed, judged from the log, the ledger and the killed child's events. */
type KillPoint = "before first row" | "mid-saga" | "during compensation" | "after completion";

interface KillRecord {
  readonly point: KillPoint;
  /** `state:kind` of the last row the store held, or `(none)`. */
  readonly lastRow: string;
  readonly action: Action;
}

interface TrialReport {
  readonly index: number;
  readonly mode: PaymentMode;
  readonly kills: readonly KillRecord[];
  /** The first child exited by itself before its kill was due. */
  readonly finishedBeforeKill: boolean;
  readonly children: number;
  /** Resumes that reported "no checkpoint rows", split by why the log was empty. */
  readonly noRowsBeforeFirstRow: number;
  readonly noRowsAfterClear: number;
  /** Times one process invoked the same step's compensation more than once (see the note in the report). */
  readonly repeatedCompensations: number;
}

interface TrialPaths {
  readonly root: string;
  readonly store: string;
  readonly ledger: string;
  readonly trace: string;
}

/** A tiny semaphore so only a few trials spawn children at once. */
function limiter(slots: number): <T>(work: () => Promise<T>) => Promise<T> {
  let free = slots;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next === undefined) free++;
      else next();
    }
  };
}

const slot = limiter(parallelTrials);

/** Spawns the child and resolves when it has exited and its output is closed; kills it per `plan`. */
function runChild(
  paths: TrialPaths,
  workflowId: string,
  mode: PaymentMode,
  action: Action,
  plan: KillPlan | undefined,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const args = ["--import", "tsx", "--conditions=source", childPath, paths.store, paths.ledger];
    const child = spawn(process.execPath, [...args, workflowId, mode, action, paths.trace], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let ready = false;
    let hung = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number) => {
      killTimer = setTimeout(() => child.kill("SIGKILL"), ms);
    };
    const watchdog = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, watchdogMs);
    if (plan?.anchor === "spawn") arm(plan.delayMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (!ready && stdout.includes("\n")) {
        ready = true;
        if (plan?.anchor === "ready") arm(plan.delayMs);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killTimer);
      clearTimeout(watchdog);
      const last = stdout
        .split("\n")
        .filter((line) => line !== "")
        .at(-1);
      let parsed: ChildResult | { readonly ready: true } | undefined;
      try {
        parsed =
          last === undefined ? undefined : (JSON.parse(last) as ChildResult | { readonly ready: true });
      } catch {
        parsed = undefined; // not JSON: the assertions on `result` fail and show `stdout`
      }
      resolve({
        pid: child.pid ?? -1,
        action,
        killed: signal === "SIGKILL" && !hung,
        hung,
        code,
        signal,
        result: parsed === undefined || "ready" in parsed ? undefined : parsed,
        stdout,
        stderr,
      });
    });
  });
}

/** The kill plans of one trial: the first child always, then each resume with some probability. */
function killPlans(random: () => number): KillPlan[] {
  const first: KillPlan =
    random() < earlyKillShare
      ? { anchor: "spawn", delayMs: random() * 60 }
      : { anchor: "ready", delayMs: random() * killWindowMs };
  const plans = [first];
  while (plans.length < 3 && random() < resumeKillShare) {
    plans.push({ anchor: "ready", delayMs: random() * killWindowMs });
  }
  return plans;
}

function nextState(state: string): string | undefined {
  const index = paymentStates.indexOf(state as (typeof paymentStates)[number]);
  return index < 0 ? undefined : paymentStates[index + 1];
}

function isSaga(state: string): boolean {
  return sagaStates.includes(state as (typeof sagaStates)[number]);
}

function label(row: CheckpointRow | undefined): string {
  return row === undefined ? "(none)" : `${row.state}:${row.kind}`;
}

/**
 * What is wrong with a log the store held at a kill: gaps or duplicates in the sequences, or a row
 * the workflow could not have written (a forward run, with a resume re-entering the last row's state).
 */
function logProblems(rows: readonly CheckpointRow[], mode: PaymentMode, workflowId: string): string[] {
  const problems: string[] = [];
  const sequences = rows.map((row) => row.sequence);
  const dense = rows.map((_, index) => index);
  if (JSON.stringify(sequences) !== JSON.stringify(dense)) {
    problems.push(`sequences ${JSON.stringify(sequences)} are not 0..${rows.length - 1}`);
  }
  rows.forEach((row, index) => {
    const where = `row ${index} (${label(row)})`;
    if (row.version !== 0 || row.workflow !== "payment") problems.push(`${where}: version/workflow stamp`);
    const expectedTaskId = row.state === "done" || row.kind === "rollback" ? "" : row.state;
    if (row.taskId !== expectedTaskId) problems.push(`${where}: taskId "${row.taskId}"`);
    const prev = rows[index - 1];
    if (row.kind === "state") {
      const allowed =
        prev === undefined
          ? row.state === "reserve"
          : row.state === prev.state || // a resume re-enters the state of the last row
            (prev.kind === "completion" && row.state === nextState(prev.state)) ||
            (prev.kind === "state" && !isSaga(prev.state) && row.state === nextState(prev.state));
      if (!allowed) problems.push(`${where} cannot follow ${label(prev)}`);
    } else if (row.kind === "completion") {
      if (prev?.kind !== "state" || prev.state !== row.state || !isSaga(row.state)) {
        problems.push(`${where} cannot follow ${label(prev)}`);
      }
      if (mode === "fail" && row.state === "ship") problems.push(`${where}: ship completed in fail mode`);
      const output = row.output as Partial<EffectRef> | undefined;
      if (output?.key !== `${workflowId}:${row.state}` || typeof output.ref !== "string") {
        problems.push(`${where}: output ${JSON.stringify(row.output)}`);
      }
    } else if (row.kind === "rollback") {
      // A failed ship starts the rollback; it is written once, right after ship's rows.
      if (mode !== "fail" || row.state !== "ship" || prev?.state !== "ship" || prev.kind !== "state") {
        problems.push(`${where} cannot follow ${label(prev)}`);
      }
      if (rows.filter((other) => other.kind === "rollback").length > 1)
        problems.push(`${where}: a second rollback`);
    } else if (row.kind === "compensated") {
      // Each compensation that finished is recorded once, newest step first, after the rollback row.
      const undone = (row.output as { completion?: unknown } | undefined)?.completion;
      const completion = rows.find((other) => other.sequence === undone);
      if (completion?.kind !== "completion" || completion.state !== row.state) {
        problems.push(`${where}: names ${JSON.stringify(undone)}, not a completion of "${row.state}"`);
      }
      if (!rows.slice(0, index).some((other) => other.kind === "rollback"))
        problems.push(`${where} before the rollback`);
      const compensations = rows.filter((other) => other.kind === "compensated").map((other) => other.state);
      if (
        JSON.stringify(compensations) !== JSON.stringify(["charge", "reserve"].slice(0, compensations.length))
      ) {
        problems.push(`${where}: compensations ${JSON.stringify(compensations)} are not newest first`);
      }
    } else {
      problems.push(`${where}: unexpected kind`);
    }
  });
  return problems;
}

/**
 * What is wrong with the ledger at any moment: an effect twice, an undo of something never done or
 * out of reverse order, a completion row whose effect is missing or differs.
 */
function ledgerProblems(
  ledger: readonly Effect[],
  rows: readonly CheckpointRow[],
  mode: PaymentMode,
): string[] {
  const problems: string[] = [];
  const dos = ledger.filter((effect) => effect.kind === "do");
  const undos = ledger.filter((effect) => effect.kind === "undo");
  const forward = mode === "succeed" ? ["reserve", "charge", "ship", "notify"] : ["reserve", "charge"];
  const steps = dos.map((effect) => effect.step);
  if (JSON.stringify(steps) !== JSON.stringify(forward.slice(0, steps.length))) {
    problems.push(`forward effects ${JSON.stringify(steps)} are not a prefix of ${JSON.stringify(forward)}`);
  }
  const undoSteps = undos.map((effect) => effect.step);
  const reverse = mode === "fail" ? ["charge", "reserve"] : [];
  if (JSON.stringify(undoSteps) !== JSON.stringify(reverse.slice(0, undoSteps.length))) {
    problems.push(`undos ${JSON.stringify(undoSteps)} are not a prefix of ${JSON.stringify(reverse)}`);
  }
  if (undos.length > 0 && dos.length < forward.length) problems.push("an undo before every step was done");
  for (const undo of undos) {
    const done = dos.find((effect) => effect.key === undo.key);
    if (done === undefined || done.ref !== undo.ref || ledger.indexOf(done) > ledger.indexOf(undo)) {
      problems.push(`undo of ${undo.key} without its effect before it`);
    }
  }
  for (const row of rows) {
    if (row.kind !== "completion") continue;
    const output = row.output as EffectRef;
    const done = dos.find((effect) => effect.key === output.key);
    if (done?.ref !== output.ref) problems.push(`completion row ${row.sequence} does not match the ledger`);
  }
  return problems;
}

function readTrace(path: string): (WorkflowEvent & { readonly pid: number })[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return [];
    throw error;
  }
  // A kill can cut the last event short; every complete one ends with a newline.
  return text
    .split("\n")
    .slice(0, -1)
    .map((line) => JSON.parse(line) as WorkflowEvent & { readonly pid: number });
}

function expectedResult(mode: PaymentMode): Record<string, unknown> {
  return mode === "succeed"
    ? { outcome: "completed", state: "done" }
    : {
        outcome: "failed",
        code: "task_execution",
        state: "ship",
        message: expect.stringContaining("carrier rejected the parcel"),
      };
}

function expectedLedger(mode: PaymentMode, workflowId: string): string[] {
  const effects =
    mode === "succeed"
      ? ["do reserve", "do charge", "do ship", "do notify"]
      : ["do reserve", "do charge", "undo charge", "undo reserve"];
  return effects.map((effect) => `${effect} ${workflowId}:${effect.split(" ")[1]}`);
}

const reports: TrialReport[] = [];
const keptDirectories: string[] = [];
const startedAt = Date.now();

/** One crash trial: start, kill, resume (and maybe kill again) until a child finishes, checking as it goes. */
async function crashTrial(index: number): Promise<TrialReport> {
  const random = seededRandom(0x5eed + index * 7919);
  const mode: PaymentMode = index % 2 === 0 ? "succeed" : "fail";
  const workflowId = `crash-${index}-${mode}`;
  const root = mkdtempSync(join(tmpdir(), "cano-crash-"));
  const paths: TrialPaths = {
    root,
    store: join(root, "store"),
    ledger: join(root, "ledger.jsonl"),
    trace: join(root, "trace.jsonl"),
  };
  const store = new FileCheckpointStore(paths.store);
  const plans = killPlans(random);
  const kills: KillRecord[] = [];
  let action: Action = "start";
  let finishedBeforeKill = false;
  let noRowsBeforeFirstRow = 0;
  let noRowsAfterClear = 0;
  /** The log as the previous child left it, when it was killed. */
  let rowsBefore: CheckpointRow[] | undefined;
  const children: ChildRun[] = [];
  let final: ChildRun | undefined;
  try {
    while (final === undefined) {
      if (children.length >= 8) throw new Error(`trial ${index}: no child finished after 8 attempts`);
      const plan = plans[children.length];
      const run = await runChild(paths, workflowId, mode, action, plan);
      children.push(run);
      const context = `trial ${index} (${mode}), child ${children.length} (${action}, pid ${run.pid}, plan ${JSON.stringify(plan)}), stdout: ${run.stdout} stderr: ${run.stderr}`;
      expect(run.hung, context).toBe(false);
      const trace = readTrace(paths.trace).filter((event) => event.pid === run.pid);

      // A resume re-enters the state of the last row (or, mid-rollback, finishes the rollback that
      // the failed state started) and continues after its sequence.
      const resumed = trace.filter((event) => event.type === "resume");
      const last = rowsBefore?.at(-1);
      const rollback = rowsBefore?.find((row) => row.kind === "rollback");
      // (A resume killed during its setup may not have announced itself yet.)
      if (action === "resume" && last !== undefined && (resumed.length > 0 || !run.killed)) {
        expect(resumed, context).toEqual([
          expect.objectContaining({ state: (rollback ?? last).state, lastSequence: last.sequence }),
        ]);
        // Once a rollback has begun, no state runs again.
        if (rollback !== undefined)
          expect(
            trace.filter((event) => event.type === "task_start"),
            context,
          ).toEqual([]);
        const written = trace.filter((event) => event.type === "checkpoint");
        if (written[0]?.type === "checkpoint") expect(written[0].sequence, context).toBe(last.sequence + 1);
      } else {
        expect(resumed, context).toEqual([]);
      }

      if (run.killed) {
        // What the store held at the kill: read with the store and straight from the file.
        const rows = await store.loadRun(workflowId);
        // One file at most (a kill between creating it and writing the first row may leave it empty).
        const files = readdirSync(paths.store);
        expect(files.length, context).toBeLessThanOrEqual(1);
        const raw = files.flatMap((file) =>
          readFileSync(join(paths.store, file), "utf8").split("\n").slice(0, -1),
        );
        expect(
          raw.map((line) => (JSON.parse(line) as CheckpointRow).sequence),
          context,
        ).toEqual(rows.map((_, position) => position));
        const ledger = readLedger(paths.ledger);
        expect(logProblems(rows, mode, workflowId), context).toEqual([]);
        expect(ledgerProblems(ledger, rows, mode), context).toEqual([]);
        const rolledBack = trace.some(
          (event) =>
            event.type === "compensate_start" || (event.type === "task_failure" && event.state === "ship"),
        );
        const lastRow = rows.at(-1);
        const point: KillPoint =
          rows.length === 0
            ? ledger.length === 0
              ? "before first row"
              : "after completion"
            : lastRow?.state === "done"
              ? "after completion"
              : rolledBack
                ? "during compensation"
                : "mid-saga";
        kills.push({ point, lastRow: label(lastRow), action });
        rowsBefore = rows;
        action = "resume";
        continue;
      }

      expect(run.signal, context).toBeNull();
      if (children.length === 1) finishedBeforeKill = true;
      if (action === "resume" && rowsBefore?.length === 0) {
        // Nothing to resume: the kill landed before the first row (or after the log was cleared).
        expect(run.code, context).toBe(2);
        expect(run.result, context).toEqual({
          outcome: "error",
          code: "checkpoint_store",
          message: expect.stringContaining("no checkpoint rows"),
        });
        if (readLedger(paths.ledger).length === 0) noRowsBeforeFirstRow++;
        else noRowsAfterClear++;
        action = "start";
        continue;
      }
      expect(run.code, context).toBe(0);
      expect(run.result, context).toEqual(expectedResult(mode));
      final = run;
    }

    // The outcome: the log is cleared, each effect happened once, each completed step was undone once, newest first.
    const finalContext = `trial ${index} (${mode}), children ${JSON.stringify(children.map((c) => [c.action, c.killed]))}`;
    expect(await store.loadRun(workflowId), finalContext).toEqual([]);
    expect(readdirSync(paths.store), finalContext).toEqual([]);
    const ledger = readLedger(paths.ledger);
    expect(ledgerProblems(ledger, [], mode), finalContext).toEqual([]);
    expect(
      ledger.map((effect) => `${effect.kind} ${effect.step} ${effect.key}`),
      finalContext,
    ).toEqual(expectedLedger(mode, workflowId));

    // The engine itself must invoke each step's compensation at most once per process (never twice).
    const invocations = new Map<string, number>();
    for (const event of readTrace(paths.trace)) {
      if (event.type !== "compensate_start") continue;
      const key = `${event.pid}/${event.taskId}`;
      invocations.set(key, (invocations.get(key) ?? 0) + 1);
    }
    const repeatedCompensations = [...invocations.values()].filter((count) => count > 1).length;
    expect(repeatedCompensations, `${finalContext}: a step's compensation ran twice in one process`).toBe(0);

    rmSync(root, { recursive: true, force: true });
    return {
      index,
      mode,
      kills,
      finishedBeforeKill,
      children: children.length,
      noRowsBeforeFirstRow,
      noRowsAfterClear,
      repeatedCompensations,
    };
  } catch (error) {
    keptDirectories.push(root);
    throw error;
  }
}

describe("crash tests: SIGKILL a checkpointed saga at random points, then resume", () => {
  afterAll(() => {
    const tally = (points: readonly KillPoint[]) =>
      points.reduce<Record<string, number>>((counts, point) => {
        counts[point] = (counts[point] ?? 0) + 1;
        return counts;
      }, {});
    const allKills = reports.flatMap((report) => report.kills);
    const firstKills = reports.flatMap((report) => report.kills.slice(0, 1).map((kill) => kill.point));
    const finishedFirst = reports.filter((report) => report.finishedBeforeKill).length;
    const lastRows = allKills.reduce<Record<string, number>>((counts, kill) => {
      counts[kill.lastRow] = (counts[kill.lastRow] ?? 0) + 1;
      return counts;
    }, {});
    const sum = (pick: (report: TrialReport) => number) => reports.reduce((n, r) => n + pick(r), 0);
    console.log(
      [
        `crash tests: ${reports.length} trials, ${allKills.length} kills, ${sum((r) => r.children)} children, ${Date.now() - startedAt} ms`,
        `  first kill of each trial: ${JSON.stringify({ ...tally(firstKills), "child finished before its kill": finishedFirst })}`,
        `  every kill: ${JSON.stringify(tally(allKills.map((kill) => kill.point)))}; of resumes: ${allKills.filter((kill) => kill.action === "resume").length}`,
        `  trials killed more than once: ${reports.filter((r) => r.kills.length > 1).length} (most kills in one trial: ${Math.max(0, ...reports.map((r) => r.kills.length))})`,
        `  last row held at a kill: ${JSON.stringify(lastRows)}`,
        `  "no checkpoint rows" restarts: ${sum((r) => r.noRowsBeforeFirstRow)} before the first row, ${sum((r) => r.noRowsAfterClear)} after the log was cleared`,
        `  a compensation invoked twice by one process: ${sum((r) => r.repeatedCompensations)}${reports
          .filter((r) => r.repeatedCompensations > 0)
          .map(
            (r) =>
              ` (trial ${r.index}, kills at ${r.kills.map((k) => `${k.action}@${k.lastRow}`).join(", ")})`,
          )
          .join("")}`,
        ...(keptDirectories.length === 0 ? [] : [`  kept for inspection: ${keptDirectories.join(" ")}`]),
      ].join("\n"),
    );
  });

  for (let index = 0; index < trials; index++) {
    it.concurrent(`trial ${index} (${index % 2 === 0 ? "ship succeeds" : "ship fails"})`, async () => {
      reports.push(await slot(() => crashTrial(index)));
    }, 120_000);
  }

  it("covers the required kill points", () => {
    expect(reports).toHaveLength(trials);
    const points = reports.flatMap((report) => report.kills.map((kill) => kill.point));
    // Early kills land while the child is still loading: the "no checkpoint rows" restart path must run.
    expect(points).toContain("before first row");
    expect(reports.reduce((n, report) => n + report.noRowsBeforeFirstRow, 0)).toBeGreaterThan(0);
    expect(points).toContain("mid-saga");
  });
});
