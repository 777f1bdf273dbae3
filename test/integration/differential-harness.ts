// Differential testing: the same scripted scenario runs against Debian's ZooKeeper 3.8 and tszk,
// each producing a normalised transcript; a test passes when the transcripts are deep-equal.
//
// A transcript is a list of lines:
//   { at: 'A.create(/x, "d")', err: 'ok', zxid: 3, resp: {...} }   a reply to a scripted request
//   { connect: 'A', ... }                                          a ConnectResponse (or refusal)
//   { events: { A: ['nodeCreated /x'], B: [...] }, closed: ['C'] } what arrived in between
//   { note: 'label', value }                                       a value the script computed
// Normalisation keeps everything that must match and rewrites only what legitimately differs:
// - zxids (reply headers, Stat czxid/mzxid/pzxid): relative to the zxid of the scenario's marker
//   write (the create of its root node), so "the 3rd txn after the marker" compares equal; zxids
//   <= 0 stay as they are ('z0', 'z-1').
// - ctime/mtime: 'time' when they look like a wall-clock time, the raw value otherwise (0 for the
//   system nodes).
// - session ids (ConnectResponse, ephemeralOwner): the name the script gave the session.
// - session passwords: only their length, and whether a reconnect got the same one back.
// - children and getEphemerals lists: sorted (their order is a Java HashSet's).
// After every scripted request the harness sends a read (a barrier) on every open session and
// records the watch notifications each session got before the barrier's reply, so events are
// attributed to the request that caused them, whatever the timing.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ACL, ClientInfo, Stat } from '../../src/proto/data.js';
import { errName } from '../../src/proto/error-codes.js';
import { EventType, KeeperState } from '../../src/proto/events.js';
import type { MultiOp, MultiResult } from '../../src/proto/multi.js';
import { OpCode } from '../../src/proto/opcodes.js';
import { writeExistsRequest } from '../../src/proto/records.js';
import { decodeResponse, RawClient, RawClientError, type OpResult, type RawConnectOptions, type RawReply } from '../support/raw-client.js';
import { describeWithReference } from '../support/reference.js';
import { startReferenceServer, startTszkServer, type TestServer } from '../support/zk-server.js';

/** A request that gets no reply within this long is recorded as a timeout. */
const STEP_TIMEOUT_MS = 4000;
const DRIVER_PING_INTERVAL_MS = 5000;

export type Line = Record<string, unknown>;

/** One server under test plus the long-lived session that writes each scenario's marker. */
export interface DiffTarget {
  server: TestServer;
  driver: RawClient;
  stop(): Promise<void>;
}

export async function openTarget(server: TestServer): Promise<DiffTarget> {
  const driver = await RawClient.connect({ host: server.host, port: server.clientPort, timeOutMs: 40_000 });
  if (!driver.sessionAccepted) throw new Error(`${server.kind}: driver session refused`);
  const timer = setInterval(() => {
    if (!driver.closed) void driver.ping().catch(() => undefined);
  }, DRIVER_PING_INTERVAL_MS);
  timer.unref();
  return {
    server,
    driver,
    async stop(): Promise<void> {
      clearInterval(timer);
      await driver.closeQuietly(2000);
      await server.stop();
    },
  };
}

// ---------------------------------------------------------------- normalisation

const EVENT_NAMES = new Map<number, string>(Object.entries(EventType).map(([name, code]) => [code, name]));
const STATE_NAMES = new Map<number, string>(Object.entries(KeeperState).map(([name, code]) => [code, name]));

function isStat(value: unknown): value is Stat {
  return typeof value === 'object' && value !== null && 'czxid' in value && 'pzxid' in value && 'ephemeralOwner' in value;
}

function isPrintable(text: string): boolean {
  return !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text);
}

/** Data longer than this is shown by length and digest. */
const DATA_SHOWN_BYTES = 256;

export function dataText(data: Buffer | null | undefined): string | null {
  if (data === null || data === undefined) return null;
  if (data.length > DATA_SHOWN_BYTES) return `${data.length} bytes, sha1 ${createHash('sha1').update(data).digest('hex')}`;
  const text = data.toString('utf8');
  return isPrintable(text) && Buffer.from(text, 'utf8').equals(data) ? text : `hex:${data.toString('hex')}`;
}

const HOUR_MS = 3_600_000;

export class Normaliser {
  base = 0n;
  /**
   * Sort ACL lists in replies. For lists built by expanding an "auth" ACL the order is that of
   * ZooKeeper's per-connection authInfo set (a ConcurrentHashMap's), not something to match.
   */
  sortAcls = false;
  readonly sessionNames = new Map<bigint, string>();

  zxid(z: bigint): number | string {
    if (z <= 0n) return `z${z}`;
    return Number(z - this.base);
  }

  time(t: number): number | string {
    if (t === 0) return 0;
    return Math.abs(t - Date.now()) < HOUR_MS ? 'time' : `badtime:${t}`;
  }

  owner(owner: bigint): number | string {
    if (owner === 0n) return 0;
    const name = this.sessionNames.get(owner);
    if (name !== undefined) return `session:${name}`;
    return `0x${BigInt.asUintN(64, owner).toString(16)}`;
  }

  stat(s: Stat): Record<string, unknown> {
    return {
      czxid: this.zxid(s.czxid),
      mzxid: this.zxid(s.mzxid),
      pzxid: this.zxid(s.pzxid),
      ctime: this.time(s.ctime),
      mtime: this.time(s.mtime),
      version: s.version,
      cversion: s.cversion,
      aversion: s.aversion,
      ephemeralOwner: this.owner(s.ephemeralOwner),
      dataLength: s.dataLength,
      numChildren: s.numChildren,
    };
  }

  acl(a: ACL): string {
    return `${a.id.scheme}:${a.id.id}=${a.perms}`;
  }

  multiResult(res: MultiResult): unknown {
    switch (res.type) {
      case OpCode.error:
        return `error ${errName(res.err)}`;
      case OpCode.create:
        return { create: res.path };
      case OpCode.create2:
        return { create2: res.path, stat: this.stat(res.stat) };
      case OpCode.delete:
        return 'delete';
      case OpCode.check:
        return 'check';
      case OpCode.setData:
        return { setData: this.stat(res.stat) };
      case OpCode.getData:
        return { getData: dataText(res.data), stat: this.stat(res.stat) };
      case OpCode.getChildren:
        return { getChildren: [...res.children].sort() };
    }
  }

  /** A decoded reply record, field by field. */
  response(value: unknown): unknown {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'stat' && isStat(field)) out[key] = this.stat(field);
      else if (key === 'data') out[key] = dataText(field as Buffer | null);
      else if (key === 'children' || key === 'ephemerals') out[key] = [...(field as string[])].sort();
      else if (key === 'acl') {
        const list = (field as ACL[]).map((a) => this.acl(a));
        out[key] = this.sortAcls ? list.sort() : list;
      } else if (key === 'clientInfo') {
        // ZooKeeper keeps a connection's ids in a hash set: their order means nothing, duplicates do.
        out[key] = (field as ClientInfo[]).map((c) => `${c.authScheme}:${c.user}`).sort();
      }
      else if (key === 'results') out[key] = (field as MultiResult[]).map((r) => this.multiResult(r));
      else if (typeof field === 'bigint') out[key] = field.toString();
      else out[key] = field;
    }
    return out;
  }

  reply(reply: RawReply): Line {
    const line: Line = { err: errName(reply.err), zxid: this.zxid(reply.zxid) };
    if (reply.err !== 0 && reply.opcode !== OpCode.multi && reply.opcode !== OpCode.multiRead) {
      // Error replies carry no record in ZooKeeper; show any bytes that came anyway.
      if (reply.body.length > 0) line['body'] = reply.body.toString('hex');
      return line;
    }
    const outcome = decodeResponse(reply.opcode, reply.body);
    if (outcome.error !== undefined) {
      line['undecodable'] = reply.body.toString('hex');
      return line;
    }
    if (outcome.response !== undefined) line['resp'] = this.response(outcome.response);
    if (outcome.trailing.length > 0) line['trailing'] = outcome.trailing.toString('hex');
    return line;
  }

  event(zxid: bigint, type: number, state: number, path: string): string {
    let text = `${EVENT_NAMES.get(type) ?? `type${type}`} ${path}`;
    if (state !== KeeperState.syncConnected) text += ` state=${STATE_NAMES.get(state) ?? state}`;
    if (zxid !== -1n) text += ` zxid=${this.zxid(zxid)}`;
    return text;
  }
}

// ---------------------------------------------------------------- scenarios

interface SessionEntry {
  name: string;
  client: RawClient;
  /** Index into client.received up to which everything has been looked at. */
  cursor: number;
  /** Xids of barrier requests, whose replies are not part of the transcript. */
  barrierXids: Set<number>;
  reportedClosed: boolean;
  /** Set once a closeSession for this session got a reply. */
  sessionClosed: boolean;
  /** The session id and password it was granted, to reconnect or to close it at the end. */
  sessionId: bigint;
  passwd: Buffer;
}

export interface OpenOptions extends Omit<RawConnectOptions, 'host' | 'port'> {
  /** Reconnect to the session of this earlier session name (its id and password). */
  resume?: string;
  /** With resume: send this password instead of the right one. */
  wrongPasswd?: boolean;
}

export type Recorded = RawClient;

const RECORDED_METHODS: ReadonlySet<string> = new Set([
  'create', 'create2', 'createContainer', 'createTTL', 'delete', 'exists', 'getData', 'setData', 'getACL', 'setACL',
  'getChildren', 'getChildren2', 'getAllChildrenNumber', 'getEphemerals', 'sync', 'multi', 'multiRead', 'check',
  'addWatch', 'setWatches', 'setWatches2', 'checkWatches', 'removeWatches', 'whoAmI', 'addAuth', 'ping', 'close', 'call',
]);

function short(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? JSON.stringify(`${value.slice(0, 40)}...`) : JSON.stringify(value);
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (typeof value === 'function') return 'fn';
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/** What a scripted request resolves to when it got no reply (closed or timed out). */
export const NO_REPLY = 1;

export class Scenario {
  readonly lines: Line[] = [];
  readonly norm = new Normaliser();
  private readonly sessions: SessionEntry[] = [];
  /** While > 0, requests are not followed by a barrier (see batch()). */
  private batching = 0;
  private clientErrors = 0;

  constructor(
    readonly target: DiffTarget,
    readonly root: string,
  ) {}

  get server(): TestServer {
    return this.target.server;
  }

  /** Creates the scenario's root node with the driver session: the zxid marker. */
  async begin(): Promise<void> {
    const marker = await this.target.driver.create(this.root, 'marker');
    if (marker.err !== 0) throw new Error(`${this.server.kind}: marker create ${this.root} failed: ${errName(marker.err)}`);
    this.norm.base = marker.zxid;
  }

  /**
   * Opens a session (or reconnects one: resume) and records the ConnectResponse; returns a client
   * whose request methods record their replies. A refused connection (closed before any
   * ConnectResponse) is recorded too.
   */
  async open(name: string, options: OpenOptions = {}): Promise<Recorded> {
    const connectOptions: RawConnectOptions = { host: this.server.host, port: this.server.clientPort, timeOutMs: 30_000, ...options };
    let previous: SessionEntry | undefined;
    if (options.resume !== undefined) {
      previous = this.sessions.find((s) => s.name === options.resume);
      if (previous === undefined) throw new Error(`no session named ${options.resume}`);
      connectOptions.sessionId = previous.sessionId;
      connectOptions.passwd = options.wrongPasswd ? Buffer.alloc(16, 7) : previous.passwd;
    }
    const client = await RawClient.open(connectOptions);
    const line: Line = { connect: name };
    try {
      const response = await client.handshake({ ...connectOptions, connectTimeoutMs: STEP_TIMEOUT_MS });
      if (response.sessionId !== 0n && !this.norm.sessionNames.has(response.sessionId)) {
        this.norm.sessionNames.set(response.sessionId, name);
      }
      line['sessionId'] = response.sessionId === 0n ? 0 : (this.norm.sessionNames.get(response.sessionId) ?? 'unknown');
      line['timeOut'] = response.timeOut;
      line['protocolVersion'] = response.protocolVersion;
      line['passwdLength'] = response.passwd?.length ?? -1;
      if (previous !== undefined && response.sessionId !== 0n) line['samePasswd'] = response.passwd?.equals(previous.passwd) ?? false;
      if (response.sessionId === 0n) line['passwd'] = response.passwd?.toString('hex') ?? null;
      line['readOnly'] = response.readOnly;
      line['readOnlyPresent'] = response.readOnlyPresent;
    } catch (error) {
      if (!(error instanceof RawClientError)) throw error;
      line['refused'] = error.code === 'RAW_CLIENT_CLOSED' ? 'closed without ConnectResponse' : 'no ConnectResponse (timeout)';
    }
    this.lines.push(line);
    const entry: SessionEntry = {
      name,
      client,
      cursor: client.received.length,
      barrierXids: new Set(),
      reportedClosed: false,
      sessionClosed: false,
      sessionId: client.sessionAccepted ? client.sessionId : (previous?.sessionId ?? 0n),
      passwd: client.sessionAccepted ? client.passwd : (previous?.passwd ?? Buffer.alloc(16)),
    };
    // A later entry for the same session replaces the earlier one when closing at the end.
    this.sessions.push(entry);
    if (!client.sessionAccepted && !client.closed) {
      // A refused session: ZooKeeper closes the socket after the ConnectResponse.
      const closed = await client.waitClosed(STEP_TIMEOUT_MS);
      line['thenClosed'] = closed;
      entry.reportedClosed = true;
      if (!closed) client.destroy();
    } else if (!client.sessionAccepted) {
      line['thenClosed'] = true;
      entry.reportedClosed = true;
    }
    await this.flush();
    return this.recorded(entry);
  }

  /** The raw client of a session, for unrecorded use (sending raw bytes, waiting). */
  raw(name: string): RawClient {
    const entry = this.latest(name);
    return entry.client;
  }

  private latest(name: string): SessionEntry {
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const entry = this.sessions[i];
      if (entry?.name === name) return entry;
    }
    throw new Error(`no session named ${name}`);
  }

  private recorded(entry: SessionEntry): Recorded {
    return new Proxy(entry.client, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string' || !RECORDED_METHODS.has(prop) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const label = `${entry.name}.${prop}(${args.map(short).join(', ')})`;
          const sent = this.step(label, () => (value as (...a: unknown[]) => Promise<OpResult>).apply(target, args));
          if (prop !== 'close') return sent;
          return sent.then((result) => {
            if (result.err === 0) for (const s of this.sessions) if (s.sessionId === entry.sessionId) s.sessionClosed = true;
            return result;
          });
        };
      },
    });
  }

  /** Runs one request, records its reply, then (unless batching) the events it caused. */
  async step<T>(label: string, run: () => Promise<OpResult<T>>): Promise<OpResult<T>> {
    let result: OpResult<T>;
    try {
      result = await run();
      this.lines.push({ at: label, ...this.norm.reply(result.reply) });
    } catch (error) {
      if (!(error instanceof RawClientError)) throw error;
      const outcome = error.code === 'RAW_CLIENT_CLOSED' ? 'connection closed, no reply' : error.code === 'RAW_CLIENT_TIMEOUT' ? 'no reply (timeout)' : error.code;
      if (error.code !== 'RAW_CLIENT_CLOSED') this.clientErrors += 1;
      this.lines.push({ at: label, noReply: outcome });
      result = {
        err: NO_REPLY,
        zxid: 0n,
        response: undefined,
        reply: { kind: 'reply', xid: 0, zxid: 0n, err: NO_REPLY, opcode: -1, body: Buffer.alloc(0) },
      };
    }
    if (this.batching === 0) await this.flush();
    return result;
  }

  /**
   * Runs `body` without barriers between its requests (so they can be pipelined), then records
   * the events of the whole batch; with sortEvents, each session's events of the batch sorted
   * (for one txn that fires several events in an order ZooKeeper leaves to a HashSet).
   */
  async batch<T>(body: () => Promise<T>, options: { sortEvents?: boolean } = {}): Promise<T> {
    this.batching += 1;
    let out: T;
    try {
      out = await body();
    } finally {
      this.batching -= 1;
    }
    await this.flush(options);
    return out;
  }

  note(label: string, value: unknown): void {
    this.lines.push({ note: label, value });
  }

  /** Barrier on every open session, then one line with what each received meanwhile. */
  async flush(options: { sortEvents?: boolean } = {}): Promise<void> {
    const live = this.sessions.filter((s) => !s.client.closed && s.client.sessionAccepted);
    await Promise.all(live.map((s) => this.barrier(s)));
    const events: Record<string, string[]> = {};
    const closed: string[] = [];
    const stray: Record<string, string[]> = {};
    for (const s of this.sessions) {
      const received = s.client.received;
      for (; s.cursor < received.length; s.cursor++) {
        const item = received[s.cursor];
        if (item === undefined) continue;
        if (item.kind === 'notification') {
          (events[s.name] ??= []).push(this.norm.event(item.zxid, item.event.type, item.event.state, item.event.path));
        } else if (item.kind === 'closed') {
          if (!s.reportedClosed) closed.push(s.name);
          s.reportedClosed = true;
        } else if (item.kind === 'reply' && item.opcode === -1 && !s.barrierXids.has(item.xid)) {
          (stray[s.name] ??= []).push(`xid ${item.xid} err ${errName(item.err)} zxid ${this.norm.zxid(item.zxid)}`);
        }
      }
    }
    if (options.sortEvents) for (const list of Object.values(events)) list.sort();
    const line: Line = {};
    if (Object.keys(events).length > 0) line['events'] = events;
    if (closed.length > 0) line['closed'] = closed;
    if (Object.keys(stray).length > 0) line['unmatchedReplies'] = stray;
    if (Object.keys(line).length > 0) this.lines.push(line);
  }

  private async barrier(s: SessionEntry): Promise<void> {
    const xid = s.client.peekXid();
    s.barrierXids.add(xid);
    try {
      await s.client.send(OpCode.exists, (w) => writeExistsRequest(w, { path: '/', watch: false }), { timeoutMs: STEP_TIMEOUT_MS });
    } catch (error) {
      if (!(error instanceof RawClientError)) throw error;
      if (error.code === 'RAW_CLIENT_TIMEOUT') {
        this.clientErrors += 1;
        this.lines.push({ barrier: s.name, noReply: 'timeout' });
      }
    }
  }

  /** Waits (without recording) until `predicate` holds, polling with the driver session. */
  async until(what: string, predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await predicate()) return;
      if (Date.now() > deadline) {
        this.lines.push({ waitedFor: what, outcome: 'timeout' });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Unrecorded request on the driver session (for polling). */
  get driver(): RawClient {
    return this.target.driver;
  }

  /**
   * Ends the scenario: every session still connected is closed (recorded, since closeSession is
   * a txn); a session whose connection the server dropped is reconnected and closed, so no
   * session is left to expire during a later scenario.
   */
  async end(): Promise<void> {
    const done = new Set<bigint>();
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i];
      if (s === undefined || s.sessionId === 0n || s.sessionClosed || done.has(s.sessionId)) continue;
      done.add(s.sessionId);
      if (!s.client.closed && s.client.sessionAccepted) {
        await this.recorded(s).close();
        continue;
      }
      // Reconnect quietly; record only whether the session was still there and its close.
      const again = await RawClient.connect({
        host: this.server.host,
        port: this.server.clientPort,
        sessionId: s.sessionId,
        passwd: s.passwd,
        timeOutMs: 30_000,
        connectTimeoutMs: STEP_TIMEOUT_MS,
      }).catch(() => undefined);
      if (again === undefined || !again.sessionAccepted) {
        this.lines.push({ endSession: s.name, alive: false });
        again?.destroy();
        continue;
      }
      const close = await again.close().catch(() => undefined);
      this.lines.push({ endSession: s.name, alive: true, close: close === undefined ? 'no reply' : this.norm.reply(close.reply) });
      await again.waitClosed(2000);
      again.destroy();
    }
    for (const s of this.sessions) {
      if (!s.client.closed) {
        const closed = await s.client.waitClosed(2000);
        if (!closed) s.client.destroy();
      }
    }
  }

  /** Harness-level trouble (requests that timed out): a reference run must have none. */
  get troubles(): number {
    return this.clientErrors;
  }

  /** Destroys every socket; for cleanup after a failure. */
  abort(): void {
    for (const s of this.sessions) s.client.destroy();
  }
}

const WORLD_ALL: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

function bytes(data: Buffer | string | null): Buffer | null {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** MultiOp builders for multi and multiRead. */
export const ops = {
  create: (path: string, data: Buffer | string | null = null, flags = 0, acl: ACL[] = WORLD_ALL): MultiOp => ({
    type: OpCode.create,
    request: { path, data: bytes(data), acl, flags },
  }),
  create2: (path: string, data: Buffer | string | null = null, flags = 0, acl: ACL[] = WORLD_ALL): MultiOp => ({
    type: OpCode.create2,
    request: { path, data: bytes(data), acl, flags },
  }),
  createContainer: (path: string, data: Buffer | string | null = null, flags = 4): MultiOp => ({
    type: OpCode.createContainer,
    request: { path, data: bytes(data), acl: WORLD_ALL, flags },
  }),
  createTTL: (path: string, data: Buffer | string | null, ttl: number, flags = 5): MultiOp => ({
    type: OpCode.createTTL,
    request: { path, data: bytes(data), acl: WORLD_ALL, flags, ttl },
  }),
  delete: (path: string, version = -1): MultiOp => ({ type: OpCode.delete, request: { path, version } }),
  setData: (path: string, data: Buffer | string | null, version = -1): MultiOp => ({
    type: OpCode.setData,
    request: { path, data: bytes(data), version },
  }),
  check: (path: string, version: number): MultiOp => ({ type: OpCode.check, request: { path, version } }),
  getData: (path: string): MultiOp => ({ type: OpCode.getData, request: { path, watch: false } }),
  getChildren: (path: string): MultiOp => ({ type: OpCode.getChildren, request: { path, watch: false } }),
};

export type ScenarioBody = (h: Scenario) => Promise<void>;

/** Runs one scenario on one target and returns its transcript. */
export async function runScenario(target: DiffTarget, root: string, body: ScenarioBody): Promise<{ lines: Line[]; troubles: number }> {
  const h = new Scenario(target, root);
  try {
    await h.begin();
    await body(h);
    await h.end();
  } catch (error) {
    h.abort();
    h.lines.push({ scenarioError: (error as Error).message });
  }
  return { lines: h.lines, troubles: h.troubles };
}

/**
 * Runs a scenario on both targets at once and asserts the transcripts are equal. The reference
 * transcript must be clean (no timeouts): otherwise the scenario itself is wrong.
 */
export async function compareScenario(reference: DiffTarget, tszk: DiffTarget, root: string, body: ScenarioBody): Promise<Line[]> {
  const [expected, actual] = await Promise.all([runScenario(reference, root, body), runScenario(tszk, root, body)]);
  if (process.env['TSZK_DIFF_PRINT'] === '1') {
    console.log(`--- ${root} reference\n${expected.lines.map((l) => JSON.stringify(l)).join('\n')}`);
    console.log(`--- ${root} tszk\n${actual.lines.map((l) => JSON.stringify(l)).join('\n')}`);
  }
  expect(expected.troubles, `reference run of ${root} had requests without replies:\n${JSON.stringify(expected.lines, null, 1)}`).toBe(0);
  expect(expected.lines.some((l) => 'scenarioError' in l), `reference run of ${root} threw`).toBe(false);
  expect(actual.lines).toEqual(expected.lines);
  return expected.lines;
}

/** A digest ACL id as the server stores it: "user:base64(sha1(user:password))". */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export interface PairOptions {
  /** zoo.cfg lines for both servers. */
  extraConfig?: Record<string, string>;
  /**
   * -D system properties for the reference JVM only, for settings ZooKeeper reads only as
   * un-prefixed system properties (znode.container.checkIntervalMs). They reach the JVM through
   * JAVA_TOOL_OPTIONS, set just for the spawn.
   */
  referenceSystemProps?: Record<string, string>;
}

async function startReferenceWith(options: PairOptions): Promise<TestServer> {
  const props = Object.entries(options.referenceSystemProps ?? {});
  if (props.length === 0) return startReferenceServer({ extraConfig: options.extraConfig ?? {} });
  const saved = process.env['JAVA_TOOL_OPTIONS'];
  process.env['JAVA_TOOL_OPTIONS'] = [saved ?? '', ...props.map(([k, v]) => `-D${k}=${v}`)].join(' ').trim();
  try {
    return await startReferenceServer({ extraConfig: options.extraConfig ?? {} });
  } finally {
    if (saved === undefined) delete process.env['JAVA_TOOL_OPTIONS'];
    else process.env['JAVA_TOOL_OPTIONS'] = saved;
  }
}

export interface ScenarioOptions {
  /** A known tszk bug: the test is expected to fail until the server is fixed. */
  fails?: boolean;
  timeoutMs?: number;
}

export interface DifferentialSuite {
  /** One test: `body` runs on both servers under root node `root`; transcripts must be equal. */
  scenario(title: string, root: string, body: ScenarioBody, options?: ScenarioOptions): void;
}

/**
 * A describe block with one reference server and one tszk server, both started before its tests
 * from the same zoo.cfg settings and stopped after them; skipped (or failing under
 * TSZK_REQUIRE_REFERENCE=1) when the Java reference is not installed.
 */
export function describeDifferential(name: string, options: PairOptions, define: (suite: DifferentialSuite) => void): void {
  describeWithReference(name, () => {
    let reference: DiffTarget | undefined;
    let tszk: DiffTarget | undefined;
    beforeAll(async () => {
      const started = await Promise.allSettled([
        startReferenceWith(options),
        startTszkServer({ extraConfig: options.extraConfig ?? {} }),
      ]);
      const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure !== undefined) {
        await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
        throw failure.reason;
      }
      const [ref, ts] = started as [PromiseFulfilledResult<TestServer>, PromiseFulfilledResult<TestServer>];
      reference = await openTarget(ref.value);
      tszk = await openTarget(ts.value);
    });
    afterAll(async () => {
      await Promise.all([reference?.stop(), tszk?.stop()]);
    });
    define({
      scenario(title, root, body, scenarioOptions = {}) {
        const run = scenarioOptions.fails ? it.fails : it;
        run(
          title,
          async () => {
            if (reference === undefined || tszk === undefined) throw new Error('servers did not start');
            await compareScenario(reference, tszk, root, body);
          },
          scenarioOptions.timeoutMs ?? 30_000,
        );
      },
    });
  });
}
