/** Waiting on a condition instead of sleeping: the one poll loop every test uses. */

export interface WaitOptions {
  /** Fail after this long (default 10 s). */
  timeoutMs?: number;
  /**
   * What is awaited, for the failure message (default: the condition's source); a function is called
   * when the wait fails, so it can say what things look like then (a process's output so far).
   */
  what?: string | (() => string);
  /** Pause between checks (default 5 ms; 0 = check on every turn of the event loop). */
  intervalMs?: number;
}

/** Resolve as soon as `condition()` holds; reject after `timeoutMs` saying what was awaited. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, what, intervalMs = 5 }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const said = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${said ?? String(condition)}`);
    }
    await new Promise((r) => (intervalMs > 0 ? setTimeout(r, intervalMs) : setImmediate(r)));
  }
}

/**
 * Resolve with `read()` once its value has not changed for `quietMs` (a pipeline that has filled up
 * and stopped); reject after `timeoutMs` if it keeps moving.
 */
export async function waitUntilSteady<T>(
  read: () => T,
  { quietMs, timeoutMs = 15_000, what }: { quietMs: number; timeoutMs?: number; what: string },
): Promise<T> {
  let last = read();
  let since = Date.now();
  await waitUntil(
    () => {
      const now = read();
      if (now !== last) [last, since] = [now, Date.now()];
      return Date.now() - since >= quietMs;
    },
    { timeoutMs, what: `${what} to stay unchanged for ${quietMs} ms` },
  );
  return last;
}
