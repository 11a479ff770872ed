/** Abort-signal plumbing for outbound calls: one call listens to its caller, its deadline and the client's close. */

/** A signal that aborts when any input does; `dispose` detaches listeners so nothing leaks across calls. */
export function anySignal(...inputs: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const detach: (() => void)[] = [];
  for (const input of inputs) {
    if (!input) continue;
    if (input.aborted) {
      controller.abort(input.reason);
      break;
    }
    const onAbort = (): void => controller.abort(input.reason);
    input.addEventListener('abort', onAbort, { once: true });
    detach.push(() => input.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose: () => detach.forEach((d) => d()) };
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts: makes an injected sleep abortable. */
export function raceAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
