import { AssertionError } from '../../util/assert.js';

/**
 * A broken invariant on a hot path: callers test the condition themselves, so the message (a
 * template with zxids in hex) is only built when it fails.
 */
export function fail(message: string): never {
  throw new AssertionError(message);
}
