import type { Logger } from 'pino';
import { writeReplyHeader } from '../proto/records.js';
import { Err } from '../proto/error-codes.js';
import type { Id } from '../proto/data.js';
import { OpCode, Xid } from '../proto/opcodes.js';
import { SessionTracker } from '../session/session-tracker.js';
import { DataTree } from '../tree/data-tree.js';
import { reapCandidates } from '../tree/reap-candidates.js';
import { applyTxn } from '../txn/apply.js';
import { ChangeOverlay } from '../txn/overlay.js';
import { prepRequest } from '../txn/prep.js';
import type { PrepEnv } from '../txn/prep-env.js';
import type { TxnEntry } from '../txn/txn.js';
import type { WriteRequest } from '../txn/write-request.js';
import type { Clock } from './clock.js';
import type { ServerCnxn } from './cnxn.js';
import type { TxnPersister } from './persister.js';
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
  tickTimeMs: number;
  serverId: number;
  skipACL: boolean;
  extendedTypesEnabled: boolean;
  enforceQuota: boolean;
  reconfigEnabled: boolean;
}

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
}

/**
 * The standalone request pipeline. Every request joins one FIFO queue: writes are turned into
 * txns at once (prep, against the overlay of not-yet-applied changes) and handed to the
 * persister; once a flush makes them durable, the queue drains in order, applying each txn and
 * answering each request. Reads wait behind the writes that arrived before them, so every
 * session sees its own writes, and watch events are queued before any reply that reflects them.
 * One pass per event-loop turn: arrivals only enqueue; `pass` runs from setImmediate.
 */
export class ZkServer {
  readonly tree: DataTree;
  readonly overlay: ChangeOverlay;
  readonly sessions: SessionTracker;
  readonly stats = new ServerStats();
  /** Connections by the session they carry. */
  readonly cnxnBySession = new Map<bigint, ServerCnxn>();
  private readonly queue: PendingRequest[] = [];
  private head = 0;
  /** The last zxid handed out by prep. */
  private lastZxid = 0n;
  /** The highest zxid the persister has made durable. */
  private durableZxid = 0n;
  private flushingUpTo = -1n;
  private scheduled = false;
  private readonly dirty = new Set<ServerCnxn>();
  private readonly prepEnv: PrepEnv;
  private readonly readEnv: ReadEnv;
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
    const sessions = this.sessions;
    this.prepEnv = {
      tree: this.tree,
      overlay: this.overlay,
      skipACL: opts.skipACL,
      extendedTypesEnabled: opts.extendedTypesEnabled,
      enforceQuota: opts.enforceQuota,
      reconfigEnabled: opts.reconfigEnabled,
      checkSession: (id) => sessions.check(id),
    };
    this.readEnv = { tree: this.tree, skipACL: opts.skipACL };
  }

  get lastProcessedZxid(): bigint {
    return this.tree.lastProcessedZxid;
  }

  /** Requests queued or waiting on the disk. */
  get outstanding(): number {
    return this.queue.length - this.head;
  }

  submitRead(cnxn: ServerCnxn, cxid: number, req: ReadRequest): void {
    this.stats.packetsReceived++;
    this.queue.push({
      cnxn, type: req.type, sessionId: cnxn.sessionId, cxid, read: req, txn: null, authInfo: cnxn.authInfo, arrivedMs: this.clock.elapsedMs(),
    });
    this.schedule();
  }

  /** Prepare a write now (assigning its zxid) and queue it until it is durable. */
  submitWrite(cnxn: ServerCnxn | null, sessionId: bigint, cxid: number, req: WriteRequest, authInfo: readonly Id[]): void {
    if (cnxn !== null) this.stats.packetsReceived++;
    const zxid = ++this.lastZxid;
    const timeMs = this.clock.wallMs();
    const body = prepRequest(this.prepEnv, { sessionId, authInfo, zxid, timeMs }, req);
    if (body.type === OpCode.closeSession) this.sessions.setClosing(sessionId);
    const txn: TxnEntry = { hdr: { clientId: sessionId, cxid, zxid, time: timeMs, type: body.type }, body, digest: null };
    this.persister.append(txn);
    const type = req.type === OpCode.error ? req.originalType : req.type;
    this.queue.push({ cnxn, type, sessionId, cxid, read: null, txn, authInfo, arrivedMs: this.clock.elapsedMs() });
    this.schedule();
  }

  /** A new session: track it now, answer the client once its createSession txn is durable. */
  createSession(cnxn: ServerCnxn, timeoutMs: number): bigint {
    const sessionId = this.sessions.newSessionId();
    this.sessions.add(sessionId, timeoutMs, this.clock.elapsedMs());
    cnxn.sessionId = sessionId;
    this.submitWrite(cnxn, sessionId, 0, { type: OpCode.createSession, timeOut: timeoutMs }, []);
    return sessionId;
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
    this.drain();
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

  private drain(): void {
    const queue = this.queue;
    while (this.head < queue.length) {
      const req = queue[this.head]!;
      if (req.txn !== null && req.txn.hdr.zxid > this.durableZxid) break;
      this.head++;
      if (req.txn !== null) this.commit(req, req.txn);
      else this.answerRead(req);
    }
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 4096) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    for (const cnxn of this.dirty) cnxn.flush();
    this.dirty.clear();
  }

  private commit(req: PendingRequest, txn: TxnEntry): void {
    const result = applyTxn(this.tree, txn.hdr, txn.body);
    this.overlay.applied(txn.hdr.zxid);
    if (txn.body.type === OpCode.closeSession) this.sessionClosed(req);
    this.onTxnCommitted?.();
    const cnxn = req.cnxn;
    if (cnxn === null || cnxn.closed) {
      cnxn?.requestDone();
      return;
    }
    if (txn.body.type === OpCode.createSession) {
      this.cnxnBySession.set(req.sessionId, cnxn);
      cnxn.finishSessionInit(true);
      this.answered(req, cnxn);
      return;
    }
    const w = cnxn.out;
    w.startFrame();
    const errPos = w.pos + 12;
    writeReplyHeader(w, { xid: req.cxid, zxid: this.tree.lastProcessedZxid, err: 0 });
    const bodyStart = w.pos;
    const err = writeWriteReply(result, w);
    if (err !== Err.ok) {
      w.pos = bodyStart;
      w.buf.writeInt32BE(err, errPos);
    }
    w.endFrame();
    this.answered(req, cnxn);
    if (txn.body.type === OpCode.closeSession) cnxn.closeAfterFlush('client closed the session');
  }

  private sessionClosed(req: PendingRequest): void {
    this.sessions.remove(req.sessionId);
    const owner = this.cnxnBySession.get(req.sessionId);
    if (owner === undefined) return;
    this.cnxnBySession.delete(req.sessionId);
    // Expired (no requesting connection): drop the client's connection too.
    if (req.cnxn === null && !owner.closed) owner.closeAfterFlush('session expired');
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
      w.pos = bodyStart;
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
    if (cnxn.out.pos > ZkServer.EARLY_FLUSH_BYTES) cnxn.flush();
    else this.dirty.add(cnxn);
  }

  /** Close sessions whose time ran out; runs every tick. */
  expireSessions(): void {
    for (const sessionId of this.sessions.expire(this.clock.elapsedMs())) {
      this.log.info({ sessionId: `0x${BigInt.asUintN(64, sessionId).toString(16)}` }, 'session expired');
      this.submitWrite(null, sessionId, 0, { type: OpCode.closeSession }, []);
    }
  }

  /** Delete emptied containers and expired TTL nodes; runs every containerCheckIntervalMs. */
  reapContainers(): void {
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
    return this.sessions.touch(sessionId, this.clock.elapsedMs());
  }
}
