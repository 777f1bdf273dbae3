/**
 * The election port: TCP links between servers carrying election messages, compatible with
 * ZooKeeper 3.8's QuorumCnxManager. Driver layer (sockets and timers live here; the election
 * itself is the pure FastLeaderElection).
 *
 * Connections. Either side may connect. The connecting side first writes its initial message
 * (initial-message.ts). Only a connection opened by the server with the larger sid is kept:
 * - a server connecting to a larger sid writes its initial message and closes; the larger one,
 *   on reading it, closes too and connects back;
 * - a server accepting a connection from a larger sid keeps it, replacing any link it had to
 *   that sid (so both ends always agree on the newest one).
 * So each pair ends up with one connection, opened by the larger sid.
 *
 * Stream, both directions after the initial message:
 *
 *   stream  = *frame
 *   frame   = length payload
 *   length  = int32, 1..maxPacketBytes (3.8: 512 KiB; 0, negative or larger closes the link)
 *   payload = one notification (src/quorum/election/notification.ts)
 *
 * Sending. Each peer has a bounded queue of messages not yet handed to its socket (3.8 keeps one:
 * a newer notification replaces an undelivered older one, since only the latest vote matters).
 * A message queued for a peer without a link starts a connection attempt; attempts are repeated
 * with backoff while messages wait. When a link comes up with nothing queued, the last message
 * sent to that peer is sent again, because the link it went out on may have died before it
 * arrived (3.8 does the same; peers must tolerate duplicates).
 *
 * Receiving. Frames go to `onMessage(sid, payload)` as views of the socket's bytes, valid only
 * during the call.
 *
 * Deliberate differences from 3.8: connecting back to a smaller sid uses its configured address
 * when there is one (3.8 prefers the address in the initial message); a connection announcing
 * this server's own sid is closed (3.8 leaves it open); no SASL or TLS.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { FrameSplitter } from '../../jute/framing.js';
import { LONG_MAX } from '../election/vote.js';
import {
  encodeInitialMessage,
  formatElectionAddress,
  MAX_INITIAL_MESSAGE_BYTES,
  parseInitialMessage,
  PROTOCOL_VERSION_V1,
  type ElectionAddress,
  type InitialMessage,
} from './initial-message.js';

/** 3.8's QuorumCnxManager.PACKETMAXSIZE. */
export const ELECTION_MAX_PACKET_BYTES = 512 * 1024;

export interface ElectionLinkOptions {
  myId: bigint;
  /** Where to listen; port 0 picks a free one (see `listenAddress` after start()). */
  listen: ElectionAddress;
  /** What the initial message announces; default: the address actually listened on. */
  advertise?: readonly ElectionAddress[];
  /** Election addresses of the other servers, by sid. */
  peers: ReadonlyMap<bigint, ElectionAddress>;
  logger: Logger;
  /** A frame from a peer; `payload` is valid only during the call. */
  onMessage: (from: bigint, payload: Buffer) => void;
  /** PROTOCOL_VERSION_V1 (default, what 3.8 sends without multiAddress) or V2. */
  protocolVersion?: bigint;
  /** Connect timeout (3.8: zookeeper.cnxTimeout, 5 s). */
  connectTimeoutMs?: number;
  /** Time an accepted socket has to send its initial message (3.8: initLimit * tickTime). */
  handshakeTimeoutMs?: number;
  /** Messages held per peer while not handed to a socket (3.8: 1). */
  sendQueueCapacity?: number;
  maxPacketBytes?: number;
  /** First and largest wait between connection attempts while messages wait. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Accepted sockets still in their handshake, at most. */
  maxPendingHandshakes?: number;
  /** Bytes buffered in a socket beyond which the queue holds messages back. */
  maxSocketBufferBytes?: number;
}

export interface ElectionConnectionInfo {
  sid: bigint;
  initiatedByMe: boolean;
  localPort: number;
  remotePort: number;
}

interface Connection {
  sid: bigint;
  socket: Socket;
  splitter: FrameSplitter;
  initiatedByMe: boolean;
  closed: boolean;
}

interface PeerSlot {
  sid: bigint;
  logger: Logger;
  queue: Buffer[];
  lastMessageSent: Buffer | null;
  conn: Connection | null;
  /** An outgoing connection in progress. */
  connecting: Socket | null;
  /** Address announced by the peer, used when it is not in `peers`. */
  announced: ElectionAddress | null;
  retryTimer: NodeJS.Timeout | null;
  backoffMs: number;
  waitingForDrain: boolean;
}

interface Handshake {
  socket: Socket;
  received: Buffer;
}

export class ElectionLink {
  readonly myId: bigint;
  private readonly options: Required<Omit<ElectionLinkOptions, 'advertise'>> & { advertise?: readonly ElectionAddress[] };
  private readonly logger: Logger;
  private readonly slots = new Map<bigint, PeerSlot>();
  private readonly handshakes = new Set<Handshake>();
  private server: Server | null = null;
  private advertised: readonly ElectionAddress[] = [];
  private closing = false;
  /** Ids handed to observers that announce OBSERVER_ID, counting down from -1 as 3.8 does. */
  private nextObserverId = -1n;
  /** Messages dropped because a newer one replaced them in a full queue. */
  droppedMessages = 0;

  constructor(options: ElectionLinkOptions) {
    this.myId = options.myId;
    this.options = {
      myId: options.myId,
      listen: options.listen,
      peers: options.peers,
      logger: options.logger,
      onMessage: options.onMessage,
      protocolVersion: options.protocolVersion ?? PROTOCOL_VERSION_V1,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      sendQueueCapacity: options.sendQueueCapacity ?? 1,
      maxPacketBytes: options.maxPacketBytes ?? ELECTION_MAX_PACKET_BYTES,
      reconnectInitialMs: options.reconnectInitialMs ?? 1000,
      reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
      maxPendingHandshakes: options.maxPendingHandshakes ?? 32,
      maxSocketBufferBytes: options.maxSocketBufferBytes ?? 1024 * 1024,
    };
    if (options.advertise) this.options.advertise = options.advertise;
    this.logger = options.logger;
  }

  /** Listens on the election port. */
  async start(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.listen.host, port: this.options.listen.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error }, 'election listener failed'));
    this.server = server;
    this.advertised = this.options.advertise ?? [this.listenAddress];
    this.logger.info({ address: formatElectionAddress(this.listenAddress), sid: String(this.myId) }, 'election port listening');
  }

  get listenAddress(): ElectionAddress {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? { host: this.options.listen.host, port: address.port } : this.options.listen;
  }

  /**
   * Queues `payload` for server `sid` and makes sure a connection is on its way. A message to
   * this server itself is delivered back to onMessage asynchronously, as 3.8's loopback.
   */
  toSend(sid: bigint, payload: Buffer): void {
    if (this.closing) return;
    if (sid === this.myId) {
      const copy = Buffer.from(payload);
      queueMicrotask(() => {
        if (!this.closing) this.options.onMessage(this.myId, copy);
      });
      return;
    }
    const slot = this.slot(sid);
    if (slot.queue.length >= this.options.sendQueueCapacity) {
      slot.queue.shift();
      this.droppedMessages += 1;
    }
    slot.queue.push(payload);
    if (slot.conn) this.flush(slot);
    else this.connectOne(sid);
  }

  /** Starts a connection to `sid` unless one exists or is being made. */
  connectOne(sid: bigint): void {
    if (this.closing || sid === this.myId) return;
    const slot = this.slot(sid);
    if (slot.conn || slot.connecting) return;
    const address = this.options.peers.get(sid) ?? slot.announced;
    if (!address) {
      slot.logger.warn('no election address for server');
      return;
    }
    this.initiate(slot, address);
  }

  /** Connects to every peer that has messages waiting (3.8's connectAll). */
  connectAll(): void {
    for (const slot of this.slots.values()) if (slot.queue.length > 0) this.connectOne(slot.sid);
  }

  /** 3.8's haveDelivered: true when some peer's queue is empty. */
  haveDelivered(): boolean {
    for (const slot of this.slots.values()) if (slot.queue.length === 0) return true;
    return false;
  }

  connectedToPeer(sid: bigint): boolean {
    return this.slots.get(sid)?.conn != null;
  }

  /** The links kept, one per peer at most. */
  connections(): ElectionConnectionInfo[] {
    const out: ElectionConnectionInfo[] = [];
    for (const slot of this.slots.values()) {
      const conn = slot.conn;
      if (!conn) continue;
      out.push({
        sid: slot.sid,
        initiatedByMe: conn.initiatedByMe,
        localPort: conn.socket.localPort ?? -1,
        remotePort: conn.socket.remotePort ?? -1,
      });
    }
    return out.sort((a, b) => (a.sid < b.sid ? -1 : 1));
  }

  /** Closes the listener and every socket; queued messages are discarded. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const handshake of this.handshakes) handshake.socket.destroy();
    this.handshakes.clear();
    for (const slot of this.slots.values()) {
      if (slot.retryTimer) clearTimeout(slot.retryTimer);
      slot.retryTimer = null;
      slot.connecting?.destroy();
      slot.connecting = null;
      if (slot.conn) this.finish(slot.conn);
      slot.queue.length = 0;
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // --- outgoing connections -----------------------------------------------------------------

  private initiate(slot: PeerSlot, address: ElectionAddress): void {
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    slot.connecting = socket;
    socket.setTimeout(this.options.connectTimeoutMs);
    let connected = false;
    socket.once('timeout', () => socket.destroy(new Error(`connect timed out after ${this.options.connectTimeoutMs} ms`)));
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      if (slot.connecting === socket) slot.connecting = null;
      if (this.closing) return void socket.destroy();
      socket.write(encodeInitialMessage(this.myId, this.advertised, this.options.protocolVersion));
      if (slot.sid > this.myId) {
        // The larger sid keeps only the connections it opens: it will connect back.
        slot.logger.debug('peer has the larger sid: closing after the initial message, waiting for it to connect back');
        socket.end();
        this.scheduleRetry(slot);
      } else {
        this.adopt(slot, socket, true, null);
      }
    });
    socket.on('error', (error) => {
      if (!connected) slot.logger.debug({ err: error.message, address: formatElectionAddress(address) }, 'cannot open election channel');
    });
    socket.once('close', () => {
      if (slot.connecting === socket) slot.connecting = null;
      if (!connected) this.scheduleRetry(slot);
    });
  }

  /** Tries again later while messages wait and no link exists. */
  private scheduleRetry(slot: PeerSlot): void {
    if (this.closing || slot.retryTimer || slot.conn || slot.queue.length === 0) return;
    const delayMs = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, this.options.reconnectMaxMs);
    slot.retryTimer = setTimeout(() => {
      slot.retryTimer = null;
      if (!slot.conn && slot.queue.length > 0) this.connectOne(slot.sid);
    }, delayMs);
    slot.retryTimer.unref();
  }

  // --- incoming connections -----------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closing || this.handshakes.size >= this.options.maxPendingHandshakes) {
      socket.destroy();
      return;
    }
    const handshake: Handshake = { socket, received: Buffer.alloc(0) };
    this.handshakes.add(handshake);
    socket.setTimeout(this.options.handshakeTimeoutMs);
    const onTimeout = (): void => {
      this.logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'no initial message in time: closing');
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      handshake.received = handshake.received.length === 0 ? chunk : Buffer.concat([handshake.received, chunk]);
      let parsed;
      try {
        parsed = parseInitialMessage(handshake.received);
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, remote: socket.remoteAddress }, 'bad initial message: closing');
        socket.destroy();
        return;
      }
      if (parsed.type === 'incomplete') {
        if (handshake.received.length > MAX_INITIAL_MESSAGE_BYTES) socket.destroy();
        return;
      }
      cleanup();
      const rest = handshake.received.length > parsed.bytesUsed ? handshake.received.subarray(parsed.bytesUsed) : null;
      this.handleConnection(socket, parsed.message, rest);
    };
    const onClose = (): void => cleanup();
    const cleanup = (): void => {
      this.handshakes.delete(handshake);
      socket.setTimeout(0);
      socket.off('timeout', onTimeout);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('timeout', onTimeout);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined);
  }

  private handleConnection(socket: Socket, message: InitialMessage, rest: Buffer | null): void {
    let sid = message.sid;
    if (sid === LONG_MAX) {
      sid = this.nextObserverId;
      this.nextObserverId -= 1n;
      this.logger.info({ sid: String(sid) }, 'observer without an id: assigned one');
    }
    const slot = sid === this.myId ? null : this.slot(sid);
    if (slot === null) {
      this.logger.warn('connection from a server with our own id: closing (configuration error?)');
      socket.destroy();
      return;
    }
    if (message.addresses[0]) slot.announced = message.addresses[0];
    if (sid < this.myId) {
      // We have the larger sid: drop this one and any link we had, and open our own.
      slot.logger.debug('peer has the smaller sid: closing its connection and connecting back');
      socket.destroy();
      if (slot.conn) this.finish(slot.conn);
      this.connectOne(sid);
      return;
    }
    this.adopt(slot, socket, false, rest);
  }

  // --- established links --------------------------------------------------------------------

  private adopt(slot: PeerSlot, socket: Socket, initiatedByMe: boolean, rest: Buffer | null): void {
    if (slot.conn) this.finish(slot.conn);
    const conn: Connection = {
      sid: slot.sid,
      socket,
      splitter: new FrameSplitter(this.options.maxPacketBytes),
      initiatedByMe,
      closed: false,
    };
    slot.conn = conn;
    slot.backoffMs = this.options.reconnectInitialMs;
    if (slot.retryTimer) {
      clearTimeout(slot.retryTimer);
      slot.retryTimer = null;
    }
    slot.logger.info({ initiatedByMe, local: socket.localPort, remote: socket.remotePort }, 'election link up');
    socket.on('data', (chunk: Buffer) => this.receive(slot, conn, chunk));
    socket.on('drain', () => {
      if (slot.conn === conn && slot.waitingForDrain) {
        slot.waitingForDrain = false;
        this.flush(slot);
      }
    });
    socket.on('error', (error) => slot.logger.debug({ err: error.message }, 'election link error'));
    socket.once('close', () => this.onClosed(slot, conn));
    if (slot.queue.length === 0 && slot.lastMessageSent) this.write(conn, slot.lastMessageSent);
    this.flush(slot);
    if (rest) this.receive(slot, conn, rest);
  }

  private receive(slot: PeerSlot, conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    const splitter = conn.splitter;
    splitter.push(chunk);
    try {
      while (splitter.next()) {
        if (splitter.frameEnd === splitter.frameStart) throw new Error('empty election frame');
        this.options.onMessage(slot.sid, splitter.frameBuf.subarray(splitter.frameStart, splitter.frameEnd));
        if (conn.closed) return;
      }
    } catch (error) {
      slot.logger.warn({ err: (error as Error).message }, 'bad election frame: closing the link');
      this.finish(conn);
    }
  }

  private flush(slot: PeerSlot): void {
    const conn = slot.conn;
    if (!conn) return;
    while (slot.queue.length > 0) {
      if (conn.socket.writableLength >= this.options.maxSocketBufferBytes) {
        slot.waitingForDrain = true;
        return;
      }
      const payload = slot.queue.shift() as Buffer;
      slot.lastMessageSent = payload;
      this.write(conn, payload);
    }
  }

  private write(conn: Connection, payload: Buffer): void {
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    conn.socket.write(frame);
  }

  private finish(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.socket.destroy();
    const slot = this.slots.get(conn.sid);
    if (slot && slot.conn === conn) slot.conn = null;
  }

  private onClosed(slot: PeerSlot, conn: Connection): void {
    const wasCurrent = slot.conn === conn;
    conn.closed = true;
    if (!wasCurrent) return;
    slot.conn = null;
    slot.waitingForDrain = false;
    slot.logger.info('election link down');
    this.scheduleRetry(slot);
  }

  private slot(sid: bigint): PeerSlot {
    let slot = this.slots.get(sid);
    if (!slot) {
      slot = {
        sid,
        logger: this.logger.child({ peer: String(sid) }),
        queue: [],
        lastMessageSent: null,
        conn: null,
        connecting: null,
        announced: null,
        retryTimer: null,
        backoffMs: this.options.reconnectInitialMs,
        waitingForDrain: false,
      };
      this.slots.set(sid, slot);
    }
    return slot;
  }
}
