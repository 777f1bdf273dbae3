// Worker thread of the load generator: runs some of the sessions, each a TCP connection speaking
// the ZooKeeper client protocol (ConnectRequest, then length-prefixed RequestHeader+record frames;
// replies are ReplyHeader+record). Each session keeps up to `depth` requests in flight; replies of
// one session come back in order (ZooKeeper answers a session FIFO), so the in-flight requests are
// a ring queue and a reply pairs with its head. Only the 16-byte ReplyHeader of a reply is read.
//
// A session whose connection drops fails its in-flight requests as connectionLoss, then tries the
// next server of the list: with its session id and password (reconnect=resume, what the Java
// client does) or as a new session (reconnect=fresh). It sends lastZxidSeen, so a server that is
// behind what the session saw refuses it, as ZooKeeper does. Attempts back off 0, 20, 40 ... 100 ms
// (the Java client waits up to a second: this one keeps the failover figure close to the servers').
//
// Watch phase: the session with global index 0 writes one node; every other session watches it
// with getData(watch=true) and re-arms after each notification. The writer starts round k+1 only
// when every watcher has re-armed (or after a timeout), so a notification's delivery latency is its
// arrival minus the send time of the round's write, shared through a SharedArrayBuffer.
import { writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { FrameSplitter } from '../../src/jute/framing.js';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { writeACLVector } from '../../src/proto/data.js';
import { Err, errName } from '../../src/proto/error-codes.js';
import { OpCode, Xid } from '../../src/proto/opcodes.js';
import { readConnectResponse, writeConnectRequest } from '../../src/proto/records.js';
import { Histogram } from './histogram.js';
import {
  wallNow,
  type FromWorker,
  type PhaseEvents,
  type PhaseSpec,
  type ReconnectCounts,
  type StormSpec,
  type ToWorker,
  type WorkerInit,
  type WorkerPhaseReport,
} from './load-protocol.js';

const init = workerData as WorkerInit & { shared: SharedArrayBuffer };
const port = parentPort;
if (port === null) throw new Error('load-worker.ts runs as a worker thread');

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const WATCHED = `${init.prefix}/watched`;
/** Shared across workers: Int32 [0] watchers armed this round, [1] rounds started, [2] watchers in all
 * (set by the main thread); Float64 at byte 16: send wall of the round's write. */
const sharedInt = new Int32Array(init.shared, 0, 4);
const sharedWall = new Float64Array(init.shared, 16, 1);

// Kinds of in-flight requests (what a reply is recorded as).
const K_CREATE = 1;
const K_SET = 2;
const K_GET = 3;
const K_EXISTS = 4;
const K_DELETE = 5;
const K_CONTROL = 6;
const K_WATCH_ARM = 7;
const K_WATCH_WRITE = 8;
const K_CLOSE = 9;
const KIND_NAMES = ['', 'create', 'setData', 'getData', 'exists', 'delete', 'control', 'watchArm', 'setData', 'close'];

const enum State {
  Down,
  Connecting,
  Up,
  Closing,
  Closed,
}

// ---------------------------------------------------------------- phase state (one phase at a time)

let phase: PhaseSpec | null = null;
/** waiting: before startWall; issuing: in the window; draining: window over, replies outstanding. */
let stage: 'idle' | 'waiting' | 'issuing' | 'draining' = 'idle';
let issuing = false;
let windowStart = 0;
let windowEnd = 0;
let data = Buffer.alloc(init.dataBytes, 0x61);
const hists = new Map<string, Histogram>();
let errors = new Map<number, number>();
let windowOk = 0;
let firstDoneWall = NaN;
let lastDoneWall = NaN;
let connLosses = 0;
let reconnects: ReconnectCounts = { resumed: 0, fresh: 0, expired: 0, failedAttempts: 0 };
let notifications = 0;
let events: EventLog | null = null;
let drainTimer: NodeJS.Timeout | null = null;
let phaseFinished = true;
/** Socket reads (data events) and writes during the phase: how well replies and requests batch. */
let socketReads = 0;
let socketWrites = 0;
/** A session is topped up only once this many slots are free (fewer, larger writes under load). */
const REFILL_BATCH = Math.max(1, Math.min(Number(process.env['TSZK_BENCH_REFILL_BATCH'] ?? 1), Math.floor(init.depth / 4)));

class GrowableF64 {
  buf = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  take(): Float64Array {
    return this.buf.slice(0, this.n);
  }
}

class EventLog {
  okSent = new GrowableF64();
  okDone = new GrowableF64();
  errDone = new GrowableF64();
  lossWall = new GrowableF64();
  reconnectWall = new GrowableF64();
  take(): PhaseEvents {
    return {
      okSent: this.okSent.take(),
      okDone: this.okDone.take(),
      errDone: this.errDone.take(),
      lossWall: this.lossWall.take(),
      reconnectWall: this.reconnectWall.take(),
    };
  }
}

function hist(name: string): Histogram {
  let h = hists.get(name);
  if (h === undefined) {
    h = new Histogram();
    hists.set(name, h);
  }
  return h;
}

function countError(code: number, n = 1): void {
  errors.set(code, (errors.get(code) ?? 0) + n);
}

// ---------------------------------------------------------------- sessions

type ControlCallback = (err: number) => void;

class Session {
  readonly index: number;
  serverIndex: number;
  state = State.Down;
  socket: Socket | null = null;
  sessionId = 0n;
  passwd: Buffer = Buffer.alloc(16);
  timeOutMs = init.sessionTimeoutMs;
  /** Highest zxid seen in a reply, as a double (exact below 2^53: epochs stay small). */
  lastZxid = 0;
  xid = 0;
  // In-flight ring: send time, kind, xid.
  readonly cap: number;
  readonly sentPerf: Float64Array;
  readonly sentWall: Float64Array;
  readonly kinds: Uint8Array;
  readonly xids: Int32Array;
  head = 0;
  count = 0;
  /** Live keys are [lo, hi). */
  lo = 0;
  hi = 0;
  issuedThisPhase = 0;
  exhausted = false;
  attempts = 0;
  everConnected = false;
  lastSendPerf = 0;
  lastRecvPerf = 0;
  connectTimer: NodeJS.Timeout | null = null;
  readonly writer = new JuteWriter(64 * 1024);
  readonly prefix: string;
  readonly controls = new Map<number, ControlCallback>();
  /** Watch phase: this watcher's getData(watch) is outstanding or armed. */
  watchArmed = false;
  onUp: (() => void) | null = null;

  constructor(index: number) {
    this.index = index;
    this.serverIndex = index % init.servers.length;
    this.cap = init.depth + 4; // room for control requests and closeSession beside the load
    this.sentPerf = new Float64Array(this.cap);
    this.sentWall = new Float64Array(this.cap);
    this.kinds = new Uint8Array(this.cap);
    this.xids = new Int32Array(this.cap);
    this.prefix = `${init.prefix}/s${index}-`;
  }

  push(kind: number, xid: number): void {
    const slot = (this.head + this.count) % this.cap;
    const now = performance.now();
    this.sentPerf[slot] = now;
    this.sentWall[slot] = performance.timeOrigin + now;
    this.kinds[slot] = kind;
    this.xids[slot] = xid;
    this.count++;
    this.lastSendPerf = now;
  }

  flush(): void {
    if (this.writer.pos === 0 || this.socket === null) return;
    socketWrites++;
    this.socket.write(this.writer.toBuffer());
    this.writer.reset();
  }
}

const sessions = init.sessionIndexes.map((i) => new Session(i));

// TSZK_BENCH_CLIENT_PROF=DIR: a CPU profile of each load thread, written when it closes
// (node --cpu-prof does not get one out of a worker that exits).
const profDir = process.env['TSZK_BENCH_CLIENT_PROF'];
const profiler = profDir === undefined || profDir === '' ? null : new InspectorSession();
if (profiler !== null) {
  profiler.connect();
  profiler.post('Profiler.enable', () => profiler.post('Profiler.start'));
}

function writeProfile(): Promise<void> {
  return new Promise((resolve) => {
    if (profiler === null || profDir === undefined) {
      resolve();
      return;
    }
    profiler.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(profDir, `load-worker-${process.pid}-${init.workerIndex}.cpuprofile`), JSON.stringify(result.profile));
      resolve();
    });
  });
}
const reader = new JuteReader();

function hostPort(s: string): { host: string; port: number } {
  const colon = s.lastIndexOf(':');
  return { host: s.slice(0, colon), port: Number(s.slice(colon + 1)) };
}

function openConnection(s: Session): void {
  const target = init.servers[s.serverIndex];
  if (target === undefined) throw new Error('no servers');
  const { host, port } = hostPort(target);
  s.state = State.Connecting;
  const socket = connect({ host, port, noDelay: true });
  s.socket = socket;
  const splitter = new FrameSplitter(init.maxFrameBytes);
  let handshaken = false;
  s.connectTimer = setTimeout(() => socket.destroy(new Error('connect timeout')), init.connectTimeoutMs);
  socket.on('connect', () => {
    const w = s.writer;
    w.reset();
    w.startFrame();
    const resume = init.reconnect === 'resume' && s.sessionId !== 0n;
    writeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: BigInt(s.lastZxid),
      timeOut: init.sessionTimeoutMs,
      sessionId: resume ? s.sessionId : 0n,
      passwd: resume ? s.passwd : Buffer.alloc(16),
      readOnly: false,
      readOnlyPresent: true,
    });
    w.endFrame();
    socket.write(w.toBuffer());
    w.reset();
  });
  socket.on('data', (chunk: Buffer) => {
    socketReads++;
    splitter.push(chunk);
    s.lastRecvPerf = performance.now();
    while (splitter.next()) {
      if (!handshaken) {
        handshaken = true;
        if (!onConnectResponse(s, splitter.frameBuf, splitter.frameStart, splitter.frameEnd)) return;
        continue;
      }
      onReply(s, splitter.frameBuf, splitter.frameStart, splitter.frameEnd);
    }
    refill(s);
    s.flush();
    maybeFinishPhase();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => onClose(s, socket));
}

function onConnectResponse(s: Session, buf: Buffer, start: number, end: number): boolean {
  if (s.connectTimer !== null) clearTimeout(s.connectTimer);
  s.connectTimer = null;
  const resp = readConnectResponse(reader.reset(buf, start, end));
  const hadSession = s.sessionId !== 0n;
  if (resp.timeOut <= 0 || resp.sessionId === 0n) {
    // Resume refused: the session expired. Start a new one on the same server.
    reconnects.expired++;
    s.sessionId = 0n;
    s.socket?.destroy();
    return false;
  }
  const resumed = hadSession && resp.sessionId === s.sessionId;
  if (hadSession) {
    if (resumed) reconnects.resumed++;
    else reconnects.fresh++;
    events?.reconnectWall.push(wallNow());
  }
  if (!resumed) {
    // A new session: key ranges belong to the session index, not the session id, so they stay.
    s.sessionId = resp.sessionId;
    s.passwd = Buffer.from(resp.passwd ?? Buffer.alloc(16));
  }
  s.timeOutMs = resp.timeOut;
  s.state = State.Up;
  s.attempts = 0;
  s.everConnected = true;
  s.lastRecvPerf = performance.now();
  const up = s.onUp;
  s.onUp = null;
  up?.();
  if (phase?.op === 'watch' && issuing && s.index !== 0) s.watchArmed = false;
  return true;
}

function onClose(s: Session, socket: Socket): void {
  if (s.socket !== socket) return;
  if (s.connectTimer !== null) clearTimeout(s.connectTimer);
  s.connectTimer = null;
  s.socket = null;
  const wasUp = s.state === State.Up;
  if (s.state === State.Closing || s.state === State.Closed) {
    s.state = State.Closed;
    failInFlight(s);
    return;
  }
  s.state = State.Down;
  if (wasUp) {
    connLosses++;
    events?.lossWall.push(wallNow());
  } else {
    reconnects.failedAttempts++;
  }
  failInFlight(s);
  // Next server, after a short backoff once attempts start failing.
  s.serverIndex = (s.serverIndex + 1) % init.servers.length;
  const delayMs = Math.min(100, 20 * s.attempts);
  s.attempts++;
  setTimeout(() => {
    if (s.state === State.Down) openConnection(s);
  }, delayMs);
  maybeFinishPhase();
}

function failInFlight(s: Session): void {
  const now = wallNow();
  while (s.count > 0) {
    const slot = s.head;
    const kind = s.kinds[slot]!;
    const xid = s.xids[slot]!;
    s.head = (s.head + 1) % s.cap;
    s.count--;
    if (kind === K_CONTROL || kind === K_CLOSE) {
      const cb = s.controls.get(xid);
      s.controls.delete(xid);
      cb?.(Err.connectionLoss);
      continue;
    }
    if (kind === K_WATCH_ARM) s.watchArmed = false;
    if (kind === K_WATCH_WRITE) writerReplied();
    if (phase !== null) {
      countError(Err.connectionLoss);
      events?.errDone.push(now);
    }
  }
}

/** Smallest successful reply bodies: ReplyHeader 16 bytes, Stat 68, a buffer's length 4. */
const REPLY_HEADER_BYTES = 16;
const STAT_BYTES = 68;
let shortReplies = 0;

function onReply(s: Session, buf: Buffer, start: number, end: number): void {
  const xid = buf.readInt32BE(start);
  const zxid = buf.readInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
  const err = buf.readInt32BE(start + 12);
  if (zxid > s.lastZxid) s.lastZxid = zxid;
  if (xid === Xid.ping) return;
  if (xid === Xid.notification) {
    onNotification(s);
    return;
  }
  if (s.count === 0) {
    countError(Err.runtimeInconsistency);
    return;
  }
  const slot = s.head;
  s.head = (s.head + 1) % s.cap;
  s.count--;
  const kind = s.kinds[slot]!;
  if (s.xids[slot] !== xid) countError(Err.runtimeInconsistency); // replies out of order: should never happen
  if (kind === K_CONTROL || kind === K_CLOSE) {
    const cb = s.controls.get(xid);
    s.controls.delete(xid);
    cb?.(err);
    return;
  }
  const nowPerf = performance.now();
  const nowWall = performance.timeOrigin + nowPerf;
  if (kind === K_WATCH_ARM) onWatchArmed(s, err);
  if (kind === K_WATCH_WRITE) writerReplied();
  if (err !== 0 && !(kind === K_EXISTS && err === Err.noNode)) {
    countError(err);
    events?.errDone.push(nowWall);
    return;
  }
  // A cheap check that a reply is what it claims: getData carries data and a Stat, exists a Stat.
  if (err === 0 && ((kind === K_GET && end - start < REPLY_HEADER_BYTES + 4 + STAT_BYTES) || (kind === K_EXISTS && end - start < REPLY_HEADER_BYTES + STAT_BYTES))) {
    shortReplies++;
  }
  if (events !== null) {
    events.okSent.push(s.sentWall[slot]!);
    events.okDone.push(nowWall);
  }
  if (nowWall >= windowStart && nowWall <= windowEnd) {
    const us = (nowPerf - s.sentPerf[slot]!) * 1000;
    hist(KIND_NAMES[kind]!).recordUs(us);
    if (kind !== K_WATCH_ARM) hist('all').recordUs(us);
    windowOk++;
    if (Number.isNaN(firstDoneWall)) firstDoneWall = nowWall;
    lastDoneWall = nowWall;
  }
}

// ---------------------------------------------------------------- issuing requests

function keyPath(s: Session, key: number): string {
  return s.prefix + key;
}

function randomKey(s: Session): number {
  return s.lo + Math.floor(Math.random() * (s.hi - s.lo));
}

function writeHeader(w: JuteWriter, xid: number, type: number): void {
  w.startFrame();
  w.writeInt(xid);
  w.writeInt(type);
}

function issueOne(s: Session, op: PhaseSpec['op']): boolean {
  const w = s.writer;
  const xid = ++s.xid;
  switch (op) {
    case 'create': {
      const key = s.hi++;
      writeHeader(w, xid, OpCode.create);
      w.writeString(keyPath(s, key));
      w.writeBuffer(data);
      writeACLVector(w, OPEN_ACL);
      w.writeInt(0);
      w.endFrame();
      s.push(K_CREATE, xid);
      return true;
    }
    case 'delete': {
      if (s.lo >= s.hi) break;
      const key = s.lo++;
      writeHeader(w, xid, OpCode.delete);
      w.writeString(keyPath(s, key));
      w.writeInt(-1);
      w.endFrame();
      s.push(K_DELETE, xid);
      return true;
    }
    case 'setData':
      if (s.lo >= s.hi) break;
      writeSet(s, xid, keyPath(s, randomKey(s)), K_SET);
      return true;
    case 'getData':
    case 'exists':
      if (s.lo >= s.hi) break;
      writeRead(s, xid, keyPath(s, randomKey(s)), op === 'getData' ? K_GET : K_EXISTS, false);
      return true;
    case 'mix':
      if (s.lo >= s.hi) break;
      if (Math.random() * 100 < (phase?.readPercent ?? 90)) writeRead(s, xid, keyPath(s, randomKey(s)), K_GET, false);
      else writeSet(s, xid, keyPath(s, randomKey(s)), K_SET);
      return true;
    case 'watch':
      break;
  }
  s.xid--;
  s.exhausted = true;
  return false;
}

function writeSet(s: Session, xid: number, path: string, kind: number): void {
  const w = s.writer;
  writeHeader(w, xid, OpCode.setData);
  w.writeString(path);
  w.writeBuffer(data);
  w.writeInt(-1);
  w.endFrame();
  s.push(kind, xid);
}

function writeRead(s: Session, xid: number, path: string, kind: number, watch: boolean): void {
  const w = s.writer;
  writeHeader(w, xid, kind === K_EXISTS ? OpCode.exists : OpCode.getData);
  w.writeString(path);
  w.writeBool(watch);
  w.endFrame();
  s.push(kind, xid);
}

/** Tops the session up to `depth` requests in flight while the phase issues. */
function refill(s: Session): void {
  if (!issuing || phase === null || s.state !== State.Up) return;
  if (phase.op === 'watch') {
    refillWatch(s);
    return;
  }
  if (init.depth - s.count < REFILL_BATCH) return;
  const max = phase.maxOpsPerSession;
  while (s.count < init.depth && !s.exhausted) {
    if (max > 0 && s.issuedThisPhase >= max) {
      s.exhausted = true;
      break;
    }
    if (!issueOne(s, phase.op)) break;
    s.issuedThisPhase++;
  }
}

// ---------------------------------------------------------------- watch fan-out

let watchersTotal = 0;
let writerBusy = false;
let roundTimeouts = 0;
let writerWake: (() => void) | null = null;

function writerReplied(): void {
  const wake = writerWake;
  writerWake = null;
  wake?.();
}

function refillWatch(s: Session): void {
  if (s.index === 0) {
    if (!writerBusy) void writerRound(s);
    return;
  }
  if (!s.watchArmed) {
    s.watchArmed = true;
    writeRead(s, ++s.xid, WATCHED, K_WATCH_ARM, true);
  }
}

function onWatchArmed(s: Session, err: number): void {
  if (err !== 0) {
    s.watchArmed = false;
    return;
  }
  Atomics.add(sharedInt, 0, 1);
  Atomics.notify(sharedInt, 0);
}

function onNotification(s: Session): void {
  s.watchArmed = false;
  const nowWall = wallNow();
  if (nowWall >= windowStart && nowWall <= windowEnd) {
    notifications++;
    hist('notification').recordUs((nowWall - sharedWall[0]!) * 1000);
  }
  if (issuing) {
    refillWatch(s);
    s.flush();
  }
}

/** The writer waits until every watcher is armed, then writes the watched node once. */
async function writerRound(s: Session): Promise<void> {
  writerBusy = true;
  try {
    while (issuing && s.state === State.Up) {
      const deadline = performance.now() + 2000;
      for (;;) {
        const armed = Atomics.load(sharedInt, 0);
        if (armed >= watchersTotal) break;
        const left = deadline - performance.now();
        if (left <= 0) {
          roundTimeouts++;
          break;
        }
        const r = Atomics.waitAsync(sharedInt, 0, armed, left);
        if (r.async) await r.value;
        if (!issuing) return;
      }
      Atomics.store(sharedInt, 0, 0);
      Atomics.add(sharedInt, 1, 1);
      sharedWall[0] = wallNow();
      const replied = new Promise<void>((r) => (writerWake = r));
      writeSet(s, ++s.xid, WATCHED, K_WATCH_WRITE);
      s.flush();
      // The next round starts after this write's reply (or its connection loss).
      await replied;
    }
  } finally {
    writerBusy = false;
  }
}

// ---------------------------------------------------------------- control requests

function control(s: Session, type: number, body: (w: JuteWriter) => void): Promise<number> {
  return new Promise((resolve) => {
    if (s.state !== State.Up) {
      resolve(Err.connectionLoss);
      return;
    }
    const xid = ++s.xid;
    writeHeader(s.writer, xid, type);
    body(s.writer);
    s.writer.endFrame();
    s.push(K_CONTROL, xid);
    s.controls.set(xid, resolve);
    s.flush();
  });
}

async function createPath(s: Session, path: string): Promise<number> {
  return control(s, OpCode.create, (w) => {
    w.writeString(path);
    w.writeBuffer(Buffer.alloc(0));
    writeACLVector(w, OPEN_ACL);
    w.writeInt(0);
  });
}

function waitUp(s: Session, timeoutMs: number): Promise<boolean> {
  if (s.state === State.Up) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const prev = s.onUp;
    s.onUp = () => {
      prev?.();
      clearTimeout(timer);
      resolve(true);
    };
  });
}

// ---------------------------------------------------------------- phases

function startPhase(spec: PhaseSpec): void {
  phase = spec;
  phaseFinished = false;
  hists.clear();
  errors = new Map();
  windowOk = 0;
  firstDoneWall = NaN;
  lastDoneWall = NaN;
  connLosses = 0;
  reconnects = { resumed: 0, fresh: 0, expired: 0, failedAttempts: 0 };
  notifications = 0;
  roundTimeouts = 0;
  socketReads = 0;
  socketWrites = 0;
  events = spec.recordEvents ? new EventLog() : null;
  if (spec.dataBytes > 0 && spec.dataBytes !== data.length) data = Buffer.alloc(spec.dataBytes, 0x62);
  else if (spec.dataBytes === 0 && data.length !== init.dataBytes) data = Buffer.alloc(init.dataBytes, 0x61);
  windowStart = spec.startWall + spec.warmupMs;
  windowEnd = windowStart + spec.durationMs;
  for (const s of sessions) {
    s.issuedThisPhase = 0;
    s.exhausted = false;
    s.watchArmed = false;
  }
  if (spec.op === 'watch') {
    watchersTotal = Atomics.load(sharedInt, 2);
    if (init.workerIndex === 0) {
      Atomics.store(sharedInt, 0, 0);
      Atomics.store(sharedInt, 1, 0);
    }
  }
  stage = 'waiting';
  setTimeout(() => {
    if (stage !== 'waiting') return; // aborted before it started
    stage = 'issuing';
    issuing = true;
    for (const s of sessions) {
      refill(s);
      s.flush();
    }
    setTimeout(endIssuing, Math.max(0, windowEnd - wallNow()));
    maybeFinishPhase();
  }, Math.max(0, spec.startWall - wallNow()));
}

function endIssuing(): void {
  if (stage !== 'issuing') return;
  stage = 'draining';
  issuing = false;
  // Wake a writer waiting for armed watchers.
  Atomics.notify(sharedInt, 0);
  drainTimer = setTimeout(() => {
    // Replies that never came: count them and drop those connections (they reconnect when idle).
    let unanswered = 0;
    for (const s of sessions) {
      const load = loadInFlight(s);
      if (load > 0) {
        unanswered += load;
        s.socket?.destroy();
      }
    }
    finishPhase(unanswered);
  }, phase?.drainTimeoutMs ?? 15_000);
  maybeFinishPhase();
}

function loadInFlight(s: Session): number {
  let n = 0;
  for (let i = 0; i < s.count; i++) {
    const kind = s.kinds[(s.head + i) % s.cap]!;
    if (kind !== K_CONTROL && kind !== K_CLOSE) n++;
  }
  return n;
}

function maybeFinishPhase(): void {
  if (phase === null || phaseFinished) return;
  if (stage === 'waiting') return;
  // While issuing, a phase ends early only when every session has run out of work (delete, or a
  // per-session limit); sessions that are down are not out of work.
  if (stage === 'issuing' && (phase.op === 'watch' || !sessions.every((s) => s.exhausted))) return;
  for (const s of sessions) if (loadInFlight(s) > 0) return;
  finishPhase(0);
}

function finishPhase(unanswered: number): void {
  if (phase === null || phaseFinished) return;
  phaseFinished = true;
  stage = 'idle';
  issuing = false;
  if (drainTimer !== null) clearTimeout(drainTimer);
  drainTimer = null;
  const exhausted = sessions.every((s) => s.exhausted) && wallNow() < windowEnd;
  const histWire: WorkerPhaseReport['hist'] = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, h] of hists) {
    histWire[name] = h.toWire();
    transfer.push(h.counts.buffer as ArrayBuffer);
  }
  const errorNames: Record<string, number> = {};
  for (const [code, n] of errors) errorNames[code === Err.runtimeInconsistency ? 'replyOutOfOrder' : errName(code)] = n;
  if (roundTimeouts > 0) errorNames['watchRoundTimeout'] = roundTimeouts;
  if (shortReplies > 0) errorNames['shortReply'] = shortReplies;
  shortReplies = 0;
  const ev = events?.take() ?? null;
  if (ev !== null) transfer.push(...[ev.okSent, ev.okDone, ev.errDone, ev.lossWall, ev.reconnectWall].map((a) => a.buffer as ArrayBuffer));
  const report: WorkerPhaseReport = {
    type: 'phaseDone',
    workerIndex: init.workerIndex,
    hist: histWire,
    windowOk,
    firstDoneWall,
    lastDoneWall,
    errors: errorNames,
    unanswered,
    connLosses,
    reconnects,
    exhausted,
    keys: sessions.reduce((n, s) => n + (s.hi - s.lo), 0),
    events: ev,
    notifications,
    socketReads,
    socketWrites,
  };
  phase = null;
  events = null;
  hists.clear();
  send(report, transfer);
}

// ---------------------------------------------------------------- idle upkeep: pings, dead servers

const PING_CHECK_MS = 500;
setInterval(() => {
  const now = performance.now();
  for (const s of sessions) {
    if (s.state !== State.Up || s.socket === null) continue;
    // Like the Java client: nothing heard for 2/3 of the session timeout means a dead server.
    if (now - s.lastRecvPerf > (s.timeOutMs * 2) / 3) {
      s.socket.destroy();
      continue;
    }
    if (now - s.lastSendPerf > s.timeOutMs / 3) {
      writeHeader(s.writer, Xid.ping, OpCode.ping);
      s.writer.endFrame();
      s.lastSendPerf = now;
      s.flush();
    }
  }
}, PING_CHECK_MS).unref();

// ---------------------------------------------------------------- commands

function send(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

async function connectAll(): Promise<void> {
  for (const s of sessions) openConnection(s);
  const ups = await Promise.all(sessions.map((s) => waitUp(s, 60_000)));
  const ok = ups.filter(Boolean).length;
  send({ type: 'connected', workerIndex: init.workerIndex, ok, failed: ups.length - ok, error: null });
}

async function setup(paths: string[]): Promise<void> {
  const s = sessions[0];
  const codes: number[] = [];
  if (s !== undefined) {
    for (const path of paths) {
      await waitUp(s, 30_000);
      codes.push(await createPath(s, path));
    }
  }
  send({ type: 'setupDone', workerIndex: init.workerIndex, codes });
}

// ---------------------------------------------------------------- connection storm

/** One short-lived session: connect, ConnectRequest, ConnectResponse, closeSession, its reply. */
function stormSession(target: string, timeoutMs: number, connectHist: Histogram, totalHist: Histogram): Promise<boolean> {
  return new Promise((resolve) => {
    const { host, port } = hostPort(target);
    const t0 = performance.now();
    const socket = connect({ host, port, noDelay: true });
    const splitter = new FrameSplitter(init.maxFrameBytes);
    const w = new JuteWriter(256);
    let stage = 0;
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (ok) totalHist.recordUs((performance.now() - t0) * 1000);
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => {
      w.startFrame();
      writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0n, timeOut: init.sessionTimeoutMs, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false, readOnlyPresent: true });
      w.endFrame();
      socket.write(w.toBuffer());
      w.reset();
    });
    socket.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      while (splitter.next()) {
        if (stage === 0) {
          const resp = readConnectResponse(reader.reset(splitter.frameBuf, splitter.frameStart, splitter.frameEnd));
          if (resp.timeOut <= 0 || resp.sessionId === 0n) {
            finish(false);
            return;
          }
          connectHist.recordUs((performance.now() - t0) * 1000);
          stage = 1;
          writeHeader(w, 1, OpCode.closeSession);
          w.endFrame();
          socket.write(w.toBuffer());
          w.reset();
        } else if (splitter.frameBuf.readInt32BE(splitter.frameStart) === 1) {
          finish(true);
          return;
        }
      }
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

async function storm(spec: StormSpec): Promise<void> {
  const connectHist = new Histogram();
  const totalHist = new Histogram();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < spec.count) {
      const i = next++;
      const target = init.servers[(i + init.workerIndex) % init.servers.length]!;
      if (await stormSession(target, spec.timeoutMs, connectHist, totalHist)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, lane));
  const elapsedMs = performance.now() - t0;
  send(
    { type: 'stormDone', workerIndex: init.workerIndex, connect: connectHist.toWire(), total: totalHist.toWire(), ok, failed, elapsedMs },
    [connectHist.counts.buffer as ArrayBuffer, totalHist.counts.buffer as ArrayBuffer],
  );
}

async function closeAll(): Promise<void> {
  await Promise.all(
    sessions.map(async (s) => {
      if (s.state === State.Up && s.socket !== null) {
        const socket = s.socket;
        const replied = control(s, OpCode.closeSession, () => undefined);
        s.state = State.Closing;
        await Promise.race([replied, new Promise((r) => setTimeout(r, 2000))]);
        socket.destroy();
      } else {
        s.state = State.Closed;
        s.socket?.destroy();
      }
      s.state = State.Closed;
    }),
  );
  await writeProfile();
  send({ type: 'closed', workerIndex: init.workerIndex });
  port!.close();
  process.exit(0);
}

port.on('message', (msg: ToWorker) => {
  const run = async (): Promise<void> => {
    switch (msg.type) {
      case 'connect':
        await connectAll();
        break;
      case 'setup':
        await setup(msg.paths);
        break;
      case 'phase':
        startPhase(msg.spec);
        break;
      case 'storm':
        await storm(msg.spec);
        break;
      case 'abort':
        if (stage === 'waiting' || stage === 'issuing') {
          windowEnd = Math.min(windowEnd, wallNow());
          stage = 'issuing';
          endIssuing();
        }
        break;
      case 'close':
        await closeAll();
        break;
    }
  };
  run().catch((error: unknown) => send({ type: 'fatal', workerIndex: init.workerIndex, error: String((error as Error)?.stack ?? error) }));
});
