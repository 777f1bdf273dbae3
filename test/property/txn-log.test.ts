// The txn log under damage: whatever a crash does to the tail, restore reads exactly a committed
// prefix and can continue the log; damage with valid entries after it is reported, never skipped.
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JuteWriter } from '../../src/jute/writer.js';
import { OpCode } from '../../src/proto/opcodes.js';
import type { FileSystem } from '../../src/persist/file-system.js';
import { FILE_HEADER_BYTES, TxnLogCorruptError, encodeEntry, listLogFiles } from '../../src/persist/txn-log-format.js';
import { readAllTxns, truncateTornTail, type LoggedTxn } from '../../src/persist/txn-log-reader.js';
import { TxnLogWriter } from '../../src/persist/txn-log-writer.js';
import type { SubTxn, TxnBody, TxnEntry } from '../../src/txn/txn.js';

// ---------------------------------------------------------------- an in-memory disk

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

/** Files as byte arrays; fsync does nothing (everything written is durable). */
class MemoryFileSystem implements FileSystem {
  readonly files = new Map<string, Buffer>();
  private readonly fds = new Map<number, string>();
  private nextFd = 3;

  private file(fd: number): { path: string; data: Buffer } {
    const path = this.fds.get(fd);
    if (path === undefined) throw fsError('EBADF', String(fd));
    return { path, data: this.files.get(path)! };
  }

  async open(path: string, flags: string): Promise<number> {
    if (flags.includes('x') && this.files.has(path)) throw fsError('EEXIST', path);
    if (flags.startsWith('w')) this.files.set(path, Buffer.alloc(0));
    if (!this.files.has(path)) throw fsError('ENOENT', path);
    const fd = this.nextFd++;
    this.fds.set(fd, path);
    return fd;
  }
  async write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    const { path, data } = this.file(fd);
    const grown = position + length > data.length ? Buffer.concat([data, Buffer.alloc(position + length - data.length)]) : data;
    grown.set(buf.subarray(offset, offset + length), position);
    this.files.set(path, grown);
  }
  async read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { data } = this.file(fd);
    const n = Math.max(0, Math.min(length, data.length - position));
    buf.set(data.subarray(position, position + n), offset);
    return n;
  }
  async datasync(fd: number): Promise<void> {
    this.file(fd);
  }
  async fsync(fd: number): Promise<void> {
    this.file(fd);
  }
  async truncate(fd: number, length: number): Promise<void> {
    const { path, data } = this.file(fd);
    this.files.set(path, length <= data.length ? data.subarray(0, length) : Buffer.concat([data, Buffer.alloc(length - data.length)]));
  }
  async size(fd: number): Promise<number> {
    return this.file(fd).data.length;
  }
  async close(fd: number): Promise<void> {
    this.file(fd);
    this.fds.delete(fd);
  }
  async readdir(dir: string): Promise<string[]> {
    return [...this.files.keys()].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
  }
  async mkdir(): Promise<void> {}
  async rename(from: string, to: string): Promise<void> {
    const data = this.files.get(from);
    if (data === undefined) throw fsError('ENOENT', from);
    this.files.set(to, data);
    this.files.delete(from);
  }
  async unlink(path: string): Promise<void> {
    if (!this.files.delete(path)) throw fsError('ENOENT', path);
  }
  async readFile(path: string): Promise<Buffer> {
    const data = this.files.get(path);
    if (data === undefined) throw fsError('ENOENT', path);
    return Buffer.from(data);
  }
  async exists(path: string): Promise<boolean> {
    return this.files.has(path) || [...this.files.keys()].some((p) => p.startsWith(`${path}/`));
  }
  async syncDir(): Promise<void> {}
}

// ---------------------------------------------------------------- txns

const DIR = '/data/version-2';
const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const path = fc.stringMatching(/^\/[a-z0-9/]{0,12}$/);
const data = fc.option(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), { nil: null });
const acl = fc.array(fc.record({ perms: fc.integer({ min: 0, max: 31 }), id: fc.record({ scheme: fc.constantFrom('world', 'digest', 'ip'), id: fc.string({ maxLength: 8 }) }) }), { maxLength: 2 });

const subTxn: fc.Arbitrary<SubTxn> = fc.oneof(
  fc.record({ path, data, acl, ephemeral: fc.boolean(), parentCVersion: int32 }).map((record) => ({ type: OpCode.create, record }) as SubTxn),
  fc.record({ path }).map((record) => ({ type: OpCode.delete, record }) as SubTxn),
  fc.record({ path, data, version: int32 }).map((record) => ({ type: OpCode.setData, record }) as SubTxn),
  fc.record({ path, acl, version: int32 }).map((record) => ({ type: OpCode.setACL, record }) as SubTxn),
  fc.record({ path, version: int32 }).map((record) => ({ type: OpCode.check, record }) as SubTxn),
  fc.record({ err: int32 }).map((record) => ({ type: OpCode.error, record }) as SubTxn),
);

const body: fc.Arbitrary<TxnBody> = fc.oneof(
  { weight: 4, arbitrary: subTxn },
  { weight: 1, arbitrary: fc.record({ timeOut: int32 }).map((record) => ({ type: OpCode.createSession, record }) as TxnBody) },
  { weight: 1, arbitrary: fc.option(fc.record({ paths2Delete: fc.array(path, { maxLength: 3 }) }), { nil: null }).map((record) => ({ type: OpCode.closeSession, record }) as TxnBody) },
  { weight: 1, arbitrary: fc.array(subTxn, { maxLength: 3 }).map((record) => ({ type: OpCode.multi, record }) as TxnBody) },
);

const digest = fc.option(fc.record({ version: fc.constant(2), treeDigest: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }) }), { nil: null });

/** A txn without its zxid: assigned in order when the log is written. */
const draft = fc.record({ clientId: fc.bigInt({ min: 1n, max: (1n << 62n) }), cxid: int32, time: fc.integer({ min: 0, max: 2 ** 45 }), body, digest });

interface LogPlan {
  drafts: (typeof draft extends fc.Arbitrary<infer D> ? D : never)[];
  /** After how many txns each flush happens (cumulative cut points, unsorted). */
  flushAt: number[];
  /** Before which txns the log rolls. */
  rollAt: number[];
  /** Before which txns a new epoch starts. */
  epochAt: number[];
  preAllocSizeBytes: number;
  /** The reader's read size: small ones make entries straddle reads. */
  chunkBytes: number;
}

const plan: fc.Arbitrary<LogPlan> = fc.record({
  drafts: fc.array(draft, { minLength: 2, maxLength: 24 }),
  flushAt: fc.array(fc.nat({ max: 24 }), { maxLength: 6 }),
  rollAt: fc.array(fc.nat({ max: 24 }), { maxLength: 4 }),
  epochAt: fc.array(fc.nat({ max: 24 }), { maxLength: 2 }),
  preAllocSizeBytes: fc.constantFrom(0, 64, 512, 4096),
  chunkBytes: fc.constantFrom(16, 45, 100, 1 << 20),
});

function entries(p: LogPlan): TxnEntry[] {
  let zxid = 0n;
  return p.drafts.map((d, i) => {
    zxid = p.epochAt.includes(i) && i > 0 ? ((zxid >> 32n) + 1n) << 32n | 1n : zxid + 1n;
    // A closeSession without a record followed by a digest cannot be told from one with a record
    // (ZooKeeper reads it by closeSessionTxn.enabled): the writer never produces that pair.
    const digestOk = !(d.body.type === OpCode.closeSession && d.body.record === null);
    return { hdr: { clientId: d.clientId, cxid: d.cxid, zxid, time: d.time, type: d.body.type }, body: d.body, digest: digestOk ? d.digest : null };
  });
}

const flushed = (w: TxnLogWriter): Promise<void> =>
  new Promise((resolve, reject) => w.flush((err) => (err === null ? resolve() : reject(err))));

/** Where each txn went: file name, offset, encoded length. */
interface Placed {
  entry: TxnEntry;
  file: string;
  offset: number;
  length: number;
}

async function writeLog(fs: MemoryFileSystem, p: LogPlan): Promise<{ txns: TxnEntry[]; placed: Placed[]; files: string[] }> {
  const txns = entries(p);
  const chunkBytes = p.chunkBytes;
  const w = new TxnLogWriter(DIR, { preAllocSizeBytes: p.preAllocSizeBytes, forceSync: true, fs });
  for (let i = 0; i < txns.length; i++) {
    if (p.rollAt.includes(i)) w.rollLog();
    w.append(txns[i]!);
    if (p.flushAt.includes(i + 1)) await flushed(w);
  }
  await w.close();
  const read = await readAllTxns(DIR, 0n, { fs, chunkBytes });
  expect(read.truncateAt).toBeNull();
  expect(strip(read.txns)).toEqual(txns);
  const enc = new JuteWriter(1024);
  const placed = read.txns.map((t, i) => {
    enc.reset();
    encodeEntry(enc, txns[i]!);
    return { entry: txns[i]!, file: t.file, offset: t.offset, length: enc.pos };
  });
  const files = (await listLogFiles(fs, DIR)).map((f) => join(DIR, f.name));
  return { txns, placed, files };
}

function strip(txns: LoggedTxn[]): TxnEntry[] {
  return txns.map(({ hdr, body, digest }) => ({ hdr, body, digest }));
}

/** Reads, cuts any torn tail, reads again (must be clean and equal), then restarts the writer
 * and appends one more txn, which must read back after the prefix. */
async function restoreAndContinue(fs: MemoryFileSystem, chunkBytes: number): Promise<TxnEntry[]> {
  const first = await readAllTxns(DIR, 0n, { fs, chunkBytes });
  if (first.truncateAt !== null) await truncateTornTail(first.truncateAt, { fs });
  const second = await readAllTxns(DIR, 0n, { fs, chunkBytes });
  expect(second.truncateAt).toBeNull();
  expect(strip(second.txns)).toEqual(strip(first.txns));
  const next = (second.lastZxid ?? 0n) + 1n;
  const w = await TxnLogWriter.open(DIR, { preAllocSizeBytes: 256, forceSync: true, fs });
  const extra: TxnEntry = { hdr: { clientId: 1n, cxid: 1, zxid: next, time: 1, type: OpCode.delete }, body: { type: OpCode.delete, record: { path: '/after' } }, digest: null };
  w.append(extra);
  await flushed(w);
  await w.close();
  const third = await readAllTxns(DIR, 0n, { fs, chunkBytes });
  expect(third.truncateAt).toBeNull();
  expect(strip(third.txns)).toEqual([...strip(first.txns), extra]);
  return strip(first.txns);
}

const RUNS = { numRuns: 150 };

describe('txn log under damage', () => {
  test('cut at any byte (a crash during any write): a committed prefix, and the log continues', async () => {
    await fc.assert(
      fc.asyncProperty(plan, fc.nat(), fc.nat(), fc.boolean(), async (p, fileIndex, offset, inPadding) => {
        const fs = new MemoryFileSystem();
        const { placed, files } = await writeLog(fs, p);
        const sizes = files.map((f) => fs.files.get(f)!.length);
        // Mostly among the entries; sometimes anywhere, preallocated zeros included.
        const k = fileIndex % files.length;
        const dataEnd = Math.max(FILE_HEADER_BYTES, ...placed.filter((t) => t.file === files[k]).map((t) => t.offset + t.length));
        const cut = sizes.slice(0, k).reduce((a, b) => a + b, 0) + (offset % ((inPadding ? sizes[k]! : dataEnd) + 1));
        // Files starting after the cut never existed; the one holding it is cut there (a file
        // starting exactly at the cut exists but is empty: created, nothing written).
        let start = 0;
        const starts = new Map<string, number>();
        for (let i = 0; i < files.length; i++) {
          const f = files[i]!;
          starts.set(f, start);
          if (start > cut) fs.files.delete(f);
          else fs.files.set(f, fs.files.get(f)!.subarray(0, Math.min(sizes[i]!, cut - start)));
          start += sizes[i]!;
        }
        const chunkBytes = p.chunkBytes;
        const survivors = placed.filter((t) => starts.get(t.file)! + t.offset + t.length <= cut).map((t) => t.entry);
        const read = await readAllTxns(DIR, 0n, { fs, chunkBytes });
        expect(strip(read.txns)).toEqual(survivors);
        if (read.truncateAt !== null) {
          const lastFile = read.files[read.files.length - 1];
          expect(read.truncateAt.file).toBe(lastFile);
          const inFile = read.txns.filter((t) => t.file === lastFile);
          const last = inFile[inFile.length - 1];
          expect(read.truncateAt.offset).toBe(last === undefined ? (fs.files.get(lastFile!)!.length < FILE_HEADER_BYTES ? 0 : FILE_HEADER_BYTES) : last.offset + placed[read.txns.length - 1]!.length);
        }
        expect(await restoreAndContinue(fs, p.chunkBytes)).toEqual(survivors);
      }),
      RUNS,
    );
  });

  test('any byte of the last entry flipped: every entry before it, the last one cut off', async () => {
    await fc.assert(
      fc.asyncProperty(plan, fc.nat(), fc.integer({ min: 1, max: 255 }), async (p, at, mask) => {
        const fs = new MemoryFileSystem();
        const { txns, placed } = await writeLog(fs, p);
        const victim = placed[placed.length - 1]!;
        const bytes = fs.files.get(victim.file)!;
        bytes[victim.offset + (at % victim.length)]! ^= mask;
        const chunkBytes = p.chunkBytes;
        const read = await readAllTxns(DIR, 0n, { fs, chunkBytes });
        expect(strip(read.txns)).toEqual(txns.slice(0, -1));
        expect(read.truncateAt).toMatchObject({ file: victim.file, offset: victim.offset });
        expect(await restoreAndContinue(fs, p.chunkBytes)).toEqual(txns.slice(0, -1));
      }),
      RUNS,
    );
  });

  test('any byte of an earlier entry flipped: ERR_TXNLOG_CORRUPT naming that entry, never skipped', async () => {
    await fc.assert(
      fc.asyncProperty(plan, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (p, which, at, mask) => {
        const fs = new MemoryFileSystem();
        const { placed } = await writeLog(fs, p);
        const victim = placed[which % (placed.length - 1)]!;
        const bytes = fs.files.get(victim.file)!;
        bytes[victim.offset + (at % victim.length)]! ^= mask;
        const chunkBytes = p.chunkBytes;
        const err = await readAllTxns(DIR, 0n, { fs, chunkBytes }).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(TxnLogCorruptError);
        expect(err).toMatchObject({ code: 'ERR_TXNLOG_CORRUPT', file: victim.file, offset: victim.offset });
      }),
      RUNS,
    );
  });

  test('every entry written is read back, across files and batches, from any zxid', async () => {
    await fc.assert(
      fc.asyncProperty(plan, fc.nat(), async (p, fromIndex) => {
        const fs = new MemoryFileSystem();
        const { txns } = await writeLog(fs, p);
        const from = txns[fromIndex % txns.length]!.hdr.zxid;
        const read = await readAllTxns(DIR, from, { fs, chunkBytes: p.chunkBytes });
        expect(strip(read.txns)).toEqual(txns.filter((t) => t.hdr.zxid >= from));
        for (const f of await listLogFiles(fs, DIR)) {
          const size = fs.files.get(join(DIR, f.name))!.length;
          if (p.preAllocSizeBytes > 0) expect(size % p.preAllocSizeBytes).toBe(0);
        }
      }),
      RUNS,
    );
  });
});
