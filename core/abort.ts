/**
 * @internal Settles like `value`, or rejects with `signal.reason` as soon as `signal` aborts: the
 * engine stops waiting for work whose signal fired, even if the work ignores it.
 */
export function raceAbort<T>(value: T | Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Nobody waits for `value` any more; keep its eventual rejection from going unhandled.
    Promise.resolve(value).catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(value).then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
