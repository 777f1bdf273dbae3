/**
 * Votes of Fast Leader Election and the order between them, as ZooKeeper 3.8 defines them.
 *
 * All 64-bit quantities (server ids, zxids, epochs) are bigint: they travel as Java longs, and
 * ZooKeeper uses values such as Long.MIN_VALUE (an observer's "no candidate") and -1 ("no zxid").
 */

/** ZooKeeper's QuorumPeer.ServerState; the numbers are the enum ordinals sent on the wire. */
export const ServerState = {
  LOOKING: 0,
  FOLLOWING: 1,
  LEADING: 2,
  OBSERVING: 3,
} as const;
export type ServerState = (typeof ServerState)[keyof typeof ServerState];

const STATE_NAMES = ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'] as const;

export function serverStateName(state: ServerState): (typeof STATE_NAMES)[number] {
  return STATE_NAMES[state];
}

export function isServerState(value: number): value is ServerState {
  return Number.isInteger(value) && value >= 0 && value <= 3;
}

/** Java's Long.MIN_VALUE: the id, zxid and epoch an observer proposes (it never proposes anyone). */
export const LONG_MIN = -(2n ** 63n);
/** Java's Long.MAX_VALUE: the sid an old-style observer announces when it has none. */
export const LONG_MAX = 2n ** 63n - 1n;

/**
 * What a server believes about the leader. `version` is the notification format the vote arrived
 * in (0 for votes built locally, as ZooKeeper's Vote constructors do); it matters only to
 * `votesEqual` for votes of servers out of election.
 */
export interface Vote {
  leader: bigint;
  zxid: bigint;
  electionEpoch: bigint;
  peerEpoch: bigint;
  state: ServerState;
  version: number;
}

/** A vote as ZooKeeper's four-argument Vote constructor makes it: LOOKING, version 0. */
export function lookingVote(leader: bigint, zxid: bigint, electionEpoch: bigint, peerEpoch: bigint): Vote {
  return { leader, zxid, electionEpoch, peerEpoch, state: ServerState.LOOKING, version: 0 };
}

/**
 * ZooKeeper's Vote.equals. When either side is LOOKING, everything but state and version must
 * match. Between two votes of servers out of election only the leader and its epoch count (zxid and
 * election epoch may legitimately differ, ZOOKEEPER-1805), and only the leader when exactly one of
 * the two came in a pre-3.4.6 format without a version (ZOOKEEPER-1732).
 */
export function votesEqual(a: Vote, b: Vote): boolean {
  if (a.state === ServerState.LOOKING || b.state === ServerState.LOOKING) {
    return a.leader === b.leader && a.zxid === b.zxid && a.electionEpoch === b.electionEpoch && a.peerEpoch === b.peerEpoch;
  }
  if (a.version > 0 !== b.version > 0) return a.leader === b.leader;
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

/** The part of a vote that the total order ranks: who, how far its log goes, and in which epoch. */
export interface Candidate {
  leader: bigint;
  zxid: bigint;
  peerEpoch: bigint;
}

/**
 * ZooKeeper's totalOrderPredicate: true when `next` should replace `current`. Higher peer epoch
 * wins; then higher zxid; then higher server id. A candidate of weight 0 never wins (hierarchical
 * quorums give weight 0 to servers that must not lead; with plain majorities every weight is 1).
 */
export function totalOrderPredicate(next: Candidate, current: Candidate, weightOfNext = 1): boolean {
  if (weightOfNext === 0) return false;
  if (next.peerEpoch !== current.peerEpoch) return next.peerEpoch > current.peerEpoch;
  if (next.zxid !== current.zxid) return next.zxid > current.zxid;
  return next.leader > current.leader;
}

/** A comparator for sorting candidates by the same order, best last. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (totalOrderPredicate(a, b)) return 1;
  if (totalOrderPredicate(b, a)) return -1;
  return 0;
}

const ZXID_COUNTER_MASK = 0xffff_ffffn;

/** zxid = epoch << 32 | counter, as ZooKeeper's ZxidUtils (the counter is the low 32 bits). */
export function makeZxid(epoch: bigint, counter: bigint): bigint {
  return BigInt.asIntN(64, (epoch << 32n) | (counter & ZXID_COUNTER_MASK));
}

/** The epoch half of a zxid; an arithmetic shift like Java's `>> 32` (so -1 gives -1). */
export function zxidEpoch(zxid: bigint): bigint {
  return BigInt.asIntN(64, zxid) >> 32n;
}

/** The counter half of a zxid. */
export function zxidCounter(zxid: bigint): bigint {
  return zxid & ZXID_COUNTER_MASK;
}

export function formatVote(v: Vote): string {
  return `(leader ${v.leader}, zxid 0x${v.zxid.toString(16)}, round 0x${v.electionEpoch.toString(16)}, peerEpoch 0x${v.peerEpoch.toString(16)}, ${serverStateName(v.state)})`;
}
