// A minimal ZooKeeper client on tszk's own jute codec, for byte-exact and differential tests.
// It does nothing behind the caller's back: no pings, no reconnects, no watch bookkeeping, no
// chroot. It writes exactly the frames it is told to, pipelines freely, and records everything
// the server sends, in arrival order:
//
//   received = *( connect-response | reply | notification | ping-reply | auth-reply | closed )
//
// Replies are matched to requests by xid; the reserved xids (-2 ping, -4 auth, -8 setWatches as
// the Java client sends it) are matched first-in first-out. A reply keeps its raw body; decode it
// with decodeResponse(opcode, body) or reply.decode().
import { connect, type Socket } from 'node:net';
import { FrameSplitter } from '../../src/jute/framing.js';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import type { ACL, ClientInfo, Stat } from '../../src/proto/data.js';
import { errName } from '../../src/proto/error-codes.js';
import {
  readMultiResponse,
  writeMultiRequest,
  type MultiOp,
  type MultiResult,
} from '../../src/proto/multi.js';
import { CreateMode, OpCode, Xid, opName } from '../../src/proto/opcodes.js';
import {
  readConnectResponse,
  readCreate2Response,
  readCreateResponse,
  readErrorResponse,
  readExistsResponse,
  readGetACLResponse,
  readGetAllChildrenNumberResponse,
  readGetChildren2Response,
  readGetChildrenResponse,
  readGetDataResponse,
  readGetEphemeralsResponse,
  readReplyHeader,
  readSetACLResponse,
  readSetDataResponse,
  readSyncResponse,
  readWatcherEvent,
  readWhoAmIResponse,
  writeAddWatchRequest,
  writeAuthPacket,
  writeCheckVersionRequest,
  writeCheckWatchesRequest,
  writeConnectRequest,
  writeCreateRequest,
  writeCreateTTLRequest,
  writeDeleteRequest,
  writeExistsRequest,
  writeGetACLRequest,
  writeGetAllChildrenNumberRequest,
  writeGetChildren2Request,
  writeGetChildrenRequest,
  writeGetDataRequest,
  writeGetEphemeralsRequest,
  writeRemoveWatchesRequest,
  writeRequestHeader,
  writeSetACLRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeSetWatches2,
  writeSyncRequest,
  type ConnectResponse,
  type SetWatches,
  type SetWatches2,
  type WatcherEvent,
} from '../../src/proto/records.js';

/** Frames larger than this from the server are a test failure, not something to buffer. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export const WORLD_ANYONE_ALL: readonly ACL[] = Object.freeze([{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);

export class RawClientError extends Error {
  readonly code: 'RAW_CLIENT_CLOSED' | 'RAW_CLIENT_TIMEOUT' | 'RAW_CLIENT_PROTOCOL' | 'RAW_CLIENT_CONNECT';
  constructor(code: RawClientError['code'], message: string) {
    super(message);
    this.name = 'RawClientError';
    this.code = code;
  }
}

// ---------------------------------------------------------------- what the server sends

/** A reply to a request this client sent (any xid other than -1). */
export interface RawReply {
  kind: 'reply';
  xid: number;
  zxid: bigint;
  err: number;
  /** The opcode of the request this answers (the request's header type); -1 when unmatched. */
  opcode: number;
  /** Everything after the ReplyHeader. */
  body: Buffer;
}

export interface RawNotification {
  kind: 'notification';
  zxid: bigint;
  err: number;
  event: WatcherEvent;
}

export interface RawConnectResponse {
  kind: 'connect';
  response: ConnectResponse;
}

export interface RawClosed {
  kind: 'closed';
}

export type Received = RawConnectResponse | RawReply | RawNotification | RawClosed;

/** A reply plus its body decoded for its opcode. */
export interface OpResult<T = unknown> {
  err: number;
  zxid: bigint;
  /** The decoded body, or undefined when the body is empty. */
  response: T | undefined;
  reply: RawReply;
}

// ---------------------------------------------------------------- decoding reply bodies

export type DecodedResponse =
  | { path: string }
  | { path: string; stat: Stat }
  | { stat: Stat }
  | { data: Buffer | null; stat: Stat }
  | { acl: ACL[]; stat: Stat }
  | { children: string[] }
  | { children: string[]; stat: Stat }
  | { totalNumber: number }
  | { ephemerals: string[] }
  | { clientInfo: ClientInfo[] }
  | { err: number }
  | { results: MultiResult[] };

export interface DecodeOutcome {
  /** undefined for an empty body or an opcode whose reply has no record. */
  response: DecodedResponse | undefined;
  /** Bytes left after the record (or the whole body when nothing could be decoded). */
  trailing: Buffer;
  /** Set when the body did not decode as the opcode's record. */
  error?: string;
}

/** Decodes a reply body as the record the Java server sends for `opcode`. Never throws. */
export function decodeResponse(opcode: number, body: Buffer): DecodeOutcome {
  if (body.length === 0) return { response: undefined, trailing: body };
  const r = new JuteReader(body);
  try {
    const response = decodeRecord(opcode, r);
    return { response, trailing: body.subarray(r.pos) };
  } catch (error) {
    return { response: undefined, trailing: body, error: (error as Error).message };
  }
}

function decodeRecord(opcode: number, r: JuteReader): DecodedResponse | undefined {
  switch (opcode) {
    case OpCode.create:
      return readCreateResponse(r);
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return readCreate2Response(r);
    case OpCode.exists:
      return readExistsResponse(r);
    case OpCode.getData:
    case OpCode.reconfig:
      return readGetDataResponse(r);
    case OpCode.setData:
      return readSetDataResponse(r);
    case OpCode.getACL:
      return readGetACLResponse(r);
    case OpCode.setACL:
      return readSetACLResponse(r);
    case OpCode.getChildren:
      return readGetChildrenResponse(r);
    case OpCode.getChildren2:
      return readGetChildren2Response(r);
    case OpCode.sync:
      return readSyncResponse(r);
    case OpCode.multi:
    case OpCode.multiRead:
      return readMultiResponse(r);
    case OpCode.getAllChildrenNumber:
      return readGetAllChildrenNumberResponse(r);
    case OpCode.getEphemerals:
      return readGetEphemeralsResponse(r);
    case OpCode.whoAmI:
      return readWhoAmIResponse(r);
    case OpCode.addWatch:
      // FinalRequestProcessor answers addWatch with ErrorResponse(0).
      return readErrorResponse(r);
    default:
      // delete, check, ping, setWatches, checkWatches, removeWatches, closeSession, auth: no record.
      return undefined;
  }
}

// ---------------------------------------------------------------- connecting

export interface RawConnectOptions {
  host: string;
  port: number;
  protocolVersion?: number;
  lastZxidSeen?: bigint;
  /** Requested session timeout; default 10000 ms. */
  timeOutMs?: number;
  /** 0 (default) asks for a new session. */
  sessionId?: bigint;
  /** Default 16 zero bytes. */
  passwd?: Buffer;
  readOnly?: boolean;
  /** Leave the readOnly byte out, as clients before 3.4 did. */
  omitReadOnly?: boolean;
  /** Give up on the TCP connect and the ConnectResponse after this long; default 10 s. */
  connectTimeoutMs?: number;
}

export interface RawSendOptions {
  /** Override the xid; default the next one (1, 2, 3...). */
  xid?: number;
  /** Reject the reply promise after this long; default 10 s. 0 waits forever. */
  timeoutMs?: number;
}

interface Waiter {
  opcode: number;
  resolve: (reply: RawReply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

interface EventWaiter {
  predicate: (event: Received) => boolean;
  from: number;
  resolve: (event: Received) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class RawClient {
  /** Everything received, in order. */
  readonly received: Received[] = [];
  /** The ConnectResponse, once it arrived. */
  connectResponse: ConnectResponse | undefined;
  /** True once the socket closed (either side). */
  closed = false;
  /** Resolves when the socket has closed. */
  readonly closedPromise: Promise<void>;

  private readonly socket: Socket;
  private readonly splitter = new FrameSplitter(MAX_FRAME_BYTES);
  private readonly reader = new JuteReader();
  private readonly writer = new JuteWriter(4096);
  private nextXid = 1;
  private readonly byXid = new Map<number, Waiter[]>();
  private eventWaiters: EventWaiter[] = [];
  private resolveClosed!: () => void;
  private connectWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private protocolError: string | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closedPromise = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  /**
   * Opens a TCP connection, sends a ConnectRequest and waits for the ConnectResponse. Resolves
   * even when the server refuses the session (sessionId 0, timeOut 0: check `sessionAccepted`).
   * Rejects when the connection closes or times out before any ConnectResponse arrives.
   */
  static async connect(options: RawConnectOptions): Promise<RawClient> {
    const client = await RawClient.open(options);
    await client.handshake(options);
    return client;
  }

  /** Only the TCP connection: nothing is sent. Use sendConnect/sendBytes to drive the handshake. */
  static open(options: Pick<RawConnectOptions, 'host' | 'port' | 'connectTimeoutMs'>): Promise<RawClient> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise<RawClient>((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RawClientError('RAW_CLIENT_CONNECT', `connect to ${options.host}:${options.port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new RawClientError('RAW_CLIENT_CONNECT', `connect to ${options.host}:${options.port}: ${error.message}`));
      });
    });
  }

  /** Sends a ConnectRequest and waits for the ConnectResponse (or rejects on close/timeout). */
  async handshake(options: Omit<RawConnectOptions, 'host' | 'port'> = {}): Promise<ConnectResponse> {
    const waitConnect = new Promise<void>((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
    });
    this.sendConnect(options);
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RawClientError('RAW_CLIENT_TIMEOUT', `no ConnectResponse within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([waitConnect, timeout]);
    } finally {
      clearTimeout(timer);
      this.connectWaiter = undefined;
    }
    if (this.connectResponse === undefined) throw new RawClientError('RAW_CLIENT_PROTOCOL', 'no ConnectResponse');
    return this.connectResponse;
  }

  /** Writes a ConnectRequest frame without waiting for anything. */
  sendConnect(options: Omit<RawConnectOptions, 'host' | 'port'> = {}): void {
    const w = this.writer.reset();
    w.startFrame();
    writeConnectRequest(w, {
      protocolVersion: options.protocolVersion ?? 0,
      lastZxidSeen: options.lastZxidSeen ?? 0n,
      timeOut: options.timeOutMs ?? 10_000,
      sessionId: options.sessionId ?? 0n,
      passwd: options.passwd ?? Buffer.alloc(16),
      readOnly: options.readOnly ?? false,
      readOnlyPresent: options.omitReadOnly !== true,
    });
    w.endFrame();
    this.socket.write(w.toBuffer());
  }

  /** True once a ConnectResponse granted a session (non-zero id, positive timeout). */
  get sessionAccepted(): boolean {
    const r = this.connectResponse;
    return r !== undefined && r.sessionId !== 0n && r.timeOut > 0;
  }

  get sessionId(): bigint {
    return this.connectResponse?.sessionId ?? 0n;
  }

  get passwd(): Buffer {
    return this.connectResponse?.passwd ?? Buffer.alloc(16);
  }

  // ---------------------------------------------------------------- sending

  /** The xid the next request will get unless overridden. */
  peekXid(): number {
    return this.nextXid;
  }

  /**
   * Sends RequestHeader{xid, type} followed by the record `body` writes (or raw bytes) as one
   * frame, and returns the reply. Does not wait before sending: call it many times to pipeline.
   */
  send(type: number, body?: ((w: JuteWriter) => void) | Uint8Array, options: RawSendOptions = {}): Promise<RawReply> {
    const xid = options.xid ?? this.nextXid++;
    const w = new JuteWriter(256);
    w.startFrame();
    writeRequestHeader(w, { xid, type });
    if (typeof body === 'function') body(w);
    else if (body !== undefined) w.writeRaw(body);
    w.endFrame();
    const reply = this.expectReply(xid, type, options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    this.socket.write(w.toBuffer());
    return reply;
  }

  /** Registers interest in the reply with this xid without sending anything. */
  expectReply(xid: number, opcode: number, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<RawReply> {
    return new Promise<RawReply>((resolve, reject) => {
      if (this.closed) {
        reject(new RawClientError('RAW_CLIENT_CLOSED', `connection closed before ${opName(opcode)} (xid ${xid}) was sent`));
        return;
      }
      const waiter: Waiter = { opcode, resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          this.dropWaiter(xid, waiter);
          reject(new RawClientError('RAW_CLIENT_TIMEOUT', `no reply to ${opName(opcode)} (xid ${xid}) within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      const queue = this.byXid.get(xid);
      if (queue) queue.push(waiter);
      else this.byXid.set(xid, [waiter]);
    });
  }

  /** Writes bytes as they are: no length prefix, no header. */
  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Wraps `bytes` in a length prefix and writes it. */
  sendFrame(bytes: Uint8Array): void {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(bytes.length);
    this.socket.write(Buffer.concat([prefix, bytes]));
  }

  /** Sends and decodes the reply body for the request's opcode. */
  async call<T = DecodedResponse>(
    type: number,
    body?: ((w: JuteWriter) => void) | Uint8Array,
    options?: RawSendOptions,
  ): Promise<OpResult<T>> {
    const reply = await this.send(type, body, options);
    return toResult<T>(reply);
  }

  // ---------------------------------------------------------------- the common operations

  create(path: string, data: Buffer | string | null = null, options: CreateOptions = {}): Promise<OpResult<{ path: string }>> {
    return this.call(OpCode.create, (w) =>
      writeCreateRequest(w, { path, data: toData(data), acl: [...(options.acl ?? WORLD_ANYONE_ALL)], flags: options.flags ?? CreateMode.persistent }),
    );
  }

  create2(path: string, data: Buffer | string | null = null, options: CreateOptions = {}): Promise<OpResult<{ path: string; stat: Stat }>> {
    return this.call(OpCode.create2, (w) =>
      writeCreateRequest(w, { path, data: toData(data), acl: [...(options.acl ?? WORLD_ANYONE_ALL)], flags: options.flags ?? CreateMode.persistent }),
    );
  }

  createContainer(path: string, data: Buffer | string | null = null, options: CreateOptions = {}): Promise<OpResult<{ path: string; stat: Stat }>> {
    return this.call(OpCode.createContainer, (w) =>
      writeCreateRequest(w, { path, data: toData(data), acl: [...(options.acl ?? WORLD_ANYONE_ALL)], flags: options.flags ?? CreateMode.container }),
    );
  }

  createTTL(
    path: string,
    data: Buffer | string | null,
    ttl: number,
    options: CreateOptions = {},
  ): Promise<OpResult<{ path: string; stat: Stat }>> {
    return this.call(OpCode.createTTL, (w) =>
      writeCreateTTLRequest(w, {
        path,
        data: toData(data),
        acl: [...(options.acl ?? WORLD_ANYONE_ALL)],
        flags: options.flags ?? CreateMode.persistentWithTtl,
        ttl,
      }),
    );
  }

  delete(path: string, version = -1): Promise<OpResult<undefined>> {
    return this.call(OpCode.delete, (w) => writeDeleteRequest(w, { path, version }));
  }

  exists(path: string, watch = false): Promise<OpResult<{ stat: Stat }>> {
    return this.call(OpCode.exists, (w) => writeExistsRequest(w, { path, watch }));
  }

  getData(path: string, watch = false): Promise<OpResult<{ data: Buffer | null; stat: Stat }>> {
    return this.call(OpCode.getData, (w) => writeGetDataRequest(w, { path, watch }));
  }

  setData(path: string, data: Buffer | string | null, version = -1): Promise<OpResult<{ stat: Stat }>> {
    return this.call(OpCode.setData, (w) => writeSetDataRequest(w, { path, data: toData(data), version }));
  }

  getACL(path: string): Promise<OpResult<{ acl: ACL[]; stat: Stat }>> {
    return this.call(OpCode.getACL, (w) => writeGetACLRequest(w, { path }));
  }

  setACL(path: string, acl: readonly ACL[], version = -1): Promise<OpResult<{ stat: Stat }>> {
    return this.call(OpCode.setACL, (w) => writeSetACLRequest(w, { path, acl: [...acl], version }));
  }

  getChildren(path: string, watch = false): Promise<OpResult<{ children: string[] }>> {
    return this.call(OpCode.getChildren, (w) => writeGetChildrenRequest(w, { path, watch }));
  }

  getChildren2(path: string, watch = false): Promise<OpResult<{ children: string[]; stat: Stat }>> {
    return this.call(OpCode.getChildren2, (w) => writeGetChildren2Request(w, { path, watch }));
  }

  getAllChildrenNumber(path: string): Promise<OpResult<{ totalNumber: number }>> {
    return this.call(OpCode.getAllChildrenNumber, (w) => writeGetAllChildrenNumberRequest(w, { path }));
  }

  getEphemerals(prefixPath: string): Promise<OpResult<{ ephemerals: string[] }>> {
    return this.call(OpCode.getEphemerals, (w) => writeGetEphemeralsRequest(w, { prefixPath }));
  }

  sync(path: string): Promise<OpResult<{ path: string }>> {
    return this.call(OpCode.sync, (w) => writeSyncRequest(w, { path }));
  }

  /** multi (write ops) or, with `read`, multiRead (getData/getChildren ops). */
  multi(ops: MultiOp[]): Promise<OpResult<{ results: MultiResult[] }>> {
    return this.call(OpCode.multi, (w) => writeMultiRequest(w, { ops }));
  }

  multiRead(ops: MultiOp[]): Promise<OpResult<{ results: MultiResult[] }>> {
    return this.call(OpCode.multiRead, (w) => writeMultiRequest(w, { ops }));
  }

  check(path: string, version: number): Promise<OpResult<undefined>> {
    return this.call(OpCode.check, (w) => writeCheckVersionRequest(w, { path, version }));
  }

  addWatch(path: string, mode: number): Promise<OpResult<{ err: number }>> {
    return this.call(OpCode.addWatch, (w) => writeAddWatchRequest(w, { path, mode }));
  }

  /** setWatches (101), by default with xid -8 as the Java client sends it. */
  setWatches(watches: SetWatches, options: RawSendOptions = { xid: Xid.setWatches }): Promise<OpResult<undefined>> {
    return this.call(OpCode.setWatches, (w) => writeSetWatches(w, watches), options);
  }

  /** setWatches2 (105), by default with xid -8 as the Java client sends it. */
  setWatches2(watches: SetWatches2, options: RawSendOptions = { xid: Xid.setWatches }): Promise<OpResult<undefined>> {
    return this.call(OpCode.setWatches2, (w) => writeSetWatches2(w, watches), options);
  }

  checkWatches(path: string, type: number): Promise<OpResult<undefined>> {
    return this.call(OpCode.checkWatches, (w) => writeCheckWatchesRequest(w, { path, type }));
  }

  removeWatches(path: string, type: number): Promise<OpResult<undefined>> {
    return this.call(OpCode.removeWatches, (w) => writeRemoveWatchesRequest(w, { path, type }));
  }

  whoAmI(): Promise<OpResult<{ clientInfo: ClientInfo[] }>> {
    return this.call(OpCode.whoAmI);
  }

  /** An AuthPacket with xid -4. On failure the server answers AuthFailed and closes. */
  addAuth(scheme: string, auth: Buffer | string): Promise<OpResult<undefined>> {
    return this.call(
      OpCode.auth,
      (w) => writeAuthPacket(w, { type: 0, scheme, auth: typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth }),
      { xid: Xid.auth },
    );
  }

  ping(): Promise<OpResult<undefined>> {
    return this.call(OpCode.ping, undefined, { xid: Xid.ping });
  }

  /** closeSession; waits for the reply (the server closes the socket after it). */
  close(): Promise<OpResult<undefined>> {
    return this.call(OpCode.closeSession);
  }

  /** Drops the TCP connection without closing the session. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Sends closeSession if still connected, waits for the socket to close, never throws. */
  async closeQuietly(timeoutMs = 5000): Promise<void> {
    if (!this.closed && this.sessionAccepted) {
      await this.close().catch(() => undefined);
    }
    if (!this.closed) {
      const closedInTime = await this.waitClosed(timeoutMs);
      if (!closedInTime) this.destroy();
    }
  }

  // ---------------------------------------------------------------- waiting for what arrives

  /** Resolves true once the socket closed, false after timeoutMs. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const outcome = await Promise.race([this.closedPromise.then(() => true as const), timeout]);
    clearTimeout(timer);
    return outcome;
  }

  /** Watch notifications received so far (in order), from index `from` of `received`. */
  notifications(from = 0): RawNotification[] {
    const out: RawNotification[] = [];
    for (let i = from; i < this.received.length; i++) {
      const item = this.received[i];
      if (item?.kind === 'notification') out.push(item);
    }
    return out;
  }

  /** Replies received so far, in order; with `xid`, only those (Xid.ping -2, Xid.auth -4...). */
  replies(xid?: number): RawReply[] {
    return this.received.filter((item): item is RawReply => item.kind === 'reply' && (xid === undefined || item.xid === xid));
  }

  /** Replies to pings (xid -2). */
  pingReplies(): RawReply[] {
    return this.replies(Xid.ping);
  }

  /** Replies to addauth packets (xid -4). */
  authReplies(): RawReply[] {
    return this.replies(Xid.auth);
  }

  /** Waits for a received item matching `predicate` at index >= from (default: any so far). */
  waitFor(predicate: (item: Received) => boolean, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, from = 0): Promise<Received> {
    for (let i = from; i < this.received.length; i++) {
      const item = this.received[i];
      if (item !== undefined && predicate(item)) return Promise.resolve(item);
    }
    return new Promise<Received>((resolve, reject) => {
      const waiter: EventWaiter = { predicate, from, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((w) => w !== waiter);
        reject(new RawClientError('RAW_CLIENT_TIMEOUT', `nothing matching arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.eventWaiters.push(waiter);
    });
  }

  // ---------------------------------------------------------------- receiving

  private onData(chunk: Buffer): void {
    this.splitter.push(chunk);
    try {
      while (this.splitter.next()) {
        this.reader.reset(this.splitter.frameBuf, this.splitter.frameStart, this.splitter.frameEnd);
        this.onFrame();
      }
    } catch (error) {
      this.protocolError = (error as Error).message;
      this.socket.destroy();
    }
  }

  private onFrame(): void {
    const r = this.reader;
    if (this.connectResponse === undefined) {
      const response = readConnectResponse(r);
      this.connectResponse = response;
      this.record({ kind: 'connect', response });
      this.connectWaiter?.resolve();
      return;
    }
    const header = readReplyHeader(r);
    const body = Buffer.from(r.buf.subarray(r.pos, r.end));
    if (header.xid === Xid.notification) {
      const event = readWatcherEvent(r);
      this.record({ kind: 'notification', zxid: header.zxid, err: header.err, event });
      return;
    }
    const queue = this.byXid.get(header.xid);
    const waiter = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.byXid.delete(header.xid);
    const reply: RawReply = { kind: 'reply', xid: header.xid, zxid: header.zxid, err: header.err, opcode: waiter?.opcode ?? -1, body };
    this.record(reply);
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(reply);
    }
  }

  private record(item: Received): void {
    this.received.push(item);
    const index = this.received.length - 1;
    if (this.eventWaiters.length === 0) return;
    const still: EventWaiter[] = [];
    for (const waiter of this.eventWaiters) {
      if (index >= waiter.from && waiter.predicate(item)) {
        clearTimeout(waiter.timer);
        waiter.resolve(item);
      } else {
        still.push(waiter);
      }
    }
    this.eventWaiters = still;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.record({ kind: 'closed' });
    const why = this.protocolError === undefined ? 'connection closed' : `protocol error: ${this.protocolError}`;
    this.connectWaiter?.reject(new RawClientError('RAW_CLIENT_CLOSED', `${why} before a ConnectResponse`));
    for (const [xid, waiters] of this.byXid) {
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new RawClientError('RAW_CLIENT_CLOSED', `${why} before the reply to ${opName(waiter.opcode)} (xid ${xid})`));
      }
    }
    this.byXid.clear();
    this.resolveClosed();
  }

  private dropWaiter(xid: number, waiter: Waiter): void {
    const queue = this.byXid.get(xid);
    if (!queue) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.byXid.delete(xid);
  }
}

export interface CreateOptions {
  acl?: readonly ACL[];
  flags?: number;
}

function toData(data: Buffer | string | null): Buffer | null {
  if (data === null) return null;
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** A reply with its body decoded for its opcode; a body that does not decode throws. */
export function toResult<T = DecodedResponse>(reply: RawReply): OpResult<T> {
  const outcome = decodeResponse(reply.opcode, reply.body);
  if (outcome.error !== undefined) {
    throw new RawClientError(
      'RAW_CLIENT_PROTOCOL',
      `reply to ${opName(reply.opcode)} (xid ${reply.xid}, err ${errName(reply.err)}) did not decode: ${outcome.error}; ` +
        `body ${reply.body.toString('hex')}`,
    );
  }
  return { err: reply.err, zxid: reply.zxid, response: outcome.response as T | undefined, reply };
}
