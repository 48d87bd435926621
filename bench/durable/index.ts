/**
 * Case 5 with the durable adapters: `IndexedDbCheckpointStore` in Chromium against raw `idb` puts,
 * and `DurableObjectCheckpointStore` in workerd against raw SQL inserts, of the same rows (one run's
 * checkpoint log, one call per row). Figures are µs per row, the median of interleaved rounds.
 */
import type { Row } from "../harness.ts";
import { measureInChromium } from "./chromium.ts";
import { checkpointRows } from "./rows.ts";
import type { DurableFigures, DurableTiming } from "./timing.ts";
import { measureInWorkerd } from "./workerd.ts";

/** A side that could not run (no Chromium, no workerd binary), reported instead of its row. */
export interface Skipped {
  readonly case: string;
  readonly reason: string;
}

const target = { kind: "ratio-max", max: 1.2 } as const;

function row(
  name: string,
  engineName: string,
  baselineName: string,
  figures: DurableFigures,
  rowsPerBatch: number,
): Row {
  return {
    case: name,
    engineName: `${engineName}, ${rowsPerBatch} appends`,
    baselineName,
    unit: "µs/row",
    engine: figures.adapter!.median,
    baseline: figures.raw!.median,
    target,
  };
}

/** Measures both rows; a runtime that is missing here becomes a skipped entry, not a failed bench. */
export async function durableRows(): Promise<{ rows: Row[]; skipped: Skipped[] }> {
  const log = await checkpointRows();
  const rows: Row[] = [];
  const skipped: Skipped[] = [];
  const sides = [
    {
      case: "5 checkpointed (Chromium)",
      measure: () => measureInChromium(log, chromiumTiming(log.length)),
      engineName: "IndexedDbCheckpointStore.append",
      baselineName: 'raw idb put, 1 readwrite tx per row, durability "strict"',
    },
    {
      case: "5 checkpointed (workerd)",
      measure: () => measureInWorkerd(log, workerdTiming(log.length)),
      engineName: "DurableObjectCheckpointStore.append",
      baselineName: "raw ctx.storage.sql.exec INSERT per row",
    },
  ];
  for (const side of sides) {
    try {
      rows.push(row(side.case, side.engineName, side.baselineName, await side.measure(), log.length));
    } catch (error) {
      skipped.push({ case: side.case, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { rows, skipped };
}

/** Samples of ≥ 150 ms (whole logs, a few hundred rows): a strict-durability commit takes ~0.4 ms and varies a lot. */
function chromiumTiming(rowsPerBatch: number): DurableTiming {
  return { rounds: 9, minSampleMs: 150, rowsPerBatch };
}

/** Samples of ≥ 100 ms: workerd's clock advances in whole milliseconds. */
function workerdTiming(rowsPerBatch: number): DurableTiming {
  return { rounds: 7, minSampleMs: 100, rowsPerBatch };
}
