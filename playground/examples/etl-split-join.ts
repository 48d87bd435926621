/**
 * ETL with split/join: load → four regional transforms in parallel → aggregate.
 *
 * `all()` needs every branch; `bulkhead: 2` lets two run at once, so the others wait their turn.
 * The east warehouse fails once and its branch is retried without giving up its slot. The join
 * state reads every branch's result from `ctx.split`, in branch order.
 */
import { all, fixed, key, task, Workflow } from "cano";

type State = "load" | "transform" | "aggregate" | "done";
interface Sale {
  readonly region: string;
  readonly amount: number;
}
interface RegionTotal {
  readonly region: string;
  readonly total: number;
}

const sales = key<Sale[]>("sales");
const regions = ["north", "south", "east", "west"] as const;
let eastCalls = 0;

/** One branch: totals a region's sales after some (fake) work. */
function totalFor(region: string, workMs: number) {
  return task({
    name: `total-${region}`,
    retry: fixed(2, 700),
    run: async ({ store, clock, signal }): Promise<RegionTotal> => {
      await clock.sleep(workMs, signal);
      if (region === "east" && ++eastCalls === 1) throw new Error("east warehouse API 503");
      const mine = ((await store.get(sales)) ?? []).filter((sale) => sale.region === region);
      return { region, total: mine.reduce((sum, sale) => sum + sale.amount, 0) };
    },
  });
}

export const workflow = new Workflow<State>({ name: "etl-split-join" })
  .register(
    "load",
    task({
      to: ["transform"],
      run: async ({ store, clock }) => {
        await clock.sleep(500);
        const amounts = [120, 80, 45, 300, 15, 60, 210, 90];
        await store.put(
          sales,
          amounts.map((amount, i) => ({ region: regions[i % regions.length]!, amount })),
        );
        return "transform";
      },
    }),
  )
  .registerSplit(
    "transform",
    regions.map((region, i) => totalFor(region, 600 + 400 * i)),
    { strategy: all(), joinState: "aggregate", bulkhead: 2 },
  )
  .register(
    "aggregate",
    task({
      to: ["done"],
      run: async ({ split, store }) => {
        const totals = (split?.successes ?? []).map(({ value }) => value as RegionTotal);
        await store.put("totals", totals);
        console.log(
          `aggregate: ${totals.reduce((sum, t) => sum + t.total, 0)} over ${totals.length} regions`,
        );
        return "done";
      },
    }),
  )
  .exit("done");

export const initial: State = "load";
