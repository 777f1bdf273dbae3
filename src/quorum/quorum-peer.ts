/**
 * An ensemble member (ZooKeeper's QuorumPeer): the driver around the pure election and ZAB
 * cores. It owns the election port (ElectionDriver), the quorum port (a listener for learners
 * while leading, one connection to the leader while learning), the disk writes ZAB asks for
 * (ZabStorage) and a tick timer, and it moves the request pipeline (ZkServer) between roles:
 *
 *   looking --elected--> leading / following / observing --role ends--> looking
 *
 * The pipeline serves clients only while the role is established (a quorum acked the leader's
 * NEWLEADER; a learner got UPTODATE). When a role ends every client connection is closed; the
 * clients reconnect (to this or another member) and keep their sessions, which are global.
 *
 * The tree and ZAB's history: the tree holds every txn up to some zxid of the history. After a
 * restart it holds everything logged (the history starts as a "snapshot" at that zxid). Txns
 * ZAB commits are applied unless the tree already has them. A SNAP this peer sends is of the
 * tree, brought up to the SNAP's zxid from the history first (only possible while the leader
 * is not yet serving: the history is then committed as a whole once the epoch is established).
 * A TRUNC that cuts txns the tree holds reloads the tree from disk, as ZooKeeper does.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { listSnapshots } from '../persist/snapshot-format.js';
import { nodeFileSystem } from '../persist/file-system.js';
import { restoreDatabase, type DataDirs } from '../persist/restore.js';
import type { TxnLogWriter } from '../persist/txn-log-writer.js';
import type { ZkServer } from '../server/zk-server.js';
import type { TxnEntry } from '../txn/txn.js';
import { quorumConfigBytes, type QuorumServerText } from './election/config-text.js';
import { FastLeaderElection, type Decision } from './election/fast-leader-election.js';
import { QuorumVerifier } from './election/quorum-verifier.js';
import { ElectionDriver } from './net/election-driver.js';
import { QuorumConnection, type QuorumConnectionHandler, type ReceivedSnapshot, type SnapPacket } from './net/quorum-connection.js';
import { writeSnapStreamSliced } from './net/snap-stream.js';
import type { ZabPacket } from './zab/packets.js';
import { readPingTouches } from './zab/packets.js';
import type { ApplyItem, OutMessage, Ready, Sid, ZabEvent, ZabInput } from './zab/ready.js';
import { ZabPeer } from './zab/zab-peer.js';
import { makeZxid, zxidHex } from './zab/zxid.js';
import { ZabStorage } from './zab-storage.js';
import type { QuorumView } from '../server/four-letter/types.js';
import { encodeTxnPayload } from './zab/packets.js';
import { OpCode } from '../proto/opcodes.js';

/** What the quorum driver needs of the server process it runs in. */
export interface QuorumHost {
  readonly server: ZkServer;
  /** Close every client connection: the role ended, clients must reconnect. */
  dropClients(reason: string): void;
}

export interface QuorumPeerOptions {
  config: Config;
  host: QuorumHost;
  txnLog: TxnLogWriter;
  dirs: DataDirs;
  acceptedEpoch: bigint;
  currentEpoch: bigint;
  log: Logger;
}

/** Forwarded requests and proposals wait in flight; past this the leader refuses new ones. */
const MAX_OUTSTANDING_PROPOSALS = 100_000;
/** A learner that lets this much pile up unread is dropped (it resyncs). */
const MAX_UNSENT_BYTES = 256 * 1024 * 1024;
/** Largest SNAP stream accepted: a whole database. */
const MAX_SNAP_BYTES = 8 * 1024 * 1024 * 1024;
/** Accepted quorum connections that have not sent their first packet yet. */
const MAX_ANONYMOUS_CONNECTIONS = 64;
/** Between attempts to reach the leader's quorum port. */
const CONNECT_RETRY_MS = 200;

interface LeaderLink {
  sid: Sid;
  conn: QuorumConnection | null;
  socket: Socket | null;
  /** Packets for the leader while TCP connects. */
  pending: ZabPacket[];
  /** FOLLOWERINFO / OBSERVERINFO: sent again on each new connection until the leader answers. */
  hello: ZabPacket | null;
  timer: NodeJS.Timeout | null;
}

export type QuorumMode = 'leader' | 'follower' | 'observer' | 'looking';

export class QuorumPeer implements QuorumConnectionHandler, QuorumView {
  readonly zab: ZabPeer;
  readonly election: ElectionDriver;
  private readonly config: Config;
  private readonly host: QuorumHost;
  private readonly log: Logger;
  private readonly storage: ZabStorage;
  private readonly dirs: DataDirs;
  private readonly listener: Server;
  private readonly quorumAddresses = new Map<Sid, { host: string; port: number }>();
  /** While learning: the link to the leader; packets wait in `pending` until TCP connects. */
  private leaderLink: LeaderLink | null = null;
  private readonly toLearners = new Map<Sid, QuorumConnection>();
  /** Accepted sockets that have not said who they are yet. */
  private readonly anonymous = new Set<QuorumConnection>();
  private tickTimer: NodeJS.Timeout | null = null;
  /** SNAPs received and not yet written to disk, oldest first (normally one). */
  private receivedSnapshots: { zxid: bigint; tree: ReceivedSnapshot['tree']; sessions: [bigint, number][] }[] = [];
  private inbox: ZabInput[] = [];
  private stepping = false;
  private stopped = false;
  /** When the current role was established (for srvr's and mntr's figures). */
  establishedAtMs = 0;
  readonly proposalSizes = { last: -1, min: -1, max: -1 };

  constructor(opts: QuorumPeerOptions) {
    const { config, host, log } = opts;
    this.config = config;
    this.host = host;
    this.log = log;
    this.dirs = opts.dirs;
    const myid = config.myid!;
    const voters = config.servers.filter((s) => s.type === 'participant').map((s) => s.id);
    const observers = config.servers.filter((s) => s.type === 'observer').map((s) => s.id);
    const serverText: QuorumServerText[] = config.servers.map((s) => ({
      sid: BigInt(s.id),
      host: s.host,
      quorumPort: s.quorumPort,
      electionPort: s.electionPort,
      type: s.type,
      ...(s.clientPort !== undefined && s.clientAddress !== undefined ? { clientAddress: { host: s.clientAddress, port: s.clientPort } } : {}),
    }));
    const configBytes = quorumConfigBytes(serverText);
    const lastZxid = host.server.lastProcessedZxid;
    this.zab = new ZabPeer(
      {
        sid: myid,
        voters,
        observers,
        initLimitTicks: config.initLimitTicks,
        syncLimitTicks: config.syncLimitTicks,
        maxOutstandingProposals: MAX_OUTSTANDING_PROPOSALS,
        quorumVerifierBytes: configBytes,
      },
      { acceptedEpoch: opts.acceptedEpoch, currentEpoch: opts.currentEpoch, snapshotZxid: lastZxid, log: [] },
    );
    for (const s of config.servers) this.quorumAddresses.set(s.id, { host: s.host, port: s.quorumPort });
    const me = config.servers.find((s) => s.id === myid)!;
    const peers = new Map(
      config.servers.filter((s) => s.id !== myid).map((s) => [BigInt(s.id), { host: s.host, port: s.electionPort }] as const),
    );
    this.election = new ElectionDriver({
      fle: new FastLeaderElection({
        myId: BigInt(myid),
        quorum: new QuorumVerifier(voters.map(BigInt), observers.map(BigInt)),
        lastLoggedZxid: lastZxid,
        currentEpoch: opts.currentEpoch,
        configData: configBytes,
      }),
      link: { listen: { host: config.quorumListenOnAllIPs ? '0.0.0.0' : me.host, port: me.electionPort }, peers },
      logger: log.child({ component: 'election' }),
      onDecision: (d) => this.onDecision(d),
    });
    this.storage = new ZabStorage(
      opts.txnLog,
      opts.dirs.snapDir,
      config.forceSync,
      {
        durable: (token) => this.step({ type: 'persisted', token }),
        snapshotToInstall: (zxid) => this.takeReceivedSnapshot(zxid),
        afterTruncate: (zxid) => this.afterTruncate(zxid),
        failed: (err) => {
          // An acknowledged write must never be lost: stop rather than go on without a disk.
          this.log.fatal({ err }, 'quorum persistence failed; stopping');
          process.exit(3);
        },
      },
      log.child({ component: 'zab-storage' }),
    );
    this.listener = createServer({ noDelay: true }, (socket) => this.acceptLearner(socket));
  }

  mode(): QuorumMode {
    if (!this.zab.serving) return 'looking';
    switch (this.zab.state) {
      case 'leading':
        return 'leader';
      case 'following':
        return 'follower';
      case 'observing':
        return 'observer';
      default:
        return 'looking';
    }
  }

  // QuorumView (four-letter words)

  get quorumSize(): number {
    return this.zab.config.voters.length;
  }

  peerState(): string {
    const state = this.zab.state;
    if (state === 'looking') return 'looking';
    // ZooKeeper's QuorumPeer.getDetailedPeerState: the peer state, then the ZAB phase.
    return `${state} - ${this.zab.serving ? 'broadcast' : 'synchronization'}`;
  }

  leaderSid(): number | null {
    return this.zab.leaderSid;
  }

  learnerCounts(): ReturnType<QuorumView['learnerCounts']> {
    return this.zab.learnerCounts();
  }

  leaderUptimeMs(): number {
    return this.zab.state === 'leading' && this.zab.serving ? Date.now() - this.establishedAtMs : 0;
  }

  async start(): Promise<void> {
    const me = this.config.servers.find((s) => s.id === this.config.myid)!;
    const host = this.config.quorumListenOnAllIPs ? undefined : me.host;
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen({ port: me.quorumPort, host }, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    this.tickTimer = setInterval(() => this.step({ type: 'tick' }), this.config.tickTimeMs);
    await this.election.start();
    this.log.info({ quorumPort: me.quorumPort, electionPort: me.electionPort }, 'quorum peer started');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.closeLeaderLink();
    for (const conn of this.toLearners.values()) conn.destroy();
    for (const conn of this.anonymous) conn.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
    await this.election.stop();
  }

  // -------------------------------------------------------------------------------------------
  // The core

  /** Feed one input to ZAB and carry out what it returns; inputs raised meanwhile wait their turn. */
  private step(input: ZabInput): void {
    if (this.stopped) return;
    this.inbox.push(input);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let i = 0; i < this.inbox.length; i++) this.carryOut(this.zab.step(this.inbox[i]!));
    } finally {
      this.inbox = [];
      this.stepping = false;
    }
  }

  private carryOut(ready: Ready): void {
    if (ready.persist.length > 0) this.storage.submit(ready.persist);
    for (const m of ready.messages) this.send(m);
    for (const d of ready.disconnect) {
      if (d.link === 'toLeader') this.closeLeaderLink();
      else this.closeLearner(d.peer);
    }
    for (const a of ready.apply) this.apply(a);
    for (const e of ready.events) this.onEvent(e);
    if (ready.apply.length > 0) this.compactHistory();
  }

  /**
   * Keep commitLogCount committed txns in memory for DIFF syncs (ZooKeeper does the same, then
   * also reads its log files); a learner further behind gets a SNAP. Compacted in batches.
   */
  private compactHistory(): void {
    const h = this.zab.history;
    const keep = this.config.commitLogCount;
    if (h.length < 2 * keep) return;
    const upTo = h.at(h.length - keep).hdr.zxid;
    h.compactTo(upTo < this.zab.appliedZxid ? upTo : this.zab.appliedZxid);
  }

  private send(m: OutMessage): void {
    if (m.link === 'toLeader') {
      const link = this.leaderLink;
      if (link === null || link.sid !== m.to) return;
      const packet = m.packet.type === 'ping' ? this.pingReply(m.packet) : m.packet;
      if (link.hello === null) link.hello = packet;
      if (link.conn !== null) link.conn.send(packet);
      else link.pending.push(packet);
      return;
    }
    const conn = this.toLearners.get(m.to);
    if (conn === undefined) return;
    if (m.packet.type === 'diff' || m.packet.type === 'trunc' || m.packet.type === 'snap') {
      conn.log.info({ learner: m.to, sync: m.packet.type.toUpperCase(), zxid: zxidHex(m.packet.zxid) }, 'synchronizing learner');
    }
    conn.send(m.packet);
    if (m.packet.type === 'snap') this.sendSnapshot(conn, m.packet.zxid);
  }

  /** A learner's PING reply carries the sessions its clients touched since the last one. */
  private pingReply(p: Extract<ZabPacket, { type: 'ping' }>): ZabPacket {
    const touched = this.host.server.takeTouchedSessions();
    const data = Buffer.alloc(touched.size * 12);
    let at = 0;
    for (const [id, timeoutMs] of touched) {
      data.writeBigInt64BE(id, at);
      data.writeInt32BE(timeoutMs, at + 8);
      at += 12;
    }
    return { ...p, data };
  }

  private sendSnapshot(conn: QuorumConnection, zxid: bigint): void {
    const server = this.host.server;
    if (server.tree.lastProcessedZxid < zxid && server.role === 'down') {
      // The tree lags the history (proposals logged as a learner); this history is the new
      // epoch's initial one, so bring the tree to it.
      const h = this.zab.history;
      for (let i = h.firstAfter(server.tree.lastProcessedZxid); i < h.length && h.at(i).hdr.zxid <= zxid; i++) {
        server.applyCommitted(h.at(i));
      }
    }
    if (server.tree.lastProcessedZxid !== zxid) {
      this.log.error({ learner: conn.sid, snap: zxidHex(zxid), tree: zxidHex(server.tree.lastProcessedZxid) }, 'cannot snapshot at that zxid; dropping the learner');
      conn.destroy();
      return;
    }
    // Written in slices, so clients and the other learners are served meanwhile; what the
    // core sends this learner after the SNAP waits in the connection until the stream is out.
    conn.beginRaw();
    const startedMs = performance.now();
    writeSnapStreamSliced(server.tree, server.sessionTimeouts(), zxid, (chunk) => conn.sendRaw(chunk)).then(
      (bytes) => {
        conn.endRaw();
        conn.log.info({ zxid: zxidHex(zxid), bytes, ms: Math.round(performance.now() - startedMs) }, 'sent snapshot');
      },
      (err: unknown) => {
        conn.log.error({ err }, 'sending the snapshot failed; dropping the learner');
        conn.destroy();
      },
    );
  }

  private apply(item: ApplyItem): void {
    const server = this.host.server;
    if (item.type === 'txn') {
      // The tree may already hold it (restored from disk, or brought forward for a SNAP).
      if (item.entry.hdr.zxid <= server.tree.lastProcessedZxid) return;
      server.applyCommitted(item.entry);
      return;
    }
    if (server.tree.lastProcessedZxid !== item.zxid) {
      this.log.error({ snapshot: zxidHex(item.zxid), tree: zxidHex(server.tree.lastProcessedZxid) }, 'tree does not hold the snapshot it should');
      this.step({ type: 'abandon', reason: 'tree out of step with the history' });
    }
  }

  private onEvent(e: ZabEvent): void {
    const server = this.host.server;
    switch (e.type) {
      case 'leading':
        this.election.fle.updateElectionVote(e.epoch);
        server.replicator = { propose: (txn) => this.propose(txn), forward: () => undefined, revalidate: () => undefined };
        server.startLeading(makeZxid(e.epoch, 0n));
        this.establishedAtMs = Date.now();
        this.log.info({ epoch: String(e.epoch), zxid: zxidHex(e.zxid) }, 'LEADING: serving clients');
        return;
      case 'following':
        this.election.fle.updateElectionVote(e.epoch);
        server.replicator = {
          propose: () => undefined,
          forward: (...args) => this.forward(...args),
          revalidate: (sessionId, timeoutMs) => this.sendRevalidate(sessionId, timeoutMs),
        };
        server.startFollowing();
        this.establishedAtMs = Date.now();
        this.log.info({ leader: e.leader, epoch: String(e.epoch), observer: e.observer }, `${e.observer ? 'OBSERVING' : 'FOLLOWING'}: serving clients`);
        return;
      case 'roleEnded':
        this.log.info({ reason: e.reason }, 'role ended; looking for a leader');
        this.closeLeaderLink();
        server.stopServing();
        this.host.dropClients('this server lost its quorum role');
        this.election.lookAgain({ lastLoggedZxid: this.zab.lastLoggedZxid, currentEpoch: this.zab.currentEpoch });
        return;
      case 'proposeRejected':
        this.log.warn({ zxid: zxidHex(e.zxid), reason: e.reason }, 'proposal refused');
        this.step({ type: 'abandon', reason: `proposal refused: ${e.reason}` });
        return;
      case 'request':
        if (e.packet.opType === OpCode.sync) this.step({ type: 'learnerSync', from: e.from });
        else server.submitForwarded(e.from, e.packet.sessionId, e.packet.cxid, e.packet.opType, e.packet.request, e.packet.authinfo);
        return;
      case 'syncReply':
        server.syncAnswered();
        return;
      case 'protocolError':
        this.log.error({ reason: e.reason }, 'quorum protocol error');
        return;
    }
  }

  private propose(txn: TxnEntry): void {
    // Encoded once: the txn log and every learner's PROPOSAL copy these bytes. Unlike 3.8's
    // leader, no TxnDigest follows the txn (the prep path computes none): learners, Java's
    // included, treat it as optional, and the txn log entries carry none either.
    txn.payload = Buffer.from(encodeTxnPayload(txn));
    const size = txn.payload.length;
    const p = this.proposalSizes;
    p.last = size;
    if (p.min < 0 || size < p.min) p.min = size;
    if (size > p.max) p.max = size;
    this.step({ type: 'propose', entry: txn });
  }

  private forward(sessionId: bigint, cxid: number, type: number, body: Buffer, authInfo: readonly { scheme: string; id: string }[]): void {
    const conn = this.leaderLink?.conn ?? null;
    if (conn === null) return;
    conn.send({ type: 'request', sessionId, cxid, opType: type, request: body, authinfo: [...authInfo] });
  }

  /** REVALIDATE to the leader: sessionId:long timeout:int; the answer comes back as REVALIDATE too. */
  private sendRevalidate(sessionId: bigint, timeoutMs: number): void {
    const conn = this.leaderLink?.conn ?? null;
    if (conn === null) {
      this.host.server.revalidated(sessionId, false);
      return;
    }
    const data = Buffer.alloc(12);
    data.writeBigInt64BE(sessionId, 0);
    data.writeInt32BE(timeoutMs, 8);
    conn.send({ type: 'revalidate', zxid: -1n, data });
  }

  // -------------------------------------------------------------------------------------------
  // Election

  private onDecision(d: Decision): void {
    if (this.zab.state !== 'looking') {
      this.log.warn({ leader: String(d.leader) }, 'election decided while in a role; ignored');
      return;
    }
    const leader = Number(d.leader);
    if (leader !== this.config.myid) this.connectToLeader(leader);
    this.step({ type: 'elected', leader });
  }

  // -------------------------------------------------------------------------------------------
  // Quorum port: learner side

  private connectToLeader(leader: Sid): void {
    this.closeLeaderLink();
    this.leaderLink = { sid: leader, conn: null, socket: null, pending: [], hello: null, timer: null };
    this.attemptLeaderConnect();
  }

  /**
   * The leader may not listen yet (it is still reading its disk, or has not decided): retry
   * until connected or until the role gives up (the core's initLimit).
   */
  private attemptLeaderConnect(): void {
    const link = this.leaderLink;
    if (link === null || this.stopped) return;
    const address = this.quorumAddresses.get(link.sid);
    if (address === undefined) return;
    const socket = connect({ host: address.host, port: address.port });
    link.socket = socket;
    const onError = (): void => {
      socket.destroy();
      if (this.leaderLink !== link) return;
      link.socket = null;
      link.timer = setTimeout(() => {
        link.timer = null;
        this.attemptLeaderConnect();
      }, CONNECT_RETRY_MS);
    };
    link.timer = null;
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      if (this.leaderLink !== link) {
        socket.destroy();
        return;
      }
      const conn = new QuorumConnection(socket, link.sid, true, this, this.connOptions(), this.log.child({ leader: link.sid }));
      link.conn = conn;
      link.socket = null;
      for (const packet of link.pending) conn.send(packet);
      link.pending = [];
    });
  }

  private closeLeaderLink(): void {
    const link = this.leaderLink;
    if (link === null) return;
    this.leaderLink = null;
    if (link.timer !== null) clearTimeout(link.timer);
    link.socket?.destroy();
    link.conn?.close();
  }

  // -------------------------------------------------------------------------------------------
  // Quorum port: leader side

  private acceptLearner(socket: Socket): void {
    if (this.anonymous.size >= MAX_ANONYMOUS_CONNECTIONS) {
      this.log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'refusing quorum connection: too many that have not said who they are');
      socket.destroy();
      return;
    }
    const conn = new QuorumConnection(socket, null, true, this, this.connOptions(), this.log.child({ learner: `${socket.remoteAddress}:${socket.remotePort}` }));
    this.anonymous.add(conn);
    // A learner names itself in its first packet; one that does not within initLimit is dropped.
    const timer = setTimeout(() => {
      if (this.anonymous.delete(conn)) {
        conn.log.warn('closing quorum connection: no FOLLOWERINFO or OBSERVERINFO within initLimit');
        conn.destroy();
      }
    }, this.config.initLimitTicks * this.config.tickTimeMs);
    socket.once('close', () => clearTimeout(timer));
  }

  private closeLearner(sid: Sid): void {
    const conn = this.toLearners.get(sid);
    if (conn === undefined) return;
    this.toLearners.delete(sid);
    conn.close();
  }

  // -------------------------------------------------------------------------------------------
  // QuorumConnectionHandler

  onPacket(conn: QuorumConnection, packet: ZabPacket): void {
    if (conn.sid === null) {
      // A learner's first packet names it.
      if ((packet.type !== 'followerInfo' && packet.type !== 'observerInfo') || packet.info.sid === null) {
        conn.log.warn({ packet: packet.type }, 'closing quorum connection: expected FOLLOWERINFO or OBSERVERINFO first');
        conn.destroy();
        return;
      }
      const sid = Number(packet.info.sid);
      this.anonymous.delete(conn);
      if (this.zab.state !== 'leading') {
        // Not (yet) the leader: refuse, as ZooKeeper does by not listening; the learner retries.
        conn.destroy();
        return;
      }
      conn.sid = sid;
      const previous = this.toLearners.get(sid);
      this.toLearners.set(sid, conn);
      previous?.destroy();
      this.step({ type: 'message', from: sid, packet });
      return;
    }
    const sid = conn.sid;
    if (conn === this.leaderLink?.conn) {
      if (packet.type === 'revalidate') {
        // sessionId:long valid:bool
        if (packet.data !== null && packet.data.length >= 9) this.host.server.revalidated(packet.data.readBigInt64BE(0), packet.data[8] !== 0);
        return;
      }
      this.step({ type: 'message', from: sid, packet });
      return;
    }
    if (this.toLearners.get(sid) !== conn) return;
    if (packet.type === 'ping') this.touchSessions(packet.data);
    else if (packet.type === 'revalidate') return this.revalidate(conn, sid, packet.data);
    this.step({ type: 'message', from: sid, packet });
  }

  onSnapshot(conn: QuorumConnection, packet: SnapPacket, snapshot: ReceivedSnapshot): void {
    if (conn !== this.leaderLink?.conn) return;
    const server = this.host.server;
    if (server.role !== 'down') {
      conn.log.error('SNAP while serving; closing');
      conn.destroy();
      return;
    }
    snapshot.tree.lastProcessedZxid = packet.zxid;
    server.loadDatabase(snapshot.tree, snapshot.sessions);
    // Written to disk by the installSnapshot persist item this SNAP leads to; the tree itself
    // stays untouched until then (no txn is applied before the NEWLEADER ack, which waits for it).
    this.receivedSnapshots.push({ zxid: packet.zxid, tree: snapshot.tree, sessions: [...snapshot.sessions] });
    this.step({ type: 'message', from: conn.sid!, packet });
  }

  onClose(conn: QuorumConnection): void {
    this.anonymous.delete(conn);
    const link = this.leaderLink;
    if (link !== null && conn === link.conn) {
      if (conn.packetsReceived === 0 && link.hello !== null && !this.stopped) {
        // Closed before the leader said anything: it was not leading yet (it refuses learners
        // until it is). Try again while our role waits (the core gives up after initLimit).
        link.conn = null;
        link.pending = [link.hello];
        link.timer = setTimeout(() => this.attemptLeaderConnect(), CONNECT_RETRY_MS);
        return;
      }
      this.leaderLink = null;
      this.step({ type: 'disconnected', peer: link.sid });
      return;
    }
    if (conn.sid !== null && this.toLearners.get(conn.sid) === conn) {
      this.toLearners.delete(conn.sid);
      this.step({ type: 'disconnected', peer: conn.sid });
    }
  }

  private touchSessions(data: Buffer | null): void {
    const server = this.host.server;
    if (server.role !== 'leader') return;
    for (const t of readPingTouches(data)) server.touch(t.sessionId);
  }

  /** A client moved to a learner with its session: still valid? (And touched, as Java does.) */
  private revalidate(conn: QuorumConnection, learner: Sid, data: Buffer | null): void {
    if (data === null || data.length < 12) return;
    const sessionId = data.readBigInt64BE(0);
    const server = this.host.server;
    const valid = server.role === 'leader' && server.touch(sessionId);
    // Its client is there now: requests still arriving through another server get SessionMoved.
    if (valid) server.sessions.setOwner(sessionId, learner);
    const reply = Buffer.alloc(9);
    reply.writeBigInt64BE(sessionId, 0);
    reply.writeUInt8(valid ? 1 : 0, 8);
    conn.send({ type: 'revalidate', zxid: -1n, data: reply });
  }

  private takeReceivedSnapshot(zxid: bigint): { tree: ReceivedSnapshot['tree']; sessions: [bigint, number][] } {
    const i = this.receivedSnapshots.findIndex((s) => s.zxid === zxid);
    if (i < 0) throw new Error(`no received snapshot at ${zxidHex(zxid)} to install`);
    const snapshot = this.receivedSnapshots[i]!;
    // Any older one was superseded (its role ended before it was written).
    this.receivedSnapshots = this.receivedSnapshots.slice(i + 1);
    return snapshot;
  }

  private async afterTruncate(zxid: bigint): Promise<void> {
    const server = this.host.server;
    if (server.tree.lastProcessedZxid <= zxid) return;
    // The tree holds txns the leader cut: reload it from disk, without snapshots taken past the cut.
    for (const snap of await listSnapshots(this.dirs.snapDir)) {
      if (snap.zxid > zxid) await nodeFileSystem.unlink(snap.path);
    }
    const restored = await restoreDatabase(this.dirs, { extendedTypesEnabled: this.config.extendedTypesEnabled, log: this.log });
    server.loadDatabase(restored.tree, restored.sessions);
    this.log.info({ zxid: zxidHex(restored.lastZxid) }, 'reloaded the database after TRUNC');
  }

  private connOptions() {
    return {
      extendedTypesEnabled: this.config.extendedTypesEnabled,
      maxPacketDataBytes: this.config.juteMaxBufferBytes + 1024 * 1024,
      maxSnapBytes: MAX_SNAP_BYTES,
      maxUnsentBytes: MAX_UNSENT_BYTES,
    };
  }
}
