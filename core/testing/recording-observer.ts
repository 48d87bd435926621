import type { EventOf, WorkflowEvent, WorkflowEventType } from "../events.ts";
import type { WorkflowGraph } from "../graph.ts";

/** Thrown by the `assert*` methods of {@link RecordingObserver}. */
export class RecordingAssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordingAssertionError";
  }
}

const list = (states: readonly string[]) => `[${states.map((s) => `"${s}"`).join(", ")}]`;

/**
 * Records every event of the runs it observes, with assertions on the path taken.
 *
 * @example
 * const recorder = new RecordingObserver();
 * await wf.withObserver(recorder).orchestrate("fetch");
 * recorder.assertPath(["fetch", "summarize", "done"]);
 * recorder.assertRegisteredStatesEntered(wf); // finds dead states
 */
export class RecordingObserver {
  #events: WorkflowEvent[] = [];

  /** The observer function; `withObserver(recorder)` uses it. */
  readonly observe = (event: WorkflowEvent): void => {
    this.#events.push(event);
  };

  /** Every event recorded so far, oldest first. */
  get events(): readonly WorkflowEvent[] {
    return this.#events;
  }

  /** The recorded events of one type. */
  ofType<TType extends WorkflowEventType>(type: TType): EventOf<TType>[] {
    return this.#events.filter((event): event is EventOf<TType> => event.type === type);
  }

  /** The states entered, in order, across every recorded run. */
  statesEntered(): string[] {
    return this.ofType("state_enter").map((event) => event.state);
  }

  /** Forgets everything recorded. */
  clear(): void {
    this.#events = [];
  }

  /** Returns the recorded events and forgets them. */
  take(): WorkflowEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /** Asserts the states entered are exactly `expected`, in order. */
  assertPath(expected: readonly string[]): void {
    const actual = this.statesEntered();
    if (actual.length !== expected.length || actual.some((state, i) => state !== expected[i])) {
      throw new RecordingAssertionError(
        `expected path ${list(expected)}, but the run entered ${list(actual)}`,
      );
    }
  }

  /** Asserts the last recorded run completed in exit state `state`. */
  assertCompletedWith(state: string): void {
    const end = this.ofType("run_end").at(-1);
    if (end === undefined)
      throw new RecordingAssertionError(`expected a run completed with "${state}", but no run ended`);
    if (end.outcome !== "completed" || end.state !== state) {
      const how =
        end.outcome === "completed"
          ? `completed with "${end.state}"`
          : `${end.outcome}: ${end.error?.message}`;
      throw new RecordingAssertionError(`expected a run completed with "${state}", but it ${how}`);
    }
  }

  /** Asserts every state in `states` was entered at least once; the error lists the missing ones. */
  assertAllStatesEntered(states: readonly string[]): void {
    const entered = new Set(this.statesEntered());
    const missing = states.filter((state) => !entered.has(state));
    if (missing.length > 0) throw new RecordingAssertionError(`states never entered: ${list(missing)}`);
  }

  /** Asserts every state with a task (exit states aside) was entered: finds dead states. */
  assertRegisteredStatesEntered(workflow: { graph(): WorkflowGraph }): void {
    this.assertAllStatesEntered(
      workflow
        .graph()
        .nodes.filter((node) => node.kind !== "exit")
        .map((node) => node.id),
    );
  }
}
