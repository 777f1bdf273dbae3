/** Time as the server sees it; tests substitute a manual clock. */
export interface Clock {
  /** Wall-clock ms since the epoch: txn times, ctime/mtime. */
  wallMs(): number;
  /** Monotonic ms: session expiry. */
  elapsedMs(): number;
}

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  elapsedMs: () => performance.now(),
};
