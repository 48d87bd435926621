/**
 * ETL with split/join: load → four transforms in parallel → aggregate.
 *
 * Shows: `registerSplit` with the `all()` join (every branch must succeed) and `bulkhead: 2` (at
 * most two branch bodies run at once), one flaky branch retried on its own policy while it keeps its
 * bulkhead slot, and the join state reading every branch's result from `ctx.split`, in branch
 * order, with no side channel.
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
  readonly orders: number;
}

const sales = key<Sale[]>("sales");
const regions = ["north", "south", "east", "west"] as const;

// Only for the printout: how many branch bodies are running right now, and the most ever seen.
let running = 0;
let maxRunning = 0;
let eastCalls = 0;

/** One transform branch: totals one region's sales, after a fake 40 ms of work. */
function totalFor(region: string) {
  return task({
    name: `total-${region}`,
    retry: fixed(2, 10),
    run: async ({ store, clock, signal }): Promise<RegionTotal> => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        await clock.sleep(40, signal);
        // The east warehouse API fails once: the branch retries without giving up its slot.
        if (region === "east" && ++eastCalls === 1) throw new Error("east warehouse API 503");
        const mine = ((await store.get(sales)) ?? []).filter((sale) => sale.region === region);
        return { region, total: mine.reduce((sum, sale) => sum + sale.amount, 0), orders: mine.length };
      } finally {
        running--;
      }
    },
  });
}

const etl = new Workflow<State>()
  .register(
    "load",
    task({
      to: ["transform"],
      run: async ({ store }) => {
        const amounts = [120, 80, 45, 300, 15, 60, 210, 90];
        await store.put(
          sales,
          amounts.map((amount, i) => ({ region: regions[i % regions.length]!, amount })),
        );
        return "transform";
      },
    }),
  )
  .registerSplit("transform", regions.map(totalFor), { strategy: all(), joinState: "aggregate", bulkhead: 2 })
  .register(
    "aggregate",
    task({
      to: ["done"],
      run: ({ split }) => {
        // ctx.split is set only in a join state; its values are `unknown` because branches may
        // return different types, so we name the type the branches above return.
        const totals = (split?.successes ?? []).map(({ value }) => value as RegionTotal);
        for (const { region, total, orders } of totals)
          console.log(`${region.padEnd(5)} ${total} (${orders} orders)`);
        console.log(
          `aggregate: ${totals.reduce((sum, t) => sum + t.total, 0)} over ${totals.length} regions`,
        );
        return "done";
      },
    }),
  )
  .exit("done");

etl.validate("load");
const final = await etl.orchestrate("load");
console.log(`max concurrent transforms: ${maxRunning} (bulkhead 2); east calls: ${eastCalls}`);
console.log(`final state: ${final}`);
