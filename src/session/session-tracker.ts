import { Err } from '../proto/error-codes.js';

export interface Session {
  readonly id: bigint;
  timeoutMs: number;
  /** Set once a closeSession is prepared: further requests answer SessionExpired. */
  closing: boolean;
  /** The expiry bucket the session sits in. */
  expiresAtMs: number;
  /**
   * Quorum leader: the server (sid) the session's client is connected to, set when the session is
   * created or revalidated; requests arriving through another server get SessionMoved. Null when
   * unknown (standalone, or sessions restored from disk).
   */
  owner: number | null;
}

const MASK_64 = (1n << 64n) - 1n;

/**
 * The first session id of a server: elapsed ms in the middle 40 bits, the server id in the top
 * byte, as ZooKeeper's SessionTrackerImpl makes them, so ids never collide across restarts or
 * servers.
 */
export function initialSessionId(nowMs: number, serverId: number): bigint {
  const shifted = ((BigInt(Math.floor(nowMs)) << 24n) & MASK_64) >> 8n;
  let id = BigInt.asIntN(64, shifted | (BigInt(serverId) << 56n));
  if (id === -0x8000_0000_0000_0000n) id += 1n; // the container owner marker
  return id;
}

/**
 * Live sessions and their expiry, in buckets one tick wide (ZooKeeper's ExpiryQueue): a touch
 * moves a session to the bucket at roundUp(now + timeout), and every tick the bucket that is
 * due expires as a whole. Pure: the caller supplies the time.
 */
export class SessionTracker {
  private readonly sessions = new Map<bigint, Session>();
  private readonly buckets = new Map<number, Set<bigint>>();
  private nextExpiryMs: number;
  private nextId: bigint;

  /**
   * @param idSeedMs wall-clock ms, so that ids differ across restarts
   * @param nowMs the monotonic time every later call uses
   */
  constructor(
    private readonly tickTimeMs: number,
    serverId: number,
    idSeedMs: number,
    nowMs: number,
  ) {
    this.nextId = initialSessionId(idSeedMs, serverId);
    this.nextExpiryMs = this.roundUp(nowMs);
  }

  private roundUp(timeMs: number): number {
    return (Math.floor(timeMs / this.tickTimeMs) + 1) * this.tickTimeMs;
  }

  /** A fresh session id; the session itself starts when its createSession txn is prepared. */
  newSessionId(): bigint {
    const id = this.nextId;
    this.nextId = BigInt.asIntN(64, this.nextId + 1n);
    return id;
  }

  /** Track a session (on createSession, or restored from disk). */
  add(id: bigint, timeoutMs: number, nowMs: number): void {
    let session = this.sessions.get(id);
    if (session === undefined) {
      session = { id, timeoutMs, closing: false, expiresAtMs: 0, owner: null };
      this.sessions.set(id, session);
    }
    this.reschedule(session, timeoutMs, nowMs);
  }

  private reschedule(session: Session, timeoutMs: number, nowMs: number): void {
    const at = this.roundUp(nowMs + timeoutMs);
    if (at === session.expiresAtMs) return;
    this.buckets.get(session.expiresAtMs)?.delete(session.id);
    let bucket = this.buckets.get(at);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(at, bucket);
    }
    bucket.add(session.id);
    session.expiresAtMs = at;
  }

  /** Keep a session alive; false when it is unknown or closing. */
  touch(id: bigint, nowMs: number): boolean {
    const session = this.sessions.get(id);
    if (session === undefined || session.closing) return false;
    this.reschedule(session, session.timeoutMs, nowMs);
    return true;
  }

  /** Ok, UnknownSession, SessionExpired (closing), or SessionMoved when `from` is not its owner. */
  check(id: bigint, from: number | null = null): number {
    const session = this.sessions.get(id);
    if (session === undefined) return Err.unknownSession;
    if (session.closing) return Err.sessionExpired;
    if (from !== null && session.owner !== null && session.owner !== from) return Err.sessionMoved;
    return Err.ok;
  }

  setOwner(id: bigint, owner: number): void {
    const session = this.sessions.get(id);
    if (session !== undefined) session.owner = owner;
  }

  setClosing(id: bigint): void {
    const session = this.sessions.get(id);
    if (session !== undefined) session.closing = true;
  }

  remove(id: bigint): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    this.buckets.get(session.expiresAtMs)?.delete(id);
  }

  /** Forget every session (a learner loading a snapshot from its leader). */
  clear(): void {
    this.sessions.clear();
    this.buckets.clear();
  }

  get(id: bigint): Session | undefined {
    return this.sessions.get(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** ms until the next bucket is due (0 when one is due now). */
  waitMs(nowMs: number): number {
    return Math.max(0, this.nextExpiryMs - nowMs);
  }

  /**
   * A learner's tracker: the leader owns expiry, so due buckets are dropped without expiring
   * anyone (each session's touch files it again; a learner that becomes leader re-adds all).
   * Keeps the next due time moving, so waitMs() does not stay at 0.
   */
  discardDue(nowMs: number): void {
    while (this.nextExpiryMs <= nowMs) {
      this.buckets.delete(this.nextExpiryMs);
      this.nextExpiryMs += this.tickTimeMs;
    }
  }

  /**
   * Sessions whose bucket is due, marked closing; the caller submits a closeSession for each.
   * Call at least once per tick.
   */
  expire(nowMs: number): bigint[] {
    const expired: bigint[] = [];
    while (this.nextExpiryMs <= nowMs) {
      const bucket = this.buckets.get(this.nextExpiryMs);
      this.buckets.delete(this.nextExpiryMs);
      this.nextExpiryMs += this.tickTimeMs;
      if (bucket === undefined) continue;
      for (const id of bucket) {
        const session = this.sessions.get(id);
        if (session === undefined || session.closing) continue;
        session.closing = true;
        expired.push(id);
      }
    }
    return expired;
  }
}
