/**
 * The XState v5 baseline of case 1: the chain as a machine where each state invokes a promise
 * actor (`fromPromise`) and moves on in `onDone`, run to its final state with `createActor`.
 */
import { createActor, createMachine, fromPromise, toPromise } from "xstate";
import type { Chain } from "./chain.ts";
import { exitState } from "./chain.ts";

/** The part of an XState state config this machine uses. */
interface InvokingState {
  readonly invoke?: {
    readonly src: ReturnType<typeof fromPromise<string>>;
    readonly onDone: { readonly target: string };
  };
  readonly type?: "final";
}

/** The chain as an XState machine, and a function running a fresh actor of it to completion. */
export function xstateChain({ names, steps }: Chain): () => Promise<unknown> {
  const states: Record<string, InvokingState> = { [exitState]: { type: "final" } };
  names.forEach((name, i) => {
    const step = steps[i]!;
    states[name] = {
      invoke: { src: fromPromise(() => step()), onDone: { target: names[i + 1] ?? exitState } },
    };
  });
  const machine = createMachine({ id: "chain", initial: names[0]!, states });
  return () => {
    const actor = createActor(machine);
    const finished = toPromise(actor);
    actor.start();
    return finished;
  };
}
