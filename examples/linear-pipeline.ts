/**
 * Linear pipeline: extract → transform → load, sharing data through typed store keys.
 *
 * Shows: the smallest useful workflow, typed keys (one validated with a zod schema), and the path
 * checked with the RecordingObserver from `cano/testing`.
 */
import { key, task, Workflow } from "cano";
import { RecordingObserver } from "cano/testing";
import { z } from "zod";

type State = "extract" | "transform" | "load" | "done";

const rows = key("rows", z.array(z.object({ name: z.string(), amount: z.number() })));
const total = key<number>("total");

const pipeline = new Workflow<State>()
  .register(
    "extract",
    task({
      to: ["transform"],
      run: async ({ store }) => {
        await store.put(rows, [
          { name: "alpha", amount: 12 },
          { name: "beta", amount: 30 },
        ]);
        return "transform";
      },
    }),
  )
  .register(
    "transform",
    task({
      to: ["load"],
      run: async ({ store }) => {
        const loaded = (await store.get(rows)) ?? [];
        await store.put(
          total,
          loaded.reduce((sum, row) => sum + row.amount, 0),
        );
        return "load";
      },
    }),
  )
  .register(
    "load",
    task({
      to: ["done"],
      run: async ({ store }) => {
        console.log(`loaded total = ${await store.get(total)}`);
        return "done";
      },
    }),
  )
  .exit("done");

pipeline.validate("extract");
const recorder = new RecordingObserver();
const final = await pipeline.withObserver(recorder).orchestrate("extract");
recorder.assertPath(["extract", "transform", "load", "done"]);
console.log(`final state: ${final}; path: ${recorder.statesEntered().join(" → ")}`);
