/**
 * One leader/learner TCP connection on the quorum port (driver layer). Incoming bytes are split
 * into QuorumPackets (quorum-stream.ts) and decoded into ZabPackets; a SNAP packet is followed by
 * the serialized database (snap-stream.ts), which is read whole before the SNAP is delivered.
 * Outgoing packets are encoded into one buffer and leave in a single socket write per event-loop
 * turn.
 *
 * Limits: packets are bounded by the stream limits, a SNAP stream by `maxSnapBytes`; a peer that
 * lets more than `maxUnsentBytes` pile up unread is disconnected (a learner then resyncs, which
 * is cheaper than holding an unbounded backlog in the leader).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { JuteWriter } from '../../jute/writer.js';
import { DecodeError } from '../../util/errors.js';
import { fromQuorumPacket, writeZabPacket, type ZabPacket } from '../zab/packets.js';
import { DEFAULT_QUORUM_STREAM_LIMITS, QuorumPacketStream } from './quorum-stream.js';
import { SnapStreamReader } from './snap-stream.js';
import type { DataTree } from '../../tree/data-tree.js';

/** The SNAP packet (the ZabPacket variant shared by DIFF, TRUNC and SNAP). */
export type SnapPacket = Extract<ZabPacket, { type: 'diff' | 'trunc' | 'snap' }>;

export interface ReceivedSnapshot {
  tree: DataTree;
  sessions: Map<bigint, number>;
}

export interface QuorumConnectionHandler {
  onPacket(conn: QuorumConnection, packet: ZabPacket): void;
  /** A SNAP packet and the database that followed it. */
  onSnapshot(conn: QuorumConnection, packet: SnapPacket, snapshot: ReceivedSnapshot): void;
  onClose(conn: QuorumConnection): void;
}

export interface QuorumConnectionOptions {
  extendedTypesEnabled: boolean;
  /** Largest data buffer in a packet (jute.maxbuffer plus headroom). */
  maxPacketDataBytes: number;
  maxSnapBytes: number;
  maxUnsentBytes: number;
}

const INITIAL_OUT_BYTES = 64 * 1024;
/** A SNAP stream waits for the socket to drain past this many unsent bytes. */
const RAW_PAUSE_BYTES = 8 * 1024 * 1024;


export class QuorumConnection {
  /** The peer's sid: known from the start on a learner, from FOLLOWERINFO on a leader. */
  sid: number | null;
  /** Packets received so far (0: the peer has said nothing yet). */
  packetsReceived = 0;
  private readonly stream: QuorumPacketStream;
  private out = new JuteWriter(INITIAL_OUT_BYTES);
  private flushScheduled = false;
  private connected: boolean;
  private snap: { packet: SnapPacket; reader: SnapStreamReader } | null = null;
  private closedFlag = false;
  /** Packets sent while a SNAP stream is being written (beginRaw .. endRaw). */
  private held: JuteWriter | null = null;
  private readonly runFlush = (): void => this.flush();

  constructor(
    readonly socket: Socket,
    sid: number | null,
    connected: boolean,
    private readonly handler: QuorumConnectionHandler,
    private readonly opts: QuorumConnectionOptions,
    readonly log: Logger,
  ) {
    this.sid = sid;
    this.connected = connected;
    this.stream = new QuorumPacketStream({ ...DEFAULT_QUORUM_STREAM_LIMITS, maxDataBytes: opts.maxPacketDataBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'quorum connection error'));
    socket.on('close', () => this.onClose());
    if (!connected) {
      socket.once('connect', () => {
        this.connected = true;
        this.flush();
      });
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(packet: ZabPacket): void {
    if (this.closedFlag) return;
    if (this.held !== null) {
      // A SNAP stream is being written: packets sent meanwhile follow it.
      writeZabPacket(this.held, packet);
      return;
    }
    writeZabPacket(this.out, packet);
    this.scheduleFlush();
  }

  /** From now until endRaw, `send` holds packets back: raw bytes (the SNAP stream) come first. */
  beginRaw(): void {
    this.held ??= new JuteWriter(INITIAL_OUT_BYTES);
  }

  /**
   * Bytes that follow the packets sent before beginRaw. Resolves at once, or once the socket has
   * drained when the peer lets more than RAW_PAUSE_BYTES pile up.
   */
  sendRaw(chunk: Buffer): Promise<void> | undefined {
    if (this.closedFlag) return undefined;
    this.flush();
    this.socket.write(chunk);
    this.checkBacklog();
    if (this.closedFlag || this.socket.writableLength < RAW_PAUSE_BYTES) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** The raw bytes are all sent: the packets held back meanwhile go out. */
  endRaw(): void {
    const held = this.held;
    this.held = null;
    if (held === null || this.closedFlag || held.pos === 0) return;
    this.out.writeRaw(held.buf.subarray(0, held.pos));
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.runFlush);
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.closedFlag || !this.connected || this.out.pos === 0) return;
    this.socket.write(this.out.toBuffer());
    if (this.out.buf.length > 4 * 1024 * 1024) this.out = new JuteWriter(INITIAL_OUT_BYTES);
    else this.out.reset();
    this.checkBacklog();
  }

  private checkBacklog(): void {
    const backlog = this.socket.writableLength;
    if (backlog > this.opts.maxUnsentBytes) {
      this.log.warn({ backlog }, 'closing quorum connection: peer is not reading');
      this.destroy();
    }
  }

  /** Send what is buffered, then close. */
  close(): void {
    if (this.closedFlag) return;
    this.flush();
    this.markClosed();
    this.socket.end();
    // A peer that never reads would keep a half-closed socket forever.
    this.socket.setTimeout(5000, () => this.socket.destroy());
  }

  destroy(): void {
    this.markClosed();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closedFlag) return;
    try {
      if (this.snap !== null) {
        const rest = this.snap.reader.push(chunk);
        if (rest === null) return;
        this.finishSnap();
        if (this.closedFlag) return;
        this.stream.push(rest);
      } else {
        this.stream.push(chunk);
      }
      this.readPackets();
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.log.warn({ err: err.message }, 'closing quorum connection: malformed data');
      this.destroy();
    }
  }

  private readPackets(): void {
    while (!this.closedFlag && this.snap === null) {
      const qp = this.stream.next();
      if (qp === null) return;
      const packet = fromQuorumPacket(qp);
      if (packet.type === 'snap') {
        const reader = new SnapStreamReader({ extendedTypesEnabled: this.opts.extendedTypesEnabled, limits: { maxBytes: this.opts.maxSnapBytes } });
        this.snap = { packet, reader };
        const rest = reader.push(this.stream.takeBuffered());
        if (rest === null) return;
        this.finishSnap();
        this.stream.push(rest);
        continue;
      }
      this.packetsReceived++;
      this.handler.onPacket(this, packet);
    }
  }

  private finishSnap(): void {
    const { packet, reader } = this.snap!;
    this.snap = null;
    this.packetsReceived++;
    const result = reader.result();
    this.log.info({ zxid: `0x${packet.zxid.toString(16)}`, nodes: result.nodes, bytes: result.bytes }, 'received snapshot');
    this.handler.onSnapshot(this, packet, { tree: result.tree, sessions: result.sessions });
  }

  private onClose(): void {
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.handler.onClose(this);
  }
}
