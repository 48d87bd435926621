import type { GateStatus } from "./runtime/gate.ts";
import type { SessionEnd } from "./runtime/session.ts";
import type { RunModel } from "./view/model-types.ts";

/** The run's status line and its tone, for the controls. */
export function statusLine(
  model: RunModel,
  running: boolean,
  gate: GateStatus,
  end: SessionEnd | undefined,
): { readonly status: string; readonly tone: string } {
  const schedule = model.schedule === undefined ? "" : ` · run ${model.schedule.started}`;
  if (running) {
    if (gate.mode === "paused") {
      return {
        status:
          gate.waitingAt === undefined ? `paused${schedule}` : `paused before “${gate.waitingAt}”${schedule}`,
        tone: "warn",
      };
    }
    if (gate.mode === "stepping") return { status: "stepping…", tone: "info" };
    const where = model.current === undefined ? "" : ` in “${model.current}”`;
    return { status: `running${where}${schedule}`, tone: "info" };
  }
  if (end === undefined) return { status: "ready", tone: "muted" };
  switch (end.outcome) {
    case "completed":
      return {
        status:
          end.state === undefined
            ? `completed ${model.schedule?.ended ?? ""} scheduled runs`
            : `completed in “${end.state}”`,
        tone: "ok",
      };
    case "cancelled":
      return { status: "cancelled", tone: "warn" };
    case "gone":
      return { status: "another tab already finished this run", tone: "warn" };
    case "failed":
      return { status: `failed: ${end.message}`, tone: "error" };
  }
}
