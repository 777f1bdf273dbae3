// Deadline polling for tests: wait for a condition instead of sleeping for a guessed time.

export interface WaitForOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** What is being awaited, for the error message: "server on 127.0.0.1:2181 to answer ruok". */
  what: string;
  /** Pause between polls; default 50 ms. */
  intervalMs?: number;
  /** Extra detail appended to the timeout error (the last reply seen, a log tail...). */
  detail?: () => string;
}

export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

type Falsy = false | 0 | '' | null | undefined;

/**
 * Polls `predicate` until it returns a truthy value and returns that value. The predicate is polled
 * at least once, even with a zero timeout. A predicate that throws ends the wait with that error:
 * catch inside the predicate what should merely count as "not yet".
 */
export async function waitFor<T>(
  predicate: () => T | Falsy | Promise<T | Falsy>,
  options: WaitForOptions,
): Promise<T> {
  const { timeoutMs, what, intervalMs = 50, detail } = options;
  const deadlineMs = Date.now() + timeoutMs;
  let polls = 0;
  for (;;) {
    polls += 1;
    const value = await predicate();
    if (value) return value as T;
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) {
      const extra = detail ? `\n${detail()}` : '';
      throw new WaitTimeoutError(`Timed out after ${timeoutMs} ms (${polls} polls) waiting for ${what}${extra}`);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(intervalMs, remainingMs)));
  }
}
