import type { Config } from '../../config/config.js';
import type { SessionTracker } from '../../session/session-tracker.js';
import type { DataTree } from '../../tree/data-tree.js';
import type { Clock } from '../clock.js';
import type { ServerStats } from '../server-stats.js';
import type { ResponseStatsView } from '../response-stats.js';

/*
 * What the four-letter words read, as narrow structural types: ServerView, ZkServer and
 * ClientConnection satisfy them, and unit tests can build them from plain objects. The optional
 * members are accessors the server may grow; until it has them, the words leave out what they
 * would have shown rather than print a guess.
 */

/** The part of the request pipeline (ZkServer) the words read. */
export interface FourLetterServer {
  readonly tree: DataTree;
  readonly sessions: SessionTracker;
  readonly stats: ServerStats;
  /** Requests queued or waiting on the disk. */
  readonly outstanding: number;
  readonly lastProcessedZxid: bigint;
}

/** One client connection, as `stat`, `cons` and `crst` see it (ZooKeeper's ServerCnxn). */
export interface FourLetterCnxn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly sessionId: bigint;
  readonly sessionTimeoutMs: number;
  packetsReceived: number;
  packetsSent: number;
  /** The last client xid answered; negative (after `crst`) means none, and cons omits it. */
  lastCxid: number;
  /** Wall-clock ms when the connection was accepted. */
  readonly establishedMs: number;
  readonly outstandingRequests: number;
  /** NIO interest ops: 1 while reading the socket, | 4 while replies wait to be written. */
  readonly interestOps?: number;
  /** lop, lzxid, lresp and the latencies of `cons`; omitted from it while absent. */
  readonly responseStats?: ResponseStatsView;
}

/** What an ensemble member adds to srvr, stat and mntr (absent on a standalone server). */
export interface QuorumView {
  /** zk_peer_state: "leading - broadcast", "following - broadcast", "observing - broadcast", "looking". */
  peerState(): string;
  /** Voting members. */
  readonly quorumSize: number;
  /** The leader's sid (what an observer reports as its observer master). */
  leaderSid(): number | null;
  /** Leader only: learners connected and in sync, pending learner syncs; null elsewhere. */
  learnerCounts(): { learners: number; syncedFollowers: number; syncedObservers: number; pendingSyncs: number } | null;
  /** Leader only: ms since the epoch was established. */
  leaderUptimeMs(): number;
  /** Leader only: serialized size of the last, smallest and largest proposal (-1 before any). */
  readonly proposalSizes: { last: number; min: number; max: number };
}

/** What the words may read of a running server (ServerView satisfies it). */
export interface FourLetterView {
  readonly config: Config;
  readonly server: FourLetterServer;
  readonly connections: ReadonlySet<FourLetterCnxn>;
  /** Wall-clock ms when the server started. */
  readonly startedMs: number;
  readonly clientPort: number;
  /** standalone, leader, follower, observer or read-only while serving; anything else while not. */
  mode(): string;
  /** The pipeline's clock, to turn session expiry times into dates; the system clock when absent. */
  readonly clock?: Clock;
  /** In quorum mode. */
  readonly quorumView?: QuorumView | null;
}
