/**
 * A scheduled, cron-like flow: a report built every minute on the minute (like cron `* * * * *`),
 * three times. The trigger is a plain `Trigger` object: the scheduler asks it for the next planned
 * time and owns all the waiting, on the playground's virtual clock, so a minute passes in a blink
 * at 100× or max speed.
 */
import type { Trigger } from "cano";
import { key, task, Workflow } from "cano";

type State = "collect" | "summarize" | "send" | "done";
const reports = key<string[]>("reports sent");
const minute = 60_000;

export const workflow = new Workflow<State>({ name: "scheduled-report" })
  .register(
    "collect",
    task({
      to: ["summarize"],
      run: async ({ clock }) => {
        await clock.sleep(800);
        return "summarize";
      },
    }),
  )
  .register(
    "summarize",
    task({
      to: ["send"],
      run: async ({ clock }) => {
        await clock.sleep(1_200);
        return "send";
      },
    }),
  )
  .register(
    "send",
    task({
      to: ["done"],
      run: async ({ clock, store }) => {
        await clock.sleep(400);
        await store.append(reports, new Date(clock.now()).toISOString().slice(11, 19));
        return "done";
      },
    }),
  )
  .exit("done");

export const initial: State = "collect";

/** Every minute on the minute; a late wake-up runs once, whatever it missed. */
export const trigger: Trigger = {
  description: "every minute on the minute",
  next: ({ now, lastFireAt }) => (Math.floor((lastFireAt ?? now) / minute) + 1) * minute,
  onWake: ({ planned }) => Math.min(planned.length, 1),
};
export const runs = 3;
