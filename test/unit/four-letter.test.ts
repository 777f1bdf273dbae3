// The four-letter words against a hand-built server state: a tree with one ephemeral and one
// persistent node, one session with three watches, and the connection asking. The expected texts
// follow what Debian's ZooKeeper 3.8.0 printed for the same state (see the integration test,
// which compares the two servers directly).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/load-config.js';
import { OpCode } from '../../src/proto/opcodes.js';
import type { Clock } from '../../src/server/clock.js';
import { fourLetterWord } from '../../src/server/four-letter/commands.js';
import { dirSizeBytes } from '../../src/server/four-letter/conf.js';
import { hex64, javaDate, javaDouble, javaIpv6, javaSocketAddress, round4 } from '../../src/server/four-letter/java-format.js';
import { ResponseStats, lastOpCode } from '../../src/server/response-stats.js';
import { FULL_VERSION } from '../../src/server/four-letter/stat.js';
import type { FourLetterCnxn, FourLetterServer, FourLetterView } from '../../src/server/four-letter/types.js';
import { ServerStats } from '../../src/server/server-stats.js';
import { SessionTracker } from '../../src/session/session-tracker.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import type { Watcher } from '../../src/tree/watch-manager.js';

const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';
const TICK_MS = 2000;
/** The wall clock of the fake server: 2026-11-24T04:19:50Z. */
const WALL_MS = Date.UTC(2026, 10, 24, 4, 19, 50);
const ESTABLISHED_MS = 1_795_493_963_967;

class FakeCnxn implements FourLetterCnxn, Watcher {
  sessionId = 0n;
  sessionTimeoutMs = 0;
  packetsReceived = 0;
  packetsSent = 0;
  lastCxid = 0;
  outstandingRequests = 0;
  readonly establishedMs = ESTABLISHED_MS;
  interestOps?: number;
  responseStats?: ResponseStats;
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}
  notifyWatch(): void {}
}

const tmpRoot = mkdtempSync(join(tmpdir(), 'tszk-4lw-unit-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

function config(extra = '', dataDir = join(tmpRoot, 'data')): Config {
  return parseConfig(`tickTime=${TICK_MS}\ndataDir=${dataDir}\nclientPort=2181\n${extra}`, {
    path: join(tmpRoot, 'zoo.cfg'),
    env: {},
    systemProps: new Map(),
    readMyid: () => null,
    cwd: tmpRoot,
  });
}

interface Fixture {
  view: FourLetterView & { modeName: string };
  stats: ServerStats;
  tree: DataTree;
  client: FakeCnxn;
  asker: FakeCnxn;
  sessionId: bigint;
}

function fixture(cfg: Config = config('4lw.commands.whitelist=*\n')): Fixture {
  const tree = new DataTree();
  const clock: Clock = { wallMs: () => WALL_MS, elapsedMs: () => 1000 };
  const sessions = new SessionTracker(TICK_MS, 1, WALL_MS, 0);
  const stats = new ServerStats();
  const sessionId = sessions.newSessionId();
  sessions.add(sessionId, 30_000, 1000);
  tree.createNode('/eph', Buffer.from('x'), OPEN_ACL_UNSAFE, sessionId, -1, 2n, WALL_MS);
  tree.createNode('/perm', Buffer.from('hello'), OPEN_ACL_UNSAFE, 0n, -1, 3n, WALL_MS);
  tree.lastProcessedZxid = 3n;
  const client = new FakeCnxn('127.0.0.1', 59382);
  client.sessionId = sessionId;
  client.sessionTimeoutMs = 30_000;
  client.packetsReceived = 6;
  client.packetsSent = 6;
  client.lastCxid = 4;
  tree.dataWatches.add('/perm', client);
  tree.dataWatches.add('/nope', client);
  tree.childWatches.add('/', client);
  const asker = new FakeCnxn('127.0.0.1', 43280);
  stats.packetsReceived = 7;
  stats.packetsSent = 6;
  for (const ms of [1, 75, 1]) stats.recordLatency(ms);
  const server: FourLetterServer = {
    tree,
    sessions,
    stats,
    outstanding: 0,
    get lastProcessedZxid() {
      return tree.lastProcessedZxid;
    },
  };
  const view = {
    config: cfg,
    server,
    connections: new Set<FourLetterCnxn>([client, asker]),
    startedMs: Date.now() - 25_000,
    clientPort: 2181,
    clock,
    modeName: 'standalone',
    mode(): string {
      return this.modeName;
    },
  };
  return { view, stats, tree, client, asker, sessionId };
}

function ask(f: Fixture, word: string, traceMask?: bigint): string {
  const reply = fourLetterWord(f.view, word, f.asker, traceMask);
  if (reply === null) throw new Error(`${word} is not a four-letter word`);
  return reply;
}

describe('dispatch and whitelist', () => {
  test('a word ZooKeeper does not know is a frame length, and counts nothing', () => {
    const f = fixture();
    expect(fourLetterWord(f.view, 'abcd', f.asker)).toBeNull();
    expect(fourLetterWord(f.view, 'telnet', f.asker)).toBeNull();
    expect(f.stats.packetsReceived).toBe(7);
    expect(f.asker.packetsReceived).toBe(0);
  });

  test("without 4lw.commands.whitelist only srvr runs (ZooKeeper 3.8's default)", () => {
    const f = fixture(config());
    for (const word of ['ruok', 'stat', 'conf', 'cons', 'mntr', 'envi', 'dump', 'wchs', 'isro', 'dirs', 'gtmk', 'stmk', 'hash', 'crst', 'srst']) {
      expect(ask(f, word)).toBe(`${word} is not executed because it is not in the whitelist.\n`);
    }
    expect(ask(f, 'srvr')).toMatch(/^Zookeeper version: /);
  });

  test('a whitelist names words; srvr is always allowed, isro with read-only mode', () => {
    const f = fixture(config('4lw.commands.whitelist=ruok, mntr\n'));
    expect(ask(f, 'ruok')).toBe('imok');
    expect(ask(f, 'mntr')).toMatch(/^zk_version\t/);
    expect(ask(f, 'srvr')).toMatch(/^Zookeeper version: /);
    expect(ask(f, 'isro')).toBe('isro is not executed because it is not in the whitelist.\n');
    const ro = fixture(config('4lw.commands.whitelist=ruok\nreadonlymode.enabled=true\n'));
    expect(ask(ro, 'isro')).toBe('rw');
  });

  test('the word counts as a packet received before it runs, its reply as one sent after', () => {
    const f = fixture();
    expect(ask(f, 'srvr')).toContain('Received: 8\nSent: 6\n');
    expect(f.stats.packetsReceived).toBe(8);
    expect(f.stats.packetsSent).toBe(7);
    expect(f.asker.packetsReceived).toBe(1);
    expect(f.asker.packetsSent).toBe(1);
    // A refusal counts the same way.
    const g = fixture(config());
    ask(g, 'ruok');
    expect([g.stats.packetsReceived, g.stats.packetsSent]).toEqual([8, 7]);
  });
});

describe('srvr and stat', () => {
  test('srvr', () => {
    expect(ask(fixture(), 'srvr')).toBe(
      [
        `Zookeeper version: ${FULL_VERSION}`,
        'Latency min/avg/max: 1/25.6667/75',
        'Received: 8',
        'Sent: 6',
        'Connections: 2',
        'Outstanding: 0',
        'Zxid: 0x3',
        'Mode: standalone',
        'Node count: 7',
        '',
      ].join('\n'),
    );
  });

  test('the version leads with the ZooKeeper release we match', () => {
    expect(FULL_VERSION).toMatch(/^3\.8\.\d+-tszk-\d+\.\d+\.\d+/);
  });

  test('stat lists every connection briefly; the one asking is no longer read ([0])', () => {
    expect(ask(fixture(), 'stat')).toBe(
      [
        `Zookeeper version: ${FULL_VERSION}`,
        'Clients:',
        ' /127.0.0.1:59382[1](queued=0,recved=6,sent=6)',
        ' /127.0.0.1:43280[0](queued=0,recved=1,sent=0)',
        '',
        'Latency min/avg/max: 1/25.6667/75',
        'Received: 8',
        'Sent: 6',
        'Connections: 2',
        'Outstanding: 0',
        'Zxid: 0x3',
        'Mode: standalone',
        'Node count: 7',
        '',
      ].join('\n'),
    );
  });

  test('no requests yet: 0/0.0/0', () => {
    const f = fixture();
    f.stats.resetLatency();
    expect(ask(f, 'srvr')).toContain('Latency min/avg/max: 0/0.0/0\n');
  });

  test('fractional latencies: whole ms for min and max, four places for the average', () => {
    const f = fixture();
    f.stats.resetLatency();
    for (const ms of [0.2, 0.4, 1.7]) f.stats.recordLatency(ms);
    expect(ask(f, 'srvr')).toContain('Latency min/avg/max: 0/0.7667/2\n');
  });

  test('read-only mode adds its line; Mode says read-only', () => {
    const f = fixture();
    f.view.modeName = 'read-only';
    const text = ask(f, 'stat');
    expect(text.split('\n').slice(1, 3)).toEqual(['READ-ONLY mode; serving only read-only clients', 'Clients:']);
    expect(text).toContain('Mode: read-only\n');
  });

  test('a server that is not serving says so', () => {
    const f = fixture();
    f.view.modeName = 'looking';
    for (const word of ['srvr', 'stat', 'conf', 'cons', 'crst', 'srst', 'dirs', 'dump', 'mntr', 'wchs', 'wchc', 'wchp']) {
      expect(ask(f, word)).toBe(`${NOT_SERVING}\n`);
    }
    expect(ask(f, 'isro')).toBe('null');
    expect(ask(f, 'hash')).toBe(NOT_SERVING);
    expect(ask(f, 'ruok')).toBe('imok');
    expect(ask(f, 'envi')).toMatch(/^Environment:\n/);
  });
});

describe('cons, crst and srst', () => {
  test('without response statistics, cons shows what the connection knows', () => {
    const f = fixture();
    expect(ask(f, 'cons')).toBe(
      ` /127.0.0.1:59382[1](queued=0,recved=6,sent=6,sid=0x${hex64(f.sessionId)},est=${ESTABLISHED_MS},to=30000,lcxid=0x4)\n` +
        ' /127.0.0.1:43280[0](queued=0,recved=1,sent=0)\n\n',
    );
  });

  test('with response statistics, every field ZooKeeper prints', () => {
    const f = fixture();
    const rs = new ResponseStats();
    rs.responded(OpCode.createSession, 1n, 1000, 1075);
    rs.responded(OpCode.exists, 3n, 1049388.2, 1049389.9);
    f.client.responseStats = rs;
    expect(ask(f, 'cons')).toBe(
      ` /127.0.0.1:59382[1](queued=0,recved=6,sent=6,sid=0x${hex64(f.sessionId)},lop=EXIS,est=${ESTABLISHED_MS},to=30000,` +
        'lcxid=0x4,lzxid=0x3,lresp=1049389,llat=1,minlat=1,avglat=38,maxlat=75)\n' +
        ' /127.0.0.1:43280[0](queued=0,recved=1,sent=0)\n\n',
    );
  });

  test('interest ops, when the connection reports them, in hex', () => {
    const f = fixture();
    f.client.interestOps = 5;
    expect(ask(f, 'stat')).toContain(' /127.0.0.1:59382[5](');
  });

  test('crst zeroes every connection: counts, lcxid gone, lzxid -1', () => {
    const f = fixture();
    const rs = new ResponseStats();
    rs.responded(OpCode.ping, 3n, 10, 11);
    f.client.responseStats = rs;
    expect(ask(f, 'crst')).toBe('Connection stats reset.\n');
    expect(ask(f, 'cons').split('\n')[0]).toBe(
      ` /127.0.0.1:59382[1](queued=0,recved=0,sent=0,sid=0x${hex64(f.sessionId)},lop=NA,est=${ESTABLISHED_MS},to=30000,` +
        'lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)',
    );
  });

  test('srst zeroes the server counters; its own reply is the first packet sent after', () => {
    const f = fixture();
    expect(ask(f, 'srst')).toBe('Server stats reset.\n');
    expect(ask(f, 'srvr')).toContain('Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 1\n');
  });
});

describe('conf and dirs', () => {
  let dataDir: string;
  let logDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpRoot, 'snap-'));
    logDir = mkdtempSync(join(tmpRoot, 'log-'));
    mkdirSync(join(dataDir, 'version-2'));
    writeFileSync(join(dataDir, 'version-2', 'snapshot.0'), Buffer.alloc(100));
    mkdirSync(join(logDir, 'version-2', 'nested'), { recursive: true });
    writeFileSync(join(logDir, 'version-2', 'log.1'), Buffer.alloc(1000));
    writeFileSync(join(logDir, 'version-2', 'nested', 'x'), Buffer.alloc(24));
  });

  test('conf: dirs are the version-2 subdirectories; the sizes are swapped as in ZooKeeper', () => {
    const f = fixture(config(`4lw.commands.whitelist=*\ndataLogDir=${logDir}\n`, dataDir));
    expect(ask(f, 'conf')).toBe(
      [
        'clientPort=2181',
        'secureClientPort=-1',
        `dataDir=${dataDir}/version-2`,
        'dataDirSize=1024',
        `dataLogDir=${logDir}/version-2`,
        'dataLogSize=100',
        'tickTime=2000',
        'maxClientCnxns=60',
        'minSessionTimeout=4000',
        'maxSessionTimeout=40000',
        'clientPortListenBacklog=-1',
        'serverId=0',
        '',
      ].join('\n'),
    );
    expect(ask(f, 'dirs')).toBe('datadir_size: 1024\nlogdir_size: 100\n');
  });

  test('a missing directory measures 0', () => {
    expect(dirSizeBytes(join(tmpRoot, 'no-such-dir'))).toBe(0);
    const f = fixture(config('4lw.commands.whitelist=*\n', join(tmpRoot, 'never-created')));
    expect(ask(f, 'dirs')).toBe('datadir_size: 0\nlogdir_size: 0\n');
  });

  test('an ensemble member adds its quorum settings and the membership, without a final newline', () => {
    const cfg = parseConfig(
      [
        'tickTime=2000',
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${dataDir}`,
        'clientPort=23192',
        '4lw.commands.whitelist=*',
        'server.1=127.0.0.1:2418:3418',
        'server.2=127.0.0.1:2428:3428;127.0.0.1:23192',
        'server.3=127.0.0.1:2438:3438:observer',
        '',
      ].join('\n'),
      { path: join(tmpRoot, 'zoo.cfg'), env: {}, systemProps: new Map(), readMyid: () => '2', cwd: tmpRoot },
    );
    const f = fixture(cfg);
    f.view.modeName = 'leader';
    // What ZooKeeper 3.8.0's server 2 printed for this zoo.cfg.
    expect(ask(f, 'conf').split('\n').slice(11)).toEqual([
      'serverId=2',
      'initLimit=10',
      'syncLimit=5',
      'electionAlg=3',
      'electionPort=3428',
      'quorumPort=2428',
      'peerType=0',
      'membership: ',
      'server.1=127.0.0.1:2418:3418:participant',
      'server.2=127.0.0.1:2428:3428:participant;127.0.0.1:23192',
      'server.3=127.0.0.1:2438:3438:observer',
      'version=0',
    ]);
  });
});

describe('mntr', () => {
  test('the keys we can compute, in the order ZooKeeper 3.8 prints them', () => {
    const text = ask(fixture(), 'mntr');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    for (const line of lines) expect(line).toMatch(/^zk_[a-z_]+\t\S.*$/);
    const fields = new Map(lines.map((l) => l.split('\t') as [string, string]));
    const keys = [...fields.keys()].filter((k) => !k.endsWith('file_descriptor_count'));
    expect(keys).toEqual([
      'zk_version',
      'zk_server_state',
      'zk_ephemerals_count',
      'zk_num_alive_connections',
      'zk_avg_latency',
      'zk_outstanding_requests',
      'zk_znode_count',
      'zk_global_sessions',
      'zk_packets_sent',
      'zk_packets_received',
      'zk_watch_count',
      'zk_min_latency',
      'zk_approximate_data_size',
      'zk_local_sessions',
      'zk_uptime',
      'zk_max_latency',
    ]);
    expect(Object.fromEntries(fields)).toMatchObject({
      zk_version: FULL_VERSION,
      zk_server_state: 'standalone',
      zk_ephemerals_count: '1',
      zk_num_alive_connections: '2',
      zk_avg_latency: '25.6667',
      zk_outstanding_requests: '0',
      zk_znode_count: '7',
      zk_global_sessions: '1',
      zk_packets_sent: '6',
      zk_packets_received: '8',
      zk_watch_count: '3',
      zk_min_latency: '1',
      // "" and "/" (1), /zookeeper (10), /zookeeper/quota (16), /zookeeper/config (17),
      // /eph (4 + 1 byte), /perm (5 + 5 bytes): what ZooKeeper reported for the same tree.
      zk_approximate_data_size: '59',
      zk_local_sessions: '0',
      zk_max_latency: '75',
    });
    expect(Number(fields.get('zk_uptime'))).toBeGreaterThanOrEqual(25_000);
    if (process.platform === 'linux') {
      expect(fields.get('zk_open_file_descriptor_count')).toMatch(/^\d+$/);
      expect(fields.get('zk_max_file_descriptor_count')).toMatch(/^\d+$/);
      // max precedes approximate_data_size, open follows it.
      const order = [...fields.keys()];
      expect(order.indexOf('zk_max_file_descriptor_count')).toBe(order.indexOf('zk_approximate_data_size') - 1);
      expect(order.indexOf('zk_open_file_descriptor_count')).toBe(order.indexOf('zk_approximate_data_size') + 1);
    }
  });
});

describe('envi', () => {
  test('ZooKeeper\'s keys, java.* as node.*', () => {
    const text = ask(fixture(), 'envi');
    const lines = text.slice(0, -1).split('\n');
    expect(lines[0]).toBe('Environment:');
    const keys = lines.slice(1).map((l) => l.slice(0, l.indexOf('=')));
    expect(keys).toEqual([
      'zookeeper.version',
      'host.name',
      'node.version',
      'node.execPath',
      'node.main',
      'node.tmpdir',
      'os.name',
      'os.arch',
      'os.version',
      'user.name',
      'user.home',
      'user.dir',
      'os.memory.free',
      'os.memory.max',
      'os.memory.total',
    ]);
    expect(text).toContain(`zookeeper.version=${FULL_VERSION}\n`);
    expect(text).toContain(`user.dir=${process.cwd()}\n`);
    expect(text).toMatch(/\nos\.memory\.free=\d+MB\nos\.memory\.max=\d+MB\nos\.memory\.total=\d+MB\n$/);
  });
});

describe('dump and the watch words', () => {
  test('dump: sessions by expiry bucket, ephemerals by session, the connection heading', () => {
    const f = fixture();
    const sid = hex64(f.sessionId);
    // Touched at elapsed 1000 ms with a 30 s timeout: the bucket at 32000 ms, 31 s after "now".
    expect(ask(f, 'dump')).toBe(
      [
        'SessionTracker dump:',
        'Session Sets (1)/(1):',
        `1 expire at ${javaDate(WALL_MS + 31_000)}:`,
        `\t0x${sid}`,
        'ephemeral nodes dump:',
        'Sessions with Ephemerals (1):',
        `0x${sid}:`,
        '\t/eph',
        'Connections dump:',
        '',
      ].join('\n'),
    );
  });

  test('wchs counts data watches only, as ZooKeeper 3.8 does', () => {
    expect(ask(fixture(), 'wchs')).toBe('1 connections watching 2 paths\nTotal watches:2\n');
  });

  test('wchc: by session', () => {
    const f = fixture();
    expect(ask(f, 'wchc')).toBe(`0x${hex64(f.sessionId)}\n\t/perm\n\t/nope\n\n`);
  });

  test('wchp: by path', () => {
    const f = fixture();
    const sid = hex64(f.sessionId);
    expect(ask(f, 'wchp')).toBe(`/perm\n\t0x${sid}\n/nope\n\t0x${sid}\n\n`);
  });

  test('no watches: the counts are 0 and the lists hold only the final newline', () => {
    const f = fixture();
    f.tree.removeWatcher(f.client);
    expect(ask(f, 'wchs')).toBe('0 connections watching 0 paths\nTotal watches:0\n');
    expect(ask(f, 'wchc')).toBe('\n');
    expect(ask(f, 'wchp')).toBe('\n');
  });
});

describe('the small words', () => {
  test('ruok, isro, hash', () => {
    const f = fixture();
    expect(ask(f, 'ruok')).toBe('imok');
    expect(ask(f, 'isro')).toBe('rw');
    f.view.modeName = 'read-only';
    expect(ask(f, 'isro')).toBe('ro');
    expect(ask(f, 'hash')).toBe('');
  });

  test('gtmk shows the trace mask (306 by default); stmk sets it per server', () => {
    const f = fixture();
    expect(ask(f, 'gtmk')).toBe('306');
    expect(ask(f, 'stmk')).toBe('306');
    expect(ask(f, 'stmk', 0xffn)).toBe('255');
    expect(ask(f, 'gtmk')).toBe('255');
    expect(ask(f, 'stmk', 0xffff_ffff_ffff_ffffn)).toBe('-1');
    expect(ask(fixture(), 'gtmk')).toBe('306');
  });
});

describe('Java formatting', () => {
  test('Double.toString', () => {
    expect(javaDouble(0)).toBe('0.0');
    expect(javaDouble(1)).toBe('1.0');
    expect(javaDouble(22.3333)).toBe('22.3333');
    expect(javaDouble(0.001)).toBe('0.001');
    expect(javaDouble(0.0001)).toBe('1.0E-4');
    expect(javaDouble(0.00012)).toBe('1.2E-4');
    expect(javaDouble(12_345_678)).toBe('1.2345678E7');
    expect(javaDouble(9_999_999)).toBe('9999999.0');
    expect(round4(67 / 3)).toBe(22.3333);
    expect(round4(2 / 3)).toBe(0.6667);
  });

  test('Long.toHexString', () => {
    expect(hex64(0n)).toBe('0');
    expect(hex64(0x0100_000f_e443_0000n)).toBe('100000fe4430000');
    expect(hex64(-1n)).toBe('ffffffffffffffff');
    expect(hex64(-0x0100_0000_0000_0000n)).toBe('ff00000000000000');
  });

  test('socket addresses', () => {
    expect(javaSocketAddress('127.0.0.1', 54321)).toBe('/127.0.0.1:54321');
    expect(javaSocketAddress('::1', 5)).toBe('/[0:0:0:0:0:0:0:1]:5');
    expect(javaIpv6('fe80::a:0b%eth0')).toBe('fe80:0:0:0:0:0:a:b%eth0');
    expect(javaIpv6('2001:db8::')).toBe('2001:db8:0:0:0:0:0:0');
    expect(javaIpv6('::ffff:1.2.3.4')).toBe('0:0:0:0:0:ffff:102:304');
  });

  test('Date.toString', () => {
    const text = javaDate(WALL_MS);
    expect(text).toMatch(/^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \S+ \d{4}$/);
    if (new Date(WALL_MS).getTimezoneOffset() === 0) expect(text).toMatch(/^Tue Nov 24 04:19:50 (UTC|GMT) 2026$/);
  });

  test('lop codes', () => {
    expect(lastOpCode(OpCode.ping)).toBe('PING');
    expect(lastOpCode(OpCode.create2)).toBe('CREA');
    expect(lastOpCode(OpCode.getChildren2)).toBe('GETC');
    expect(lastOpCode(OpCode.getAllChildrenNumber)).toBe('GETACN');
    expect(lastOpCode(OpCode.auth)).toBe('NA');
  });
});
