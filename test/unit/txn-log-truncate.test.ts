// Cutting the txn log back for the quorum protocol: TxnLogWriter.truncateAfter (TRUNC),
// TxnLogWriter.discardAll (SNAP) and the file-level truncateLogDir / discardLogDir under them.
import fc from 'fast-check';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { OpCode } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { nodeFileSystem } from '../../src/persist/file-system.js';
import { restoreDatabase, type DataDirs } from '../../src/persist/restore.js';
import { writeSnapshot } from '../../src/persist/snapshot-writer.js';
import { FILE_HEADER_BYTES, TxnLogCorruptError, listLogFiles } from '../../src/persist/txn-log-format.js';
import { readAllTxns } from '../../src/persist/txn-log-reader.js';
import { TxnLogTruncateError, discardLogDir, truncateLogDir } from '../../src/persist/txn-log-truncate.js';
import { TxnLogWriteError, TxnLogWriter, type TxnLogWriterOptions } from '../../src/persist/txn-log-writer.js';
import { DataTree } from '../../src/tree/data-tree.js';
import { applyTxn } from '../../src/txn/apply.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { AssertionError } from '../../src/util/assert.js';
import { faultyFs, flushP } from '../support/txn-fixtures.js';

// ---------------------------------------------------------------- helpers

const SESSION = 0x0100001e72a90000n;
const OPEN_ACL = [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }];
const log = pino({ level: 'silent' });

/** create /<prefix><zxid> with data `data`: one node per txn, so a tree shows which txns it saw. */
function createTxn(zxid: bigint, prefix = 'n', data = 'x'): TxnEntry {
  return {
    hdr: { clientId: SESSION, cxid: Number(zxid & 0xffffn), zxid, time: 1_700_000_000_000 + Number(zxid & 0xffffn), type: OpCode.create },
    body: { type: OpCode.create, record: { path: `/${prefix}${zxid.toString(16)}`, data: Buffer.from(data), acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } },
    digest: null,
  };
}

const range = (from: bigint, to: bigint): bigint[] => {
  const out: bigint[] = [];
  for (let z = from; z <= to; z++) out.push(z);
  return out;
};

let work: string;
let dirs: DataDirs;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tszk-txnlog-trunc-'));
  dirs = { snapDir: join(work, 'snap'), logDir: join(work, 'log') };
  await mkdir(dirs.snapDir);
  await mkdir(dirs.logDir);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** About four entries of createTxn per file. */
const SMALL_FILES: Partial<TxnLogWriterOptions> = { txnLogSizeLimitBytes: 300 };

async function openWriter(opts: Partial<TxnLogWriterOptions> = {}): Promise<TxnLogWriter> {
  return TxnLogWriter.open(dirs.logDir, { preAllocSizeBytes: 4096, forceSync: true, ...SMALL_FILES, ...opts });
}

/** Appends `zxids` to `w`, flushing every `batch` txns (the last ones are left unflushed unless `flushEnd`). */
async function appendAll(w: TxnLogWriter, zxids: readonly bigint[], opts: { batch?: number; flushEnd?: boolean; prefix?: string } = {}): Promise<void> {
  const batch = opts.batch ?? 3;
  for (const [i, z] of zxids.entries()) {
    w.append(createTxn(z, opts.prefix));
    if ((i + 1) % batch === 0) expect(await flushP(w)).toBeNull();
  }
  if (opts.flushEnd ?? true) expect(await flushP(w)).toBeNull();
}

async function logNames(): Promise<string[]> {
  return (await listLogFiles(nodeFileSystem, dirs.logDir)).map((f) => f.name);
}

async function loggedZxids(): Promise<bigint[]> {
  const read = await readAllTxns(dirs.logDir, 0n);
  expect(read.truncateAt).toBeNull();
  expect(read.skippedTails).toEqual([]);
  return read.txns.map((t) => t.hdr.zxid);
}

/** The user nodes of a restored tree, as `prefix+zxid` names, and its last zxid. */
async function restored(): Promise<{ nodes: string[]; lastZxid: bigint; snapshotZxid: bigint | null }> {
  const db = await restoreDatabase(dirs, { extendedTypesEnabled: false, log });
  expect(db.truncated).toBeNull();
  const nodes = [...db.tree.get('/')!.children.keys()].filter((c) => c !== 'zookeeper').sort((a, b) => zxidOfNode(a) - zxidOfNode(b));
  return { nodes, lastZxid: db.lastZxid, snapshotZxid: db.snapshotZxid };
}
const zxidOfNode = (name: string): number => Number.parseInt(name.replace(/^[a-z]+/, ''), 16);
const nodeNames = (zxids: readonly bigint[], prefix = 'n'): string[] => zxids.map((z) => `${prefix}${z.toString(16)}`);

const N = 20n;

// ---------------------------------------------------------------- truncateAfter

describe('TxnLogWriter.truncateAfter', () => {
  /** Log 1..N in files of about four txns; returns the file start zxids. */
  async function logged(): Promise<{ w: TxnLogWriter; starts: bigint[] }> {
    const w = await openWriter();
    await appendAll(w, range(1n, N));
    const starts = (await listLogFiles(nodeFileSystem, dirs.logDir)).map((f) => f.zxid);
    expect(starts.length).toBeGreaterThanOrEqual(4);
    return { w, starts };
  }

  const cases: [string, (starts: bigint[]) => bigint][] = [
    ['at the first txn of a file', (s) => s[2]!],
    ['in the middle of a file', (s) => s[2]! + 1n],
    ['at the last txn of a file', (s) => s[2]! - 1n],
    ['at the last txn of the first file', (s) => s[1]! - 1n],
    ['at the very first txn', () => 1n],
    ['before the first txn', () => 0n],
    ['at the last txn logged of the last file but one', (s) => s[s.length - 1]! - 1n],
  ];

  test.each(cases)('%s: exactly the txns up to it remain, and appending continues after it', async (_name, pick) => {
    const { w, starts } = await logged();
    const k = pick(starts);
    const namesBefore = await logNames();
    await w.truncateAfter(k);
    // Files that start after k are gone, the others stay.
    expect(await logNames()).toEqual(namesBefore.filter((n) => BigInt(`0x${n.slice(4)}`) <= k));
    expect(await loggedZxids()).toEqual(range(1n, k));
    expect(await restored()).toEqual({ nodes: nodeNames(range(1n, k)), lastZxid: k, snapshotZxid: null });
    // The file holding the cut point ends right after its last kept entry, or in zeros.
    const last = (await readAllTxns(dirs.logDir, 0n)).txns.at(-1);
    if (last !== undefined) {
      const bytes = await readFile(last.file);
      expect(bytes.subarray(last.offset + 13 + bytes.readInt32BE(last.offset + 8)).every((b) => b === 0)).toBe(true);
    }

    // The new leader's txns from k+1 on go to a new file named after the first of them.
    await appendAll(w, range(k + 1n, k + 6n), { prefix: 'm' });
    await w.close();
    expect(await logNames()).toContain(`log.${(k + 1n).toString(16)}`);
    expect(await loggedZxids()).toEqual(range(1n, k + 6n));
    expect(await restored()).toEqual({ nodes: [...nodeNames(range(1n, k)), ...nodeNames(range(k + 1n, k + 6n), 'm')], lastZxid: k + 6n, snapshotZxid: null });
  });

  test.each([
    ['at the last txn', N],
    ['beyond the last txn', N + 100n],
  ])('%s: a no-op that keeps the current file', async (_name, k) => {
    const { w } = await logged();
    const names = await logNames();
    const bytes = await Promise.all(names.map((n) => readFile(join(dirs.logDir, n))));
    const current = w.currentFile;
    await w.truncateAfter(k);
    expect(await logNames()).toEqual(names);
    expect(await Promise.all(names.map((n) => readFile(join(dirs.logDir, n))))).toEqual(bytes);
    expect(w.currentFile).toBe(current);
    await appendAll(w, [N + 1n]);
    await w.close();
    expect(await loggedZxids()).toEqual(range(1n, N + 1n));
  });

  test('a writer opened on an existing log (lastZxid unknown) cuts it as well, and must append above the cut', async () => {
    const { w } = await logged();
    await w.close();
    const again = await openWriter();
    await again.truncateAfter(10n);
    expect(await loggedZxids()).toEqual(range(1n, 10n));
    expect(() => again.append(createTxn(10n))).toThrow(AssertionError);
    await appendAll(again, [11n, 12n]);
    await again.close();
    expect(await loggedZxids()).toEqual(range(1n, 12n));
    // Beyond everything on a fresh writer: read, nothing changed.
    const third = await openWriter();
    const names = await logNames();
    await third.truncateAfter(50n);
    expect(await logNames()).toEqual(names);
    await third.close();
  });

  test('appends that were not flushed yet are made durable first, then cut like the rest', async () => {
    const w = await openWriter();
    await appendAll(w, range(1n, 10n));
    await appendAll(w, range(11n, 15n), { batch: 100, flushEnd: false });
    expect(w.unflushed).toBe(5);
    await w.truncateAfter(12n);
    expect(w.unflushed).toBe(0);
    expect(await loggedZxids()).toEqual(range(1n, 12n));
    await appendAll(w, [13n]);
    await w.close();
    expect(await restored()).toMatchObject({ nodes: nodeNames(range(1n, 13n)), lastZxid: 13n });
  });

  test('unflushed appends below the cut survive it', async () => {
    const w = await openWriter();
    await appendAll(w, range(1n, 6n), { batch: 100, flushEnd: false });
    await w.truncateAfter(4n);
    expect(await loggedZxids()).toEqual(range(1n, 4n));
    await w.close();
  });

  test('waits for a running flush and the appends behind it; appending meanwhile is a bug', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, 8n));
    w.append(createTxn(9n));
    const release = io.hold();
    const flushed = flushP(w);
    w.append(createTxn(10n));
    const cut = w.truncateAfter(9n);
    expect(() => w.append(createTxn(11n))).toThrow(AssertionError);
    expect(() => w.truncateAfter(5n)).toThrow(/while truncateAfter runs/);
    expect(() => w.discardAll()).toThrow(AssertionError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    expect(await flushed).toBeNull();
    await cut;
    expect(await loggedZxids()).toEqual(range(1n, 9n));
    w.append(createTxn(10n, 'm'));
    expect(await flushP(w)).toBeNull();
    await w.close();
    expect(await restored()).toMatchObject({ nodes: [...nodeNames(range(1n, 9n)), 'ma'], lastZxid: 10n });
  });

  test('close waits for a truncateAfter under way', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, 8n));
    w.append(createTxn(9n));
    const release = io.hold();
    const cut = w.truncateAfter(3n);
    const closed = w.close();
    release();
    await cut;
    await closed;
    expect(await loggedZxids()).toEqual(range(1n, 3n));
  });

  test('a failed log is not cut: truncateAfter rejects with the flush failure', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, 6n));
    // 7 goes to log.5 too: the failed flush creates no file.
    w.append(createTxn(7n));
    io.failNext.write = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    const names = await logNames();
    const err = await w.truncateAfter(3n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxnLogWriteError);
    expect(err).toMatchObject({ op: 'write' });
    expect(await logNames()).toEqual(names);
    expect(await loggedZxids()).toEqual(range(1n, 6n));
    await w.close();
  });

  test('a failed removal fails the writer; what is left is a prefix of the old log', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, N));
    const files = await logNames();
    io.failNext.unlink = Object.assign(new Error('io error'), { code: 'EIO' });
    const err = await w.truncateAfter(2n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxnLogWriteError);
    expect(err).toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'unlink', file: join(dirs.logDir, files.at(-1)!) });
    // Nothing was removed (the newest goes first); the log still reads whole.
    expect(await loggedZxids()).toEqual(range(1n, N));
    w.append(createTxn(N + 1n));
    expect(await flushP(w)).toBe(err);
    await w.close();
  });

  test('removals are synced one by one, and the cut file is synced', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, N));
    const files = await logNames();
    const before = { ...io.calls };
    await w.truncateAfter(6n);
    const removed = files.length - (await logNames()).length;
    expect(removed).toBeGreaterThan(1);
    expect(io.calls.unlink - before.unlink).toBe(removed);
    expect(io.calls.syncDir - before.syncDir).toBe(removed);
    expect(io.calls.truncate - before.truncate).toBe(1);
    expect(io.calls.fsync - before.fsync).toBe(1);
    expect(w.stats).toMatchObject({ filesRemoved: removed, filesCut: 1 });
    await w.close();
  });

  test('forceSync=false cuts without syncing', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs, forceSync: false });
    await appendAll(w, range(1n, N));
    const before = { ...io.calls };
    await w.truncateAfter(6n);
    expect(io.calls.syncDir).toBe(before.syncDir);
    expect(io.calls.fsync).toBe(before.fsync);
    expect(await loggedZxids()).toEqual(range(1n, 6n));
    await w.close();
  });

  test('zxids across epochs: a cut between epochs keeps the old epoch, the next leader continues', async () => {
    const w = await openWriter();
    const e1 = range(1n, 5n).map((c) => (1n << 32n) | c);
    const e2 = range(1n, 5n).map((c) => (2n << 32n) | c);
    await appendAll(w, [...e1, ...e2]);
    // Epoch 2's proposals never committed: the leader of epoch 3 truncates to its last zxid.
    await w.truncateAfter((1n << 32n) | 5n);
    expect(await loggedZxids()).toEqual(e1);
    const e3 = range(1n, 3n).map((c) => (3n << 32n) | c);
    await appendAll(w, e3);
    await w.close();
    expect(await loggedZxids()).toEqual([...e1, ...e3]);
    expect(await logNames()).toContain(`log.${e3[0]!.toString(16)}`);
    // A zxid between the epochs that is not itself logged keeps exactly what is below it.
    const again = await openWriter();
    await again.truncateAfter((2n << 32n) | 0n);
    expect(await loggedZxids()).toEqual(e1);
    await again.close();
  });

  test('property: any layout, any cut, any continuation restores to kept + new', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 120, max: 600 }),
        fc.constantFrom(0, 1024),
        fc.nat(),
        fc.integer({ min: 0, max: 4 }),
        fc.boolean(),
        async (n, batch, limit, prealloc, kSeed, more, reopen) => {
          await rm(dirs.logDir, { recursive: true, force: true });
          let w = await openWriter({ txnLogSizeLimitBytes: limit, preAllocSizeBytes: prealloc });
          const unflushed = kSeed % 3 === 0 ? Math.min(batch, n) : 0;
          await appendAll(w, range(1n, BigInt(n - unflushed)), { batch });
          await appendAll(w, range(BigInt(n - unflushed + 1), BigInt(n)), { batch: 1000, flushEnd: false });
          if (reopen) {
            await w.close();
            w = await openWriter({ txnLogSizeLimitBytes: limit, preAllocSizeBytes: prealloc });
          }
          const k = BigInt(kSeed % (n + 3)) - 1n; // -1 .. n+1
          await w.truncateAfter(k);
          const kept = range(1n, k < BigInt(n) ? k : BigInt(n));
          expect(await loggedZxids()).toEqual(kept);
          // The next leader's txns follow the last one kept (a TRUNC beyond the log changes nothing).
          const next = (k > BigInt(n) ? BigInt(n) : k < 0n ? 0n : k) + 1n;
          const added = range(next, next + BigInt(more) - 1n);
          await appendAll(w, added, { prefix: 'm' });
          await w.close();
          expect(await loggedZxids()).toEqual([...kept, ...added]);
          const db = await restored();
          expect(db.nodes).toEqual([...nodeNames(kept), ...nodeNames(added, 'm')]);
        },
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------- truncateLogDir on damaged files

describe('truncateLogDir', () => {
  /** Log 1..8 in log.1 (1..4) and log.5 (5..8), preallocated; returns the entry offsets of log.5. */
  async function twoFiles(): Promise<{ file: string; offsets: number[] }> {
    const w = await openWriter({ txnLogSizeLimitBytes: 0 });
    await appendAll(w, range(1n, 4n));
    w.rollLog();
    await appendAll(w, range(5n, 8n));
    await w.close();
    const read = await readAllTxns(dirs.logDir, 5n);
    return { file: join(dirs.logDir, 'log.5'), offsets: read.txns.map((t) => t.offset) };
  }

  test('a torn tail after the kept entries is cut away with them', async () => {
    const { file, offsets } = await twoFiles();
    const bytes = await readFile(file);
    const end = (await readAllTxns(dirs.logDir, 0n)).txns.at(-1)!;
    const endOffset = end.offset + 13 + bytes.readInt32BE(end.offset + 8);
    // Half an entry of garbage in the preallocated zeros: what a crash mid-write leaves.
    bytes.write('\u0000\u0000\u0000\u0000torn-write', endOffset, 'latin1');
    await writeFile(file, bytes);
    expect((await readAllTxns(dirs.logDir, 0n)).truncateAt).not.toBeNull();
    const result = await truncateLogDir(nodeFileSystem, dirs.logDir, 8n);
    expect(result).toMatchObject({ removedFiles: [], cut: { file, offset: endOffset }, lastKeptZxid: 8n, newestFileZxid: 5n, changed: true });
    expect(await loggedZxids()).toEqual(range(1n, 8n));
    // Cutting before the damage does not look at it.
    const result6 = await truncateLogDir(nodeFileSystem, dirs.logDir, 6n);
    expect(result6.cut).toMatchObject({ file, offset: offsets[2] });
    expect(await loggedZxids()).toEqual(range(1n, 6n));
  });

  test('damage before the cut point with an intact entry after it is corruption: nothing changes', async () => {
    const { file, offsets } = await twoFiles();
    const bytes = await readFile(file);
    bytes[offsets[1]! + 40]! ^= 0x10;
    await writeFile(file, bytes);
    const names = await logNames();
    const err = await truncateLogDir(nodeFileSystem, dirs.logDir, 7n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxnLogCorruptError);
    expect(err).toMatchObject({ file, offset: offsets[1], message: expect.stringMatching(new RegExp(`valid entry follows at offset ${offsets[2]}`)) });
    expect(await logNames()).toEqual(names);
    expect(await readFile(file)).toEqual(bytes);
    // Through the writer: rejected with the same error, and the writer is failed.
    const w = await openWriter();
    await expect(w.truncateAfter(7n)).rejects.toBeInstanceOf(TxnLogCorruptError);
    w.append(createTxn(8n));
    expect(await flushP(w)).toBeInstanceOf(TxnLogWriteError);
    await w.close();
  });

  test('a torn tail in an earlier file (ZooKeeper moved on to a new file) is cut when that file becomes the last', async () => {
    await twoFiles();
    const first = join(dirs.logDir, 'log.1');
    const bytes = await readFile(first);
    const last = (await readAllTxns(dirs.logDir, 0n)).txns.filter((t) => t.file === first).at(-1)!;
    const endOffset = last.offset + 13 + bytes.readInt32BE(last.offset + 8);
    bytes.fill(0x5a, endOffset, endOffset + 20);
    await writeFile(first, bytes);
    expect((await readAllTxns(dirs.logDir, 0n)).skippedTails).toHaveLength(1);
    const result = await truncateLogDir(nodeFileSystem, dirs.logDir, 4n);
    expect(result).toMatchObject({ removedFiles: [join(dirs.logDir, 'log.5')], cut: { file: first, offset: endOffset, droppedBytes: 20 }, newestFileZxid: 1n });
    expect(await loggedZxids()).toEqual(range(1n, 4n));
  });

  test('a file with only a header, or a torn header, at the cut point is removed', async () => {
    await twoFiles();
    const w = await openWriter({ preAllocSizeBytes: 0 });
    await appendAll(w, [9n]);
    await w.close();
    // log.9 with its header only (its first write lost), then a cut beyond it.
    await writeFile(join(dirs.logDir, 'log.9'), (await readFile(join(dirs.logDir, 'log.9'))).subarray(0, FILE_HEADER_BYTES));
    const result = await truncateLogDir(nodeFileSystem, dirs.logDir, 20n);
    expect(result).toMatchObject({ removedFiles: [join(dirs.logDir, 'log.9')], cut: null, newestFileZxid: 5n, changed: true });
    await writeFile(join(dirs.logDir, 'log.9'), Buffer.alloc(9));
    expect((await truncateLogDir(nodeFileSystem, dirs.logDir, 9n)).removedFiles).toEqual([join(dirs.logDir, 'log.9')]);
    expect(await loggedZxids()).toEqual(range(1n, 8n));
  });

  test('an empty directory: nothing to do', async () => {
    expect(await truncateLogDir(nodeFileSystem, dirs.logDir, 5n)).toEqual({ removedFiles: [], cut: null, lastKeptZxid: null, newestFileZxid: null, changed: false });
    expect(await discardLogDir(nodeFileSystem, dirs.logDir)).toEqual([]);
  });

  test('file operation failures are typed with file and op', async () => {
    await twoFiles();
    const io = faultyFs();
    io.failNext.truncate = new Error('read-only file system');
    const err = await truncateLogDir(io.fs, dirs.logDir, 6n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TxnLogTruncateError);
    expect(err).toMatchObject({ code: 'ERR_TXNLOG_TRUNCATE', op: 'truncate', file: join(dirs.logDir, 'log.5') });
  });

  test('other files in the directory are left alone', async () => {
    await twoFiles();
    await writeFile(join(dirs.logDir, 'log.1.fixed'), 'toolkit output');
    await writeFile(join(dirs.logDir, 'notes'), 'x');
    await truncateLogDir(nodeFileSystem, dirs.logDir, 0n);
    expect((await readdir(dirs.logDir)).sort()).toEqual(['log.1.fixed', 'notes']);
    await writeFile(join(dirs.logDir, 'log.3'), 'x');
    expect(await discardLogDir(nodeFileSystem, dirs.logDir)).toEqual([join(dirs.logDir, 'log.3')]);
    expect((await readdir(dirs.logDir)).sort()).toEqual(['log.1.fixed', 'notes']);
  });
});

// ---------------------------------------------------------------- discardAll

describe('TxnLogWriter.discardAll', () => {
  test('every log file goes; only what is appended afterwards reads back, from a new file', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, 14n));
    const files = await logNames();
    const before = { ...io.calls };
    await w.discardAll();
    expect(await logNames()).toEqual([]);
    // One directory sync per removal, so that a crash leaves a prefix of the old log.
    expect(io.calls.syncDir - before.syncDir).toBe(files.length);
    // A SNAP may go back below the zxids the old history had.
    await appendAll(w, range(8n, 10n), { prefix: 'm' });
    await w.close();
    expect(await logNames()).toEqual(['log.8']);
    expect(await loggedZxids()).toEqual(range(8n, 10n));
  });

  test('appending while it runs is a bug; a failed log is not discarded', async () => {
    const io = faultyFs();
    const w = await openWriter({ fs: io.fs });
    await appendAll(w, range(1n, 5n));
    w.append(createTxn(6n));
    const discard = w.discardAll();
    expect(() => w.append(createTxn(7n))).toThrow(AssertionError);
    await discard;
    // The unflushed txn was written before the files went.
    expect(w.unflushed).toBe(0);
    expect(await logNames()).toEqual([]);
    w.append(createTxn(6n));
    io.failNext.datasync = new Error('fsync failed');
    expect(await flushP(w)).toBeInstanceOf(TxnLogWriteError);
    await expect(w.discardAll()).rejects.toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'datasync' });
    expect(await logNames()).toEqual(['log.6']);
    await w.close();
  });

  test('snapshot round trip: snapshot at S, discard the old history, log S+1..S+5, restore at S+5', async () => {
    const S = 10n;
    // The learner's own history went past S with txns the new leader never had.
    const w = await openWriter();
    await appendAll(w, range(1n, S + 3n), { prefix: 'old' });
    // SNAP: the leader's tree at S (different nodes than the learner's log), made durable first.
    const tree = new DataTree(false);
    for (const z of range(1n, S)) {
      const t = createTxn(z, 's', 'leader');
      applyTxn(tree, t.hdr, t.body);
    }
    tree.lastProcessedZxid = S;
    await writeSnapshot(dirs.snapDir, tree, new Map([[SESSION, 30000]]), S, { fsync: true });
    await w.discardAll();
    await appendAll(w, range(S + 1n, S + 5n), { prefix: 'm' });
    await w.close();
    const db = await restored();
    expect(db).toEqual({ nodes: [...nodeNames(range(1n, S), 's'), ...nodeNames(range(S + 1n, S + 5n), 'm')], lastZxid: S + 5n, snapshotZxid: S });
    const full = await restoreDatabase(dirs, { extendedTypesEnabled: false, log });
    expect(full.tree.get('/s1')?.data?.toString()).toBe('leader');
    expect(full.replayedTxns).toBe(5);
  });
});
