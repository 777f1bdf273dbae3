// A txn log cut back by TxnLogWriter.truncateAfter (a learner's TRUNC), read by Debian's
// ZooKeeper 3.8: its TxnLogToolkit lists exactly the kept txns of each file, and the real server
// restores exactly the kept txns plus those appended after the cut.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { OpCode } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { readAllTxns } from '../../src/persist/txn-log-reader.js';
import { TxnLogWriter } from '../../src/persist/txn-log-writer.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { describeWithReference, requireReference } from '../support/reference.js';
import { startReferenceServer, type TestServer } from '../support/zk-server.js';
import { zkCliOneShot } from '../support/zkcli.js';

const run = promisify(execFile);
const OPEN_ACL = [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }];
const SESSION = 0x77n;

/** `TxnLogToolkit <file>`: the zxids it lists and the count in its "EOF reached" line. */
async function toolkitDump(file: string): Promise<{ stdout: string; zxids: bigint[]; eofAfter: number | null }> {
  const install = requireReference();
  const classpath = [install.zookeeperJar, install.optionalJars.slf4jNop].filter((jar): jar is string => jar !== undefined).join(':');
  const { stdout } = await run(install.java!, ['-cp', classpath, 'org.apache.zookeeper.server.persistence.TxnLogToolkit', file], {
    timeout: 60_000,
    env: { ...process.env, TZ: 'UTC' },
  });
  const zxids = [...stdout.matchAll(/session 0x[0-9a-f]+ cxid 0x[0-9a-f]+ zxid 0x([0-9a-f]+) /g)].map((m) => BigInt(`0x${m[1]!}`));
  const eof = /^EOF reached after (\d+) txns\.$/m.exec(stdout);
  return { stdout, zxids, eofAfter: eof === null ? null : Number(eof[1]) };
}

function createTxn(zxid: bigint, prefix: string): TxnEntry {
  return {
    hdr: { clientId: SESSION, cxid: Number(zxid), zxid, time: Date.now(), type: OpCode.create },
    body: { type: OpCode.create, record: { path: `/${prefix}${zxid}`, data: Buffer.from(`${prefix}${zxid}`), acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } },
    digest: null,
  };
}

const flushP = (w: TxnLogWriter): Promise<Error | null> => new Promise((resolve) => w.flush(resolve));

let work: string;
let server: TestServer | null = null;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tszk-txnlog-trunc-compat-'));
});
afterEach(async () => {
  await server?.stop();
  server = null;
  await rm(work, { recursive: true, force: true });
});

describeWithReference('a truncated txn log read by ZooKeeper 3.8', () => {
  test('TxnLogToolkit lists exactly the kept txns; the real server restores kept + appended', async () => {
    const dataDir = join(work, 'data');
    const logDir = join(dataDir, 'version-2');
    await mkdir(logDir, { recursive: true });
    // log.1 (1..4), log.5 (5..8), log.9 (9..12), preallocated as ZooKeeper does.
    const w = await TxnLogWriter.open(logDir, { preAllocSizeBytes: 64 * 1024, forceSync: true });
    for (let z = 1n; z <= 12n; z++) {
      if (z === 5n || z === 9n) {
        expect(await flushP(w)).toBeNull();
        w.rollLog();
      }
      w.append(createTxn(z, 'n'));
    }
    expect(await flushP(w)).toBeNull();
    expect((await readdir(logDir)).sort()).toEqual(['log.1', 'log.5', 'log.9']);

    // A TRUNC to 6: log.9 goes, log.5 ends after 6.
    await w.truncateAfter(6n);
    expect((await readdir(logDir)).sort()).toEqual(['log.1', 'log.5']);
    for (const [name, zxids] of [['log.1', [1n, 2n, 3n, 4n]], ['log.5', [5n, 6n]]] as const) {
      const dump = await toolkitDump(join(logDir, name));
      expect(dump.stdout).not.toMatch(/CRC ERROR/);
      expect(dump.zxids).toEqual(zxids);
      expect(dump.eofAfter).toBe(zxids.length);
    }

    // The new leader's txns 7..9 go to a new file.
    for (let z = 7n; z <= 9n; z++) w.append(createTxn(z, 'm'));
    expect(await flushP(w)).toBeNull();
    await w.close();
    expect((await readdir(logDir)).sort()).toEqual(['log.1', 'log.5', 'log.7']);
    expect((await toolkitDump(join(logDir, 'log.7'))).zxids).toEqual([7n, 8n, 9n]);

    // No snapshot: ZooKeeper refuses a log without one unless told to trust it.
    server = await startReferenceServer({ extraConfig: { dataDir, 'snapshot.trust.empty': 'true' } });
    const ls = await zkCliOneShot(server.connectString, ['ls', '/']);
    const children = /\[([^\]]*)\]/.exec(ls.output)![1]!.split(',').map((c) => c.trim()).sort();
    expect(children).toEqual(['m7', 'm8', 'm9', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'zookeeper']);
    const get = await zkCliOneShot(server.connectString, ['get', '/m8']);
    expect(get.output.trim()).toBe('m8');
    // ZooKeeper continues the log in a file of its own; ours still reads it as one.
    await zkCliOneShot(server.connectString, ['create', '/java', 'x']);
    await server.stop();
    server = null;
    const read = await readAllTxns(logDir, 0n);
    expect(read.truncateAt).toBeNull();
    expect(read.txns.map((t) => t.hdr.zxid).slice(0, 9)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    expect(read.txns.some((t) => t.body.type === OpCode.create && t.body.record.path === '/java')).toBe(true);
  });
});
