/**
 * Poll until ready: submit a report job, then poll its status until it is done.
 *
 * Each poll returns the next state when the job is ready, or `pending(ms)` to look again later
 * (on the workflow's clock). `retryOnError(2)` tolerates a flaky status endpoint: a 502 is not a
 * failed job.
 */
import { key, pending, poll, retryOnError, task, Workflow } from "cano";

type State = "submit" | "wait" | "download" | "done" | "failed";
const jobId = key<string>("jobId");
const checks = key<string[]>("status checks");
const answers = ["queued", "HTTP 502", "running", "running", "done"];

export const workflow = new Workflow<State>({ name: "poll-until-ready" })
  .register(
    "submit",
    task({
      to: ["wait"],
      run: async ({ store, workflowId, clock }) => {
        await clock.sleep(400);
        await store.put(jobId, `job-${workflowId.slice(-6)}`);
        return "wait";
      },
    }),
  )
  .register(
    "wait",
    poll({
      to: ["download", "failed"],
      onError: retryOnError(2),
      poll: async ({ store, clock }) => {
        await clock.sleep(200);
        const seen = (await store.get(checks)) ?? [];
        const answer = answers[Math.min(seen.length, answers.length - 1)]!;
        await store.append(checks, answer);
        if (answer.startsWith("HTTP")) throw new Error(`status API ${answer}`);
        if (answer === "done") return "download";
        if (answer === "error") return "failed";
        return pending(2_000); // queued or running: look again in 2 s
      },
    }),
  )
  .register(
    "download",
    task({
      to: ["done"],
      run: async ({ store, clock }) => {
        await clock.sleep(600);
        console.log(`downloaded the report of ${await store.get(jobId)}`);
        return "done";
      },
    }),
  )
  .exit("done", "failed");

export const initial: State = "submit";
