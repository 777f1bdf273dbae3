import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { generateDigest, normalizeRemoteAddress } from '../auth/providers.js';
import { FrameSplitter } from '../jute/framing.js';
import { JuteReader } from '../jute/reader.js';
import { JuteWriter } from '../jute/writer.js';
import { aclAllows } from '../auth/acl-check.js';
import type { ACL, Id } from '../proto/data.js';
import { Perms } from '../proto/perms.js';
import { Err } from '../proto/error-codes.js';
import { KeeperState } from '../proto/events.js';
import { OpCode, Xid } from '../proto/opcodes.js';
import {
  readAuthPacket, readConnectRequest, readRequestHeader, writeConnectResponse, writeReplyHeader, writeWatcherEvent,
} from '../proto/records.js';
import { checkPassword, sessionPassword } from '../session/password.js';
import { DecodeError } from '../util/errors.js';
import type { ServerCnxn } from './cnxn.js';
import { decodeRequest } from './decode-request.js';
import { ResponseStats } from './response-stats.js';
import type { ZkServer } from './zk-server.js';

/** What a connection needs from the listener that accepted it. */
export interface ConnectionHost {
  readonly server: ZkServer;
  readonly maxFrameBytes: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** Requests a connection may have in the pipeline before it stops reading its socket. */
  readonly maxOutstanding: number;
  readonly skipACL: boolean;
  /** "super:<digest>" or null. */
  readonly superDigest: string | null;
  /** The reply to a four-letter word, or null when `word` is not one. */
  fourLetterWord(word: string, cnxn: ClientConnection): string | null;
  connectionClosed(cnxn: ClientConnection): void;
}

/** Stop reading a client whose unread replies pass this; close it past the hard limit. */
const OUTPUT_HIGH_WATER_BYTES = 4 * 1024 * 1024;
const OUTPUT_HARD_LIMIT_BYTES = 64 * 1024 * 1024;
const INITIAL_OUT_BYTES = 4 * 1024;
const MAX_IDLE_OUT_BYTES = 1024 * 1024;

type State = 'handshake' | 'connecting' | 'connected' | 'closed';

/**
 * One client TCP connection: frames in, requests to the pipeline, replies and watch events out.
 * Reads stop (socket paused, frames left unparsed) while the session is being created, while
 * too many requests are outstanding, or while the client is not reading its replies.
 */
export class ClientConnection implements ServerCnxn {
  sessionId = 0n;
  readonly authInfo: Id[] = [];
  out = new JuteWriter(INITIAL_OUT_BYTES);
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly establishedMs = Date.now();
  sessionTimeoutMs = 0;
  packetsReceived = 0;
  packetsSent = 0;
  lastCxid = -1;
  readonly responseStats = new ResponseStats();
  private state: State = 'handshake';
  private outstanding = 0;
  private readonly splitter: FrameSplitter;
  private readonly reader = new JuteReader();
  private readOnlyPresent = true;
  private blockedOnOutput = false;
  private readonly log: Logger;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
    parentLog: Logger,
  ) {
    this.remoteAddress = normalizeRemoteAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.log = parentLog.child({ cnxn: id, client: `${this.remoteAddress}:${this.remotePort}` });
    this.splitter = new FrameSplitter(host.maxFrameBytes);
    this.authInfo.push({ scheme: 'ip', id: this.remoteAddress });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get outstandingRequests(): number {
    return this.outstanding;
  }

  /** As ZooKeeper's cons shows it: 1 while reading, 4 while replies wait to be written. */
  get interestOps(): number {
    return (this.canConsume() ? 1 : 0) | (this.socket.writableLength > 0 ? 4 : 0);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.splitter.push(chunk);
    this.consume();
  }

  private canConsume(): boolean {
    return (
      (this.state === 'handshake' || this.state === 'connected') &&
      this.outstanding < this.host.maxOutstanding &&
      !this.blockedOnOutput &&
      !this.globallyThrottled()
    );
  }

  /**
   * ZooKeeper's globalOutstandingLimit: past that many requests in the whole pipeline, a
   * connection with requests of its own in flight stops reading until the pipeline drains (one
   * with none goes on, so nobody starves). The server resumes it.
   */
  private globallyThrottled(): boolean {
    if (this.state !== 'connected' || this.outstanding === 0) return false;
    return this.host.server.throttle(this);
  }

  /** The pipeline drained below its limit: read again. */
  resumeReading(): void {
    if (this.state === 'closed') return;
    this.consume();
  }

  /** Parse and dispatch every complete frame, until one of the reasons to stop holds. */
  private consume(): void {
    try {
      while (this.canConsume()) {
        if (this.state === 'handshake' && this.tryFourLetterWord()) return;
        if (!this.splitter.next()) break;
        this.reader.reset(this.splitter.frameBuf, this.splitter.frameStart, this.splitter.frameEnd, this.splitter.frameOwned);
        if (this.state === 'handshake') this.handleConnect();
        else this.handleRequest();
      }
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.log.warn({ err: err.message }, 'closing connection: malformed packet');
      this.destroy();
      return;
    }
    if (this.state === 'closed') return;
    if (this.canConsume()) this.socket.resume();
    else this.socket.pause();
  }

  /** A first frame whose length bytes spell a known four-letter word is that command. */
  private tryFourLetterWord(): boolean {
    const code = this.splitter.peekLength();
    if (code === null) return false;
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(code);
    const word = bytes.toString('latin1');
    const reply = /^[a-z]{4}$/.test(word) ? this.host.fourLetterWord(word, this) : null;
    if (reply === null) return false;
    this.markClosed();
    this.socket.end(reply);
    return true;
  }

  private handleConnect(): void {
    const req = readConnectRequest(this.reader);
    const server = this.host.server;
    this.packetsReceived++;
    this.readOnlyPresent = req.readOnlyPresent;
    if (server.role === 'down') {
      // Quorum mode between roles (looking, syncing): ZooKeeper closes such connections too.
      this.log.debug('refusing session: not serving (no quorum yet)');
      this.destroy();
      return;
    }
    if (req.lastZxidSeen > server.lastProcessedZxid) {
      this.log.info(
        `refusing session: client has seen zxid 0x${req.lastZxidSeen.toString(16)}, ours is 0x${server.lastProcessedZxid.toString(16)}`,
      );
      this.destroy();
      return;
    }
    this.sessionTimeoutMs = Math.min(Math.max(req.timeOut, this.host.minSessionTimeoutMs), this.host.maxSessionTimeoutMs);
    if (req.sessionId === 0n) {
      this.state = 'connecting';
      this.outstanding++;
      server.createSession(this, this.sessionTimeoutMs);
      return;
    }
    this.sessionId = req.sessionId;
    // Like ZooKeeper, drop the session's current connection before checking the password.
    const previous = server.cnxnBySession.get(req.sessionId);
    if (previous !== undefined && previous !== this) previous.closeAfterFlush('session reconnected elsewhere');
    if (!checkPassword(req.sessionId, req.passwd)) {
      this.log.info(`refusing reconnect to session 0x${BigInt.asUintN(64, req.sessionId).toString(16)}: bad password`);
      this.finishSessionInit(false);
      this.flush();
      return;
    }
    // Reads stay paused until the server answers (a learner asks its leader first).
    this.state = 'connecting';
    server.reconnect(this, req.sessionId, this.sessionTimeoutMs);
  }

  finishSessionInit(valid: boolean): void {
    const w = this.out;
    w.startFrame();
    writeConnectResponse(w, {
      protocolVersion: 0,
      timeOut: valid ? this.sessionTimeoutMs : 0,
      sessionId: valid ? this.sessionId : 0n,
      passwd: valid ? sessionPassword(this.sessionId) : Buffer.alloc(16),
      readOnly: false,
      readOnlyPresent: this.readOnlyPresent,
    });
    w.endFrame();
    if (!valid) {
      this.closeAfterFlush('session refused');
      return;
    }
    this.state = 'connected';
    this.log.debug(`session 0x${BigInt.asUintN(64, this.sessionId).toString(16)} established`);
    // Frames that arrived during session creation are waiting in the splitter.
    setImmediate(() => this.consume());
  }

  private handleRequest(): void {
    const hdr = readRequestHeader(this.reader);
    const server = this.host.server;
    this.packetsReceived++;
    if (hdr.type === OpCode.auth) {
      this.handleAuth(hdr.xid);
      return;
    }
    if (hdr.type === OpCode.sasl) {
      // No SASL server is configured; ZooKeeper then answers Ok with a null token.
      this.packetsSent++;
      const w = this.out;
      w.startFrame();
      writeReplyHeader(w, { xid: hdr.xid, zxid: 0n, err: Err.ok });
      w.writeBuffer(null);
      w.endFrame();
      this.flush();
      return;
    }
    if (!server.touch(this.sessionId)) {
      // ZooKeeper drops requests of a session that is closing or gone; its closeSession will
      // close this connection.
      return;
    }
    const bodyStart = this.reader.pos;
    const decoded = decodeRequest(hdr.type, this.reader);
    if (decoded.kind === 'unimplemented') {
      this.log.warn(`unimplemented request type ${hdr.type}; closing`);
      this.replyHeaderOnly(hdr.xid, -1n, Err.unimplemented);
      this.closeAfterFlush('unimplemented request');
      return;
    }
    this.outstanding++;
    // A learner forwards writes and syncs to its leader as the client sent them: copy the bytes,
    // since the frame is read in place and its buffer is reused.
    const body =
      server.forwardsRequests && (decoded.kind === 'write' || hdr.type === OpCode.sync)
        ? Buffer.from(this.splitter.frameBuf.subarray(bodyStart, this.splitter.frameEnd))
        : null;
    if (decoded.kind === 'read') server.submitRead(this, hdr.xid, decoded.req, body);
    else server.submitWrite(this, this.sessionId, hdr.xid, decoded.req, this.authInfo, body);
  }

  /** authInfo is a set in ZooKeeper: the same id twice counts once. */
  private addAuthInfo(scheme: string, id: string): void {
    if (!this.authInfo.some((a) => a.scheme === scheme && a.id === id)) this.authInfo.push({ scheme, id });
  }

  private handleAuth(xid: number): void {
    const packet = readAuthPacket(this.reader);
    if (packet.scheme === 'digest' || packet.scheme === 'ip') {
      if (packet.scheme === 'digest') {
        const digest = generateDigest((packet.auth ?? Buffer.alloc(0)).toString('utf8'));
        if (this.host.superDigest !== null && digest === this.host.superDigest) this.addAuthInfo('super', '');
        this.addAuthInfo('digest', digest);
      } else {
        // ip authenticates as the socket's address, whatever the packet says.
        this.addAuthInfo('ip', this.remoteAddress);
      }
      this.replyHeaderOnly(xid, 0n, Err.ok);
      this.flush();
      return;
    }
    // Other schemes (sasl, x509, ...) are not installed.
    this.log.warn(`authentication failed for scheme ${packet.scheme}`);
    this.replyHeaderOnly(xid, 0n, Err.authFailed);
    this.closeAfterFlush('authentication failed');
  }

  private replyHeaderOnly(xid: number, zxid: bigint, err: number): void {
    this.packetsSent++;
    const w = this.out;
    w.startFrame();
    writeReplyHeader(w, { xid, zxid, err });
    w.endFrame();
  }

  notifyWatch(eventType: number, path: string, acl?: readonly ACL[]): void {
    if (this.state === 'closed') return;
    if (acl !== undefined && !aclAllows(acl, Perms.read, this.authInfo, this.host.skipACL)) return;
    const w = this.out;
    w.startFrame();
    writeReplyHeader(w, { xid: Xid.notification, zxid: -1n, err: 0 });
    writeWatcherEvent(w, { type: eventType, state: KeeperState.syncConnected, path });
    w.endFrame();
    this.host.server.markDirty(this);
  }

  requestDone(): void {
    this.outstanding--;
    if (this.outstanding === this.host.maxOutstanding - 1 && this.state === 'connected') setImmediate(() => this.consume());
  }

  flush(): void {
    if (this.out.pos === 0 || this.state === 'closed') return;
    if (this.out.hasShared) {
      // Big znode data goes out by reference, in one writev with the bytes around it.
      this.socket.cork();
      for (const chunk of this.out.chunks()) this.socket.write(chunk);
      this.socket.uncork();
    } else {
      this.socket.write(this.out.toBuffer());
    }
    if (this.out.buf.length > MAX_IDLE_OUT_BYTES) this.out = new JuteWriter(INITIAL_OUT_BYTES);
    else this.out.reset();
    const backlog = this.socket.writableLength;
    if (backlog > OUTPUT_HARD_LIMIT_BYTES) {
      this.log.warn(`closing connection: client is not reading (${backlog} bytes unsent)`);
      this.destroy();
    } else if (backlog > OUTPUT_HIGH_WATER_BYTES && !this.blockedOnOutput) {
      this.blockedOnOutput = true;
      this.socket.pause();
    }
  }

  private onDrain(): void {
    if (!this.blockedOnOutput) return;
    this.blockedOnOutput = false;
    this.consume();
  }

  closeAfterFlush(reason: string): void {
    if (this.state === 'closed') return;
    this.flush();
    this.log.debug(`closing connection: ${reason}`);
    this.markClosed();
    this.socket.end();
  }

  destroy(): void {
    this.markClosed();
    this.socket.destroy();
  }

  private onClose(): void {
    this.markClosed();
  }

  private markClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.host.connectionClosed(this);
  }
}
