/** Test helpers for Cano workflows: a virtual clock and a recording observer. */
export { RecordingAssertionError, RecordingObserver } from "./recording-observer.ts";
export type { VirtualClockOptions } from "./virtual-clock.ts";
export { VirtualClock } from "./virtual-clock.ts";
