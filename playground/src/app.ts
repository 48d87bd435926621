import type { CheckpointStore, KeyValueStore, WorkflowGraph } from "cano";
import { MemoryCheckpointStore, MemoryStore } from "cano";
import { statusLine } from "./app-status.ts";
import type { WorkerCounterpart } from "./edge.ts";
import { takeToken, WorkerApi, workerCounterparts } from "./edge.ts";
import { SourceEditor } from "./editor/editor.ts";
import { decodeSource, encodeSource } from "./editor/share.ts";
import type { Example } from "./gallery.ts";
import { exampleById, gallery } from "./gallery.ts";
import type { Layout } from "./layout.ts";
import { buildLayout } from "./layout.ts";
import type { PlaygroundStorage, RunMeta, UnfinishedRun } from "./persist/storage.ts";
import type { Preview } from "./preview.ts";
import { preview } from "./preview.ts";
import type { Speed } from "./runtime/clock-driver.ts";
import type { SourceProblem } from "./runtime/compile.ts";
import type { PlaygroundEvent } from "./runtime/events.ts";
import { FaultTable } from "./runtime/faults.ts";
import { Gate } from "./runtime/gate.ts";
import type { SessionEnd } from "./runtime/session.ts";
import { newRunId, Session } from "./runtime/session.ts";
import { ControlsView } from "./view/controls-view.ts";
import { h, relativeTime, setText } from "./view/dom.ts";
import { FaultsView } from "./view/faults-view.ts";
import { graphInput } from "./view/graph-input.ts";
import { GraphView } from "./view/graph-view.ts";
import { apply, createModel } from "./view/model.ts";
import type { RunModel } from "./view/model-types.ts";
import * as panels from "./view/panels.ts";
import { RunsView } from "./view/runs-view.ts";
import { StoreView } from "./view/store-view.ts";
import { TimelineView } from "./view/timeline-view.ts";
import { WorkerLane } from "./view/worker-lane.ts";

/** Run ids whose tab lease (`cano:run:<id>`, a Web Lock) another tab holds. */
async function leasedElsewhere(): Promise<Set<string>> {
  const snapshot = await navigator.locks?.query().catch(() => undefined);
  const names = (snapshot?.held ?? []).map((lock) => lock.name ?? "");
  return new Set(
    names.filter((name) => name.startsWith("cano:run:")).map((name) => name.slice("cano:run:".length)),
  );
}

/** What a new session needs besides the code: who it is, where its data lives, how it starts. */
interface SessionPlan {
  readonly source: string;
  readonly exampleId: string;
  readonly title: string;
  readonly workflowId: string;
  readonly storeNamespace: string;
  readonly startMs: number;
  readonly drive: (session: Session) => Promise<SessionEnd>;
}

/** A run on the local Worker being shown: how to stop reading its events, and its id once started. */
interface EdgeRun {
  readonly controller: AbortController;
  runId?: string;
}

/**
 * The playground page: gallery, editor, controls, and the live view, which is drawn only from the
 * event stream of the running session (batched per animation frame).
 */
export class App {
  readonly #storage: PlaygroundStorage | undefined;
  readonly #faults = new FaultTable();
  readonly #gate = new Gate();
  readonly #layout: Layout;
  readonly #editor: SourceEditor;
  readonly #controls: ControlsView;
  readonly #runs: RunsView;
  readonly #timeline = new TimelineView();
  readonly #graph: GraphView;
  readonly #store: StoreView;
  readonly #faultsView: FaultsView;
  #speed: Speed = 1;
  #example: Example | undefined;
  #preview: Preview | undefined;
  #session: Session | undefined;
  #sessionId: string | undefined;
  #running = false;
  #end: SessionEnd | undefined;
  #model: RunModel = createModel(Date.now());
  #queue: PlaygroundEvent[] = [];
  #frame: number | undefined;
  #editTimer: ReturnType<typeof setTimeout> | undefined;
  #loading = false;
  /** The local Worker's API, when `npm start` handed this page its token. */
  readonly #worker: WorkerApi | undefined;
  /** The run on the Worker being shown in the Worker's lane, if any. */
  #edge: EdgeRun | undefined;
  /** The Worker's graphs, by workflow name (asked once). */
  readonly #workerGraphs = new Map<string, Promise<WorkflowGraph | undefined>>();
  readonly #lane: WorkerLane;
  #laneLoading = false;
  readonly #edgeButton: HTMLButtonElement;
  readonly #bothButton: HTMLButtonElement;
  readonly #edgeNote: HTMLElement;

  constructor(root: HTMLElement, storage: PlaygroundStorage | undefined) {
    this.#storage = storage;
    this.#controls = new ControlsView({
      run: () => this.run(),
      cancel: () => this.#cancel(),
      togglePause: () => (this.#gate.paused ? this.#gate.resume() : this.#gate.pause()),
      step: () => this.#gate.step(),
      setSpeed: (speed) => {
        this.#speed = speed;
        this.#requestFrame();
      },
      reload: () => location.reload(),
    });
    this.#runs = new RunsView({
      resume: (run) => this.resume(run),
      discard: (run) => void this.#discard(run),
    });
    this.#layout = buildLayout(
      root,
      gallery,
      { controls: this.#controls, runs: this.#runs, timeline: this.#timeline },
      (example) => this.pick(example),
    );
    this.#editor = new SourceEditor(
      this.#layout.editor,
      () => this.#edited(),
      () => this.run(),
    );
    const token = takeToken();
    this.#worker = token === undefined ? undefined : new WorkerApi(token);
    this.#edgeButton = h(
      "button",
      { type: "button", id: "run-worker", onclick: () => void this.runOnWorker() },
      "☁ Run on the local Worker",
    );
    this.#bothButton = h(
      "button",
      {
        type: "button",
        id: "run-both",
        title: "Start the run in this tab and the run on the local Worker at once",
        onclick: () => this.runBoth(),
      },
      "▶☁ Run both",
    );
    this.#edgeNote = h("span", { class: "edge-note", id: "worker-note" });
    this.#controls.element.after(
      h(
        "div",
        { class: "edge-bar", role: "group", "aria-label": "Edge mode" },
        this.#edgeButton,
        this.#bothButton,
        this.#edgeNote,
      ),
    );
    this.#lane = new WorkerLane(() => this.#cancelWorker());
    this.#layout.lanes.append(this.#lane.element);
    this.#graph = new GraphView(this.#layout.graph);
    this.#store = new StoreView(this.#layout.panels.store.body);
    this.#faultsView = new FaultsView(this.#layout.panels.faults.body, this.#faults);
    this.#gate.onChange(() => this.#requestFrame());
    this.#layout.share.addEventListener("click", () => void this.#share());
    this.#layout.problem.addEventListener("click", () => {
      const line = Number(this.#layout.problem.dataset.line);
      if (line > 0) this.#editor.reveal(line);
    });
    document.addEventListener("keydown", (event) => this.#key(event));
    if (storage === undefined)
      this.#notice("IndexedDB is not available here: runs work, but do not survive a reload.");
  }

  /** Loads the code the URL carries (or the first example), then lists unfinished runs. */
  async start(): Promise<void> {
    const hash = location.hash;
    const fromHash = hash.startsWith("#example=") ? exampleById(hash.slice("#example=".length)) : undefined;
    let shared: string | undefined;
    try {
      shared = await decodeSource(hash);
    } catch {
      this.#notice(
        "The link's code could not be read (it may be truncated); showing the first example instead.",
      );
    }
    if (shared !== undefined)
      this.#load(
        shared,
        gallery.find((example) => example.source === shared),
      );
    else this.pick(fromHash ?? gallery[0]!);
    await this.#storage?.forgetFinished().catch(() => {});
    await this.#refreshRuns();
  }

  /** Shows a gallery example (cancelling a run in progress). */
  pick(example: Example): void {
    this.#session?.cancel();
    this.#cancelWorker(true);
    this.#speed = example.speed;
    this.#faults.clear();
    this.#load(example.source, example);
    history.replaceState(null, "", `#example=${example.id}`);
  }

  /** Runs the editor's code once (or its schedule). */
  run(): void {
    if (this.#running || this.#preview?.ok !== true) return;
    const exampleId = this.#example?.id ?? "custom";
    const workflowId = newRunId(exampleId);
    this.#startSession({
      source: this.#editor.source,
      exampleId,
      title: this.#title(),
      workflowId,
      storeNamespace: workflowId,
      startMs: Date.now(),
      drive: (session) => session.start(workflowId),
    });
  }

  /**
   * Edge mode: runs this example's workflow on the local Worker's run host (through its HTTP API) and
   * draws the events it streams back (SSE) in the Worker's lane, beside the run in this tab.
   */
  async runOnWorker(): Promise<void> {
    const worker = this.#worker;
    const counterpart = this.#counterpart();
    if (this.#lane.running || worker === undefined || counterpart === undefined || this.#isEdited()) return;
    const graph = await this.#workerGraph(counterpart.workflow);
    if (graph === undefined) {
      this.#notice("The local Worker did not answer: `npm start` serves this page together with it.");
      return;
    }
    const controller = new AbortController();
    const edge: EdgeRun = { controller };
    this.#edge = edge;
    this.#lane.show(graph);
    this.#lane.begin();
    this.#requestFrame();
    let end: SessionEnd;
    try {
      edge.runId = await worker.start(counterpart.workflow, counterpart.input);
      end = { outcome: "failed", message: "the Worker's event stream ended before the run did" };
      for await (const item of worker.events(edge.runId, controller.signal)) {
        if (item.kind === "event") {
          if (this.#edge === edge) this.#lane.push(item.event);
          continue;
        }
        const run = item.run;
        end =
          run.status === "completed"
            ? { outcome: "completed", ...(run.state === undefined ? {} : { state: run.state }) }
            : run.status === "cancelled"
              ? { outcome: "cancelled" }
              : { outcome: "failed", message: run.error?.message ?? run.status };
      }
    } catch (thrown) {
      end = controller.signal.aborted
        ? { outcome: "cancelled" }
        : { outcome: "failed", message: thrown instanceof Error ? thrown.message : String(thrown) };
    }
    if (this.#edge === edge) {
      this.#edge = undefined;
      this.#lane.finish(end);
    }
    this.#requestFrame();
  }

  /** Starts the run in this tab and the same workflow's run on the local Worker together. */
  runBoth(): void {
    if (this.#running || this.#lane.running || this.#edgeButton.disabled) return;
    this.run();
    void this.runOnWorker();
  }

  #cancel(): void {
    this.#session?.cancel();
    this.#cancelWorker();
  }

  /**
   * Cancels the run on the Worker: it compensates and streams that too, then the stream ends by
   * itself; `stopReading` also stops drawing it at once (another example was picked).
   */
  #cancelWorker(stopReading = false): void {
    const edge = this.#edge;
    if (edge === undefined) return;
    if (edge.runId !== undefined) void this.#worker?.cancel(edge.runId);
    if (stopReading || edge.runId === undefined) edge.controller.abort();
  }

  #workerGraph(workflow: string): Promise<WorkflowGraph | undefined> {
    let graph = this.#workerGraphs.get(workflow);
    if (graph === undefined && this.#worker !== undefined) {
      graph = this.#worker.graph(workflow);
      this.#workerGraphs.set(workflow, graph);
    }
    return graph ?? Promise.resolve(undefined);
  }

  #counterpart(): WorkerCounterpart | undefined {
    return this.#example === undefined ? undefined : workerCounterparts[this.#example.id];
  }

  /** The editor's code is not the example's own. */
  #isEdited(): boolean {
    return this.#example === undefined || this.#editor.source !== this.#example.source;
  }

  #syncEdge(): void {
    const counterpart = this.#counterpart();
    let note: string;
    if (counterpart === undefined) {
      const names = Object.keys(workerCounterparts).map((id) => exampleById(id)?.title ?? id);
      note = `Not compiled into the local Worker (it runs: ${names.join(", ")}).`;
    } else if (this.#isEdited()) {
      note = "Edited code runs only in this tab: the Worker runs the workflows compiled into it.";
    } else if (this.#worker === undefined) {
      note = "Start with `npm start` and open the URL it prints to run this on the local Worker.";
    } else {
      note = counterpart.note;
    }
    const unavailable = counterpart === undefined || this.#isEdited() || this.#worker === undefined;
    this.#edgeButton.disabled = unavailable || this.#lane.running;
    this.#bothButton.disabled =
      unavailable || this.#lane.running || this.#running || this.#preview?.ok !== true;
    setText(this.#edgeNote, note);
    this.#edgeNote.title = note;
    this.#edgeButton.setAttribute("aria-pressed", String(this.#lane.running));
    // Split view: the Worker's lane stands beside this tab's whenever the Worker can run this code.
    const split = !unavailable || this.#lane.running;
    if (split && counterpart !== undefined && this.#lane.element.hidden && !this.#laneLoading) {
      this.#laneLoading = true;
      void this.#workerGraph(counterpart.workflow).then((graph) => {
        this.#laneLoading = false;
        if (graph !== undefined && this.#counterpart() === counterpart) this.#lane.show(graph);
        this.#requestFrame();
      });
    } else if (!split && !this.#lane.element.hidden) this.#lane.hide();
    this.#layout.lanes.classList.toggle("split", !this.#lane.element.hidden);
  }

  /** Resumes an unfinished run: its code back in the editor, its log replayed, then the run continues. */
  resume(run: UnfinishedRun): void {
    const meta = run.meta;
    if (this.#running || meta === undefined) return;
    this.#load(meta.source, exampleById(meta.exampleId));
    const workflowId = run.summary.workflowId;
    this.#startSession({
      ...meta,
      startMs: Math.max(Date.now(), run.summary.at + 1),
      drive: (session) => session.resume(workflowId),
    });
  }

  #startSession(plan: SessionPlan): void {
    this.#gate.reset();
    this.#queue = [];
    this.#end = undefined;
    const storage = this.#storage;
    const store: KeyValueStore = storage?.keyValueStore(plan.storeNamespace) ?? new MemoryStore();
    const checkpoints: CheckpointStore = storage?.checkpoints ?? new MemoryCheckpointStore();
    const prepared = Session.prepare({
      ...plan,
      checkpoints,
      store,
      faults: this.#faults,
      gate: this.#gate,
      speed: () => this.#speed,
      emit: (event) => this.#onEvent(event, plan),
    });
    if (!prepared.ok) {
      this.#showProblem(prepared.problem);
      return;
    }
    const session = prepared.session;
    this.#session = session;
    this.#sessionId = plan.workflowId;
    this.#running = true;
    this.#model = createModel(session.clock.now(), session.program.env.structure.splits);
    this.#timeline.clear();
    this.#store.show(store);
    void this.#refreshRuns();
    if (session.program.schedule === undefined)
      void storage?.saveMeta(this.#meta(session, plan, plan.workflowId));
    void plan.drive(session).then((end) => {
      this.#running = false;
      this.#end = end;
      session.dispose();
      // Another workflow was picked while this one ran: show that one, fresh.
      if (this.#editor.source !== plan.source) this.#refreshPreview();
      this.#store.refresh();
      this.#requestFrame();
      void this.#refreshRuns();
    });
    this.#requestFrame();
  }

  #meta(session: Session, plan: SessionPlan, workflowId: string): RunMeta {
    return session.meta(workflowId, plan.storeNamespace);
  }

  #onEvent(event: PlaygroundEvent, plan: SessionPlan): void {
    this.#queue.push(event);
    if (event.type === "flow_start" && this.#session !== undefined) {
      void this.#storage?.saveMeta(this.#meta(this.#session, plan, event.runId));
    }
    this.#requestFrame();
  }

  #load(source: string, example: Example | undefined): void {
    this.#loading = true;
    this.#example = example;
    this.#editor.setSource(source);
    this.#loading = false;
    this.#refreshPreview();
    for (const button of this.#layout.gallery.querySelectorAll<HTMLElement>("[data-example]")) {
      button.setAttribute("aria-current", String(button.dataset.example === example?.id));
    }
  }

  #edited(): void {
    if (this.#loading) return;
    clearTimeout(this.#editTimer);
    this.#editTimer = setTimeout(() => {
      this.#refreshPreview();
      void this.#updateHash();
    }, 250);
  }

  #refreshPreview(): void {
    this.#preview = preview(this.#editor.source);
    this.#showProblem(this.#preview.ok ? undefined : this.#preview.problem);
    if (this.#preview.ok) this.#faultsView.show(this.#preview.program.env.structure.tasks);
    this.#layout.sourceTitle.textContent = `${this.#title()} · workflow.ts`;
    if (!this.#running) {
      // New code, new picture: the last run's belongs to the code it ran.
      this.#end = undefined;
      this.#model = createModel(
        this.#model.origin,
        this.#preview.ok ? this.#preview.program.env.structure.splits : new Map(),
      );
    }
    this.#requestFrame();
  }

  #showProblem(problem: SourceProblem | undefined): void {
    this.#editor.showProblem(problem);
    const bar = this.#layout.problem;
    bar.hidden = problem === undefined;
    bar.dataset.line = String(problem?.line ?? "");
    bar.textContent =
      problem === undefined
        ? ""
        : `${problem.line === undefined ? "" : `Line ${problem.line}: `}${problem.message}`;
    this.#layout.graph.classList.toggle("stale", problem !== undefined && !this.#running);
  }

  #title(): string {
    if (this.#example === undefined) return "Custom workflow";
    return this.#editor.source === this.#example.source
      ? this.#example.title
      : `${this.#example.title} (edited)`;
  }

  async #updateHash(): Promise<void> {
    const source = this.#editor.source;
    const hash =
      this.#example?.source === source ? `#example=${this.#example.id}` : await encodeSource(source);
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  async #share(): Promise<void> {
    await this.#updateHash();
    try {
      await navigator.clipboard.writeText(location.href);
      this.#notice("Link copied: it carries this code.");
    } catch {
      this.#notice("The address bar now carries this code: copy it from there.");
    }
  }

  async #refreshRuns(): Promise<void> {
    if (this.#storage === undefined) return;
    const runs = await this.#storage.unfinishedRuns().catch(() => []);
    const active = new Set<string>();
    const id = this.#sessionId;
    if (this.#running && id !== undefined) {
      for (const run of runs)
        if (run.summary.workflowId === id || run.summary.workflowId.startsWith(`${id}-run`))
          active.add(run.summary.workflowId);
    }
    this.#runs.show(runs, active, await leasedElsewhere());
  }

  async #discard(run: UnfinishedRun): Promise<void> {
    await this.#storage?.discard(run);
    await this.#refreshRuns();
  }

  #notice(text: string): void {
    const notice = this.#layout.notice;
    notice.textContent = text;
    notice.hidden = false;
  }

  #key(event: KeyboardEvent): void {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      this.run();
      return;
    }
    const target = event.target as HTMLElement | null;
    if (target?.closest(".cm-editor, input, textarea, select") !== null && target !== null) return;
    if (event.key === "Escape") this.#cancel();
    else if (event.key === "p") this.#gate.paused ? this.#gate.resume() : this.#gate.pause();
    else if (event.key === "s") this.#gate.step();
  }

  #requestFrame(): void {
    this.#frame ??= requestAnimationFrame(() => this.#render());
  }

  #render(): void {
    this.#frame = undefined;
    const model = this.#model;
    const applied = this.#queue.length > 0;
    for (const event of this.#queue) apply(model, event);
    this.#queue = [];
    const program = this.#running
      ? this.#session?.program
      : this.#preview?.ok === true
        ? this.#preview.program
        : this.#session?.program;
    const now = this.#session?.clock.now() ?? model.origin;
    if (program !== undefined)
      this.#graph.setGraph(graphInput(program.workflow.graph(), program.env.structure.splits, model.edges));
    this.#graph.update(model, now, this.#running ? this.#gate.waitingAt : undefined);
    const { retries, breakers, splits, saga } = this.#layout.panels;
    for (const [panel, content] of [
      [retries, panels.retries(model, now)],
      [breakers, panels.breakers(model, now)],
      [splits, panels.splits(model)],
      [saga, panels.compensations(model)],
    ] as const) {
      panel.set(content.signature, () => content.nodes, content.count);
    }
    this.#timeline.update(model);
    if (applied) this.#store.refresh();
    this.#syncEdge();
    const line = statusLine(model, this.#running, this.#gate.status(), this.#end);
    this.#controls.sync({
      running: this.#running,
      paused: this.#gate.paused,
      runnable: this.#preview?.ok === true,
      speed: this.#speed,
      ...line,
      clock: relativeTime(now, model.origin),
    });
    setText(this.#layout.laneStatus, line.status);
    this.#layout.laneStatus.title = line.status;
    this.#layout.laneStatus.dataset.tone = line.tone;
    if (this.#running) this.#requestFrame();
  }
}
