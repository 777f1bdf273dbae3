import type { Id } from '../proto/data.js';
import type { DataTree } from '../tree/data-tree.js';
import type { ChangeOverlay } from './overlay.js';

/** What turning a request into a txn may consult. Pure: no clock, no I/O. */
export interface PrepEnv {
  readonly tree: DataTree;
  readonly overlay: ChangeOverlay;
  readonly skipACL: boolean;
  readonly extendedTypesEnabled: boolean;
  readonly enforceQuota: boolean;
  readonly reconfigEnabled: boolean;
  /** Ok, UnknownSession, or SessionExpired when the session is closing. */
  checkSession(sessionId: bigint): number;
}

/** Who is asking, and under which txn identity. */
export interface PrepCaller {
  readonly sessionId: bigint;
  readonly authInfo: readonly Id[];
  readonly zxid: bigint;
  readonly timeMs: number;
}
