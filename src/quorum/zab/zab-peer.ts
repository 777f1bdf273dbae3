import type { TxnEntry } from '../../txn/txn.js';
import { assert } from '../../util/assert.js';
import { fail } from './fail.js';
import { History } from './history.js';
import { LeaderRole } from './leader.js';
import { LearnerRole } from './learner.js';
import type { Link, PersistOp, Ready, Sid, ZabConfig, ZabDurableState, ZabEvent, ZabInput } from './ready.js';
import { emptyReady } from './ready.js';
import type { ZabPacket } from './packets.js';
import { zxidHex } from './zxid.js';

export type PeerState = 'looking' | 'leading' | 'following' | 'observing';

/**
 * One server's ZAB state machine: the durable facts (epochs, history) that outlive roles, and
 * the current role (a LeaderRole or a LearnerRole, or none while the election runs). Pure: no
 * I/O, no clock, no randomness. Each `step` returns a Ready the driver carries out.
 */
export class ZabPeer {
  readonly config: ZabConfig;
  readonly history: History;
  /** Latest values written (the durable ones may lag until their persist tokens come back). */
  acceptedEpoch: bigint;
  currentEpoch: bigint;
  /** The zxid the driver's tree is at after applying everything emitted so far. */
  appliedZxid = 0n;
  /** Set when the history's snapshot changed under the tree: the next apply reloads it. */
  snapshotLoadPending: boolean;
  /** A leader asked us to truncate inside our snapshot: the next sync must be a SNAP. */
  needsSnapSync = false;

  private role: LeaderRole | LearnerRole | null = null;
  private out: Ready = emptyReady();
  private nextToken = 1;
  /** Every token below this one is durable. */
  private durableBelow = 1;
  private durableAbove = new Set<number>();

  constructor(config: ZabConfig, durable: ZabDurableState) {
    assert(durable.acceptedEpoch >= durable.currentEpoch, 'acceptedEpoch is behind currentEpoch');
    this.config = config;
    this.history = new History(durable.snapshotZxid, durable.log);
    this.acceptedEpoch = durable.acceptedEpoch;
    this.currentEpoch = durable.currentEpoch;
    this.snapshotLoadPending = durable.snapshotZxid > 0n;
  }

  get sid(): Sid {
    return this.config.sid;
  }

  get isObserver(): boolean {
    return this.config.observers.includes(this.config.sid);
  }

  get state(): PeerState {
    if (this.role === null) return 'looking';
    if (this.role instanceof LeaderRole) return 'leading';
    return this.role.observer ? 'observing' : 'following';
  }

  /** True for a leader whose epoch a quorum acked, and a learner that got UPTODATE. */
  get serving(): boolean {
    return this.role !== null && this.role.serving;
  }

  get lastLoggedZxid(): bigint {
    return this.history.lastZxid;
  }

  /** The epoch of the current role, once known. */
  get epoch(): bigint | null {
    return this.role?.epoch ?? null;
  }

  /** The leader this peer follows, or its own sid while leading; null while looking. */
  get leaderSid(): Sid | null {
    if (this.role === null) return null;
    return this.role instanceof LeaderRole ? this.sid : this.role.leader;
  }

  /** The leader's view of its learners (null unless leading). */
  learnerCounts(): ReturnType<LeaderRole['learnerCounts']> | null {
    return this.role instanceof LeaderRole ? this.role.learnerCounts() : null;
  }

  /** The zxid the next `propose` must carry, or null when this peer cannot propose now. */
  nextZxid(): bigint | null {
    return this.role instanceof LeaderRole ? this.role.nextZxid() : null;
  }

  step(input: ZabInput): Ready {
    this.out = emptyReady();
    const role = this.role;
    switch (input.type) {
      case 'elected':
        assert(role === null, 'elected while in a role');
        this.startRole(input.leader);
        break;
      case 'persisted':
        this.markDurable(input.token);
        role?.onPersisted();
        break;
      case 'message':
        if (input.packet.type === 'followerInfo' || input.packet.type === 'observerInfo') {
          // Only a leader takes learners; anyone else refuses the connection.
          if (role instanceof LeaderRole) role.onMessage(input.from, input.packet);
          else this.disconnect(input.from, 'toLearner');
        } else {
          role?.onMessage(input.from, input.packet);
        }
        break;
      case 'tick':
        role?.onTick();
        break;
      case 'disconnected':
        role?.onDisconnected(input.peer);
        break;
      case 'propose':
        if (role instanceof LeaderRole) role.propose(input.entry);
        else this.emit({ type: 'proposeRejected', zxid: input.entry.hdr.zxid, reason: 'not leading' });
        break;
      case 'learnerSync':
        if (role instanceof LeaderRole) role.learnerSync(input.from);
        break;
      case 'abandon':
        if (role !== null) this.endRole(input.reason);
        break;
    }
    const ready = this.out;
    this.out = emptyReady();
    return ready;
  }

  private startRole(leader: Sid): void {
    if (leader === this.sid) {
      assert(!this.isObserver, 'an observer cannot lead');
      this.role = new LeaderRole(this);
    } else {
      this.role = new LearnerRole(this, leader, this.isObserver);
    }
    this.role.start();
  }

  // -------------------------------------------------------------------------------------------
  // The context roles use.

  persist(op: PersistOp): number {
    const token = this.nextToken++;
    this.out.persist.push({ token, op });
    return token;
  }

  /** The last token handed out (0 before any). */
  get lastToken(): number {
    return this.nextToken - 1;
  }

  /** Whether this token and every earlier one are durable. */
  durableThrough(token: number): boolean {
    return token < this.durableBelow;
  }

  /** Whether this one token is durable. */
  isDurable(token: number): boolean {
    return token < this.durableBelow || this.durableAbove.has(token);
  }

  private markDurable(token: number): void {
    if (token <= 0 || token >= this.nextToken) fail(`persisted token ${token} was never issued`);
    if (token < this.durableBelow) return;
    this.durableAbove.add(token);
    while (this.durableAbove.delete(this.durableBelow)) this.durableBelow++;
  }

  send(to: Sid, link: Link, packet: ZabPacket): void {
    this.out.messages.push({ to, link, packet });
  }

  emit(event: ZabEvent): void {
    this.out.events.push(event);
  }

  disconnect(peer: Sid, link: Link): void {
    this.out.disconnect.push({ peer, link });
  }

  appendLog(entry: TxnEntry): number {
    this.history.append(entry);
    return this.persist({ type: 'appendTxns', entries: [entry] });
  }

  /**
   * Emit apply items up to zxid: the snapshot first when the tree does not hold it, then the
   * logged txns after the tree's zxid. Only committed txns may be applied.
   */
  applyThrough(zxid: bigint): void {
    const h = this.history;
    if (this.snapshotLoadPending || this.appliedZxid < h.snapshotZxid) {
      if (zxid < h.snapshotZxid) fail(`apply through ${zxidHex(zxid)} below the snapshot ${zxidHex(h.snapshotZxid)}`);
      this.out.apply.push({ type: 'loadSnapshot', zxid: h.snapshotZxid });
      this.appliedZxid = h.snapshotZxid;
      this.snapshotLoadPending = false;
    }
    for (let i = h.firstAfter(this.appliedZxid); i < h.length; i++) {
      const entry = h.at(i);
      if (entry.hdr.zxid > zxid) break;
      this.out.apply.push({ type: 'txn', entry });
      this.appliedZxid = entry.hdr.zxid;
    }
  }

  endRole(reason: string): void {
    const role = this.role;
    if (role === null) return;
    role.ended = true;
    const link: Link = role instanceof LeaderRole ? 'toLearner' : 'toLeader';
    for (const peer of role.connectedPeers()) this.disconnect(peer, link);
    this.role = null;
    this.emit({ type: 'roleEnded', reason });
  }

  protocolError(reason: string): void {
    this.emit({ type: 'protocolError', reason });
    this.endRole(`protocol error: ${reason}`);
  }
}
