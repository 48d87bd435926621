// What a reload trial must show, as pure functions over the ledger and the run's stored data: each
// effect once, undos once and newest first, and no state run again unless the engine re-enters it.
import type { LedgerEntry } from "./pages/ledger.ts";
import type { RunReport } from "./pages/reload-app.ts";
import type { ReloadMode } from "./pages/reload-workflow.ts";
import { forwardStates, tools } from "./pages/reload-workflow.ts";

/** The effects a run must have done (key suffixes after `<run>:`), in forward order. */
export function expectedEffects(mode: ReloadMode): string[] {
  const base = ["reserve", ...tools.map((_, index) => `fanout:${index}`), "charge"];
  return mode === "succeed" ? [...base, "ship", "notify"] : base;
}

/** Where each state sits in the forward order; `done` after all of them. */
function position(state: string | undefined): number {
  if (state === "done") return forwardStates.length;
  return forwardStates.indexOf(state as (typeof forwardStates)[number]);
}

/** The effect's reference, by key suffix, from the ledger. */
export function refOf(ledger: readonly LedgerEntry[], run: string, suffix: string): string | undefined {
  return ledger.find((entry) => entry.type === "effect" && entry.key === `${run}:${suffix}`)?.ref;
}

/** The run's memory once it has ended, built from the references the ledger recorded. */
export function expectedMemory(
  ledger: readonly LedgerEntry[],
  run: string,
  mode: ReloadMode,
): Record<string, unknown> {
  const ref = (suffix: string) => refOf(ledger, run, suffix);
  const memory: Record<string, unknown> = {
    plan: { steps: [...forwardStates] },
    merged: tools.map((tool, index) => ({ tool, ref: ref(`fanout:${index}`) })),
  };
  tools.forEach((tool, index) => {
    memory[`tool:${tool}`] = { ref: ref(`fanout:${index}`), answer: `answer from ${tool}` };
  });
  if (mode === "succeed") {
    Object.assign(memory, {
      reservation: ref("reserve"),
      charge: ref("charge"),
      reviewed: true,
      shipment: ref("ship"),
      outcome: { state: "done", notice: ref("notify") },
    });
  }
  return memory;
}

/** A page load seen in the ledger: its `load` line (if it got that far) and what it executed. */
export interface Life {
  readonly life: string;
  readonly load: LedgerEntry | undefined;
  readonly entries: readonly LedgerEntry[];
}

/** The ledger split by page load, in the order the loads happened. */
export function lives(ledger: readonly LedgerEntry[]): Life[] {
  const order: string[] = [];
  const byLife = new Map<string, LedgerEntry[]>();
  for (const entry of ledger) {
    if (!byLife.has(entry.life)) {
      order.push(entry.life);
      byLife.set(entry.life, []);
    }
    byLife.get(entry.life)?.push(entry);
  }
  return order.map((life) => {
    const entries = byLife.get(life) ?? [];
    return { life, load: entries.find((entry) => entry.type === "load"), entries };
  });
}

/** `state` or `state[branch]`, to compare executions. */
function step(entry: LedgerEntry): string {
  return entry.branch === undefined ? `${entry.state}` : `${entry.state}[${entry.branch}]`;
}

/** Everything wrong with a finished run's ledger; `[]` when the engine kept its promises. */
export function ledgerProblems(ledger: readonly LedgerEntry[], run: string, mode: ReloadMode): string[] {
  const problems: string[] = [];
  const effects = ledger
    .filter((entry) => entry.type === "effect")
    .map((entry) => entry.key?.slice(run.length + 1));
  const expected = expectedEffects(mode);
  const sorted = [...effects].sort();
  if (JSON.stringify(sorted) !== JSON.stringify([...expected].sort())) {
    problems.push(`effects ${JSON.stringify(effects)} are not each of ${JSON.stringify(expected)} once`);
  }
  const order = effects.map((suffix) => position(suffix?.split(":")[0]));
  if (order.some((at, index) => index > 0 && at < (order[index - 1] ?? 0))) {
    problems.push(`effects out of forward order: ${JSON.stringify(effects)}`);
  }
  const undos = ledger.filter((entry) => entry.type === "undo").map((entry) => entry.state);
  const expectedUndos = mode === "fail" ? ["charge", "reserve"] : [];
  if (JSON.stringify(undos) !== JSON.stringify(expectedUndos)) {
    problems.push(`undos ${JSON.stringify(undos)}, expected ${JSON.stringify(expectedUndos)}`);
  }
  const executedBefore = new Set<string>();
  for (const { life, load, entries } of lives(ledger)) {
    const execs = entries.filter((entry) => entry.type === "exec");
    const name = `life ${life.slice(0, 8)}`;
    if (execs.length > 0 && load === undefined) problems.push(`${name} executed without taking the lease`);
    if (
      load !== undefined &&
      entries.some((entry, at) => entry.type === "exec" && at < entries.indexOf(load))
    ) {
      problems.push(`${name} executed before its load line`);
    }
    const resumedAt = load?.rows === 0 ? undefined : load?.lastState;
    if (load?.rows === 0 && executedBefore.size > 0 && execs.length > 0) {
      problems.push(
        `${name} found no rows after the run had begun, yet executed ${execs.map(step).join(", ")}`,
      );
    }
    for (const exec of execs) {
      if (resumedAt !== undefined && position(exec.state) < position(resumedAt)) {
        problems.push(`${name} resumed at "${resumedAt}" but ran the earlier state ${step(exec)}`);
      }
      // The engine's promise: a state runs again only when the log ended in it (its successor's row
      // was never written), and then it is exactly where the next load resumes.
      if (executedBefore.has(step(exec)) && exec.state !== resumedAt) {
        problems.push(
          `${name} ran ${step(exec)} again, although the log it resumed from ended in "${resumedAt}"`,
        );
      }
    }
    const compensations = entries.filter((entry) => entry.type === "compensate").map((entry) => entry.state);
    if (new Set(compensations).size !== compensations.length) {
      problems.push(`${name} called a compensation twice: ${JSON.stringify(compensations)}`);
    }
    const reversed = compensations.filter((state) => state === "charge" || state === "reserve");
    if (mode === "succeed" ? compensations.length > 0 : reversed.length !== compensations.length) {
      problems.push(`${name} compensated ${JSON.stringify(compensations)} in ${mode} mode`);
    }
    if (reversed.join() === "reserve,charge") problems.push(`${name} compensated reserve before charge`);
    for (const exec of execs) executedBefore.add(step(exec));
  }
  const required =
    mode === "succeed" ? [...forwardStates] : forwardStates.slice(0, forwardStates.indexOf("review") + 1);
  for (const state of required) {
    if (!ledger.some((entry) => entry.type === "exec" && entry.state === state))
      problems.push(`"${state}" never ran`);
  }
  return problems;
}

/**
 * Where each reload landed, seen by the page load after it: `<state>:<kind>` of the last row it found,
 * or why it found none. A page reloaded again before taking the lease shows as such.
 */
export function landings(report: RunReport): string[] {
  const all = lives(report.ledger);
  return all.slice(1).map(({ load }, index) => {
    if (load === undefined) return "(reloaded again before taking the lease)";
    if (load.rows !== 0) return `${load.lastState}:${load.lastKind}`;
    const begunBefore = all
      .slice(0, index + 1)
      .some((life) => life.entries.some((entry) => entry.type === "exec"));
    return begunBefore ? "(after the log was cleared)" : "(before the first row)";
  });
}
