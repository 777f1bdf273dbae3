// The txn log against Debian's ZooKeeper 3.8: we read what the real server writes, its
// TxnLogToolkit dumps what we write, and the real server restores its tree from our log.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { OpCode, opName } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { readAllTxns } from '../../src/persist/txn-log-reader.js';
import { TxnLogWriter } from '../../src/persist/txn-log-writer.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { describeWithReference, requireReference } from '../support/reference.js';
import { startReferenceServer, type TestServer } from '../support/zk-server.js';
import { zkCliOneShot, zkCliPiped } from '../support/zkcli.js';

const run = promisify(execFile);
const OPEN_ACL = [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }];
/** Request.op2String spells one opcode differently from its constant. */
const javaOpName = (type: number): string => (type === OpCode.createTTL ? 'createTtl' : opName(type));

interface Dumped {
  session: bigint;
  cxid: number;
  zxid: bigint;
  op: string;
  /** The rest of the line: the record as TxnLogToolkit prints it. */
  text: string;
}

/** `TxnLogToolkit <file>`: ZooKeeper's own reader of one log file. */
async function toolkitDump(file: string): Promise<{ stdout: string; txns: Dumped[] }> {
  const install = requireReference();
  const classpath = [install.zookeeperJar, install.optionalJars.slf4jNop].filter((jar): jar is string => jar !== undefined).join(':');
  const { stdout } = await run(install.java!, ['-cp', classpath, 'org.apache.zookeeper.server.persistence.TxnLogToolkit', file], {
    timeout: 60_000,
    env: { ...process.env, TZ: 'UTC' },
  });
  const txns: Dumped[] = [];
  for (const m of stdout.matchAll(/session 0x([0-9a-f]+) cxid 0x([0-9a-f]+) zxid 0x([0-9a-f]+) (\w+) ?([^\n]*)/g)) {
    txns.push({ session: BigInt(`0x${m[1]!}`), cxid: Number.parseInt(m[2]!, 16), zxid: BigInt(`0x${m[3]!}`), op: m[4]!, text: m[5]! });
  }
  return { stdout, txns };
}

function pathOf(t: TxnEntry): string | null {
  const body = t.body;
  if (body.type === OpCode.createSession || body.type === OpCode.closeSession || body.type === OpCode.multi || body.type === OpCode.error) return null;
  if (body.type === OpCode.check) return body.record.path;
  return body.record.path;
}

let work: string;
let server: TestServer | null = null;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tszk-txnlog-compat-'));
});
afterEach(async () => {
  await server?.stop();
  server = null;
  await rm(work, { recursive: true, force: true });
});

describeWithReference('txn log compatibility with ZooKeeper 3.8', () => {
  test('a log written by the real server reads back with its txn types, paths and zxids', async () => {
    const dataDir = join(work, 'data');
    server = await startReferenceServer({ extraConfig: { dataDir, preAllocSize: '64', extendedTypesEnabled: 'true' } });
    await zkCliPiped(server.connectString, [
      'create /a hello',
      'create -e /b x',
      'create -s /c y',
      'create -c /box',
      'create -t 60000 /ttl t',
      'set /a world',
      'setAcl /a world:anyone:r',
      'delete /c0000000002',
      'create /a/bad',
    ]);
    await server.stop();
    server = null;
    const logDir = join(dataDir, 'version-2');
    const read = await readAllTxns(logDir, 0n);
    expect(read.truncateAt).toBeNull();
    expect(read.files.map((f) => f.slice(logDir.length + 1))).toEqual(['log.1']);
    // ZooKeeper pads from the end of the header: 16 bytes + preAllocSize.
    expect((await stat(read.files[0]!)).size).toBe(16 + 64 * 1024);
    const txns = read.txns;
    expect(txns.map((t) => t.hdr.zxid)).toEqual(txns.map((_, i) => BigInt(i + 1)));
    // The readiness probe's session first, then zkCli's.
    const summary = txns.map((t) => `${opName(t.hdr.type)} ${pathOf(t) ?? ''}`.trim());
    expect(summary).toEqual([
      'createSession', 'closeSession',
      'createSession',
      'create /a', 'create /b', 'create /c0000000002', 'createContainer /box', 'createTTL /ttl',
      'setData /a', 'setACL /a', 'delete /c0000000002',
      // No create permission on /a any more: an error txn.
      'error',
      'closeSession',
    ]);
    const byPath = new Map(txns.map((t) => [pathOf(t), t] as const));
    expect(byPath.get('/a')?.body).toMatchObject({ type: OpCode.setACL, record: { acl: [{ perms: Perms.read }] } });
    expect(txns.find((t) => t.hdr.type === OpCode.create && pathOf(t) === '/b')?.body).toMatchObject({ record: { ephemeral: true, data: Buffer.from('x') } });
    expect(txns.find((t) => t.hdr.type === OpCode.createTTL)?.body).toMatchObject({ record: { ttl: 60000 } });
    const last = txns[txns.length - 1]!;
    expect(last.body).toEqual({ type: OpCode.closeSession, record: { paths2Delete: ['/b'] } });
    // 3.8 digests every txn but an error txn.
    expect(txns.map((t) => (t.digest === null ? opName(t.hdr.type) : t.digest.version))).toEqual(txns.map((t) => (t.hdr.type === OpCode.error ? 'error' : 2)));
    // Same reading as ZooKeeper's own tool.
    const dump = await toolkitDump(read.files[0]!);
    expect(dump.txns.map((d) => [d.session, d.cxid, d.zxid, d.op])).toEqual(txns.map((t) => [t.hdr.clientId, t.hdr.cxid, t.hdr.zxid, javaOpName(t.hdr.type)]));
  });

  test("a log written by TxnLogWriter is accepted by ZooKeeper's TxnLogToolkit", async () => {
    const session = 0x1000abcd0000001n;
    let zxid = 0n;
    let cxid = 0;
    const txn = (body: TxnEntry['body'], digest: TxnEntry['digest'] = null): TxnEntry => ({
      hdr: { clientId: session, cxid: cxid++, zxid: ++zxid, time: 1_700_000_000_000 + Number(zxid), type: body.type },
      body,
      digest,
    });
    const create = (path: string, data: string, ephemeral = false) => ({ type: OpCode.create, record: { path, data: Buffer.from(data), acl: OPEN_ACL, ephemeral, parentCVersion: 1 } }) as const;
    const txns: TxnEntry[] = [
      txn({ type: OpCode.createSession, record: { timeOut: 30000 } }),
      txn(create('/a', 'hello'), { version: 2, treeDigest: 1234567n }),
      txn(create('/a/e', 'eph', true)),
      txn({ type: OpCode.create2, record: { path: '/c2', data: null, acl: OPEN_ACL, ephemeral: false, parentCVersion: 3 } }),
      txn({ type: OpCode.createContainer, record: { path: '/box', data: Buffer.from('b'), acl: OPEN_ACL, parentCVersion: 4 } }),
      txn({ type: OpCode.createTTL, record: { path: '/ttl', data: Buffer.from('t'), acl: OPEN_ACL, parentCVersion: 5, ttl: 60000 } }),
      txn({ type: OpCode.setData, record: { path: '/a', data: Buffer.from('world'), version: 1 } }, { version: 2, treeDigest: 99n }),
      txn({ type: OpCode.setACL, record: { path: '/a', acl: [{ perms: Perms.read, id: { scheme: 'world', id: 'anyone' } }], version: 1 } }),
      txn({ type: OpCode.delete, record: { path: '/c2' } }),
      txn({ type: OpCode.error, record: { err: -101 } }),
      txn({
        type: OpCode.multi,
        record: [
          create('/m1', 'one'),
          { type: OpCode.setData, record: { path: '/m1', data: Buffer.from('two'), version: 0 } },
          { type: OpCode.check, record: { path: '/m1', version: 1 } },
          { type: OpCode.delete, record: { path: '/box' } },
        ],
      }),
      txn({ type: OpCode.closeSession, record: { paths2Delete: ['/a/e'] } }, { version: 2, treeDigest: 7n }),
    ];
    const w = new TxnLogWriter(work, { preAllocSizeBytes: 64 * 1024, forceSync: true });
    const flush = (): Promise<Error | null> => new Promise((resolve) => w.flush(resolve));
    for (const [i, t] of txns.entries()) {
      if (i === 7) {
        expect(await flush()).toBeNull();
        w.rollLog();
      }
      w.append(t);
    }
    expect(await flush()).toBeNull();
    await w.close();
    expect((await readdir(work)).sort()).toEqual(['log.1', 'log.8']);
    const dumped: Dumped[] = [];
    for (const [name, count] of [['log.1', 7], ['log.8', 5]] as const) {
      const dump = await toolkitDump(join(work, name));
      expect(dump.stdout).toMatch(/^ZooKeeper Transactional Log File with dbid 0 txnlog format version 2$/m);
      expect(dump.stdout).not.toMatch(/CRC ERROR/);
      expect(dump.stdout).toMatch(new RegExp(`^EOF reached after ${count} txns\\.$`, 'm'));
      dumped.push(...dump.txns);
    }
    expect(dumped.map((d) => [d.session, d.cxid, d.zxid, d.op])).toEqual(txns.map((t) => [t.hdr.clientId, t.hdr.cxid, t.hdr.zxid, javaOpName(t.hdr.type)]));
    const text = dumped.map((d) => d.text);
    expect(text[0]).toBe('30000');
    expect(text[1]).toMatch(/^\/a,hello,\[31,s\{'world,'anyone\}$/);
    expect(text[3]).toMatch(/^\/c2,,\[31,/);
    expect(text[5]).toMatch(/^\/ttl,t,\[31,.*/);
    expect(text[6]).toBe('/a,world,1');
    expect(text[8]).toBe("'/c2");
    expect(text[9]).toBe('-101');
    expect(text[10]).toMatch(/^create:.*;setData:.*;check:.*;delete:/);
    expect(text[11]).toBe("v{'/a/e}");
  });

  test('the real server restores its tree from a log TxnLogWriter wrote, and continues it', async () => {
    const dataDir = join(work, 'data');
    const logDir = join(dataDir, 'version-2');
    await mkdir(logDir, { recursive: true });
    const session = 0x77n;
    let zxid = 0n;
    const txn = (body: TxnEntry['body']): TxnEntry => ({ hdr: { clientId: session, cxid: Number(zxid), zxid: ++zxid, time: Date.now(), type: body.type }, body, digest: null });
    const w = await TxnLogWriter.open(logDir, { preAllocSizeBytes: 64 * 1024, forceSync: true });
    for (const t of [
      txn({ type: OpCode.createSession, record: { timeOut: 30000 } }),
      txn({ type: OpCode.create, record: { path: '/x', data: Buffer.from('from-tszk'), acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } }),
      txn({ type: OpCode.create, record: { path: '/x/y', data: null, acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } }),
      txn({ type: OpCode.setData, record: { path: '/x', data: Buffer.from('v2'), version: 1 } }),
      txn({ type: OpCode.closeSession, record: { paths2Delete: [] } }),
    ]) w.append(t);
    expect(await new Promise((resolve) => w.flush(resolve))).toBeNull();
    await w.close();
    // No snapshot: ZooKeeper refuses a log without one unless told to trust it.
    server = await startReferenceServer({ extraConfig: { dataDir, 'snapshot.trust.empty': 'true' } });
    const get = await zkCliOneShot(server.connectString, ['get', '/x']);
    expect(get.output.trim()).toBe('v2');
    const ls = await zkCliOneShot(server.connectString, ['ls', '/x']);
    expect(ls.output.trim()).toBe('[y]');
    await zkCliOneShot(server.connectString, ['create', '/z', 'java']);
    await server.stop();
    server = null;
    // ZooKeeper started a new file after ours; both read as one log.
    const read = await readAllTxns(logDir, 0n);
    expect(read.truncateAt).toBeNull();
    expect(read.files.map((f) => f.slice(logDir.length + 1))).toEqual(['log.1', 'log.6']);
    expect(read.txns.map((t) => t.hdr.zxid)).toEqual(read.txns.map((_, i) => BigInt(i + 1)));
    expect(read.txns.some((t) => pathOf(t) === '/z')).toBe(true);
  });
});
