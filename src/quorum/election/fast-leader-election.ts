/**
 * Fast Leader Election as ZooKeeper 3.8 runs it (FastLeaderElection.lookForLeader and the
 * WorkerReceiver that feeds it), as a pure state machine: no sockets, clocks or timers. The driver
 * passes the time into every call, delivers decoded notifications with `receive`, calls `tick`
 * when `nextDeadlineMs()` is due, and sends the messages each call returns. A server's election
 * notifications to itself (3.8 loops them back through its own receive queue) are handled inside,
 * right after the call that produced them; the output never addresses this server.
 *
 * One instance lives as long as the server: `start` begins a round each time the server becomes
 * LOOKING; after a decision it keeps answering LOOKING peers with its current vote, as 3.8's
 * WorkerReceiver does while the server follows, leads or observes.
 *
 * Timing, as 3.8: while looking, a notification that arrives restarts a wait of notTimeout (200 ms
 * at first); if the wait runs out, the server re-sends its vote to every voter and doubles
 * notTimeout up to maxNotificationInterval (60 s). Once a quorum backs the server's proposal it
 * waits finalizeWait (200 ms) for a better vote; every worse notification in that window is
 * dropped and restarts the wait; a better one ends the window and is processed as usual.
 *
 * One deliberate difference: an observer does not send its proposal back to a LOOKING voter in an
 * older round. In 3.8 it does, the voter (which never counts an observer) answers with its own
 * vote and round, the observer answers that, and so on as fast as the network allows until the
 * voter's round catches up or it stops looking. Nothing in the election uses those messages.
 *
 * Not modelled: dynamic reconfiguration (config bytes are sent, and received ones are ignored),
 * the two-server oracle (QuorumOracleMaj), hierarchical quorums beyond per-voter weights.
 */
import { assert } from '../../util/assert.js';
import type { Notification } from './notification.js';
import { NOTIFICATION_VERSION } from './notification.js';
import type { QuorumVerifier } from './quorum-verifier.js';
import { LONG_MIN, lookingVote, ServerState, totalOrderPredicate, votesEqual, type Candidate, type Vote } from './vote.js';

export interface FleTiming {
  /** How long a quorum for the proposal must go unchallenged before deciding. */
  finalizeWaitMs: number;
  /** First wait for a notification before re-sending (3.8: minNotificationInterval = finalizeWait). */
  minNotificationIntervalMs: number;
  /** Cap of the doubling wait between re-sends. */
  maxNotificationIntervalMs: number;
}

export const DEFAULT_FLE_TIMING: Readonly<FleTiming> = Object.freeze({
  finalizeWaitMs: 200,
  minNotificationIntervalMs: 200,
  maxNotificationIntervalMs: 60_000,
});

export interface FleOptions {
  myId: bigint;
  quorum: QuorumVerifier;
  /** The last zxid in this server's log (its data tree's last processed zxid). */
  lastLoggedZxid: bigint;
  /** This server's accepted epoch file value (currentEpoch). */
  currentEpoch: bigint;
  /** Starting logical clock; start() increments it before the first round. Default 0. */
  logicalclock?: bigint;
  /** This server's QuorumVerifier text, sent in every notification (see config-text.ts). */
  configData?: Buffer | null;
  timing?: Partial<FleTiming>;
  /** Default: 'participant' when myId is a voter, else 'observer'. */
  learnerType?: 'participant' | 'observer';
}

export interface OutgoingNotification {
  to: bigint;
  notification: Notification;
}

export type Role = 'leading' | 'following' | 'observing';

export interface Decision {
  leader: bigint;
  role: Role;
  electionEpoch: bigint;
  zxid: bigint;
  peerEpoch: bigint;
}

export interface FleOutput {
  messages: OutgoingNotification[];
  decision?: Decision;
}

/** What a server outside an election needs to answer a notification. */
export interface ReplyContext {
  state: ServerState;
  /** The server's current vote (QuorumPeer.getCurrentVote). */
  currentVote: Vote;
  logicalclock: bigint;
  configData: Buffer | null;
}

/**
 * The reply 3.8's WorkerReceiver sends without involving the election loop, or null:
 * - to a sender that is not a voter (an observer), in any state, this server's current vote with
 *   its logical clock as the round;
 * - when this server is not LOOKING, to a LOOKING voter, the current vote with that vote's own
 *   election round.
 * A LOOKING server answers voters through FastLeaderElection.receive instead.
 */
export function replyWhenNotLooking(
  ctx: ReplyContext,
  from: bigint,
  fromIsVoter: boolean,
  n: Pick<Notification, 'state'>,
): OutgoingNotification | null {
  if (!fromIsVoter) return voteNotification(from, ctx.currentVote, ctx.logicalclock, ctx.state, ctx.configData);
  if (ctx.state === ServerState.LOOKING || n.state !== ServerState.LOOKING) return null;
  return voteNotification(from, ctx.currentVote, ctx.currentVote.electionEpoch, ctx.state, ctx.configData);
}

function voteNotification(to: bigint, vote: Vote, electionEpoch: bigint, state: ServerState, config: Buffer | null): OutgoingNotification {
  return {
    to,
    notification: {
      state,
      leader: vote.leader,
      zxid: vote.zxid,
      electionEpoch,
      peerEpoch: vote.peerEpoch,
      version: NOTIFICATION_VERSION,
      config,
    },
  };
}

/** Bounds the loopback queue: a call produces at most a few self-notifications. */
const MAX_LOOPBACK_PER_CALL = 64;

export class FastLeaderElection {
  readonly myId: bigint;
  readonly quorum: QuorumVerifier;
  readonly timing: Readonly<FleTiming>;
  readonly learnerType: 'participant' | 'observer';
  private readonly configData: Buffer | null;

  private lastLoggedZxid: bigint;
  private currentEpoch: bigint;

  private serverState: ServerState = ServerState.LOOKING;
  private started = false;
  private clock: bigint;
  private proposal: Candidate = { leader: -1n, zxid: -1n, peerEpoch: -1n };
  private vote: Vote;

  /** Votes of this round from voters (3.8's recvset). */
  private readonly recvset = new Map<bigint, Vote>();
  /** Votes of FOLLOWING/LEADING voters from any round (3.8's outofelection). */
  private readonly outofelection = new Map<bigint, Vote>();
  private notTimeoutMs: number;
  private pollDeadlineMs = 0;
  /** Set while a quorum backs the proposal and the finalizeWait window runs. */
  private finalizeDeadlineMs: number | null = null;
  /** This server's own notifications, delivered back to it at the end of the current call. */
  private loopback: Notification[] = [];

  constructor(options: FleOptions) {
    this.myId = options.myId;
    this.quorum = options.quorum;
    this.timing = Object.freeze({ ...DEFAULT_FLE_TIMING, ...options.timing });
    assert(this.timing.finalizeWaitMs >= 0 && this.timing.minNotificationIntervalMs > 0, 'FLE: bad timing');
    assert(this.timing.maxNotificationIntervalMs >= this.timing.minNotificationIntervalMs, 'FLE: max interval < min');
    this.learnerType = options.learnerType ?? (options.quorum.isVoter(options.myId) ? 'participant' : 'observer');
    this.configData = options.configData ?? null;
    this.lastLoggedZxid = options.lastLoggedZxid;
    this.currentEpoch = options.currentEpoch;
    this.clock = options.logicalclock ?? 0n;
    this.notTimeoutMs = this.timing.minNotificationIntervalMs;
    // QuorumPeer.startLeaderElection: the first current vote is for this server itself.
    this.vote = lookingVote(this.myId, this.lastLoggedZxid, -1n, this.currentEpoch);
  }

  get state(): ServerState {
    return this.serverState;
  }

  get logicalclock(): bigint {
    return this.clock;
  }

  /** The vote this server answers with outside an election (QuorumPeer.getCurrentVote). */
  get currentVote(): Vote {
    return this.vote;
  }

  /** The vote this server is sending while it looks (FastLeaderElection.getVote). */
  get proposedVote(): Candidate {
    return { ...this.proposal };
  }

  /** True while a round runs and has not decided. */
  get looking(): boolean {
    return this.started && this.serverState === ServerState.LOOKING;
  }

  /** When `tick` next has something to do, or null when nothing is pending. */
  nextDeadlineMs(): number | null {
    if (!this.looking) return null;
    return this.finalizeDeadlineMs ?? this.pollDeadlineMs;
  }

  /**
   * Begins a round (the server became LOOKING): bumps the logical clock, proposes itself (an
   * observer proposes nobody: Long.MIN_VALUE) and sends that to every voter. `local` updates what
   * the server knows of its own log first, as it may have changed since the last round.
   */
  start(nowMs: number, local?: { lastLoggedZxid: bigint; currentEpoch: bigint }): FleOutput {
    if (local) {
      this.lastLoggedZxid = local.lastLoggedZxid;
      this.currentEpoch = local.currentEpoch;
    }
    this.started = true;
    this.serverState = ServerState.LOOKING;
    this.recvset.clear();
    this.outofelection.clear();
    this.finalizeDeadlineMs = null;
    this.loopback = [];
    this.notTimeoutMs = this.timing.minNotificationIntervalMs;
    this.pollDeadlineMs = nowMs + this.notTimeoutMs;
    this.clock += 1n;
    this.proposal = this.initialCandidate();
    const out: FleOutput = { messages: [] };
    this.sendNotifications(out);
    this.drainLoopback(nowMs, out);
    return out;
  }

  /** A notification from server `from`, decoded. */
  receive(from: bigint, n: Notification, nowMs: number): FleOutput {
    assert(this.started, 'FLE: receive() before start()');
    const out: FleOutput = { messages: [] };
    this.handle(from, n, nowMs, out);
    this.drainLoopback(nowMs, out);
    return out;
  }

  /** Lets time pass: ends the finalize window or re-sends after a quiet notTimeout. */
  tick(nowMs: number): FleOutput {
    assert(this.started, 'FLE: tick() before start()');
    const out: FleOutput = { messages: [] };
    if (!this.looking) return out;
    if (this.finalizeDeadlineMs !== null) {
      if (nowMs >= this.finalizeDeadlineMs) {
        this.decide(lookingVote(this.proposal.leader, this.proposal.zxid, this.clock, this.proposal.peerEpoch), out);
      }
      return out;
    }
    if (nowMs >= this.pollDeadlineMs) {
      this.sendNotifications(out);
      this.notTimeoutMs = Math.min(this.notTimeoutMs * 2, this.timing.maxNotificationIntervalMs);
      this.pollDeadlineMs = nowMs + this.notTimeoutMs;
      this.drainLoopback(nowMs, out);
    }
    return out;
  }

  /**
   * Called by the leader or learner once the new epoch is agreed (QuorumPeer.updateElectionVote):
   * answers to LOOKING peers then carry the new epoch, so that they see the ensemble's followers
   * and leader agree.
   */
  updateElectionVote(newPeerEpoch: bigint): void {
    this.vote = { ...this.vote, peerEpoch: newPeerEpoch };
  }

  /** The pure reply logic, with this server's state. */
  replyContext(): ReplyContext {
    return { state: this.serverState, currentVote: this.vote, logicalclock: this.clock, configData: this.configData };
  }

  // --- WorkerReceiver ------------------------------------------------------------------------

  private handle(from: bigint, n: Notification, nowMs: number, out: FleOutput): void {
    const fromIsVoter = this.quorum.isVoter(from);
    if (!fromIsVoter || !this.looking) {
      const reply = replyWhenNotLooking(this.replyContext(), from, fromIsVoter, n);
      if (reply) this.send(reply, out);
      return;
    }
    // A LOOKING voter in an older round gets this server's proposal, so that it catches up. Only
    // voters send it: a voter never reads a non-voter's notification, it only answers it, so 3.8's
    // observers and voters in different rounds answer each other in an endless loop (see above).
    if (n.state === ServerState.LOOKING && n.electionEpoch < this.clock && this.quorum.isVoter(this.myId)) {
      this.send(this.proposalNotification(from), out);
    }
    this.step(from, n, nowMs, out);
  }

  // --- lookForLeader, one notification at a time --------------------------------------------

  private step(from: bigint, n: Notification, nowMs: number, out: FleOutput): void {
    if (this.finalizeDeadlineMs !== null) {
      // Inside the finalize window only a better vote matters; anything else is dropped.
      if (!totalOrderPredicate(n, this.proposal, this.quorum.weightOf(n.leader))) {
        this.finalizeDeadlineMs = nowMs + this.timing.finalizeWaitMs;
        return;
      }
      this.finalizeDeadlineMs = null;
    }
    this.pollDeadlineMs = nowMs + this.notTimeoutMs;
    if (!this.quorum.isVoter(from) || !this.quorum.isVoter(n.leader)) return;
    switch (n.state) {
      case ServerState.LOOKING:
        this.lookingNotification(from, n, nowMs, out);
        return;
      case ServerState.OBSERVING:
        return;
      case ServerState.FOLLOWING:
      case ServerState.LEADING:
        this.outOfElectionNotification(from, n, out);
        return;
    }
  }

  private lookingNotification(from: bigint, n: Notification, nowMs: number, out: FleOutput): void {
    if (this.initialZxid() === -1n || n.zxid === -1n) return;
    if (n.electionEpoch > this.clock) {
      this.clock = n.electionEpoch;
      this.recvset.clear();
      const init = this.initialCandidate();
      this.proposal = totalOrderPredicate(n, init, this.quorum.weightOf(n.leader)) ? candidateOf(n) : init;
      this.sendNotifications(out);
    } else if (n.electionEpoch < this.clock) {
      return;
    } else if (totalOrderPredicate(n, this.proposal, this.quorum.weightOf(n.leader))) {
      this.proposal = candidateOf(n);
      this.sendNotifications(out);
    }
    this.recvset.set(from, lookingVote(n.leader, n.zxid, n.electionEpoch, n.peerEpoch));
    const mine = lookingVote(this.proposal.leader, this.proposal.zxid, this.clock, this.proposal.peerEpoch);
    if (this.hasQuorum(this.recvset, mine)) {
      this.finalizeDeadlineMs = nowMs + this.timing.finalizeWaitMs;
    }
  }

  /** A FOLLOWING or LEADING voter: join its leader once a quorum agrees and the leader says so. */
  private outOfElectionNotification(from: bigint, n: Notification, out: FleOutput): void {
    const theirs: Vote = {
      leader: n.leader,
      zxid: n.zxid,
      electionEpoch: n.electionEpoch,
      peerEpoch: n.peerEpoch,
      state: n.state,
      version: n.version,
    };
    if (n.electionEpoch === this.clock) {
      // 3.8 files this one under version 0, which makes the comparison below leader-only against
      // version-2 notifications.
      this.recvset.set(from, { ...theirs, version: 0 });
      if (this.hasQuorum(this.recvset, theirs) && this.checkLeader(this.recvset, n.leader, n.electionEpoch)) {
        this.decide(lookingVote(n.leader, n.zxid, n.electionEpoch, n.peerEpoch), out);
        return;
      }
    }
    // Before joining an established ensemble, a quorum must follow the same leader (ZOOKEEPER-1732).
    this.outofelection.set(from, theirs);
    if (this.hasQuorum(this.outofelection, theirs) && this.checkLeader(this.outofelection, n.leader, n.electionEpoch)) {
      this.clock = n.electionEpoch;
      this.decide(lookingVote(n.leader, n.zxid, n.electionEpoch, n.peerEpoch), out);
    }
  }

  /**
   * The leader must have said it leads; a server that everyone names as leader must be in the
   * round it was named in (3.8's checkLeader), so that peers do not re-elect a crashed leader.
   */
  private checkLeader(votes: ReadonlyMap<bigint, Vote>, leader: bigint, electionEpoch: bigint): boolean {
    if (leader !== this.myId) return votes.get(leader)?.state === ServerState.LEADING;
    return this.clock === electionEpoch;
  }

  private hasQuorum(votes: ReadonlyMap<bigint, Vote>, vote: Vote): boolean {
    const acks: bigint[] = [];
    for (const [sid, v] of votes) if (votesEqual(vote, v)) acks.push(sid);
    return this.quorum.containsQuorum(acks);
  }

  private decide(endVote: Vote, out: FleOutput): void {
    const role: Role = endVote.leader === this.myId ? 'leading' : this.learnerType === 'participant' ? 'following' : 'observing';
    this.serverState = role === 'leading' ? ServerState.LEADING : role === 'following' ? ServerState.FOLLOWING : ServerState.OBSERVING;
    this.vote = endVote;
    this.finalizeDeadlineMs = null;
    this.loopback = [];
    this.recvset.clear();
    this.outofelection.clear();
    out.decision = {
      leader: endVote.leader,
      role,
      electionEpoch: endVote.electionEpoch,
      zxid: endVote.zxid,
      peerEpoch: endVote.peerEpoch,
    };
  }

  // --- sending ------------------------------------------------------------------------------

  /** The proposal to every voter, this server included (by loopback). */
  private sendNotifications(out: FleOutput): void {
    for (const sid of this.quorum.voters) this.send(this.proposalNotification(sid), out);
  }

  private proposalNotification(to: bigint): OutgoingNotification {
    return {
      to,
      notification: {
        state: ServerState.LOOKING,
        leader: this.proposal.leader,
        zxid: this.proposal.zxid,
        electionEpoch: this.clock,
        peerEpoch: this.proposal.peerEpoch,
        version: NOTIFICATION_VERSION,
        config: this.configData,
      },
    };
  }

  private send(m: OutgoingNotification, out: FleOutput): void {
    if (m.to === this.myId) this.loopback.push(m.notification);
    else out.messages.push(m);
  }

  private drainLoopback(nowMs: number, out: FleOutput): void {
    let delivered = 0;
    while (this.loopback.length > 0) {
      assert(++delivered <= MAX_LOOPBACK_PER_CALL, 'FLE: loopback does not settle');
      const n = this.loopback.shift() as Notification;
      this.handle(this.myId, n, nowMs, out);
    }
  }

  // --- what this server proposes for itself -------------------------------------------------

  private initialCandidate(): Candidate {
    return { leader: this.initialId(), zxid: this.initialZxid(), peerEpoch: this.initialEpoch() };
  }

  private initialId(): bigint {
    return this.quorum.isVoter(this.myId) ? this.myId : LONG_MIN;
  }

  private initialZxid(): bigint {
    return this.learnerType === 'participant' ? this.lastLoggedZxid : LONG_MIN;
  }

  private initialEpoch(): bigint {
    return this.learnerType === 'participant' ? this.currentEpoch : LONG_MIN;
  }
}

function candidateOf(n: Notification): Candidate {
  return { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
}
