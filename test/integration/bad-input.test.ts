// Hostile and broken clients on raw sockets, against tszk and (when installed) the reference
// ZooKeeper 3.8, whose reactions the expectations pin: what the server answers, whether it keeps or
// drops the connection, and that it goes on serving everyone else. After every case the server must
// serve a fresh client (create + getData round trip) and be back to one open connection (the `srvr`
// that counts them), so no bad connection lingers.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fourLetterWord, parseFourLetterFields } from '../support/four-letter.js';
import { describeEachTarget, type ServerTarget, type TargetKind, type TestServer } from '../support/zk-server.js';
import { waitFor } from '../support/wait.js';

// ---------------------------------------------------------------------------------------------
// Wire encoding, by hand: these tests must not trust tszk's own codec.

const OP = { create: 1, delete: 2, exists: 3, getData: 4, setData: 5, getChildren: 8, ping: 11, closeSession: -11, auth: 100 } as const;
const ERR = { ok: 0, marshallingError: -5, unimplemented: -6, badArguments: -8, noNode: -101, authFailed: -115 } as const;
/** ZooKeeper's default jute.maxbuffer: the largest frame a server accepts. */
const DEFAULT_MAX_FRAME_BYTES = 0xfffff;

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

function int64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(value);
  return b;
}

function ustring(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([int32(bytes.length), bytes]);
}

function buffer(bytes: Buffer): Buffer {
  return Buffer.concat([int32(bytes.length), bytes]);
}

const bool = (value: boolean): Buffer => Buffer.from([value ? 1 : 0]);
/** A jute string or buffer of length -1: null. */
const NULL_STRING = int32(-1);
/** world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
const OPEN_ACL = Buffer.concat([int32(1), int32(31), ustring('world'), ustring('anyone')]);

function frame(body: Buffer): Buffer {
  return Buffer.concat([int32(body.length), body]);
}

function requestFrame(xid: number, type: number, ...record: Buffer[]): Buffer {
  return frame(Buffer.concat([int32(xid), int32(type), ...record]));
}

function connectRequestFrame(timeoutMs = 30_000): Buffer {
  // protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly
  return frame(Buffer.concat([int32(0), int64(0n), int32(timeoutMs), int64(0n), buffer(Buffer.alloc(16)), bool(false)]));
}

const getDataFrame = (xid: number, path: string): Buffer => requestFrame(xid, OP.getData, ustring(path), bool(false));
const createFrame = (xid: number, path: string, data: Buffer): Buffer =>
  requestFrame(xid, OP.create, ustring(path), buffer(data), OPEN_ACL, int32(0));

/** The length of a create frame for `path` with no data: add the data length to get the frame length. */
function createFrameOverheadBytes(path: string): number {
  return createFrame(0, path, Buffer.alloc(0)).length - 4;
}

interface Reply {
  xid: number;
  zxid: bigint;
  err: number;
  body: Buffer;
}

function parseReply(bytes: Buffer): Reply {
  return { xid: bytes.readInt32BE(0), zxid: bytes.readBigInt64BE(4), err: bytes.readInt32BE(12), body: bytes.subarray(16) };
}

/** GetDataResponse: data buffer, then a Stat. */
function getDataPayload(reply: Reply): Buffer {
  const length = reply.body.readInt32BE(0);
  return reply.body.subarray(4, 4 + Math.max(0, length));
}

// ---------------------------------------------------------------------------------------------
// A raw client: frames in, bytes out, nothing else.

const DEADLINE_MS = 20_000;

class RawClient {
  /** Complete frames the server sent, in order. */
  readonly frames: Buffer[] = [];
  closed = false;
  error: string | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private cursor = 0;

  private constructor(
    readonly socket: Socket,
    readonly label: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.error = error.code ?? error.message;
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static open(server: TestServer, label = 'raw client'): Promise<RawClient> {
    return new Promise<RawClient>((resolve, reject) => {
      const socket = connect({ host: server.host, port: server.clientPort });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, `${label} -> ${server.kind}`));
      });
    });
  }

  /** A client with an open session: ConnectRequest sent and its response received. */
  static async session(server: TestServer, label = 'session'): Promise<RawClient> {
    const client = await RawClient.open(server, label);
    client.write(connectRequestFrame());
    const response = await client.nextFrame('ConnectResponse');
    // protocolVersion, timeOut, sessionId, passwd(16), readOnly
    expect(response.length).toBe(37);
    expect(response.readInt32BE(4)).toBeGreaterThan(0);
    return client;
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32BE(0);
      if (length < 0 || this.pending.length < 4 + length) break;
      this.frames.push(this.pending.subarray(4, 4 + length));
      this.pending = this.pending.subarray(4 + length);
    }
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Unconsumed frames so far. */
  unread(): Buffer[] {
    return this.frames.slice(this.cursor);
  }

  async nextFrame(what: string): Promise<Buffer> {
    await waitFor(() => this.frames.length > this.cursor || this.closed, {
      timeoutMs: DEADLINE_MS,
      what: `${this.label}: ${what}`,
    });
    const next = this.frames[this.cursor];
    if (next === undefined) throw new Error(`${this.label}: connection closed while waiting for ${what}`);
    this.cursor += 1;
    return next;
  }

  async nextReply(what: string): Promise<Reply> {
    return parseReply(await this.nextFrame(what));
  }

  async call(frameBytes: Buffer, what: string): Promise<Reply> {
    this.write(frameBytes);
    return this.nextReply(what);
  }

  /** Waits for the server to close the connection (FIN or RST). */
  async closedByServer(what: string): Promise<void> {
    await waitFor(() => this.closed || this.error !== undefined, { timeoutMs: DEADLINE_MS, what: `${this.label}: server to close (${what})` });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

const roundTrips = new Map<TargetKind, number>();

/** A brand-new client creates a node and reads it back, then closes its session. */
async function expectServesFreshClient(server: TestServer): Promise<void> {
  const n = (roundTrips.get(server.kind) ?? 0) + 1;
  roundTrips.set(server.kind, n);
  const path = `/fresh-${n}`;
  const data = Buffer.from(`round trip ${n}`);
  const client = await RawClient.session(server, 'fresh client');
  try {
    expect(await client.call(createFrame(1, path, data), `create ${path}`)).toMatchObject({ xid: 1, err: ERR.ok });
    const read = await client.call(getDataFrame(2, path), `getData ${path}`);
    expect(read).toMatchObject({ xid: 2, err: ERR.ok });
    expect(getDataPayload(read).equals(data)).toBe(true);
    expect(await client.call(requestFrame(3, OP.closeSession), 'closeSession')).toMatchObject({ xid: 3, err: ERR.ok });
  } finally {
    client.destroy();
  }
}

async function connectionCount(server: TestServer): Promise<number | undefined> {
  const reply = await fourLetterWord(server.host, server.clientPort, 'srvr').catch(() => '');
  const value = parseFourLetterFields(reply).get('Connections');
  return value === undefined ? undefined : Number(value);
}

/** Only the `srvr` connection asking is left: every earlier connection is gone from the server. */
async function expectNoLingeringConnections(server: TestServer): Promise<void> {
  let last: number | undefined;
  await waitFor(
    async () => {
      last = await connectionCount(server);
      return last === 1;
    },
    { timeoutMs: DEADLINE_MS, what: `${server.kind}: srvr to report 1 connection`, detail: () => `last count: ${String(last)}` },
  );
}

/** Peak and current resident memory of a server process, from /proc (Linux). */
function memoryBytes(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** ZooKeeper reads jute.maxbuffer only as a JVM system property (in zoo.cfg it becomes
 * zookeeper.jute.maxbuffer and does nothing); tszk also honours it in zoo.cfg. */
async function startWithMaxFrame(target: ServerTarget, maxFrameBytes: number): Promise<TestServer> {
  const extraConfig = { 'jute.maxbuffer': String(maxFrameBytes) };
  if (target.kind === 'tszk') return target.start({ extraConfig });
  const saved = process.env['JAVA_TOOL_OPTIONS'];
  process.env['JAVA_TOOL_OPTIONS'] = `-Djute.maxbuffer=${maxFrameBytes}`;
  try {
    return await target.start({ extraConfig });
  } finally {
    if (saved === undefined) delete process.env['JAVA_TOOL_OPTIONS'];
    else process.env['JAVA_TOOL_OPTIONS'] = saved;
  }
}

/** What a server did with one garbage first frame, for comparing tszk with ZooKeeper. */
type FirstFrameOutcome = 'closed' | `session, timeout ${number} ms, ${number}-byte response` | `refused, ${number}-byte response` | `frame of ${number} bytes`;

function classifyFirstFrame(reply: Buffer | undefined): FirstFrameOutcome {
  if (reply === undefined) return 'closed';
  if (reply.length !== 36 && reply.length !== 37) return `frame of ${reply.length} bytes`;
  const timeoutMs = reply.readInt32BE(4);
  return timeoutMs > 0 ? `session, timeout ${timeoutMs} ms, ${reply.length}-byte response` : `refused, ${reply.length}-byte response`;
}

/** A ConnectRequest with every field drawn at random, some of them well-formed: a last zxid the
 * server has not reached (never one it might have: the two targets' histories differ), a session
 * id it never issued, a password of any length or null, the readOnly flag present or not, junk
 * after the record. */
const fuzzedConnectRequest = fc
  .record({
    protocolVersion: fc.oneof(fc.constant(0), fc.integer()),
    lastZxidSeen: fc.oneof(fc.constant(0n), fc.bigInt(-(1n << 63n), -1n), fc.bigInt(1n << 40n, (1n << 63n) - 1n)),
    timeOut: fc.oneof(fc.constant(30_000), fc.integer()),
    sessionId: fc.oneof(fc.constant(0n), fc.bigInt(-(1n << 63n), (1n << 63n) - 1n)),
    passwd: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 24 })),
    readOnly: fc.option(fc.integer({ min: 0, max: 255 })),
    trailing: fc.uint8Array({ maxLength: 6 }),
  })
  .map(({ protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly, trailing }) =>
    Buffer.concat([
      int32(protocolVersion),
      int64(lastZxidSeen),
      int32(timeOut),
      int64(sessionId),
      passwd === null ? NULL_STRING : buffer(Buffer.from(passwd)),
      readOnly === null ? Buffer.alloc(0) : Buffer.from([readOnly]),
      readOnly === null ? Buffer.alloc(0) : Buffer.from(trailing),
    ]),
  );

/** Garbage first frames, the same for every target: raw random bytes and fuzzed ConnectRequests. */
const GARBAGE_BODIES: Buffer[] = [
  ...fc.sample(fc.uint8Array({ minLength: 0, maxLength: 96 }), { seed: 20240611, numRuns: 20 }).map((bytes) => Buffer.from(bytes)),
  ...fc.sample(fuzzedConnectRequest, { seed: 4242, numRuns: 60 }),
];
const firstFrameOutcomes = new Map<TargetKind, FirstFrameOutcome[]>();

describeEachTarget('bad input on the client port', (target) => {
  let server: TestServer | undefined;
  const live = (): TestServer => {
    if (!server) throw new Error('server not started');
    return server;
  };
  const clients: RawClient[] = [];
  const track = <T extends RawClient>(client: T): T => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await target.start({ extraConfig: { maxClientCnxns: '5' } });
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await server?.stop();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    if (!server) return;
    await expectNoLingeringConnections(server);
    await expectServesFreshClient(server);
    await expectNoLingeringConnections(server);
  });

  // The outcomes are compared across targets by the last test in this file.
  it('garbage as the first frame: the server answers with a ConnectResponse or closes, never anything else', async () => {
    const outcomes: FirstFrameOutcome[] = [];
    for (const body of GARBAGE_BODIES) {
      const client = track(await RawClient.open(live(), 'garbage ConnectRequest'));
      client.write(frame(body));
      await waitFor(() => client.frames.length > 0 || client.closed || client.error !== undefined, {
        timeoutMs: DEADLINE_MS,
        what: `a reply or a close after a garbage first frame ${body.toString('hex')}`,
      });
      const outcome = classifyFirstFrame(client.frames[0]);
      expect(outcome, body.toString('hex')).not.toMatch(/^frame/);
      outcomes.push(outcome);
      client.destroy();
    }
    firstFrameOutcomes.set(target.kind, outcomes);
  });

  it('random bytes after an impossible length prefix: closed at once, with nothing sent back', async () => {
    const impossibleLength = fc.oneof(fc.integer({ min: -0x80000000, max: -1 }), fc.integer({ min: DEFAULT_MAX_FRAME_BYTES + 1, max: 0x7fffffff }));
    await fc.assert(
      fc.asyncProperty(impossibleLength, fc.uint8Array({ maxLength: 64 }), async (length, tail) => {
        const client = track(await RawClient.open(live(), 'random bytes'));
        client.write(Buffer.concat([int32(length), Buffer.from(tail)]));
        await client.closedByServer(`length prefix ${length}`);
        // A length whose bytes spell a four-letter word ("ruok" is 0x72756f6b) is answered as one.
        const word = int32(length).toString('latin1');
        if (!/^[a-z]{4}$/.test(word)) expect(client.frames).toEqual([]);
        client.destroy();
      }),
      { seed: 1851, numRuns: 25 },
    );
  });

  it('random bytes of any kind, then the client half-closes: the server closes too', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (bytes) => {
        const client = track(await RawClient.open(live(), 'random bytes + FIN'));
        client.write(Buffer.from(bytes));
        client.socket.end();
        await client.closedByServer(`random bytes ${Buffer.from(bytes).toString('hex')}`);
        client.destroy();
      }),
      { seed: 7, numRuns: 25 },
    );
  });

  it('truncated frames: length prefix then fewer bytes, then the client closes', async () => {
    const cases: { name: string; bytes: Buffer; afterConnect: boolean }[] = [
      { name: 'half a length prefix', bytes: Buffer.from([0, 0]), afterConnect: false },
      { name: 'ConnectRequest cut short', bytes: connectRequestFrame().subarray(0, 20), afterConnect: false },
      { name: 'length 45 then 10 bytes', bytes: Buffer.concat([int32(45), Buffer.alloc(10)]), afterConnect: false },
      { name: 'half a length prefix after connect', bytes: Buffer.from([0, 0, 0]), afterConnect: true },
      { name: 'create cut short', bytes: createFrame(1, '/truncated', Buffer.from('never')).subarray(0, 30), afterConnect: true },
      { name: 'header only', bytes: createFrame(1, '/truncated', Buffer.from('never')).subarray(0, 4), afterConnect: true },
    ];
    for (const { name, bytes, afterConnect } of cases) {
      for (const ending of ['end', 'destroy'] as const) {
        const client = track(afterConnect ? await RawClient.session(live(), name) : await RawClient.open(live(), name));
        client.write(bytes);
        if (ending === 'end') {
          client.socket.end();
          await client.closedByServer(`${name}, then FIN`);
        } else {
          client.destroy();
        }
        expect(client.unread(), name).toEqual([]);
      }
      await expectNoLingeringConnections(live());
    }
    // The cut-short create was never executed.
    const checker = track(await RawClient.session(live(), 'checker'));
    expect(await checker.call(requestFrame(1, OP.exists, ustring('/truncated'), bool(false)), 'exists /truncated')).toMatchObject({
      err: ERR.noNode,
    });
  });

  it('a length above jute.maxbuffer or below zero closes the connection, before and after the handshake', async () => {
    for (const length of [DEFAULT_MAX_FRAME_BYTES + 1, 0x7fffffff, -1, -0x80000000]) {
      const early = track(await RawClient.open(live(), `length ${length} first`));
      early.write(int32(length));
      await early.closedByServer(`length ${length} as the first frame`);
      expect(early.frames).toEqual([]);

      const late = track(await RawClient.session(live(), `length ${length} after connect`));
      late.write(int32(length));
      await late.closedByServer(`length ${length} after the handshake`);
      expect(late.unread()).toEqual([]);
    }
  });

  it('a frame of exactly jute.maxbuffer bytes is accepted; one byte more closes the connection', async () => {
    const client = track(await RawClient.session(live(), 'limit'));
    const data = Buffer.alloc(DEFAULT_MAX_FRAME_BYTES - createFrameOverheadBytes('/limit'), 0x61);
    const atLimit = createFrame(1, '/limit', data);
    expect(atLimit.length - 4).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect(await client.call(atLimit, 'create at the limit')).toMatchObject({ xid: 1, err: ERR.ok });
    const read = await client.call(getDataFrame(2, '/limit'), 'getData /limit');
    expect(read).toMatchObject({ xid: 2, err: ERR.ok });
    expect(getDataPayload(read).equals(data)).toBe(true);

    // Same path length, one more byte of data.
    const over = createFrame(3, '/limix', Buffer.alloc(data.length + 1, 0x62));
    expect(over.length - 4).toBe(DEFAULT_MAX_FRAME_BYTES + 1);
    client.write(over);
    await client.closedByServer('a frame one byte over jute.maxbuffer');
    expect(client.unread()).toEqual([]);
    const checker = track(await RawClient.session(live(), 'checker'));
    expect(await checker.call(requestFrame(1, OP.exists, ustring('/limix'), bool(false)), 'exists /limix')).toMatchObject({
      err: ERR.noNode,
    });
  });

  it('a request before the ConnectRequest is taken for one and refused: no reply, connection closed', async () => {
    for (const first of [getDataFrame(1, '/'), requestFrame(-2, OP.ping), createFrame(1, '/before-connect', Buffer.from('x')), frame(Buffer.alloc(0))]) {
      const client = track(await RawClient.open(live(), 'request first'));
      client.write(first);
      await client.closedByServer(`first frame ${first.toString('hex').slice(0, 40)}`);
      expect(client.frames).toEqual([]);
    }
    const checker = track(await RawClient.session(live(), 'checker'));
    expect(await checker.call(requestFrame(1, OP.exists, ustring('/before-connect'), bool(false)), 'exists')).toMatchObject({
      err: ERR.noNode,
    });
  });

  it('an unknown opcode after connect: Unimplemented (-6) with zxid -1, then the connection closes', async () => {
    const bystander = track(await RawClient.session(live(), 'bystander'));
    // 0 is notification, 10 was never assigned, 23 is past multiRead, -2 is the ping xid, not a type.
    for (const type of [999, 0, 10, 23, -2, -1]) {
      const client = track(await RawClient.session(live(), `opcode ${type}`));
      const reply = await client.call(requestFrame(5, type, ustring('/')), `reply to opcode ${type}`);
      expect(reply, `opcode ${type}`).toMatchObject({ xid: 5, zxid: -1n, err: ERR.unimplemented });
      expect(reply.body.length).toBe(0);
      await client.closedByServer(`after Unimplemented for opcode ${type}`);
    }
    // Other sessions do not notice.
    expect(await bystander.call(getDataFrame(9, '/'), 'bystander getData /')).toMatchObject({ xid: 9, err: ERR.ok });
  });

  it("a client's deleteContainer (an internal opcode) is BadArguments (-8), deletes nothing, keeps the connection", async () => {
    const client = track(await RawClient.session(live(), 'deleteContainer'));
    const createContainer = requestFrame(1, 19, ustring('/dc-container'), NULL_STRING, OPEN_ACL, int32(4));
    expect(await client.call(createContainer, 'createContainer')).toMatchObject({ xid: 1, err: ERR.ok });
    for (const [xid, path] of [[2, '/dc-container'], [3, '/dc-missing']] as const) {
      expect(await client.call(requestFrame(xid, 20, ustring(path)), `deleteContainer ${path}`)).toMatchObject({ xid, err: ERR.badArguments });
    }
    expect(await client.call(requestFrame(4, OP.exists, ustring('/dc-container'), bool(false)), 'exists')).toMatchObject({ xid: 4, err: ERR.ok });
  });

  it('a malformed body for a known opcode: MarshallingError (-5), and the connection stays usable', async () => {
    const client = track(await RawClient.session(live(), 'malformed'));
    const cases: { name: string; request: Buffer }[] = [
      { name: 'getData with a truncated path', request: requestFrame(1, OP.getData, int32(10), Buffer.from('/ab')) },
      { name: 'getData with no body', request: requestFrame(2, OP.getData) },
      { name: 'getData without its watch flag', request: requestFrame(3, OP.getData, ustring('/')) },
      { name: 'exists with a path length past the frame', request: requestFrame(4, OP.exists, int32(0x7fffffff), Buffer.from('/')) },
      { name: 'create with a truncated path', request: requestFrame(5, OP.create, int32(10), Buffer.from('/ab')) },
      { name: 'create with a huge ACL count', request: requestFrame(6, OP.create, ustring('/acl'), NULL_STRING, int32(0x7fffffff)) },
      { name: 'setData cut before its version', request: requestFrame(7, OP.setData, ustring('/'), buffer(Buffer.from('x'))) },
      { name: 'delete with no body', request: requestFrame(8, OP.delete) },
    ];
    for (const { name, request } of cases) {
      const xid = request.readInt32BE(4);
      const reply = await client.call(request, name);
      expect(reply, name).toMatchObject({ xid, err: ERR.marshallingError });
      expect(reply.body.length, name).toBe(0);
      // Still in business on the same connection.
      expect(await client.call(getDataFrame(100 + xid, '/'), `getData after ${name}`)).toMatchObject({ xid: 100 + xid, err: ERR.ok });
    }
    // Bytes after a complete record are ignored.
    expect(await client.call(requestFrame(20, OP.getData, ustring('/'), bool(false), Buffer.from([1, 2, 3])), 'trailing bytes')).toMatchObject({
      xid: 20,
      err: ERR.ok,
    });
    expect(client.closed).toBe(false);
    expect(await client.call(requestFrame(21, OP.exists, ustring('/acl'), bool(false)), 'exists /acl')).toMatchObject({ err: ERR.noNode });
  });

  it('a null path (string length -1) is refused, not taken for the root', async () => {
    const client = track(await RawClient.session(live(), 'null path'));
    // ZooKeeper 3.8's answers: most handlers trip over the null (MarshallingError); setData's
    // prep validates the path first (BadArguments).
    const cases: { name: string; request: Buffer; err: number }[] = [
      { name: 'getData', request: requestFrame(1, OP.getData, NULL_STRING, bool(false)), err: ERR.marshallingError },
      { name: 'exists', request: requestFrame(2, OP.exists, NULL_STRING, bool(false)), err: ERR.marshallingError },
      { name: 'getChildren', request: requestFrame(3, OP.getChildren, NULL_STRING, bool(false)), err: ERR.marshallingError },
      { name: 'create', request: requestFrame(4, OP.create, NULL_STRING, NULL_STRING, OPEN_ACL, int32(0)), err: ERR.marshallingError },
      { name: 'delete', request: requestFrame(5, OP.delete, NULL_STRING, int32(-1)), err: ERR.marshallingError },
      { name: 'setData', request: requestFrame(6, OP.setData, NULL_STRING, buffer(Buffer.from('x')), int32(-1)), err: ERR.badArguments },
    ];
    const replies: string[] = [];
    for (const { name, request } of cases) {
      const reply = await client.call(request, `${name}(null)`);
      replies.push(`${name}: err ${reply.err}, ${reply.body.length}-byte body`);
    }
    expect(replies).toEqual(cases.map(({ name, err }) => `${name}: err ${err}, 0-byte body`));
    // The empty path, by contrast, is the root for a read, as in ZooKeeper's DataTree.
    expect(await client.call(getDataFrame(7, ''), 'getData("")')).toMatchObject({ xid: 7, err: ERR.ok });
  });

  it('setWatches that must fire at once (a reconnect after changes): events, then the reply; the server survives', async () => {
    const writer = track(await RawClient.session(live(), 'writer'));
    expect(await writer.call(createFrame(1, '/sw', Buffer.from('x')), 'create /sw')).toMatchObject({ err: ERR.ok });
    const client = track(await RawClient.session(live(), 'setWatches'));
    const strings = (paths: string[]): Buffer => Buffer.concat([int32(paths.length), ...paths.map(ustring)]);
    // SetWatches: relativeZxid, dataWatches, existWatches, childWatches. Zxid 0: everything changed since.
    client.write(requestFrame(-8, 101, int64(0n), strings(['/sw', '/sw-gone']), strings(['/sw']), strings(['/'])));
    const frames: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const reply = await client.nextReply('setWatches events and reply');
      if (reply.xid === -1) {
        // WatcherEvent: type, state, path
        const pathLength = reply.body.readInt32BE(8);
        frames.push(`event type ${reply.body.readInt32BE(0)} state ${reply.body.readInt32BE(4)} ${reply.body.subarray(12, 12 + pathLength).toString()}`);
      } else {
        frames.push(`reply xid ${reply.xid} err ${reply.err}`);
        break;
      }
    }
    // NodeDataChanged (3) for /sw, NodeDeleted (2) for the missing one, NodeCreated (1) for the
    // exist watch, NodeChildrenChanged (4) for /: in ZooKeeper's order, before the reply.
    expect(frames).toEqual([
      'event type 3 state 3 /sw',
      'event type 2 state 3 /sw-gone',
      'event type 1 state 3 /sw',
      'event type 4 state 3 /',
      'reply xid -8 err 0',
    ]);
    expect(await client.call(getDataFrame(2, '/sw'), 'getData after setWatches')).toMatchObject({ xid: 2, err: ERR.ok });
  });

  it('a frame too short for a RequestHeader closes the connection', async () => {
    const client = track(await RawClient.session(live(), 'short header'));
    client.write(frame(Buffer.from([0, 0, 0])));
    await client.closedByServer('a 3-byte request frame');
    expect(client.unread()).toEqual([]);
  });

  it('addauth with an unknown scheme: AuthFailed (-115), then the connection closes', async () => {
    const client = track(await RawClient.session(live(), 'bad auth'));
    const reply = await client.call(requestFrame(-4, OP.auth, int32(0), ustring('no-such-scheme'), buffer(Buffer.from('x'))), 'auth reply');
    expect(reply).toMatchObject({ xid: -4, err: ERR.authFailed });
    await client.closedByServer('after AuthFailed');
  });

  it('a client that floods requests and never reads does not stop the server serving others', async () => {
    const writer = track(await RawClient.session(live(), 'writer'));
    const bigData = Buffer.alloc(512 * 1024, 0x62);
    expect(await writer.call(createFrame(1, '/stuck-big', bigData), 'create /stuck-big')).toMatchObject({ err: ERR.ok });
    const memoryBefore = target.kind === 'tszk' ? memoryBytes(live().pid) : undefined;

    const stuck = track(await RawClient.session(live(), 'stuck'));
    stuck.socket.pause();
    // 1000 replies of 512 KB asked for in one write: 500 MB if the server buffered them all.
    const burst: Buffer[] = [];
    for (let i = 0; i < 1000; i += 1) burst.push(getDataFrame(10 + i, '/stuck-big'));
    stuck.write(Buffer.concat(burst));

    // Everyone else is still served, writes and reads alike, and the four-letter words answer.
    const other = track(await RawClient.session(live(), 'other'));
    for (let i = 0; i < 5; i += 1) {
      const path = `/while-stuck-${i}`;
      expect(await other.call(createFrame(2 * i + 1, path, Buffer.from(`v${i}`)), `create ${path}`)).toMatchObject({ err: ERR.ok });
      const read = await other.call(getDataFrame(2 * i + 2, path), `getData ${path}`);
      expect(getDataPayload(read).toString()).toBe(`v${i}`);
    }
    expect(parseFourLetterFields(await fourLetterWord(live().host, live().clientPort, 'srvr')).get('Mode')).toBe('standalone');

    // The memory bound is tszk's own promise (STYLE.md: "bounded everything"). ZooKeeper 3.8 keeps
    // reading such a client and queues its replies on the heap; it survives the burst above only
    // because it serves repeated getData replies from its response cache.
    if (target.kind === 'tszk' && memoryBefore !== undefined) {
      // tszk bounds what a connection may have unsent (it stops reading the socket, then drops
      // the client): keep flooding until the server stops reading us or closes us.
      const batch = Buffer.concat(burst);
      await waitFor(
        () => {
          if (stuck.closed || stuck.error !== undefined) return true;
          if (stuck.socket.writableLength > 4 * 1024 * 1024) return true;
          stuck.write(batch);
          return false;
        },
        { timeoutMs: 30_000, intervalMs: 5, what: 'tszk to stop reading the stuck client or to close it' },
      );
      const memoryAfter = memoryBytes(live().pid);
      const growthMb = Math.round((memoryAfter.peak - memoryBefore.rss) / 1024 / 1024);
      expect(growthMb, `peak RSS grew by ${growthMb} MB while one client was not reading`).toBeLessThan(256);
    }
    stuck.destroy();
    expect(await other.call(getDataFrame(99, '/stuck-big'), 'getData /stuck-big')).toMatchObject({ err: ERR.ok });
  });

  it('connections beyond maxClientCnxns=5 from one address are closed; the first five keep working', async () => {
    // A session on a slot that may still be in the middle of being freed (ZooKeeper releases a
    // closed connection's slot asynchronously): retried until the server admits it.
    const admit = (label: string): Promise<RawClient> =>
      waitFor(
        async () => {
          const client = await RawClient.open(live(), label).catch(() => undefined);
          if (client === undefined) return undefined;
          track(client);
          client.write(connectRequestFrame());
          await waitFor(() => client.frames.length > 0 || client.closed || client.error !== undefined, {
            timeoutMs: DEADLINE_MS,
            what: `${label}: a ConnectResponse or a close`,
          });
          if (client.frames.length === 0) return undefined;
          await client.nextFrame('ConnectResponse');
          return client;
        },
        { timeoutMs: DEADLINE_MS, what: `${label} to be admitted` },
      );

    const admitted: RawClient[] = [];
    for (let i = 0; i < 5; i += 1) admitted.push(await admit(`admitted ${i}`));
    for (let i = 0; i < 3; i += 1) {
      // Refused: closed right after the accept (or reset before connect completes).
      const extra = await RawClient.open(live(), `extra ${i}`).catch(() => undefined);
      if (extra === undefined) continue;
      track(extra);
      extra.write(connectRequestFrame());
      await extra.closedByServer(`connection ${6 + i} from one address`);
      expect(extra.frames).toEqual([]);
    }
    for (const [i, client] of admitted.entries()) {
      expect(await client.call(getDataFrame(1, '/'), `getData on admitted ${i}`)).toMatchObject({ xid: 1, err: ERR.ok });
    }
    // A freed slot can be taken again (no `srvr` here: it would take a slot itself).
    admitted[0]?.destroy();
    const late = await admit('late');
    expect(await late.call(getDataFrame(1, '/'), 'getData on the late client')).toMatchObject({ err: ERR.ok });
  });

  describe('with a small jute.maxbuffer (4096)', () => {
    const maxFrameBytes = 4096;
    let small: TestServer | undefined;
    const smallServer = (): TestServer => {
      if (!small) throw new Error('small-buffer server not started');
      return small;
    };

    beforeAll(async () => {
      small = await startWithMaxFrame(target, maxFrameBytes);
    });

    afterAll(async () => {
      await small?.stop();
    });

    it('frames up to the limit are served, one byte more closes the connection', async () => {
      const client = track(await RawClient.session(smallServer(), 'small limit'));
      const data = Buffer.alloc(maxFrameBytes - createFrameOverheadBytes('/small'), 0x61);
      expect(await client.call(createFrame(1, '/small', data), 'create at the limit')).toMatchObject({ xid: 1, err: ERR.ok });
      client.write(createFrame(2, '/small-over', Buffer.alloc(data.length + 1)));
      await client.closedByServer('a frame one byte over jute.maxbuffer=4096');
      expect(client.unread()).toEqual([]);

      const early = track(await RawClient.open(smallServer(), 'small limit, first frame'));
      early.write(int32(maxFrameBytes + 1));
      await early.closedByServer('a first frame over jute.maxbuffer=4096');
      expect(early.frames).toEqual([]);

      await expectServesFreshClient(smallServer());
      const checker = track(await RawClient.session(smallServer(), 'checker'));
      expect(await checker.call(requestFrame(1, OP.exists, ustring('/small-over'), bool(false)), 'exists')).toMatchObject({ err: ERR.noNode });
      const read = await checker.call(getDataFrame(2, '/small'), 'getData /small');
      expect(getDataPayload(read).equals(data)).toBe(true);
    });
  });
});

// When both ran: tszk reacts to each garbage ConnectRequest as ZooKeeper does.
it('garbage first frames: tszk and ZooKeeper agree on every one', (ctx) => {
  const tszk = firstFrameOutcomes.get('tszk');
  const reference = firstFrameOutcomes.get('reference');
  if (tszk === undefined || reference === undefined) {
    ctx.skip();
    return;
  }
  const rows = GARBAGE_BODIES.map((body, i) => `${body.toString('hex')}: tszk ${tszk[i]}, zookeeper ${reference[i]}`);
  expect(rows.filter((_, i) => tszk[i] !== reference[i])).toEqual([]);
});
