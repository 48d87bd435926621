/**
 * Scatter-gather: ask three carriers for a price, then pick the cheapest quote.
 *
 * `quorum(2)` needs two successes and waits for every branch, so the slow quote is included.
 * `partialTimeout()` moves on at its deadline with whatever settled and cancels the rest through
 * their `ctx.signal`.
 */
import type { SplitResult } from "cano";
import { none, partialTimeout, quorum, task, Workflow } from "cano";

type State = "quote_all" | "pick" | "quote_fast" | "pick_fast" | "done";
interface Quote {
  readonly carrier: string;
  readonly price: number;
}

/** A carrier's price API: answers after `latencyMs`, or fails when it has no price. */
function carrier(name: string, latencyMs: number, price?: number) {
  return task({
    name,
    retry: none(),
    run: async ({ clock, signal }): Promise<Quote> => {
      await clock.sleep(latencyMs, signal);
      if (price === undefined) throw new Error(`${name} pricing API 500`);
      return { carrier: name, price };
    },
  });
}
const carriers = [carrier("swift", 700, 42), carrier("slowpoke", 3_000, 37), carrier("broken", 400)];

function best(split: SplitResult | undefined): string {
  const quotes = (split?.successes ?? []).map(({ value }) => value as Quote);
  const cheapest = quotes.reduce<Quote | undefined>(
    (min, q) => (min === undefined || q.price < min.price ? q : min),
    undefined,
  );
  return cheapest === undefined ? "no quote" : `${cheapest.carrier} at ${cheapest.price}`;
}

export const workflow = new Workflow<State>({ name: "scatter-gather" })
  .registerSplit("quote_all", carriers, { strategy: quorum(2), joinState: "pick" })
  .register(
    "pick",
    task({
      to: ["quote_fast"],
      run: async ({ split, store }) => {
        await store.put("quorum(2) best", best(split));
        return "quote_fast";
      },
    }),
  )
  .registerSplit("quote_fast", carriers, {
    strategy: partialTimeout(),
    timeoutMs: 1_500,
    joinState: "pick_fast",
  })
  .register(
    "pick_fast",
    task({
      to: ["done"],
      run: async ({ split, store }) => {
        await store.put("partialTimeout() best", best(split));
        return "done";
      },
    }),
  )
  .exit("done");

export const initial: State = "quote_all";
