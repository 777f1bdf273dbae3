import type { TxnEntry } from '../../txn/txn.js';
import { ZAB_PROTOCOL_VERSION, type ZabPacket } from './packets.js';
import type { Sid } from './ready.js';
import { TokenWaits } from './token-waits.js';
import type { ZabPeer } from './zab-peer.js';
import { FORCE_SNAP_ZXID } from './sync-plan.js';
import { epochOf, makeZxid, zxidHex } from './zxid.js';

/**
 * A follower or observer of one leader:
 *   connecting     FOLLOWERINFO/OBSERVERINFO sent with our acceptedEpoch
 *   epochPersist   LEADERINFO named a newer epoch: accept it durably, then ACKEPOCH
 *   sync           waiting for DIFF / TRUNC / SNAP
 *   syncStream     history from the leader (PROPOSAL, COMMIT) until NEWLEADER
 *   newLeader      make the synced history durable, THEN write currentEpoch, THEN ack NEWLEADER
 *   awaitUpToDate  acked; proposals are logged and acked; commits wait for UPTODATE
 *   broadcast      serving: PROPOSAL -> log -> ACK once durable; COMMIT/INFORM -> apply
 * A proposal's ACK is never sent before the txn is durable nor before NEWLEADER was acked
 * (an ACK from a peer whose currentEpoch is still old would not protect the txn in the next
 * election).
 */
type Phase = 'connecting' | 'epochPersist' | 'sync' | 'syncStream' | 'newLeader' | 'awaitUpToDate' | 'broadcast';

/** `exact`: due when that one token is durable, not every token before it (broken variant only). */
type LearnerWait = { type: 'sendAckEpoch' } | { type: 'writeCurrentEpoch' } | { type: 'ackNewLeader'; exact: boolean };

export class LearnerRole {
  ended = false;
  private phase: Phase = 'connecting';
  private newEpoch: bigint | null = null;
  private newLeaderZxid = 0n;
  private ticksSilent = 0;
  private committedZxid: bigint;
  /** Where our own history meets the leader's: committed once UPTODATE arrives. */
  private syncPoint = -1n;
  private newLeaderAcked = false;
  private pendingAcks: { token: number; zxid: bigint }[] = [];
  private pendingAcksHead = 0;
  private readonly waits = new TokenWaits<LearnerWait>();

  constructor(
    private readonly peer: ZabPeer,
    readonly leader: Sid,
    readonly observer: boolean,
  ) {
    this.committedZxid = peer.appliedZxid;
  }

  get serving(): boolean {
    return this.phase === 'broadcast';
  }

  get epoch(): bigint | null {
    return this.newEpoch;
  }

  connectedPeers(): Sid[] {
    return [this.leader];
  }

  start(): void {
    const info = { sid: BigInt(this.peer.sid), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0n };
    const zxid = makeZxid(this.peer.acceptedEpoch, 0n);
    this.send({ type: this.observer ? 'observerInfo' : 'followerInfo', zxid, info });
  }

  // -------------------------------------------------------------------------------------------
  // Inputs

  onMessage(from: Sid, p: ZabPacket): void {
    if (from !== this.leader) return;
    this.ticksSilent = 0;
    switch (p.type) {
      case 'leaderInfo':
        return this.onLeaderInfo(p.zxid);
      case 'diff':
      case 'trunc':
      case 'snap':
        return this.onSyncStart(p.type, p.zxid);
      case 'proposal':
        return this.onProposal(p.txn);
      case 'commit':
        return this.onCommit(p.zxid);
      case 'inform':
        return this.onInform(p.txn);
      case 'newLeader':
        return this.onNewLeader(p.zxid);
      case 'upToDate':
        return this.onUpToDate();
      case 'ping':
        // Java's leader reads the reply's data as a session touch table: never send null.
        this.send({ type: 'ping', zxid: p.zxid, data: Buffer.alloc(0), authinfo: p.authinfo });
        return;
      case 'sync':
        this.peer.emit({ type: 'syncReply' });
        return;
      case 'revalidate':
        return;
      default:
        return this.peer.protocolError(`unexpected ${p.type} from the leader`);
    }
  }

  onTick(): void {
    this.ticksSilent++;
    const limit = this.newLeaderAcked ? this.peer.config.syncLimitTicks : this.peer.config.initLimitTicks;
    if (this.ticksSilent > limit) this.peer.endRole(`leader ${this.leader} silent for ${this.ticksSilent} ticks`);
  }

  onPersisted(): void {
    const due = (t: number, w: LearnerWait): boolean =>
      w.type === 'ackNewLeader' && w.exact ? this.peer.isDurable(t) : this.peer.durableThrough(t);
    for (const w of this.waits.takeDue(due)) {
      if (this.ended) return;
      switch (w.type) {
        case 'sendAckEpoch':
          this.sendAckEpoch(true);
          break;
        case 'writeCurrentEpoch':
          this.writeCurrentEpoch();
          break;
        case 'ackNewLeader':
          this.ackNewLeader();
          break;
      }
    }
    if (!this.ended) this.flushAcks();
  }

  onDisconnected(peer: Sid): void {
    if (peer === this.leader) this.peer.endRole(`connection to leader ${peer} closed`);
  }

  // -------------------------------------------------------------------------------------------
  // Discovery

  private onLeaderInfo(zxid: bigint): void {
    if (this.phase !== 'connecting') return this.peer.protocolError('LEADERINFO twice');
    const epoch = epochOf(zxid);
    this.newEpoch = epoch;
    if (epoch > this.peer.acceptedEpoch) {
      // The promise never to accept an older epoch must survive a crash before we make it.
      this.phase = 'epochPersist';
      this.peer.acceptedEpoch = epoch;
      const token = this.peer.persist({ type: 'writeAcceptedEpoch', epoch });
      this.waits.add(token, { type: 'sendAckEpoch' });
    } else if (epoch === this.peer.acceptedEpoch) {
      // We acked this epoch before (to this leader or another): report our history, no vote.
      this.sendAckEpoch(false);
    } else {
      this.peer.endRole(`leader epoch ${epoch} is below our accepted epoch ${this.peer.acceptedEpoch}`);
    }
  }

  private sendAckEpoch(counted: boolean): void {
    this.phase = 'sync';
    const currentEpoch = counted ? Number(this.peer.currentEpoch) : -1;
    // An uncounted ACKEPOCH plays no part in the epoch's quorum nor the "ahead" check, so it
    // may name a zxid no leader has, to get a SNAP (see onSyncStart).
    const zxid = !counted && this.peer.needsSnapSync ? FORCE_SNAP_ZXID : this.peer.history.lastZxid;
    this.send({ type: 'ackEpoch', zxid, currentEpoch });
  }

  // -------------------------------------------------------------------------------------------
  // Synchronization

  private onSyncStart(type: 'diff' | 'trunc' | 'snap', zxid: bigint): void {
    if (this.phase !== 'sync') return this.peer.protocolError(`${type} in phase ${this.phase}`);
    const history = this.peer.history;
    if (type === 'diff') {
      this.syncPoint = history.lastZxid;
    } else {
      // Applied txns are committed: a leader that cuts them away has lost history.
      if (zxid < this.peer.appliedZxid) {
        return this.peer.protocolError(`${type} to ${zxidHex(zxid)} below applied ${zxidHex(this.peer.appliedZxid)}`);
      }
      if (type === 'trunc' && zxid < history.snapshotZxid) {
        // Our snapshot holds a failed epoch's uncommitted history (installed by SNAP before that
        // leader gave up) and cannot be cut. Keep it until a new snapshot replaces it: reconnect
        // and ask for one.
        this.peer.needsSnapSync = true;
        return this.peer.endRole(`TRUNC to ${zxidHex(zxid)} is inside our snapshot at ${zxidHex(history.snapshotZxid)}`);
      }
      if (type === 'trunc') {
        if (!history.has(zxid)) return this.peer.protocolError(`TRUNC to ${zxidHex(zxid)}, which we do not have`);
        history.truncateTo(zxid);
        this.peer.persist({ type: 'truncateTo', zxid });
      } else {
        history.installSnapshot(zxid);
        this.peer.snapshotLoadPending = true;
        this.peer.needsSnapSync = false;
        this.peer.persist({ type: 'installSnapshot', zxid });
      }
      this.syncPoint = zxid;
    }
    this.phase = 'syncStream';
  }

  private onNewLeader(zxid: bigint): void {
    if (this.phase !== 'syncStream' || epochOf(zxid) !== this.newEpoch) {
      return this.peer.protocolError(`NEWLEADER ${zxidHex(zxid)} in phase ${this.phase}`);
    }
    this.phase = 'newLeader';
    this.newLeaderZxid = zxid;
    if (this.peer.config.faults?.currentEpochBeforeTxns === true) return this.writeCurrentEpoch();
    this.waits.add(this.peer.lastToken, { type: 'writeCurrentEpoch' });
    this.onPersisted();
  }

  private writeCurrentEpoch(): void {
    const epoch = this.newEpoch!;
    this.peer.currentEpoch = epoch;
    const token = this.peer.persist({ type: 'writeCurrentEpoch', epoch });
    // The broken variant acks as soon as currentEpoch is on disk, like ZOOKEEPER-3911/4394.
    this.waits.add(token, { type: 'ackNewLeader', exact: this.peer.config.faults?.currentEpochBeforeTxns === true });
  }

  private ackNewLeader(): void {
    this.send({ type: 'ack', zxid: this.newLeaderZxid });
    this.newLeaderAcked = true;
    this.phase = 'awaitUpToDate';
  }

  private onUpToDate(): void {
    if (this.phase !== 'awaitUpToDate') return this.peer.protocolError(`UPTODATE in phase ${this.phase}`);
    if (this.syncPoint > this.committedZxid) this.committedZxid = this.syncPoint;
    this.peer.applyThrough(this.committedZxid);
    this.send({ type: 'ack', zxid: makeZxid(this.newEpoch!, 0n) });
    this.phase = 'broadcast';
    this.peer.emit({ type: 'following', leader: this.leader, epoch: this.newEpoch!, observer: this.observer });
  }

  // -------------------------------------------------------------------------------------------
  // Broadcast (and the history stream of synchronization)

  private streaming(): boolean {
    return this.phase === 'syncStream' || this.phase === 'newLeader' || this.phase === 'awaitUpToDate' || this.phase === 'broadcast';
  }

  private onProposal(txn: TxnEntry): void {
    if (!this.streaming()) return this.peer.protocolError(`PROPOSAL in phase ${this.phase}`);
    if (this.observer && this.phase === 'broadcast') return;
    const zxid = txn.hdr.zxid;
    if (zxid <= this.peer.history.lastZxid) {
      return this.peer.protocolError(`PROPOSAL ${zxidHex(zxid)} not after ${zxidHex(this.peer.history.lastZxid)}`);
    }
    const token = this.peer.appendLog(txn);
    if (this.observer) return;
    this.pendingAcks.push({ token, zxid });
    this.flushAcks();
  }

  private onCommit(zxid: bigint): void {
    if (!this.streaming()) return this.peer.protocolError(`COMMIT in phase ${this.phase}`);
    if (this.observer && this.phase === 'broadcast') return;
    if (zxid <= this.committedZxid) return;
    if (!this.peer.history.has(zxid)) return this.peer.protocolError(`COMMIT ${zxidHex(zxid)} of a txn we never got`);
    this.committedZxid = zxid;
    if (this.phase === 'broadcast') this.peer.applyThrough(zxid);
  }

  private onInform(txn: TxnEntry): void {
    if (!this.observer || !this.streaming()) return this.peer.protocolError(`INFORM in phase ${this.phase}`);
    const zxid = txn.hdr.zxid;
    if (zxid > this.peer.history.lastZxid) this.peer.appendLog(txn);
    else if (!this.peer.history.has(zxid)) return this.peer.protocolError(`INFORM ${zxidHex(zxid)} behind our log`);
    if (zxid > this.committedZxid) this.committedZxid = zxid;
    if (this.phase === 'broadcast') this.peer.applyThrough(zxid);
  }

  private flushAcks(): void {
    if (!this.newLeaderAcked) return;
    const early = this.peer.config.faults?.ackBeforePersist === true;
    while (this.pendingAcksHead < this.pendingAcks.length) {
      const a = this.pendingAcks[this.pendingAcksHead]!;
      if (!early && !this.peer.durableThrough(a.token)) break;
      this.send({ type: 'ack', zxid: a.zxid });
      this.pendingAcksHead++;
    }
    if (this.pendingAcksHead > 64 && this.pendingAcksHead * 2 > this.pendingAcks.length) {
      this.pendingAcks = this.pendingAcks.slice(this.pendingAcksHead);
      this.pendingAcksHead = 0;
    }
  }

  private send(packet: ZabPacket): void {
    this.peer.send(this.leader, 'toLeader', packet);
  }
}
