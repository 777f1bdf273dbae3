import type { TxnEntry } from '../../txn/txn.js';
import type { ZabPacket } from './packets.js';

/** A server id (ZooKeeper's `myid`). */
export type Sid = number;

export interface ZabConfig {
  sid: Sid;
  /** Participants (PARTICIPANT learner type): they vote, ack proposals and can lead. */
  voters: readonly Sid[];
  /** Observers: they learn committed txns through INFORM and never count for a quorum. */
  observers: readonly Sid[];
  /** Ticks a leader waits for each discovery/sync quorum, and a learner for its leader before NEWLEADER. */
  initLimitTicks: number;
  /** Ticks after which a silent learner stops counting for the leader, and a silent leader is abandoned. */
  syncLimitTicks: number;
  /** Proposals the leader keeps in flight before it turns `propose` away. */
  maxOutstandingProposals: number;
  /** Quorum verifier text sent in NEWLEADER, or null (the sim sends none). */
  quorumVerifierBytes?: Buffer | null;
  /** Test-only fault injection; every flag breaks ZAB on purpose. Never set outside test/sim. */
  faults?: ZabFaults;
}

/**
 * Deliberately broken variants, for proving that the simulator's checkers catch real bugs.
 * All default to false.
 */
export interface ZabFaults {
  /** A learner ACKs a proposal as soon as it arrives, before the txn is durable. */
  ackBeforePersist?: boolean;
  /** A learner writes currentEpoch on NEWLEADER without waiting for the synced txns to be durable. */
  currentEpochBeforeTxns?: boolean;
  /** The leader commits a proposal once it has logged it itself, without a quorum of ACKs. */
  commitWithoutQuorum?: boolean;
}

/** What the server's disks hold for ZAB; a restarted peer is built from exactly this. */
export interface ZabDurableState {
  acceptedEpoch: bigint;
  currentEpoch: bigint;
  /** The zxid of the latest snapshot: the history up to it lives only in the snapshot. 0 = none. */
  snapshotZxid: bigint;
  /** Logged txns after snapshotZxid, ascending. */
  log: readonly TxnEntry[];
}

export type ZabInput =
  | { type: 'message'; from: Sid; packet: ZabPacket }
  | { type: 'tick' }
  /** The persist item with this token is durable (tokens may complete out of order). */
  | { type: 'persisted'; token: number }
  /** Leader only: replicate this txn; its hdr.zxid must be `nextZxid()`. */
  | { type: 'propose'; entry: TxnEntry }
  /** The connection to (or from) this peer broke. */
  | { type: 'disconnected'; peer: Sid }
  /** Election finished: lead when leader is our sid, otherwise follow (or observe) it. */
  | { type: 'elected'; leader: Sid }
  /** Leader only: a learner forwarded a sync(); answer with SYNC once what is proposed now commits. */
  | { type: 'learnerSync'; from: Sid }
  /** Leave the current role (shutdown, or a driver-detected problem). */
  | { type: 'abandon'; reason: string };

export type PersistOp =
  | { type: 'appendTxns'; entries: readonly TxnEntry[] }
  /** Drop logged txns after zxid. */
  | { type: 'truncateTo'; zxid: bigint }
  /** Make the snapshot received after the SNAP packet durable; it replaces the whole log. */
  | { type: 'installSnapshot'; zxid: bigint }
  | { type: 'writeAcceptedEpoch'; epoch: bigint }
  | { type: 'writeCurrentEpoch'; epoch: bigint };

export interface PersistItem {
  token: number;
  op: PersistOp;
}

/**
 * Which of this peer's roles sent a message: a learner writes to the connection it opened to its
 * leader, a leader to the connection a learner opened to it.
 */
export type Link = 'toLeader' | 'toLearner';

export interface OutMessage {
  to: Sid;
  link: Link;
  packet: ZabPacket;
}

export type ApplyItem =
  | { type: 'txn'; entry: TxnEntry }
  /** Replace the tree by the snapshot at zxid (received by SNAP, or the one on disk). */
  | { type: 'loadSnapshot'; zxid: bigint };

export type ZabEvent =
  /** The leader's epoch is established: a quorum acked NEWLEADER; its history is committed. */
  | { type: 'leading'; epoch: bigint; zxid: bigint }
  /** A learner got UPTODATE and serves. */
  | { type: 'following'; leader: Sid; epoch: bigint; observer: boolean }
  /** Back to LOOKING. */
  | { type: 'roleEnded'; reason: string }
  | { type: 'proposeRejected'; zxid: bigint; reason: string }
  /** A learner forwarded a client request; the leader's pipeline should run it. */
  | { type: 'request'; from: Sid; packet: Extract<ZabPacket, { type: 'request' }> }
  /** The leader answered our forwarded sync(). */
  | { type: 'syncReply' }
  /** The peer broke a protocol rule it cannot recover from in this role (Java exits here). */
  | { type: 'protocolError'; reason: string };

/**
 * The outputs of one step. The driver must: write `persist` (and report each token back as
 * durable), then send `messages`, then close the `disconnect` connections (after flushing what
 * was sent on them), then apply `apply` in order, then handle `events`. Nothing in `messages`
 * depends on a persist item of the same Ready being durable: the core holds such messages back
 * until the tokens come back.
 */
export interface Ready {
  persist: PersistItem[];
  messages: OutMessage[];
  apply: ApplyItem[];
  events: ZabEvent[];
  disconnect: { peer: Sid; link: Link }[];
}

export function emptyReady(): Ready {
  return { persist: [], messages: [], apply: [], events: [], disconnect: [] };
}

export function isQuorum(voters: readonly Sid[], acks: ReadonlySet<Sid>): boolean {
  let n = 0;
  for (const v of voters) if (acks.has(v)) n++;
  return n * 2 > voters.length;
}
