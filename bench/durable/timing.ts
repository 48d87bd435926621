/**
 * Timing shared by the in-browser and in-workerd halves of case 5: each side writes the same rows
 * in interleaved rounds (the order rotating), and the median of the rounds is kept. Runs inside the
 * page or the Durable Object, so it uses only `performance.now()`.
 */

/** Writes one batch of rows (every row its own call); `batch` numbers the batch, for fresh run ids. */
export type WriteBatch = (batch: number) => Promise<void>;

/** How a side of case 5 is measured. */
export interface DurableTiming {
  /** Interleaved rounds; the median of their figures is kept. */
  readonly rounds: number;
  /** Each sample repeats the batch until at least this long (workerd's clock only ticks in ms). */
  readonly minSampleMs: number;
  /** Rows written per batch. */
  readonly rowsPerBatch: number;
}

/** Per function: µs per row of each round, and the median. */
export type DurableFigures = Record<string, { readonly rounds: number[]; readonly median: number }>;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Measures every writer in `rounds` interleaved rounds, after one warm-up batch each; µs per row. */
export async function measureWriters(
  writers: Readonly<Record<string, WriteBatch>>,
  { rounds, minSampleMs, rowsPerBatch }: DurableTiming,
): Promise<DurableFigures> {
  const names = Object.keys(writers);
  let batch = 0;
  for (const name of names) await writers[name]!(batch++);
  const perRound = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      const write = writers[name]!;
      let rows = 0;
      const started = performance.now();
      let elapsed = 0;
      do {
        await write(batch++);
        rows += rowsPerBatch;
        elapsed = performance.now() - started;
      } while (elapsed < minSampleMs);
      perRound.get(name)!.push((elapsed * 1_000) / rows);
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const figures = perRound.get(name)!;
      return [name, { rounds: figures, median: median(figures) }];
    }),
  );
}
