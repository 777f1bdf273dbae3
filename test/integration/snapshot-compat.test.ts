// Snapshots against Debian's ZooKeeper 3.8: we load what the real server writes and compare it
// with what that server answered, its SnapshotFormatter reads what we write, and the real server
// starts from a data dir holding nothing but our snapshot and serves the same tree.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { generateDigest } from '../../src/auth/providers.js';
import { digestToVerify, findLatestValidSnapshot, readSnapshot } from '../../src/persist/snapshot-reader.js';
import { writeSnapshot } from '../../src/persist/snapshot-writer.js';
import type { ACL, Stat } from '../../src/proto/data.js';
import { Err } from '../../src/proto/error-codes.js';
import { CreateMode } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { DataTree, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import { CONTAINER_EPHEMERAL_OWNER, ttlOwner } from '../../src/tree/ephemeral-type.js';
import type { ZNode } from '../../src/tree/znode.js';
import { fourLetterWord } from '../support/four-letter.js';
import { RawClient } from '../support/raw-client.js';
import { describeWithReference, requireReference } from '../support/reference.js';
import { startReferenceServer, type TestServer } from '../support/zk-server.js';
import { outputLines, splitStat, zkCliPiped } from '../support/zkcli.js';

const run = promisify(execFile);

const BOB = 'bob:secret';
const BOB_ACL: ACL[] = [{ perms: Perms.all, id: { scheme: 'digest', id: generateDigest(BOB) } }];
const IP_ACL: ACL[] = [
  { perms: Perms.create | Perms.read | Perms.write | Perms.admin, id: { scheme: 'ip', id: '127.0.0.1' } },
  { perms: Perms.read, id: { scheme: 'world', id: 'anyone' } },
];

// ---------------------------------------------------------------- SnapshotFormatter

interface DumpedNode {
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  cversion: number;
  version: number;
  aversion: number;
  ephemeralOwner: bigint;
  /** base64; null data prints as empty too. */
  data: string;
}

interface Dump {
  count: number;
  nodes: Map<string, DumpedNode>;
  /** session id -> [timeout, ephemeral count] */
  sessions: Map<bigint, [number, number]>;
}

async function formatter(file: string, mode: '-d' | '-json'): Promise<string> {
  const install = requireReference();
  const classpath = [install.zookeeperJar, install.optionalJars.slf4jNop].filter((jar): jar is string => jar !== undefined).join(':');
  const { stdout } = await run(install.java as string, ['-cp', classpath, 'org.apache.zookeeper.server.SnapshotFormatter', mode, file], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, TZ: 'UTC' },
  });
  return stdout;
}

/** `SnapshotFormatter -d`: ZooKeeper's own reading of a snapshot. */
async function formatterDump(file: string): Promise<Dump> {
  const text = await formatter(file, '-d');
  const count = Number(/ZNode Details \(count=(\d+)\):/.exec(text)?.[1] ?? -1);
  const nodes = new Map<string, DumpedNode>();
  const [nodePart = '', sessionPart = ''] = text.split('Session Details (sid, timeout, ephemeralCount):');
  for (const block of nodePart.split('\n----\n').slice(1)) {
    const lines = block.split('\n');
    const path = lines[0] ?? '';
    if (!path.startsWith('/')) continue;
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const m = /^ {2}(\w+) = (.*)$/.exec(line);
      if (m) fields.set(m[1] ?? '', m[2] ?? '');
    }
    const long = (key: string): bigint => BigInt.asIntN(64, BigInt(fields.get(key) ?? 'x'));
    const int = (key: string): number => Number(fields.get(key) ?? 'x');
    nodes.set(path, {
      czxid: long('cZxid'),
      mzxid: long('mZxid'),
      pzxid: long('pZxid'),
      cversion: int('cversion'),
      version: int('dataVersion'),
      aversion: int('aclVersion'),
      ephemeralOwner: long('ephemeralOwner'),
      data: fields.get('data') ?? '?',
    });
  }
  const sessions = new Map<bigint, [number, number]>();
  for (const m of sessionPart.matchAll(/^(0x[0-9a-f]+), (\d+), (\d+)$/gm)) {
    sessions.set(BigInt.asIntN(64, BigInt(m[1] ?? '')), [Number(m[2]), Number(m[3])]);
  }
  return { count, nodes, sessions };
}

/** The dump our reading of the same snapshot predicts. ZooKeeper's loaded tree holds the root
 * twice, as "" and as "/", so the formatter's count is one more than the nodes it lists. */
function predictedDump(tree: DataTree, sessions: Map<bigint, number>): Dump {
  const nodes = new Map<string, DumpedNode>();
  for (const [path, n] of tree.nodes) {
    nodes.set(path, {
      czxid: n.czxid,
      mzxid: n.mzxid,
      pzxid: n.pzxid,
      cversion: n.cversion,
      version: n.version,
      aversion: n.aversion,
      ephemeralOwner: n.ephemeralOwner,
      data: n.data === null ? '' : n.data.toString('base64'),
    });
  }
  const dumpedSessions = new Map<bigint, [number, number]>();
  for (const [id, timeoutMs] of sessions) dumpedSessions.set(id, [timeoutMs, tree.ephemeralsOf(id).length]);
  return { count: tree.nodeCount + 1, nodes, sessions: dumpedSessions };
}

// ---------------------------------------------------------------- what a client sees

interface Seen {
  data: string | null;
  stat: Stat;
  acl: ACL[];
}

function unwrap<T>(result: { err: number; response: T | undefined }, what: string): T {
  if (result.err !== Err.ok || result.response === undefined) throw new Error(`${what}: error ${result.err}`);
  return result.response;
}

/** Every node of the server's tree as a client reads it: data, Stat and ACL. */
async function observe(client: RawClient): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  const walk = async (path: string): Promise<void> => {
    const { data, stat } = unwrap(await client.getData(path), `getData ${path}`);
    const { acl } = unwrap(await client.getACL(path), `getACL ${path}`);
    seen.set(path, { data: data === null ? null : data.toString('hex'), stat, acl });
    const { children } = unwrap(await client.getChildren(path), `getChildren ${path}`);
    for (const child of children.sort()) await walk(path === '/' ? `/${child}` : `${path}/${child}`);
  };
  await walk('/');
  return seen;
}

/** What a client would read from a tree we hold. */
function expectedView(tree: DataTree): Map<string, Seen> {
  const view = new Map<string, Seen>();
  for (const path of [...tree.nodes.keys()].sort()) {
    const node = tree.nodes.get(path) as ZNode;
    view.set(path, {
      data: node.data === null ? null : node.data.toString('hex'),
      stat: tree.statOf(node),
      acl: node.acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } })),
    });
  }
  return view;
}

const sortedEntries = <V>(map: Map<string, V>): [string, V][] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

// ---------------------------------------------------------------- a tree of every kind, built here

const SESSION_A = 0x0100_0abc_0000_0001n;
const SESSION_B = 0x0100_0abc_0000_0002n;
const TIME0 = Date.UTC(2024, 0, 2, 3, 4, 5);

function ourTree(): { tree: DataTree; sessions: Map<bigint, number> } {
  const tree = new DataTree(true);
  let zxid = 0x1_0000_0000n; // epoch 1, as after an election
  const create = (path: string, data: string | null, acl: readonly ACL[], owner = 0n): void => {
    zxid++;
    const err = tree.createNode(path, data === null ? null : Buffer.from(data), acl, owner, -1, zxid, TIME0 + Number(zxid & 0xffffn));
    if (err !== Err.ok) throw new Error(`create ${path}: ${err}`);
  };
  create('/app', 'hello', OPEN_ACL_UNSAFE);
  create('/app/config', 'c', READ_ACL_UNSAFE);
  create('/app/seq-0000000002', 's', OPEN_ACL_UNSAFE);
  create('/app/gone', 'g', OPEN_ACL_UNSAFE);
  tree.deleteNode('/app/gone', ++zxid);
  create('/app/null', null, OPEN_ACL_UNSAFE);
  create('/eph', 'e', OPEN_ACL_UNSAFE, SESSION_A);
  create('/app/eph-0000000005', 'e2', IP_ACL, SESSION_B);
  create('/cont', 'box', OPEN_ACL_UNSAFE, CONTAINER_EPHEMERAL_OWNER);
  create('/cont/item', 'i', OPEN_ACL_UNSAFE);
  create('/ttl', 't', OPEN_ACL_UNSAFE, ttlOwner(3_600_000) ?? 0n);
  create('/bob', 'b', BOB_ACL);
  create('/ip', 'i', IP_ACL);
  create('/ip/shared', 'i2', IP_ACL);
  tree.setData('/app', Buffer.from('world'), 1, ++zxid, TIME0 + 1000);
  tree.setACL('/app/config', IP_ACL, 1);
  tree.lastProcessedZxid = zxid;
  return { tree, sessions: new Map([[SESSION_A, 30_000], [SESSION_B, 20_000]]) };
}

// ---------------------------------------------------------------- tests

let work = '';
const servers: TestServer[] = [];
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tszk-snapshot-compat-'));
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  await rm(work, { recursive: true, force: true });
});

async function startOn(dataDir: string): Promise<TestServer> {
  const server = await startReferenceServer({ extraConfig: { dataDir, extendedTypesEnabled: 'true' } });
  servers.push(server);
  return server;
}

describeWithReference('snapshot compatibility with ZooKeeper 3.8', () => {
  test('a snapshot the real server wrote loads with the nodes, Stats, ACLs and sessions it served', async () => {
    const dataDir = join(work, 'data');
    const first = await startOn(dataDir);
    const client = await RawClient.connect({ host: first.host, port: first.clientPort, timeOutMs: 30_000 });
    let served: Map<string, Seen>;
    try {
      const ok = (r: { err: number }, what: string): void => expect(r.err, what).toBe(Err.ok);
      ok(await client.addAuth('digest', BOB), 'auth');
      ok(await client.create('/app', 'hello'), '/app');
      ok(await client.create('/app/child', 'c'), '/app/child');
      ok(await client.create('/app/ro', 'r', { acl: READ_ACL_UNSAFE }), '/app/ro');
      ok(await client.create('/app/seq-', 's', { flags: CreateMode.persistentSequential }), 'sequential');
      ok(await client.create('/app/eseq-', 'es', { flags: CreateMode.ephemeralSequential, acl: IP_ACL }), 'ephemeral sequential');
      ok(await client.create('/app/gone', 'g'), '/app/gone');
      ok(await client.delete('/app/gone'), 'delete');
      ok(await client.create('/app/null', null), '/app/null');
      ok(await client.create('/app/empty', ''), '/app/empty');
      ok(await client.create('/eph', 'e', { flags: CreateMode.ephemeral }), '/eph');
      ok(await client.createContainer('/cont', 'box'), '/cont');
      ok(await client.create('/cont/item', 'i'), '/cont/item');
      ok(await client.createTTL('/ttl', 't', 3_600_000), '/ttl');
      ok(await client.create('/bob', 'b', { acl: BOB_ACL }), '/bob');
      ok(await client.create('/ip', 'i', { acl: IP_ACL }), '/ip');
      ok(await client.create('/ip/shared', 'i2', { acl: IP_ACL }), '/ip/shared');
      ok(await client.setData('/app', 'world'), 'setData');
      ok(await client.setData('/app', Buffer.from([0, 1, 2, 0xff])), 'setData');
      ok(await client.setACL('/app/child', IP_ACL), 'setACL');
      served = await observe(client);
    } finally {
      // Stop the server with the session still open, so the session and its ephemerals survive.
      await first.stop();
      client.destroy();
    }
    // On start-up the server writes a clean snapshot of everything it restored.
    const second = await startOn(dataDir);
    await second.stop();
    const snapDir = join(dataDir, 'version-2');
    const { snapshot, skipped } = await findLatestValidSnapshot(snapDir, { extendedTypesEnabled: true });
    expect(skipped).toEqual([]);
    if (snapshot === null) throw new Error(`no snapshot in ${snapDir}: ${(await readdir(snapDir)).join(' ')}`);
    expect(snapshot.zxid).toBeGreaterThan(0n);
    expect(sortedEntries(expectedView(snapshot.tree))).toEqual(sortedEntries(served));
    expect(snapshot.sessions.get(client.sessionId)).toBe(client.connectResponse?.timeOut);
    const ephemerals = [...served].filter(([, seen]) => seen.stat.ephemeralOwner === client.sessionId).map(([path]) => path);
    expect(ephemerals).toHaveLength(2);
    expect(snapshot.tree.ephemeralsOf(client.sessionId).sort()).toEqual(ephemerals.sort());
    expect(snapshot.unresolvedAclPaths).toEqual([]);
    // The server's digest of that tree equals ours.
    const digest = digestToVerify(snapshot);
    expect(digest?.zxid).toBe(snapshot.zxid);
    expect(snapshot.tree.digest).toBe(digest?.digest);
    // ZooKeeper's own reading of the file agrees with ours, node by node.
    const dump = await formatterDump(snapshot.path);
    const predicted = predictedDump(snapshot.tree, snapshot.sessions);
    expect(dump.count).toBe(predicted.count);
    expect(sortedEntries(dump.nodes as Map<string, unknown>)).toEqual(sortedEntries(predicted.nodes as Map<string, unknown>));
    expect(dump.sessions).toEqual(predicted.sessions);
  });

  test("ZooKeeper's SnapshotFormatter reads what we write and lists the same nodes and sessions", async () => {
    const { tree, sessions } = ourTree();
    const written = await writeSnapshot(work, tree, sessions, tree.lastProcessedZxid, { fsync: true });
    expect(written.path).toBe(join(work, `snapshot.${tree.lastProcessedZxid.toString(16)}`));
    const dump = await formatterDump(written.path);
    const predicted = predictedDump(tree, sessions);
    expect(dump.count).toBe(predicted.count);
    expect(sortedEntries(dump.nodes as Map<string, unknown>)).toEqual(sortedEntries(predicted.nodes as Map<string, unknown>));
    expect(dump.sessions).toEqual(predicted.sessions);
    // The JSON listing names every node once.
    const json = JSON.parse(await formatter(written.path, '-json')) as unknown;
    const names: string[] = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (typeof value === 'object' && value !== null && 'ino' in value && 'name' in value) names.push(String(value.name));
    };
    collect(json);
    expect(names.sort()).toEqual([...tree.nodes.keys()].map((p) => (p === '/' ? '/' : p.slice(p.lastIndexOf('/') + 1))).sort());
    // And we read our own file back to the same tree.
    const again = await readSnapshot(written.path, { extendedTypesEnabled: true });
    expect(sortedEntries(expectedView(again.tree))).toEqual(sortedEntries(expectedView(tree)));
  });

  test('the real server starts from our snapshot alone and serves the same tree', async () => {
    const { tree, sessions } = ourTree();
    const dataDir = join(work, 'data');
    const snapDir = join(dataDir, 'version-2');
    await mkdir(snapDir, { recursive: true });
    const written = await writeSnapshot(snapDir, tree, sessions, tree.lastProcessedZxid, { fsync: true });
    expect(await readdir(snapDir)).toEqual([`snapshot.${tree.lastProcessedZxid.toString(16)}`]);
    const server = await startOn(dataDir);

    // It verified both checksums (a bad one would have stopped it) and computed the same digest.
    const log = await readFile(server.logFile, 'utf8');
    expect(log).toContain(`Reading snapshot ${written.path}`);
    expect(log).not.toMatch(/problem reading snap file|CRC corruption/);
    const loaded = /Snapshot loaded in \d+ ms, highest zxid is 0x([0-9a-f]+), digest is (-?\d+)/.exec(log);
    expect(loaded?.[1]).toBe(tree.lastProcessedZxid.toString(16));
    expect(loaded?.[2]).toBe(tree.digest.toString());
    const mntr = await fourLetterWord(server.host, server.clientPort, 'mntr', { timeoutMs: 5000 });
    expect(mntr).toMatch(/^zk_digest_mismatches_count\t0$/m);

    const client = await RawClient.connect({ host: server.host, port: server.clientPort });
    try {
      expect((await client.addAuth('digest', BOB)).err).toBe(Err.ok);
      expect(sortedEntries(await observe(client))).toEqual(sortedEntries(expectedView(tree)));
    } finally {
      await client.closeQuietly();
    }

    const cli = await zkCliPiped(server.connectString, [`addauth digest ${BOB}`, 'ls -R /', 'get -s /app', 'getAcl /ip']);
    const [, ls, get, getAcl] = cli.steps.map((step) => step.output);
    expect(outputLines(ls ?? '').sort()).toEqual([...tree.nodes.keys()].sort());
    const { before, stat } = splitStat(get ?? '');
    expect(before).toBe('world\n');
    const app = tree.statOf(tree.get('/app') as ZNode);
    expect([stat.cZxid, stat.mZxid, stat.pZxid, stat.cversion, stat.dataVersion, stat.numChildren]).toEqual([
      app.czxid, app.mzxid, app.pzxid, app.cversion, app.version, app.numChildren,
    ]);
    expect(getAcl).toBe("'ip,'127.0.0.1\n: crwa\n'world,'anyone\n: r\n");
  });
});
