import type { Logger } from 'pino';
import { writeReplyHeader } from '../proto/records.js';
import { Err } from '../proto/error-codes.js';
import type { Id } from '../proto/data.js';
import { OpCode, Xid } from '../proto/opcodes.js';
import { SessionTracker } from '../session/session-tracker.js';
import { DataTree } from '../tree/data-tree.js';
import { reapCandidates } from '../tree/reap-candidates.js';
import { applyTxn, type TxnResult } from '../txn/apply.js';
import { ChangeOverlay } from '../txn/overlay.js';
import { prepRequest } from '../txn/prep.js';
import type { PrepEnv } from '../txn/prep-env.js';
import type { TxnEntry } from '../txn/txn.js';
import type { WriteRequest } from '../txn/write-request.js';
import type { Clock } from './clock.js';
import type { ServerCnxn } from './cnxn.js';
import type { TxnPersister } from './persister.js';
import { JuteReader } from '../jute/reader.js';
import { decodeRequest } from './decode-request.js';
import { executeRead, setWatches, type ReadEnv } from './read-ops.js';
import type { ReadRequest } from './read-request.js';
import { writeWriteReply } from './reply.js';
import { ServerStats } from './server-stats.js';

/** A database loaded from disk (src/persist/restore.ts). */
export interface InitialState {
  tree: DataTree;
  /** Open sessions: id -> timeout ms. They get a full timeout from now to reconnect. */
  sessions: ReadonlyMap<bigint, number>;
  lastZxid: bigint;
}

export interface ZkServerOptions {
  /** Requests in the pipeline past which connections with requests in flight stop reading. */
  globalOutstandingLimit: number;
  tickTimeMs: number;
  serverId: number;
  skipACL: boolean;
  extendedTypesEnabled: boolean;
  enforceQuota: boolean;
  reconfigEnabled: boolean;
}

/**
 * How writes leave this server in quorum mode (src/quorum/quorum-server.ts implements it).
 * A leader prepares txns and proposes them; a learner forwards the request to its leader. Either
 * way the txn comes back through `applyCommitted` once a quorum has it.
 */
export interface Replicator {
  propose(txn: TxnEntry): void;
  /** Send a client request to the leader: its body as the client sent it (after the header). */
  forward(sessionId: bigint, cxid: number, type: number, body: Buffer, authInfo: readonly Id[]): void;
  /** Ask the leader whether a session a client reconnects with is still valid (REVALIDATE). */
  revalidate(sessionId: bigint, timeoutMs: number): void;
}

/**
 * standalone: writes are prepared here and applied once the local log has them.
 * leader: writes are prepared here and proposed; applied when committed.
 * learner: writes are forwarded to the leader; applied when its COMMIT (or INFORM) arrives.
 * down: not serving (quorum mode while looking or syncing): no client is connected.
 */
export type PipelineRole = 'standalone' | 'leader' | 'learner' | 'down';

/** One request in the pipeline, from arrival until its reply is written. */
interface PendingRequest {
  cnxn: ServerCnxn | null;
  /** The request's opcode (for a write, before prep turned it into a txn type). */
  type: number;
  sessionId: bigint;
  cxid: number;
  read: ReadRequest | null;
  txn: TxnEntry | null;
  authInfo: readonly Id[];
  arrivedMs: number;
  /** Quorum writes: the result of applying the committed txn, once it is applied. */
  applied: TxnResult | null;
  /** A learner's sync(): answered once the leader's SYNC comes back. */
  awaitingSync: boolean;
}


/**
 * The request pipeline. Every request joins one FIFO queue and replies leave in queue order, so
 * each session sees its own writes and watch events are queued before any reply that reflects
 * them. One pass per event-loop turn: arrivals only enqueue; `pass` runs from setImmediate.
 *
 * Standalone: a write is turned into a txn at once (prep, against the overlay of changes not yet
 * applied) and handed to the persister; once a flush makes it durable the queue drains past it,
 * applying the txn and answering it.
 * Quorum: a leader prepares and proposes; a learner forwards the request. The txn is applied
 * when ZAB commits it (`applyCommitted`, in zxid order, our own and everyone else's), and a
 * write waiting at the queue's head is answered once its txn has been applied.
 */
export class ZkServer {
  tree: DataTree;
  overlay: ChangeOverlay;
  readonly sessions: SessionTracker;
  readonly stats = new ServerStats();
  /** Connections by the session they carry. */
  readonly cnxnBySession = new Map<bigint, ServerCnxn>();
  role: PipelineRole = 'standalone';
  replicator: Replicator | null = null;
  private readonly queue: PendingRequest[] = [];
  private head = 0;
  /** Quorum: queued writes whose txn has not been applied yet, in the order they will commit. */
  private awaiting: PendingRequest[] = [];
  private awaitingHead = 0;
  /** Learner: queued sync() requests waiting for the leader's SYNC, oldest first. */
  private awaitingSyncs: PendingRequest[] = [];
  /** Learner: sessions touched since the last PING reply (id -> timeout), reported to the leader. */
  private touched = new Map<bigint, number>();
  /** Leader: the server the request being prepared came through (ourselves, or a learner's sid). */
  private prepOrigin: number | null = null;
  /** Set while submitForwarded hands a learner's request to submitWrite. */
  private forwardedFrom: number | null = null;
  /** Learner: reconnects waiting for the leader's REVALIDATE answer, by session. */
  private readonly revalidating = new Map<bigint, ServerCnxn[]>();
  /** The last zxid handed out by prep. */
  private lastZxid = 0n;
  /** The highest zxid the persister has made durable. */
  private durableZxid = 0n;
  private flushingUpTo = -1n;
  private scheduled = false;
  private readonly dirty = new Set<ServerCnxn>();
  /** Connections that stopped reading because the pipeline was over globalOutstandingLimit. */
  private readonly throttled = new Set<ServerCnxn>();
  private prepEnv!: PrepEnv;
  private readEnv!: ReadEnv;
  /** Called after each txn is applied (the snapshot policy counts them). */
  onTxnCommitted: (() => void) | null = null;
  private readonly runPass = (): void => this.pass();
  private readonly onFlushed = (err: Error | null): void => this.flushed(err);

  constructor(
    private readonly opts: ZkServerOptions,
    private readonly persister: TxnPersister,
    private readonly clock: Clock,
    private readonly log: Logger,
    initial?: InitialState,
  ) {
    this.tree = initial?.tree ?? new DataTree(opts.extendedTypesEnabled);
    this.overlay = new ChangeOverlay(this.tree);
    this.sessions = new SessionTracker(opts.tickTimeMs, opts.serverId, clock.wallMs(), clock.elapsedMs());
    if (initial !== undefined) {
      this.lastZxid = initial.lastZxid;
      this.durableZxid = initial.lastZxid;
      for (const [id, timeoutMs] of initial.sessions) this.sessions.add(id, timeoutMs, clock.elapsedMs());
    }
    this.bindEnvs();
  }

  private bindEnvs(): void {
    const sessions = this.sessions;
    const opts = this.opts;
    this.prepEnv = {
      tree: this.tree,
      overlay: this.overlay,
      skipACL: opts.skipACL,
      extendedTypesEnabled: opts.extendedTypesEnabled,
      enforceQuota: opts.enforceQuota,
      reconfigEnabled: opts.reconfigEnabled,
      checkSession: (id) => sessions.check(id, this.role === 'leader' ? this.prepOrigin : null),
    };
    this.readEnv = { tree: this.tree, skipACL: opts.skipACL };
  }

  get lastProcessedZxid(): bigint {
    return this.tree.lastProcessedZxid;
  }

  /** Requests queued or waiting on the disk (or, in quorum mode, on a commit). */
  get outstanding(): number {
    return this.queue.length - this.head;
  }

  /** Whether a learner must hand request bodies to submitWrite (it forwards them). */
  get forwardsRequests(): boolean {
    return this.role === 'learner';
  }

  submitRead(cnxn: ServerCnxn, cxid: number, req: ReadRequest, body: Buffer | null = null): void {
    this.stats.packetsReceived++;
    const pending: PendingRequest = {
      cnxn, type: req.type, sessionId: cnxn.sessionId, cxid, read: req, txn: null, authInfo: cnxn.authInfo,
      arrivedMs: this.clock.elapsedMs(), applied: null, awaitingSync: false,
    };
    if (req.type === OpCode.sync && this.role === 'learner' && body !== null) {
      // Answered once the leader has committed everything it had proposed when the sync got there.
      pending.awaitingSync = true;
      this.awaitingSyncs.push(pending);
      this.replicator!.forward(cnxn.sessionId, cxid, OpCode.sync, body, cnxn.authInfo);
    }
    this.queue.push(pending);
    this.schedule();
  }

  /**
   * A write: standalone and leader prepare it now (assigning its zxid); a learner forwards `body`.
   * It stays queued until durable (standalone) or committed (quorum).
   */
  submitWrite(
    cnxn: ServerCnxn | null, sessionId: bigint, cxid: number, req: WriteRequest, authInfo: readonly Id[], body: Buffer | null = null,
  ): void {
    if (cnxn !== null) this.stats.packetsReceived++;
    const type = req.type === OpCode.error ? req.originalType : req.type;
    const pending: PendingRequest = {
      cnxn, type, sessionId, cxid, read: null, txn: null, authInfo, arrivedMs: this.clock.elapsedMs(), applied: null, awaitingSync: false,
    };
    if (this.role === 'learner') {
      this.replicator!.forward(sessionId, cxid, type, body ?? forwardedBody(req), authInfo);
      this.awaiting.push(pending);
    } else if (this.role === 'down') {
      // Not serving: a connection still open is closed by the quorum driver; drop the request.
      cnxn?.requestDone();
      return;
    } else {
      const zxid = ++this.lastZxid;
      const timeMs = this.clock.wallMs();
      this.prepOrigin = cnxn !== null ? this.opts.serverId : this.forwardedFrom;
      const txnBody = prepRequest(this.prepEnv, { sessionId, authInfo, zxid, timeMs }, req);
      if (txnBody.type === OpCode.closeSession) this.sessions.setClosing(sessionId);
      const txn: TxnEntry = { hdr: { clientId: sessionId, cxid, zxid, time: timeMs, type: txnBody.type }, body: txnBody, digest: null };
      pending.txn = txn;
      if (this.role === 'leader') {
        this.awaiting.push(pending);
        this.replicator!.propose(txn);
      } else {
        this.persister.append(txn);
      }
    }
    this.queue.push(pending);
    this.schedule();
  }

  /** A new session: track it now, answer the client once its createSession txn is durable. */
  createSession(cnxn: ServerCnxn, timeoutMs: number): bigint {
    const sessionId = this.sessions.newSessionId();
    this.sessions.add(sessionId, timeoutMs, this.clock.elapsedMs());
    if (this.role === 'leader') this.sessions.setOwner(sessionId, this.opts.serverId);
    cnxn.sessionId = sessionId;
    this.submitWrite(cnxn, sessionId, 0, { type: OpCode.createSession, timeOut: timeoutMs }, []);
    return sessionId;
  }

  /**
   * Leader: a request a learner forwarded. It is prepared like a local one; the learner answers
   * its client when the commit reaches it. Bodies that do not decode become error txns, as
   * local ones do.
   */
  submitForwarded(from: number, sessionId: bigint, cxid: number, type: number, body: Buffer, authInfo: readonly Id[]): void {
    if (this.role !== 'leader') return;
    this.forwardedFrom = from;
    try {
      this.prepareForwarded(from, sessionId, cxid, type, body, authInfo);
    } finally {
      this.forwardedFrom = null;
    }
  }

  private prepareForwarded(from: number, sessionId: bigint, cxid: number, type: number, body: Buffer, authInfo: readonly Id[]): void {
    if (type === OpCode.createSession) {
      if (body.length < 4) return;
      const timeOut = body.readInt32BE(0);
      if (this.sessions.get(sessionId) === undefined) this.sessions.add(sessionId, timeOut, this.clock.elapsedMs());
      this.sessions.setOwner(sessionId, from);
      this.submitWrite(null, sessionId, cxid, { type: OpCode.createSession, timeOut }, authInfo);
      return;
    }
    this.sessions.touch(sessionId, this.clock.elapsedMs());
    const decoded = decodeRequest(type, new JuteReader(body));
    if (decoded.kind !== 'write') {
      this.log.debug({ type }, 'ignoring a forwarded request that is not a write');
      return;
    }
    this.submitWrite(null, sessionId, cxid, decoded.req, authInfo);
  }

  /**
   * A client reconnects with an existing session. Standalone and leader decide here (a leader
   * also takes ownership of the session); a learner asks its leader and answers when the
   * REVALIDATE reply comes (`revalidated`).
   */
  reconnect(cnxn: ServerCnxn, sessionId: bigint, timeoutMs: number): void {
    if (this.role !== 'learner') {
      const ok = this.touch(sessionId);
      if (ok && this.role === 'leader') this.sessions.setOwner(sessionId, this.opts.serverId);
      this.finishReconnect(cnxn, sessionId, timeoutMs, ok);
      return;
    }
    const waiting = this.revalidating.get(sessionId);
    if (waiting !== undefined) {
      waiting.push(cnxn);
      return;
    }
    this.revalidating.set(sessionId, [cnxn]);
    this.replicator!.revalidate(sessionId, timeoutMs);
  }

  /** Learner: the leader's answer to REVALIDATE. */
  revalidated(sessionId: bigint, valid: boolean): void {
    const waiting = this.revalidating.get(sessionId);
    if (waiting === undefined) return;
    this.revalidating.delete(sessionId);
    for (const cnxn of waiting) {
      if (cnxn.closed) continue;
      // The learner tracks every session from the txns it applied; the leader's word wins.
      if (valid && this.sessions.get(sessionId) === undefined) this.sessions.add(sessionId, cnxn.sessionTimeoutMs, this.clock.elapsedMs());
      this.finishReconnect(cnxn, sessionId, cnxn.sessionTimeoutMs, valid && this.touch(sessionId));
    }
  }

  private finishReconnect(cnxn: ServerCnxn, sessionId: bigint, timeoutMs: number, valid: boolean): void {
    if (valid) {
      const session = this.sessions.get(sessionId)!;
      session.timeoutMs = timeoutMs;
      this.touch(sessionId);
      this.cnxnBySession.set(sessionId, cnxn);
    }
    cnxn.finishSessionInit(valid);
    cnxn.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Quorum roles

  /** The leader's epoch is established: prepare txns from zxid `lastZxid` + 1 on. */
  startLeading(lastZxid: bigint): void {
    this.role = 'leader';
    this.lastZxid = lastZxid;
    this.overlay = new ChangeOverlay(this.tree);
    this.bindEnvs();
    // Sessions learned from txns have no last-seen time here: each gets a full timeout from now.
    const now = this.clock.elapsedMs();
    for (const session of [...this.sessions.all()]) {
      session.closing = false;
      this.sessions.add(session.id, session.timeoutMs, now);
    }
  }

  startFollowing(): void {
    this.role = 'learner';
    this.touched.clear();
  }

  /**
   * Leave the role: nothing queued will be answered here (the driver closes every client
   * connection; clients reconnect and resend). Prepared txns that did not commit are forgotten.
   */
  stopServing(): void {
    this.role = 'down';
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.cnxn?.requestDone();
    this.queue.length = 0;
    this.head = 0;
    this.awaiting = [];
    this.awaitingHead = 0;
    this.awaitingSyncs = [];
    this.revalidating.clear();
    this.throttled.clear();
    this.overlay = new ChangeOverlay(this.tree);
    this.bindEnvs();
  }

  /** Replace the database (a learner installing its leader's snapshot). Only while down. */
  loadDatabase(tree: DataTree, sessions: ReadonlyMap<bigint, number>): void {
    this.tree = tree;
    this.overlay = new ChangeOverlay(tree);
    this.bindEnvs();
    this.sessions.clear();
    const now = this.clock.elapsedMs();
    for (const [id, timeoutMs] of sessions) this.sessions.add(id, timeoutMs, now);
  }

  /** Apply a txn ZAB committed (or that sync brought), and answer the local request it came from. */
  applyCommitted(entry: TxnEntry): void {
    const head = this.awaiting[this.awaitingHead];
    const mine =
      head !== undefined &&
      (head.txn !== null ? head.txn.hdr.zxid === entry.hdr.zxid : head.sessionId === entry.hdr.clientId && head.cxid === entry.hdr.cxid);
    const result = this.applyToTree(entry, mine ? head.cnxn : null);
    if (mine) {
      head.applied = result;
      this.awaitingHead++;
      if (this.awaitingHead > 1024 && this.awaitingHead * 2 > this.awaiting.length) {
        this.awaiting = this.awaiting.slice(this.awaitingHead);
        this.awaitingHead = 0;
      }
    }
    // Answer what this txn unblocks before the next one is applied: a read queued between two
    // writes must see the first and not the second.
    this.drain(false);
    this.schedule();
  }

  /** Learner: the leader answered our oldest forwarded sync(). */
  syncAnswered(): void {
    const pending = this.awaitingSyncs.shift();
    if (pending === undefined) return;
    pending.awaitingSync = false;
    this.schedule();
  }

  /** Learner: sessions touched since the last call, for the PING reply. */
  takeTouchedSessions(): Map<bigint, number> {
    const touched = this.touched;
    this.touched = new Map();
    return touched;
  }

  // -------------------------------------------------------------------------------------------

  /** Whether `cnxn` must stop reading for now (the pipeline is full); it is resumed on drain. */
  throttle(cnxn: ServerCnxn): boolean {
    if (this.outstanding < this.opts.globalOutstandingLimit) return false;
    this.throttled.add(cnxn);
    return true;
  }

  markDirty(cnxn: ServerCnxn): void {
    this.dirty.add(cnxn);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runPass);
  }

  private pass(): void {
    this.scheduled = false;
    if (this.persister.unflushed > 0 && this.flushingUpTo < 0n) {
      this.flushingUpTo = this.lastZxid;
      this.persister.flush(this.onFlushed);
    }
    this.drain(true);
  }

  private flushed(err: Error | null): void {
    if (err !== null) {
      // An acknowledged write must never be lost, so a failed fsync is fatal, as in ZooKeeper.
      this.log.fatal({ err }, 'txn log flush failed; stopping');
      process.exit(3);
    }
    this.durableZxid = this.flushingUpTo;
    this.flushingUpTo = -1n;
    this.schedule();
  }

  private drain(flush: boolean): void {
    const queue = this.queue;
    const standalone = this.role === 'standalone';
    while (this.head < queue.length) {
      const req = queue[this.head]!;
      if (req.read !== null) {
        if (req.awaitingSync) break;
        this.head++;
        this.answerRead(req);
      } else if (standalone) {
        const txn = req.txn!;
        if (txn.hdr.zxid > this.durableZxid) break;
        this.head++;
        this.answerWrite(req, txn.body.type, this.applyToTree(txn, req.cnxn));
      } else {
        if (req.applied === null) break;
        this.head++;
        this.answerWrite(req, req.type, req.applied);
      }
    }
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 4096) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    if (!flush) return;
    for (const cnxn of this.dirty) cnxn.flush();
    this.dirty.clear();
    // Resume as soon as there is room again, as ZooKeeper does: waiting for the pipeline to
    // drain further would leave it half empty (fewer txns per fsync, fewer reads per pass).
    if (this.throttled.size > 0 && this.outstanding < this.opts.globalOutstandingLimit) {
      const resumed = [...this.throttled];
      this.throttled.clear();
      for (const cnxn of resumed) cnxn.resumeReading();
    }
  }

  private applyToTree(txn: TxnEntry, requester: ServerCnxn | null): TxnResult {
    const result = applyTxn(this.tree, txn.hdr, txn.body);
    this.overlay.applied(txn.hdr.zxid);
    const body = txn.body;
    if (body.type === OpCode.createSession && this.sessions.get(txn.hdr.clientId) === undefined) {
      // A session created through another server: every server tracks every session (a learner
      // checks reconnects against it; a new leader takes over expiry).
      this.sessions.add(txn.hdr.clientId, body.record.timeOut, this.clock.elapsedMs());
    }
    if (body.type === OpCode.closeSession) this.sessionClosed(txn.hdr.clientId, requester);
    this.onTxnCommitted?.();
    return result;
  }

  private answerWrite(req: PendingRequest, txnType: number, result: TxnResult): void {
    const cnxn = req.cnxn;
    if (cnxn === null || cnxn.closed) {
      cnxn?.requestDone();
      return;
    }
    if (req.type === OpCode.createSession) {
      this.cnxnBySession.set(req.sessionId, cnxn);
      cnxn.finishSessionInit(true);
      this.answered(req, cnxn);
      return;
    }
    if (result.err === Err.sessionMoved) {
      // The client went to another server: this connection is stale. ZooKeeper closes it
      // without an answer.
      cnxn.requestDone();
      cnxn.closeAfterFlush('session moved to another server');
      return;
    }
    const w = cnxn.out;
    w.startFrame();
    const errPos = w.pos + 12;
    writeReplyHeader(w, { xid: req.cxid, zxid: this.tree.lastProcessedZxid, err: 0 });
    const bodyStart = w.pos;
    const err = writeWriteReply(result, w);
    if (err !== Err.ok) {
      w.rewind(bodyStart);
      w.buf.writeInt32BE(err, errPos);
    }
    w.endFrame();
    this.answered(req, cnxn);
    if (txnType === OpCode.closeSession || req.type === OpCode.closeSession) cnxn.closeAfterFlush('client closed the session');
  }

  private sessionClosed(sessionId: bigint, requester: ServerCnxn | null): void {
    this.sessions.remove(sessionId);
    this.touched.delete(sessionId);
    const owner = this.cnxnBySession.get(sessionId);
    if (owner === undefined) return;
    this.cnxnBySession.delete(sessionId);
    // Expired (not closed by its own client): drop the client's connection too.
    if (requester === null && !owner.closed) owner.closeAfterFlush('session expired');
  }

  private answerRead(req: PendingRequest): void {
    const cnxn = req.cnxn!;
    if (cnxn.closed) {
      cnxn.requestDone();
      return;
    }
    const read = req.read!;
    const caller = { watcher: cnxn, sessionId: req.sessionId, authInfo: req.authInfo };
    if (read.type === OpCode.setWatches || read.type === OpCode.setWatches2) setWatches(this.readEnv, caller, read.record);
    const w = cnxn.out;
    w.startFrame();
    const errPos = w.pos + 12;
    const xid = read.type === OpCode.ping ? Xid.ping : req.cxid;
    writeReplyHeader(w, { xid, zxid: this.tree.lastProcessedZxid, err: 0 });
    const bodyStart = w.pos;
    const err = executeRead(this.readEnv, caller, read, w);
    if (err !== Err.ok) {
      w.rewind(bodyStart);
      w.buf.writeInt32BE(err, errPos);
    }
    w.endFrame();
    this.answered(req, cnxn);
  }

  /**
   * Past this many buffered reply bytes a connection is flushed in the middle of a pass, so its
   * socket's limits (stop reading, then close a client that does not read) apply before one pass
   * can queue gigabytes for it.
   */
  private static readonly EARLY_FLUSH_BYTES = 1024 * 1024;

  private answered(req: PendingRequest, cnxn: ServerCnxn): void {
    const now = this.clock.elapsedMs();
    this.stats.packetsSent++;
    this.stats.recordLatency(now - req.arrivedMs);
    cnxn.packetsSent++;
    if (req.cxid >= 0) cnxn.lastCxid = req.cxid;
    cnxn.responseStats.responded(req.type, this.tree.lastProcessedZxid, req.arrivedMs, now);
    cnxn.requestDone();
    if (cnxn.out.length > ZkServer.EARLY_FLUSH_BYTES) cnxn.flush();
    else this.dirty.add(cnxn);
  }

  /** Whether this server owns session expiry and container reaping (standalone or leader). */
  private get ownsExpiry(): boolean {
    return this.role === 'standalone' || this.role === 'leader';
  }

  /** Close sessions whose time ran out; runs every tick. */
  expireSessions(): void {
    if (!this.ownsExpiry) {
      this.sessions.discardDue(this.clock.elapsedMs());
      return;
    }
    for (const sessionId of this.sessions.expire(this.clock.elapsedMs())) {
      this.log.info({ sessionId: `0x${BigInt.asUintN(64, sessionId).toString(16)}` }, 'session expired');
      this.submitWrite(null, sessionId, 0, { type: OpCode.closeSession }, []);
    }
  }

  /** Delete emptied containers and expired TTL nodes; runs every containerCheckIntervalMs. */
  reapContainers(): void {
    if (!this.ownsExpiry) return;
    for (const path of reapCandidates(this.tree, this.clock.wallMs())) {
      this.submitWrite(null, 0n, 0, { type: OpCode.deleteContainer, path }, []);
    }
  }

  /** Open sessions as (id, timeout ms), for a snapshot. */
  sessionTimeouts(): Array<[bigint, number]> {
    const out: Array<[bigint, number]> = [];
    for (const session of this.sessions.all()) out.push([session.id, session.timeoutMs]);
    return out;
  }

  /** ms until the next expiry bucket is due. */
  expiryWaitMs(): number {
    return this.sessions.waitMs(this.clock.elapsedMs());
  }

  /** Keep a session alive on any packet from its client; false when it is gone or closing. */
  touch(sessionId: bigint): boolean {
    const ok = this.sessions.touch(sessionId, this.clock.elapsedMs());
    if (ok && this.role === 'learner') this.touched.set(sessionId, this.sessions.get(sessionId)!.timeoutMs);
    return ok;
  }
}

/** What a learner forwards for requests it made itself (no client bytes to pass on). */
function forwardedBody(req: WriteRequest): Buffer {
  if (req.type === OpCode.createSession) {
    const body = Buffer.alloc(4);
    body.writeInt32BE(req.timeOut);
    return body;
  }
  return Buffer.alloc(0);
}
