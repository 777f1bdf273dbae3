import type { TxnEntry } from '../../txn/txn.js';
import { assert } from '../../util/assert.js';
import { fail } from './fail.js';
import { ZAB_PROTOCOL_VERSION, type ZabPacket } from './packets.js';
import { isQuorum, type Sid } from './ready.js';
import { planSync } from './sync-plan.js';
import { TokenWaits } from './token-waits.js';
import type { ZabPeer } from './zab-peer.js';
import { COUNTER_ROLLOVER, counterOf, epochOf, makeZxid, zxidHex } from './zxid.js';

/**
 * The leader of one epoch, through ZAB 1.0's phases:
 *   discovery     FOLLOWERINFO from a quorum of voters; new epoch = max(acceptedEpoch) + 1
 *   epochPersist  our acceptedEpoch is being written; then LEADERINFO to every learner
 *   epochAck      ACKEPOCH from a quorum; a learner ahead of us is turned away
 *   sync          each learner gets DIFF/TRUNC/SNAP, the missing history and NEWLEADER;
 *                 we count ourselves once our history and currentEpoch are durable
 *   broadcast     a quorum acked NEWLEADER: the history is committed; UPTODATE, then
 *                 PROPOSAL / ACK / COMMIT (INFORM for observers) in zxid order
 * Every wait for a quorum lasts at most initLimit ticks; in broadcast, losing a quorum of
 * learners heard from within syncLimit ticks ends the role.
 */
type Phase = 'discovery' | 'epochPersist' | 'epochAck' | 'sync' | 'broadcast';

/** A learner's progress through its handshake with us. */
type Stage =
  | 'info' // FOLLOWERINFO received; LEADERINFO not sent yet
  | 'epoch' // LEADERINFO sent; waiting for ACKEPOCH
  | 'ackedEpoch' // ACKEPOCH received; sync waits for the epoch quorum
  | 'syncing' // sync stream and NEWLEADER sent; forwarding proposals
  | 'synced' // acked NEWLEADER; UPTODATE waits for our quorum
  | 'active'; // UPTODATE sent

interface LearnerHandle {
  sid: Sid;
  observer: boolean;
  stage: Stage;
  lastZxid: bigint;
  ackDeadlineTick: number;
}

type LeaderWait =
  | { type: 'sendLeaderInfo' }
  | { type: 'writeCurrentEpoch' }
  | { type: 'selfNewLeaderAck' }
  | { type: 'selfAck'; zxid: bigint };

interface Outstanding {
  zxid: bigint;
  acks: Set<Sid>;
}

export class LeaderRole {
  ended = false;
  readonly observer = false;
  private phase: Phase = 'discovery';
  private proposedEpoch: bigint;
  private tick = 0;
  private phaseDeadlineTick: number;
  private readonly learners = new Map<Sid, LearnerHandle>();
  private readonly connecting = new Set<Sid>();
  private readonly electing = new Set<Sid>();
  private readonly newLeaderAcks = new Set<Sid>();
  /** Our (currentEpoch, lastZxid) when we started: learners ahead of it are refused. */
  private readonly summaryEpoch: bigint;
  private readonly summaryZxid: bigint;
  private lastCommitted = 0n;
  private lastProposed = 0n;
  private outstanding: Outstanding[] = [];
  private outstandingHead = 0;
  private pendingSyncs: { zxid: bigint; sid: Sid }[] = [];
  private readonly waits = new TokenWaits<LeaderWait>();

  constructor(private readonly peer: ZabPeer) {
    assert(peer.config.voters.includes(peer.sid), 'a leader must be a voter');
    this.proposedEpoch = peer.acceptedEpoch + 1n;
    this.summaryEpoch = peer.currentEpoch;
    this.summaryZxid = peer.history.lastZxid;
    this.phaseDeadlineTick = peer.config.initLimitTicks;
  }

  get serving(): boolean {
    return this.phase === 'broadcast';
  }

  /** The epoch once a quorum agreed on it. */
  get epoch(): bigint | null {
    return this.phase === 'discovery' ? null : this.proposedEpoch;
  }

  get newLeaderZxid(): bigint {
    return makeZxid(this.proposedEpoch, 0n);
  }

  nextZxid(): bigint | null {
    return this.phase === 'broadcast' ? this.lastProposed + 1n : null;
  }

  connectedPeers(): Sid[] {
    return [...this.learners.keys()];
  }

  /** For mntr: learners connected, and those in sync (acked NEWLEADER) by kind. */
  learnerCounts(): { learners: number; syncedFollowers: number; syncedObservers: number; pendingSyncs: number } {
    let syncedFollowers = 0;
    let syncedObservers = 0;
    for (const h of this.learners.values()) {
      if (h.stage !== 'synced' && h.stage !== 'active') continue;
      if (h.observer) syncedObservers++;
      else syncedFollowers++;
    }
    return { learners: this.learners.size, syncedFollowers, syncedObservers, pendingSyncs: this.pendingSyncs.length };
  }

  start(): void {
    this.connecting.add(this.peer.sid);
    this.checkEpochQuorum();
  }

  // -------------------------------------------------------------------------------------------
  // Inputs

  onMessage(from: Sid, p: ZabPacket): void {
    if (p.type === 'followerInfo' || p.type === 'observerInfo') {
      this.onLearnerInfo(from, p.type === 'observerInfo', p.zxid, p.info.protocolVersion);
      return;
    }
    const h = this.learners.get(from);
    if (h === undefined) return;
    h.ackDeadlineTick = Math.max(h.ackDeadlineTick, this.tick + this.peer.config.syncLimitTicks);
    switch (p.type) {
      case 'ackEpoch':
        return this.onAckEpoch(h, p.zxid, p.currentEpoch);
      case 'ack':
        return this.onAck(h, p.zxid);
      case 'request':
        this.peer.emit({ type: 'request', from, packet: p });
        return;
      case 'ping':
      case 'revalidate':
        return;
      default:
        return this.dropLearner(h, `unexpected ${p.type}`);
    }
  }

  onTick(): void {
    this.tick++;
    for (const h of [...this.learners.values()]) {
      if (this.tick >= h.ackDeadlineTick) this.dropLearner(h, 'silent');
    }
    if (this.phase !== 'broadcast') {
      if (this.tick > this.phaseDeadlineTick) this.peer.endRole(`no quorum within initLimit in ${this.phase}`);
      return;
    }
    const synced = new Set<Sid>([this.peer.sid]);
    for (const h of this.learners.values()) {
      if (h.stage === 'syncing' || h.stage === 'synced' || h.stage === 'active') {
        this.send(h.sid, { type: 'ping', zxid: this.lastProposed, data: null, authinfo: [] });
      }
      if (!h.observer && (h.stage === 'synced' || h.stage === 'active')) synced.add(h.sid);
    }
    if (!isQuorum(this.peer.config.voters, synced)) this.peer.endRole('lost quorum of synced followers');
  }

  onPersisted(): void {
    for (const w of this.waits.takeDue((t) => this.peer.durableThrough(t))) {
      if (this.ended) return;
      switch (w.type) {
        case 'sendLeaderInfo':
          this.startEpochAck();
          break;
        case 'writeCurrentEpoch':
          this.writeCurrentEpoch();
          break;
        case 'selfNewLeaderAck':
          this.newLeaderAcks.add(this.peer.sid);
          this.checkNewLeaderQuorum();
          break;
        case 'selfAck':
          this.addAck(this.peer.sid, w.zxid);
          break;
      }
    }
  }

  onDisconnected(peer: Sid): void {
    this.forgetLearner(peer);
  }

  propose(entry: TxnEntry): void {
    const zxid = entry.hdr.zxid;
    if (this.phase !== 'broadcast') return this.reject(zxid, 'leader not established');
    if (this.outstanding.length - this.outstandingHead >= this.peer.config.maxOutstandingProposals) {
      return this.reject(zxid, 'too many outstanding proposals');
    }
    const expected = this.lastProposed + 1n;
    if (counterOf(expected) === COUNTER_ROLLOVER) {
      this.reject(zxid, 'zxid counter rollover');
      return this.peer.endRole('zxid counter rollover: a new epoch is needed');
    }
    if (zxid !== expected) return this.reject(zxid, `expected zxid ${zxidHex(expected)}`);
    this.lastProposed = zxid;
    this.outstanding.push({ zxid, acks: new Set() });
    const token = this.peer.appendLog(entry);
    this.waits.add(token, { type: 'selfAck', zxid });
    for (const h of this.learners.values()) {
      if (!h.observer && isForwarding(h)) this.send(h.sid, { type: 'proposal', txn: entry });
    }
  }

  private reject(zxid: bigint, reason: string): void {
    this.peer.emit({ type: 'proposeRejected', zxid, reason });
  }

  learnerSync(from: Sid): void {
    if (this.outstandingHead === this.outstanding.length) this.send(from, { type: 'sync', zxid: 0n });
    else this.pendingSyncs.push({ zxid: this.lastProposed, sid: from });
  }

  // -------------------------------------------------------------------------------------------
  // Discovery

  private onLearnerInfo(from: Sid, observer: boolean, zxid: bigint, protocolVersion: number | null): void {
    const cfg = this.peer.config;
    const known = observer ? cfg.observers.includes(from) : cfg.voters.includes(from);
    this.forgetLearner(from);
    if (!known || from === this.peer.sid || protocolVersion === null || protocolVersion < ZAB_PROTOCOL_VERSION) {
      this.peer.disconnect(from, 'toLearner');
      return;
    }
    const h: LearnerHandle = {
      sid: from,
      observer,
      stage: 'info',
      lastZxid: -1n,
      ackDeadlineTick: this.tick + cfg.initLimitTicks + cfg.syncLimitTicks,
    };
    this.learners.set(from, h);
    const acceptedEpoch = epochOf(zxid);
    if (this.phase === 'discovery') {
      if (acceptedEpoch >= this.proposedEpoch) this.proposedEpoch = acceptedEpoch + 1n;
      if (!observer) this.connecting.add(from);
      this.checkEpochQuorum();
    } else if (acceptedEpoch > this.proposedEpoch) {
      // It promised a later epoch (to a leader that then failed) and can never join ours; Java
      // leaves it locked out until the next election. Make that election happen now: its
      // leader will propose an epoch past the promise.
      this.peer.endRole(`learner ${from} accepted epoch ${acceptedEpoch}, above ours (${this.proposedEpoch})`);
    } else if (this.phase !== 'epochPersist') {
      this.sendLeaderInfo(h);
    }
  }

  private checkEpochQuorum(): void {
    if (this.phase !== 'discovery' || !isQuorum(this.peer.config.voters, this.connecting)) return;
    this.setPhase('epochPersist');
    this.peer.acceptedEpoch = this.proposedEpoch;
    const token = this.peer.persist({ type: 'writeAcceptedEpoch', epoch: this.proposedEpoch });
    this.waits.add(token, { type: 'sendLeaderInfo' });
  }

  private startEpochAck(): void {
    this.setPhase('epochAck');
    this.electing.add(this.peer.sid);
    for (const h of this.learners.values()) if (h.stage === 'info') this.sendLeaderInfo(h);
    this.checkElectingQuorum();
  }

  private sendLeaderInfo(h: LearnerHandle): void {
    h.stage = 'epoch';
    this.send(h.sid, { type: 'leaderInfo', zxid: this.newLeaderZxid, protocolVersion: ZAB_PROTOCOL_VERSION });
  }

  private onAckEpoch(h: LearnerHandle, lastZxid: bigint, currentEpoch: number): void {
    if (h.stage !== 'epoch') return this.dropLearner(h, `ACKEPOCH in stage ${h.stage}`);
    h.stage = 'ackedEpoch';
    h.lastZxid = lastZxid;
    if (this.phase === 'epochAck') {
      if (currentEpoch !== -1) {
        const epoch = BigInt(currentEpoch);
        if (epoch > this.summaryEpoch || (epoch === this.summaryEpoch && lastZxid > this.summaryZxid)) {
          return this.dropLearner(h, 'learner is ahead of the leader');
        }
        if (lastZxid !== -1n && !h.observer) this.electing.add(h.sid);
      }
      this.checkElectingQuorum();
    } else if (this.phase === 'sync' || this.phase === 'broadcast') {
      this.syncLearner(h);
    }
  }

  private checkElectingQuorum(): void {
    if (this.phase !== 'epochAck' || !isQuorum(this.peer.config.voters, this.electing)) return;
    this.setPhase('sync');
    // currentEpoch says "my history is the new epoch's initial history": only once it is durable.
    this.afterAllDurable({ type: 'writeCurrentEpoch' });
    for (const h of this.learners.values()) if (h.stage === 'ackedEpoch') this.syncLearner(h);
  }

  // -------------------------------------------------------------------------------------------
  // Synchronization

  private syncLearner(h: LearnerHandle): void {
    const history = this.peer.history;
    const committed = this.phase === 'broadcast' ? this.lastCommitted : history.lastZxid;
    const plan = planSync(history, committed, h.lastZxid);
    this.send(h.sid, { type: plan.type, zxid: plan.zxid });
    for (let i = plan.from; i < history.length; i++) {
      const txn = history.at(i);
      if (txn.hdr.zxid <= committed) {
        this.send(h.sid, { type: 'proposal', txn });
        this.send(h.sid, { type: 'commit', zxid: txn.hdr.zxid });
      } else if (!h.observer) {
        this.send(h.sid, { type: 'proposal', txn });
      }
    }
    this.send(h.sid, { type: 'newLeader', zxid: this.newLeaderZxid, config: this.peer.config.quorumVerifierBytes ?? null });
    h.stage = 'syncing';
  }

  private writeCurrentEpoch(): void {
    this.peer.currentEpoch = this.proposedEpoch;
    const token = this.peer.persist({ type: 'writeCurrentEpoch', epoch: this.proposedEpoch });
    this.waits.add(token, { type: 'selfNewLeaderAck' });
  }

  private checkNewLeaderQuorum(): void {
    if (this.phase !== 'sync' || !isQuorum(this.peer.config.voters, this.newLeaderAcks)) return;
    this.setPhase('broadcast');
    this.lastCommitted = this.peer.history.lastZxid;
    this.lastProposed = this.newLeaderZxid;
    this.peer.applyThrough(this.lastCommitted);
    this.peer.emit({ type: 'leading', epoch: this.proposedEpoch, zxid: this.lastCommitted });
    for (const h of this.learners.values()) if (h.stage === 'synced') this.sendUpToDate(h);
  }

  private sendUpToDate(h: LearnerHandle): void {
    h.stage = 'active';
    this.send(h.sid, { type: 'upToDate', zxid: -1n });
  }

  // -------------------------------------------------------------------------------------------
  // Broadcast

  private onAck(h: LearnerHandle, zxid: bigint): void {
    if (h.stage === 'syncing') {
      if (zxid !== this.newLeaderZxid) return;
      h.stage = 'synced';
      if (!h.observer) this.newLeaderAcks.add(h.sid);
      if (this.phase === 'broadcast') this.sendUpToDate(h);
      else this.checkNewLeaderQuorum();
      return;
    }
    if ((h.stage === 'synced' || h.stage === 'active') && !h.observer) this.addAck(h.sid, zxid);
  }

  private addAck(sid: Sid, zxid: bigint): void {
    // Counter 0 is the ACK of UPTODATE; it acks no proposal.
    if (counterOf(zxid) === 0n || zxid <= this.lastCommitted || this.phase !== 'broadcast') return;
    const head = this.outstanding[this.outstandingHead];
    if (head === undefined || zxid < head.zxid) return;
    // Outstanding proposals carry consecutive counters of this epoch.
    const p = this.outstanding[this.outstandingHead + Number(zxid - head.zxid)];
    if (p === undefined || p.zxid !== zxid) return;
    p.acks.add(sid);
    this.tryCommit();
  }

  private tryCommit(): void {
    const faults = this.peer.config.faults;
    while (this.outstandingHead < this.outstanding.length) {
      const p = this.outstanding[this.outstandingHead]!;
      const quorum = isQuorum(this.peer.config.voters, p.acks) || (faults?.commitWithoutQuorum === true && p.acks.has(this.peer.sid));
      if (!quorum) return;
      this.outstandingHead++;
      this.commit(p.zxid);
    }
    if (this.outstandingHead > 64 && this.outstandingHead * 2 > this.outstanding.length) {
      this.outstanding = this.outstanding.slice(this.outstandingHead);
      this.outstandingHead = 0;
    }
  }

  private commit(zxid: bigint): void {
    if (zxid !== this.lastCommitted + 1n && counterOf(zxid) !== 1n) fail(`commit ${zxidHex(zxid)} out of order`);
    this.lastCommitted = zxid;
    const txn = this.peer.history.get(zxid);
    if (txn === undefined) fail(`committed ${zxidHex(zxid)} is not in the history`);
    for (const h of this.learners.values()) {
      if (!isForwarding(h)) continue;
      if (h.observer) this.send(h.sid, { type: 'inform', txn });
      else this.send(h.sid, { type: 'commit', zxid });
    }
    this.peer.applyThrough(zxid);
    if (this.pendingSyncs.length > 0 && this.pendingSyncs[0]!.zxid <= zxid) {
      const due = this.pendingSyncs.filter((s) => s.zxid <= zxid);
      this.pendingSyncs = this.pendingSyncs.filter((s) => s.zxid > zxid);
      for (const s of due) this.send(s.sid, { type: 'sync', zxid: 0n });
    }
  }

  // -------------------------------------------------------------------------------------------

  private afterAllDurable(w: LeaderWait): void {
    this.waits.add(this.peer.lastToken, w);
    this.onPersisted();
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.phaseDeadlineTick = this.tick + this.peer.config.initLimitTicks;
  }

  private dropLearner(h: LearnerHandle, _why: string): void {
    this.forgetLearner(h.sid);
    this.peer.disconnect(h.sid, 'toLearner');
  }

  /**
   * A learner that reconnects is re-synced, possibly by TRUNC, which can take an acked proposal
   * off its disk until the proposal is streamed and logged again: its old ACKs no longer count.
   */
  private forgetLearner(sid: Sid): void {
    if (!this.learners.delete(sid)) return;
    for (let i = this.outstandingHead; i < this.outstanding.length; i++) this.outstanding[i]!.acks.delete(sid);
    // Likewise its NEWLEADER ack: a learner that left may be following a later epoch by now
    // (Java keeps the ack, and can establish an epoch its quorum has already moved past).
    if (this.phase !== 'broadcast') this.newLeaderAcks.delete(sid);
  }

  private send(to: Sid, packet: ZabPacket): void {
    this.peer.send(to, 'toLearner', packet);
  }
}

function isForwarding(h: LearnerHandle): boolean {
  return h.stage === 'syncing' || h.stage === 'synced' || h.stage === 'active';
}
