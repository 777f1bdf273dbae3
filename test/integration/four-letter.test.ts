// The four-letter words on a real socket, against each target server (tszk, and Debian's
// ZooKeeper 3.8 when installed). Every target gets the same state: one session (opened by a small
// raw-protocol client below, so nothing pings behind our back) with an ephemeral /eph, a
// persistent /perm, data watches on /perm and /nope and a child watch on /. The shape checks run
// against both targets, so the reference proves them; a last block puts the two outputs side by
// side and compares their structure (keys, order, counts) where the words are deterministic.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fourLetterWord } from '../support/four-letter.js';
import { describeWithReference } from '../support/reference.js';
import { describeEachTarget, selectedKinds, startReferenceServer, startTszkServer, type TestServer } from '../support/zk-server.js';

// ---- a minimal client: ConnectRequest, create, getData/exists/getChildren with watches ----------

const OP = { create: 1, exists: 3, getData: 4, getChildren: 8, closeSession: -11 } as const;
const NOTIFICATION_XID = -1;

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function int64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}

function ustring(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([int32(bytes.length), bytes]);
}

function bool(v: boolean): Buffer {
  return Buffer.from([v ? 1 : 0]);
}

function frame(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length), body]);
}

/** world:anyone with all permissions. */
const OPEN_ACL = Buffer.concat([int32(1), int32(31), ustring('world'), ustring('anyone')]);

class RawSession {
  sessionId = 0n;
  private buffered = Buffer.alloc(0);
  private readonly waiting: Array<(body: Buffer) => void> = [];
  private nextXid = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  static async open(host: string, port: number, timeoutMs = 30_000): Promise<RawSession> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const session = new RawSession(socket);
    const reply = session.next();
    socket.write(frame(int32(0), int64(0n), int32(timeoutMs), int64(0n), int32(16), Buffer.alloc(16), bool(false)));
    const body = await reply;
    session.sessionId = body.readBigInt64BE(8);
    return session;
  }

  /** The local port, which is how the server's connection lists name this session's connection. */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  private next(): Promise<Buffer> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const length = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + length) return;
      const body = this.buffered.subarray(4, 4 + length);
      this.buffered = this.buffered.subarray(4 + length);
      if (this.sessionId !== 0n && body.readInt32BE(0) === NOTIFICATION_XID) continue;
      this.waiting.shift()?.(body);
    }
  }

  /** Sends one request and resolves with its error code. */
  async request(type: number, ...body: Buffer[]): Promise<number> {
    const reply = this.next();
    this.socket.write(frame(int32(this.nextXid++), int32(type), ...body));
    return (await reply).readInt32BE(12);
  }

  create(path: string, data: string, flags: number): Promise<number> {
    return this.request(OP.create, ustring(path), ustring(data), OPEN_ACL, int32(flags));
  }

  async close(): Promise<void> {
    await this.request(OP.closeSession).catch(() => undefined);
    this.socket.destroy();
  }
}

/** The common state; the session's last xid is 5. */
async function populate(server: TestServer): Promise<RawSession> {
  const session = await RawSession.open(server.host, server.clientPort);
  expect(await session.create('/eph', 'x', 1)).toBe(0);
  expect(await session.create('/perm', 'hello', 0)).toBe(0);
  expect(await session.request(OP.getData, ustring('/perm'), bool(true))).toBe(0);
  expect(await session.request(OP.getChildren, ustring('/'), bool(true))).toBe(0);
  expect(await session.request(OP.exists, ustring('/nope'), bool(true))).toBe(-101);
  return session;
}

function ask(server: TestServer, word: string): Promise<string> {
  return fourLetterWord(server.host, server.clientPort, word, { timeoutMs: 5000 });
}

function hex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16);
}

// ---- shapes, on every target ---------------------------------------------------------------------

const VERSION = String.raw`3\.8\.\d+-\S.*`;
const DOUBLE = String.raw`\d+\.\d+(?:E-?\d+)?`;

describeEachTarget('four-letter words', (target) => {
  let server: TestServer;
  let session: RawSession;
  let sid: string;
  let self: string;

  beforeAll(async () => {
    server = await target.start();
    session = await populate(server);
    sid = hex(session.sessionId);
    self = `/127.0.0.1:${session.localPort}`;
  });

  afterAll(async () => {
    await session?.close();
    await server?.stop();
  });

  it('ruok', async () => {
    expect(await ask(server, 'ruok')).toBe('imok');
  });

  it('srvr', async () => {
    expect(await ask(server, 'srvr')).toMatch(
      new RegExp(
        `^Zookeeper version: ${VERSION}\\nLatency min/avg/max: \\d+/${DOUBLE}/\\d+\\nReceived: \\d+\\nSent: \\d+\\n` +
          'Connections: 2\\nOutstanding: 0\\nZxid: 0x[0-9a-f]+\\nMode: standalone\\nNode count: 7\\n$',
      ),
    );
  });

  it('stat lists the session connection and the asking one', async () => {
    const text = await ask(server, 'stat');
    const [head, clients = '', tail = ''] = text.split(/\nClients:\n|\n\n/);
    expect(head).toMatch(new RegExp(`^Zookeeper version: ${VERSION}$`));
    const lines = clients.split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^ \/127\.0\.0\.1:\d+\[[0-9a-f]+\]\(queued=\d+,recved=\d+,sent=\d+\)$/);
    expect(lines.some((l) => l.startsWith(` ${self}[1](`))).toBe(true);
    expect(lines.some((l) => /\[0\]\(queued=0,recved=1,sent=0\)$/.test(l))).toBe(true);
    expect(tail).toMatch(/^Latency min\/avg\/max: .*\nReceived: \d+\nSent: \d+\nConnections: 2\nOutstanding: 0\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: 7\n$/);
  });

  it("counts a session connection's packets as ZooKeeper does (connect included, none left queued)", async () => {
    const line = (await ask(server, 'stat')).split('\n').find((l) => l.startsWith(` ${self}[`));
    // ConnectRequest + 5 requests in, ConnectResponse + 5 replies out.
    expect(line).toBe(` ${self}[1](queued=0,recved=6,sent=6)`);
  });

  it('cons', async () => {
    const text = await ask(server, 'cons');
    expect(text.endsWith(')\n\n')).toBe(true);
    const lines = text.slice(0, -2).split('\n');
    expect(lines).toHaveLength(2);
    const mine = lines.find((l) => l.startsWith(` ${self}[`));
    // lop and lzxid..maxlat appear once connections keep response statistics.
    expect(mine).toMatch(
      new RegExp(
        String.raw`^ /127\.0\.0\.1:\d+\[1\]\(queued=-?\d+,recved=\d+,sent=\d+,sid=0x${sid}(?:,lop=EXIS)?,est=\d{13},to=30000,lcxid=0x5` +
          String.raw`(?:,lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+)?\)$`,
      ),
    );
    expect(lines.find((l) => l !== mine)).toMatch(/^ \/127\.0\.0\.1:\d+\[0\]\(queued=0,recved=1,sent=0\)$/);
  });

  it('conf', async () => {
    const text = await ask(server, 'conf');
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual([`clientPort=${server.clientPort}`, 'secureClientPort=-1', `dataDir=${server.dataDir}/version-2`]);
    expect(lines[3]).toMatch(/^dataDirSize=\d+$/);
    expect(lines[4]).toBe(`dataLogDir=${server.dataDir}/version-2`);
    expect(lines[5]).toMatch(/^dataLogSize=\d+$/);
    expect(lines.slice(6)).toEqual([
      'tickTime=2000',
      'maxClientCnxns=60',
      'minSessionTimeout=4000',
      'maxSessionTimeout=40000',
      'clientPortListenBacklog=-1',
      'serverId=0',
      '',
    ]);
  });

  it('dirs', async () => {
    expect(await ask(server, 'dirs')).toMatch(/^datadir_size: \d+\nlogdir_size: \d+\n$/);
  });

  it('envi', async () => {
    const text = await ask(server, 'envi');
    expect(text).toMatch(/^Environment:\n(?:[A-Za-z.]+=.*\n)+$/);
    const fields = new Map(
      text
        .split('\n')
        .slice(1, -1)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    expect(fields.get('zookeeper.version')).toMatch(new RegExp(`^${VERSION}$`));
    expect(fields.get('os.name')).toBe('Linux');
    expect(fields.get('user.dir')).toBe(server.configFile.slice(0, server.configFile.lastIndexOf('/')));
    for (const key of ['os.memory.free', 'os.memory.max', 'os.memory.total']) expect(fields.get(key)).toMatch(/^\d+MB$/);
  });

  it('mntr', async () => {
    const text = await ask(server, 'mntr');
    const lines = text.slice(0, -1).split('\n');
    for (const line of lines) expect(line).toMatch(/^zk_[a-z0-9_]+\t.*$/);
    const fields = new Map(lines.map((l) => l.split('\t') as [string, string]));
    expect(lines[0]).toMatch(new RegExp(`^zk_version\\t${VERSION}$`));
    expect(lines[1]).toBe('zk_server_state\tstandalone');
    expect(Object.fromEntries(fields)).toMatchObject({
      zk_ephemerals_count: '1',
      zk_num_alive_connections: '2',
      zk_outstanding_requests: '0',
      zk_znode_count: '7',
      zk_global_sessions: '1',
      zk_watch_count: '3',
      zk_approximate_data_size: '59',
      zk_local_sessions: '0',
    });
    expect(fields.get('zk_avg_latency')).toMatch(new RegExp(`^${DOUBLE}$`));
    for (const key of ['zk_min_latency', 'zk_max_latency', 'zk_packets_sent', 'zk_packets_received', 'zk_uptime']) {
      expect(fields.get(key)).toMatch(/^\d+$/);
    }
  });

  it('dump', async () => {
    const text = await ask(server, 'dump');
    const [sessions = '', rest = ''] = text.split('ephemeral nodes dump:\n');
    expect(sessions).toMatch(/^SessionTracker dump:\nSession Sets \(\d+\)\/\(1\):\n(?:\d+ expire at \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}:\n(?:\t0x[0-9a-f]+\n)*)+$/);
    expect(sessions).toContain(`:\n\t0x${sid}\n`);
    expect(rest).toMatch(new RegExp(`^Sessions with Ephemerals \\(1\\):\\n0x${sid}:\\n\\t/eph\\nConnections dump:\\n`));
  });

  it('wchs', async () => {
    expect(await ask(server, 'wchs')).toBe('1 connections watching 2 paths\nTotal watches:2\n');
  });

  it('wchc', async () => {
    const text = await ask(server, 'wchc');
    expect(text).toMatch(new RegExp(`^0x${sid}\\n\\t/(perm|nope)\\n\\t/(perm|nope)\\n\\n$`));
    expect(text).toContain('\t/perm\n');
    expect(text).toContain('\t/nope\n');
  });

  it('wchp', async () => {
    const text = await ask(server, 'wchp');
    expect(text.endsWith('\n\n')).toBe(true);
    const blocks = new Set([`/perm\n\t0x${sid}\n`, `/nope\n\t0x${sid}\n`]);
    expect([`${[...blocks].join('')}\n`, `${[...blocks].reverse().join('')}\n`]).toContain(text);
  });

  it('isro, gtmk, hash', async () => {
    expect(await ask(server, 'isro')).toBe('rw');
    expect(await ask(server, 'gtmk')).toBe('306');
    expect(await ask(server, 'hash')).toBe('');
  });

  it('crst zeroes the connection statistics', async () => {
    expect(await ask(server, 'crst')).toBe('Connection stats reset.\n');
    const line = (await ask(server, 'cons')).split('\n').find((l) => l.startsWith(` ${self}[`));
    expect(line).toMatch(new RegExp(String.raw`^ ${self}\[1\]\(queued=-?\d+,recved=0,sent=0,sid=0x${sid}(?:,lop=NA)?,est=\d+,to=30000[,)]`));
    expect(line).not.toContain('lcxid');
  });

  it('srst zeroes the server statistics; srst and srvr count themselves', async () => {
    expect(await ask(server, 'srst')).toBe('Server stats reset.\n');
    expect(await ask(server, 'srvr')).toMatch(/\nLatency min\/avg\/max: 0\/0\.0\/0\nReceived: 1\nSent: 1\n/);
  });
});

describeEachTarget('four-letter whitelist', (target) => {
  let server: TestServer;

  beforeAll(async () => {
    // ruok must stay allowed: the test harness waits for imok.
    server = await target.start({ extraConfig: { '4lw.commands.whitelist': 'ruok, conf' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('runs the listed words and srvr, refuses the rest', async () => {
    expect(await ask(server, 'ruok')).toBe('imok');
    expect(await ask(server, 'conf')).toMatch(/^clientPort=/);
    expect(await ask(server, 'srvr')).toMatch(/^Zookeeper version: /);
    for (const word of ['stat', 'mntr', 'cons', 'isro', 'envi', 'wchs', 'dump', 'crst']) {
      expect(await ask(server, word)).toBe(`${word} is not executed because it is not in the whitelist.\n`);
    }
  });
});

// ---- tszk next to the reference --------------------------------------------------------------------

const WORDS = ['srvr', 'stat', 'cons', 'conf', 'dirs', 'envi', 'mntr', 'dump', 'wchs', 'wchc', 'wchp', 'isro', 'gtmk', 'hash'] as const;
type Word = (typeof WORDS)[number];

interface Capture {
  text: Record<Word, string>;
  sid: string;
}

async function capture(start: () => Promise<TestServer>): Promise<Capture> {
  const server = await start();
  try {
    const session = await populate(server);
    const text = {} as Record<Word, string>;
    for (const word of WORDS) text[word] = await ask(server, word);
    await session.close();
    return { text, sid: hex(session.sessionId) };
  } finally {
    await server.stop();
  }
}

/** "Key: value" / "key=value" / "key\tvalue" lines -> keys, in order. */
function keys(text: string, separator: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.includes(separator))
    .map((l) => l.slice(0, l.indexOf(separator)));
}

/** The `(a=..,b=..)` field names of a connection line. */
function cnxnKeys(line: string): string[] {
  return [...line.matchAll(/[(,]([a-z]+)=/g)].map((m) => m[1] ?? '');
}

function isOrderedSubset(sub: readonly string[], full: readonly string[]): boolean {
  let at = 0;
  for (const key of sub) {
    at = full.indexOf(key, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}

function sortedBlocks(text: string): string[] {
  return text
    .trimEnd()
    .split(/\n(?=[^\t])/)
    .map((b) => b.split('\n').sort().join('\n'))
    .sort();
}

// Needs both servers: skipped (by the reference policy) without Java, and under TSZK_TARGETS=tszk.
const describeComparison = selectedKinds().includes('reference') ? describeWithReference : describe.skip;

describeComparison('four-letter words: tszk beside ZooKeeper 3.8', () => {
  let ours: Capture;
  let theirs: Capture;

  beforeAll(async () => {
    ours = await capture(() => startTszkServer());
    theirs = await capture(() => startReferenceServer());
  });

  const norm = (c: Capture, text: string): string => text.replaceAll(c.sid, '<sid>');

  it('srvr and stat: the same lines, in the same order', () => {
    for (const word of ['srvr', 'stat'] as const) {
      expect(keys(ours.text[word], ': ')).toEqual(keys(theirs.text[word], ': '));
      expect(ours.text[word].split('\n').length).toBe(theirs.text[word].split('\n').length);
    }
    const same = (text: string): string[] => text.split('\n').filter((l) => /^(Connections|Outstanding|Zxid|Mode|Node count): /.test(l));
    expect(same(ours.text.srvr)).toEqual(same(theirs.text.srvr));
  });

  it('cons: our fields are ZooKeeper fields, in its order', () => {
    const ourLines = ours.text.cons.split('\n').filter((l) => l.includes('sid='));
    const theirLines = theirs.text.cons.split('\n').filter((l) => l.includes('sid='));
    expect(ourLines).toHaveLength(1);
    expect(theirLines).toHaveLength(1);
    expect(isOrderedSubset(cnxnKeys(ourLines[0] ?? ''), cnxnKeys(theirLines[0] ?? ''))).toBe(true);
    expect(cnxnKeys(ourLines[0] ?? '').slice(0, 4)).toEqual(['queued', 'recved', 'sent', 'sid']);
  });

  it('conf and dirs: the same keys in the same order', () => {
    expect(keys(ours.text.conf, '=')).toEqual(keys(theirs.text.conf, '='));
    expect(keys(ours.text.dirs, ': ')).toEqual(keys(theirs.text.dirs, ': '));
  });

  it('envi: the same keys, with node.* where ZooKeeper has java.*', () => {
    const notRuntime = (k: string): boolean => !k.startsWith('java.') && !k.startsWith('node.');
    expect(keys(ours.text.envi, '=').filter(notRuntime)).toEqual(keys(theirs.text.envi, '=').filter(notRuntime));
    expect(ours.text.envi.split('\n')[0]).toBe(theirs.text.envi.split('\n')[0]);
  });

  it('mntr: our keys are ZooKeeper keys, in its order, with the same values where they are deterministic', () => {
    const ourKeys = keys(ours.text.mntr, '\t');
    const theirKeys = keys(theirs.text.mntr, '\t');
    expect(isOrderedSubset(ourKeys, theirKeys)).toBe(true);
    const values = (text: string): Map<string, string> => new Map(text.split('\n').map((l) => l.split('\t') as [string, string]));
    const a = values(ours.text.mntr);
    const b = values(theirs.text.mntr);
    for (const key of [
      'zk_server_state',
      'zk_ephemerals_count',
      'zk_num_alive_connections',
      'zk_outstanding_requests',
      'zk_znode_count',
      'zk_global_sessions',
      'zk_watch_count',
      'zk_approximate_data_size',
      'zk_local_sessions',
    ]) {
      expect([key, a.get(key)]).toEqual([key, b.get(key)]);
    }
  });

  it('dump: the same sessions and ephemerals', () => {
    const shape = (c: Capture): string =>
      norm(c, c.text.dump)
        .replace(/ expire at .*:$/gm, ' expire at <date>:')
        // ZooKeeper also lists emptied buckets, and its NIO connection queue after the heading.
        .replace(/^0 expire at <date>:\n/gm, '')
        .replace(/^Session Sets \(\d+\)/m, 'Session Sets (n)')
        .replace(/Connections dump:\n[^]*$/, 'Connections dump:\n');
    expect(shape(ours)).toBe(shape(theirs));
  });

  it('wchs, wchc, wchp: the same watches', () => {
    expect(ours.text.wchs).toBe(theirs.text.wchs);
    expect(sortedBlocks(norm(ours, ours.text.wchc))).toEqual(sortedBlocks(norm(theirs, theirs.text.wchc)));
    expect(sortedBlocks(norm(ours, ours.text.wchp))).toEqual(sortedBlocks(norm(theirs, theirs.text.wchp)));
  });

  it('isro, gtmk, hash: identical', () => {
    for (const word of ['isro', 'gtmk', 'hash'] as const) expect(ours.text[word]).toBe(theirs.text[word]);
  });
});
