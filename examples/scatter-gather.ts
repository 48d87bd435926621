/**
 * Scatter-gather: ask three carriers for a price, then pick the best quote that came back.
 *
 * Shows: two join strategies over the same three quotes (one fast, one slow, one failing).
 * `quorum(2)` needs two successes but waits for every branch (it never exits early), so the slow
 * quote is included. `partialTimeout()` with `timeoutMs` moves on at the deadline with whatever has
 * settled and cancels the rest through their `ctx.signal`; `ctx.split.cancelled` names them.
 */
import type { SplitResult } from "cano";
import { none, partialTimeout, quorum, task, Workflow } from "cano";

type State = "quote_all" | "pick" | "quote_fast" | "pick_fast" | "done";
interface Quote {
  readonly carrier: string;
  readonly price: number;
}

/** A carrier's price API: answers after `latencyMs`, or fails when `price` is undefined. */
function carrier(name: string, latencyMs: number, price?: number) {
  return task({
    name,
    retry: none(), // a quote that fails is simply left out; no point asking again
    run: async ({ clock, signal }): Promise<Quote> => {
      try {
        await clock.sleep(latencyMs, signal); // honour the signal: a cancelled branch stops here
      } catch (reason) {
        console.log(`  ${name}: request aborted`);
        throw reason;
      }
      if (price === undefined) throw new Error(`${name} pricing API 500`);
      return { carrier: name, price };
    },
  });
}
const carriers = [carrier("swift", 20, 42), carrier("slowpoke", 400, 37), carrier("broken", 10)];

/** The join state's view of a split: the cheapest quote, and what happened to the other branches. */
function report(label: string, split: SplitResult | undefined): void {
  const quotes = (split?.successes ?? []).map(({ value }) => value as Quote); // branches return Quote
  const best = quotes.reduce<Quote | undefined>(
    (min, q) => (min === undefined || q.price < min.price ? q : min),
    undefined,
  );
  console.log(
    `${label}: ${quotes.map((q) => `${q.carrier} ${q.price}`).join(", ")}; best ${best?.carrier} at ${best?.price}`,
  );
  console.log(
    `  failed: ${split?.errors.map((e) => `${carriers[e.index]?.name} (${e.error.message})`).join(", ")}`,
  );
  console.log(`  cancelled: [${split?.cancelled.map((i) => carriers[i]?.name).join(", ")}]`);
}

const gather = new Workflow<State>()
  .registerSplit("quote_all", carriers, { strategy: quorum(2), joinState: "pick" })
  .register(
    "pick",
    task({
      to: ["quote_fast"],
      run: ({ split }) => {
        report("quorum(2)", split);
        return "quote_fast";
      },
    }),
  )
  .registerSplit("quote_fast", carriers, {
    strategy: partialTimeout(),
    timeoutMs: 100,
    joinState: "pick_fast",
  })
  .register(
    "pick_fast",
    task({
      to: ["done"],
      run: ({ split }) => {
        report("partialTimeout() after 100 ms", split);
        return "done";
      },
    }),
  )
  .exit("done")
  .withObserver((event) => {
    if (event.type === "join") console.log(`join ${event.strategy} → ${event.decision}`);
  });

gather.validate("quote_all");
console.log(`final state: ${await gather.orchestrate("quote_all")}`);
