import { task, Workflow } from "cano";
import { describe, expect, it } from "vitest";
import { Scheduler } from "../../core/scheduler.ts";

describe("Scheduler on the system clock", () => {
  it("runs an every flow on real timers, then stops cleanly", async () => {
    let runs = 0;
    let ended = 0;
    let resolveThree: () => void = () => {};
    const three = new Promise<void>((resolve) => {
      resolveThree = resolve;
    });
    const workflow = new Workflow<"work" | "done">()
      .register(
        "work",
        task({
          to: ["done"],
          run: () => {
            runs++;
            return "done";
          },
        }),
      )
      .exit("done");
    const running = await new Scheduler({
      onEvent: (event) => {
        if (event.type === "flow_end" && ++ended === 3) resolveThree();
      },
    })
      .every("tick", workflow, "work", 20)
      .start();
    await three;
    expect(await running.stop()).toEqual({ timedOut: [], teardownErrors: [] });
    expect(running.status("tick")).toMatchObject({
      status: "completed",
      runs: 3,
      failures: 0,
      cancelled: 0,
      skipped: 0,
    });
    expect(running.status("tick").nextFireAt).toBeUndefined();
    // Nothing fires after stop.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(runs).toBe(3);
  });
});
