/**
 * Poll until ready: submit a report job, then poll its status until it is done.
 *
 * Shows: the `poll` model. Each poll returns the next state when the job is ready or
 * `pending(ms)` to poll again later (the wait goes through the workflow's clock); `retryOnError(n)`
 * tolerates up to n status checks in a row that throw, re-polling at once; `attemptTimeoutMs`
 * bounds the whole loop. A second run against a status API that stays down fails once the
 * tolerance is used up.
 */
import { isCanoError, key, pending, poll, retryOnError, task, Workflow } from "cano";

type State = "submit" | "wait" | "download" | "done" | "failed";
const jobId = key<string>("jobId");

/** A fake job API: the job is queued, then running, then done, and the status API has bad moments. */
function jobApi(answers: readonly string[]) {
  let checks = 0;
  return {
    async status(id: string): Promise<string> {
      const answer = answers[Math.min(checks++, answers.length - 1)]!;
      console.log(`  status check ${checks} of ${id}: ${answer}`);
      if (answer.startsWith("HTTP")) throw new Error(answer);
      return answer;
    },
  };
}

function reportJob(api: ReturnType<typeof jobApi>) {
  return new Workflow<State>()
    .register(
      "submit",
      task({
        to: ["wait"],
        run: async ({ store, workflowId }) => {
          await store.put(jobId, `job-${workflowId}`);
          return "wait";
        },
      }),
    )
    .register(
      "wait",
      poll({
        to: ["download", "failed"],
        onError: retryOnError(2), // a flaky status endpoint is not a failed job
        attemptTimeoutMs: 1_500,
        poll: async ({ store }) => {
          const status = await api.status((await store.get(jobId)) ?? "?");
          if (status === "done") return "download";
          if (status === "error") return "failed";
          return pending(50); // queued or running: look again in 50 ms
        },
      }),
    )
    .register("download", task({ to: ["done"], run: () => "done" }))
    .exit("done", "failed");
}

console.log("run 1: the status API drops two calls in a row, which retryOnError(2) tolerates");
const healthy = jobApi(["queued", "HTTP 502", "HTTP 502", "running", "running", "done"]);
console.log(`run 1 reached "${await reportJob(healthy).orchestrate("submit", { workflowId: "r1" })}"`);

console.log("\nrun 2: the status API stays down");
const down = jobApi(["queued", "HTTP 503"]);
try {
  await reportJob(down).orchestrate("submit", { workflowId: "r2" });
} catch (error) {
  if (!isCanoError(error)) throw error;
  console.log(`run 2 failed with ${error.code} in "${error.state}": ${error.cause}`);
}
