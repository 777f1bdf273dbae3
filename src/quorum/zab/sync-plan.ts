import type { History } from './history.js';
import { counterOf, epochOf, makeZxid } from './zxid.js';

/**
 * What a learner reports to be sent a SNAP: counter 1 of epoch 0, which no history holds
 * (epochs start at 1) and after which no entry of the same epoch follows, so ZooKeeper's sync
 * rules (Java's too) answer it with a SNAP. Only an uncounted ACKEPOCH (currentEpoch -1) may
 * carry it: it plays no part in the epoch's quorum or its "ahead" check.
 */
export const FORCE_SNAP_ZXID = makeZxid(0n, 1n);

/**
 * How a leader brings one learner in line with its history. After applying `type`/`zxid` the
 * learner's history equals the leader's up to (not including) history index `from`; the leader
 * then streams entries from `from` on: committed ones as PROPOSAL+COMMIT, outstanding ones as
 * PROPOSAL (participants only), then NEWLEADER.
 */
export interface SyncPlan {
  type: 'diff' | 'trunc' | 'snap';
  /** DIFF: the leader's last committed zxid; TRUNC: where to cut; SNAP: the snapshot's zxid. */
  zxid: bigint;
  from: number;
}

/**
 * ZooKeeper's rules (LearnerHandler.syncFollower), over an in-memory history:
 * - the learner is exactly at the committed point: empty DIFF;
 * - the learner is past it (it logged proposals that never committed): TRUNC to it;
 * - the learner's last zxid is in the history: DIFF with what follows;
 * - it is not, and the next history entry is of the learner's epoch: TRUNC to the entry before;
 *   a zxid with counter 0 (a Java peer right after an epoch change) is treated as found;
 * - otherwise (older than the history, or divergent across epochs): SNAP at the committed point.
 *
 * `committedZxid` is the leader's last committed zxid: its whole history before it is
 * established, its last COMMIT afterwards. Entries after it are outstanding proposals.
 */
export function planSync(history: History, committedZxid: bigint, peerLastZxid: bigint): SyncPlan {
  const afterCommitted = history.firstAfter(committedZxid);
  const isPeerNewEpochZxid = counterOf(peerLastZxid) === 0n;
  if (peerLastZxid === FORCE_SNAP_ZXID) return { type: 'snap', zxid: committedZxid, from: afterCommitted };
  if (peerLastZxid === committedZxid) return { type: 'diff', zxid: committedZxid, from: afterCommitted };
  if (peerLastZxid > committedZxid && !isPeerNewEpochZxid) {
    return { type: 'trunc', zxid: committedZxid, from: afterCommitted };
  }
  if (peerLastZxid >= history.snapshotZxid && peerLastZxid < committedZxid) {
    const next = history.firstAfter(peerLastZxid);
    if (history.has(peerLastZxid) || isPeerNewEpochZxid) return { type: 'diff', zxid: committedZxid, from: next };
    const nextZxid = history.at(next).hdr.zxid;
    if (epochOf(nextZxid) === epochOf(peerLastZxid)) {
      const prev = next === 0 ? history.snapshotZxid : history.at(next - 1).hdr.zxid;
      return { type: 'trunc', zxid: prev, from: next };
    }
  }
  return { type: 'snap', zxid: committedZxid, from: afterCommitted };
}
