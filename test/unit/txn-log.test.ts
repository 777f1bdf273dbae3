import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { JuteWriter } from '../../src/jute/writer.js';
import { OpCode } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { writeCreateTxnV0, writeTxnDigest, writeTxnHeader } from '../../src/proto/txn-records.js';
import { adler32 } from '../../src/persist/adler32.js';
import { nodeFileSystem } from '../../src/persist/file-system.js';
import {
  ENTRY_OVERHEAD_BYTES, EOR, FILE_HEADER_BYTES, TxnLogCorruptError, TxnLogVersionError, decodeEntry, encodeEntry,
  encodeFileHeader, listLogFiles, logFileName, parseLogFileName, selectLogFiles,
} from '../../src/persist/txn-log-format.js';
import { TxnLogReader, readAllTxns, truncateTornTail } from '../../src/persist/txn-log-reader.js';
import { TxnLogWriteError, TxnLogWriter, type TxnLogWriterOptions } from '../../src/persist/txn-log-writer.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { faultyFs, flushP } from '../support/txn-fixtures.js';

// ---------------------------------------------------------------- helpers

const SESSION = 0x0100001e72a90000n;
const OPEN_ACL = [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }];

function createTxn(zxid: bigint, path: string, data = 'x'): TxnEntry {
  return {
    hdr: { clientId: SESSION, cxid: Number(zxid & 0xffffn), zxid, time: 1_700_000_000_000 + Number(zxid), type: OpCode.create },
    body: { type: OpCode.create, record: { path, data: Buffer.from(data), acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } },
    digest: null,
  };
}

function setDataTxn(zxid: bigint, path: string, data: string): TxnEntry {
  return {
    hdr: { clientId: SESSION, cxid: 7, zxid, time: 1_700_000_000_000, type: OpCode.setData },
    body: { type: OpCode.setData, record: { path, data: Buffer.from(data), version: 3 } },
    digest: { version: 2, treeDigest: 0x1234_5678_9abcn },
  };
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The first bytes of log.1 written by ZooKeeper 3.8.0 (Debian) for zkCli `create /a hello`. */
const JAVA_HEADER = hex('5a4b4c47 00000002 0000000000000000');
const JAVA_CREATE_SESSION = hex(
  '00000000bc610a29 00000030 0100001e72a90000 00000000 0000000000000001 000001a20bd6245e fffffff6 00007530' +
    '00000002 0000000051c6d660 42',
);
const JAVA_CREATE_A = hex(
  '000000000acb0d82 0000005b 0100001e72a90000 00000001 0000000000000002 000001a20bd624b9 00000001' +
    '00000002 2f61 00000005 68656c6c6f 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 00 00000001' +
    '00000002 0000000067e88484 42',
);
const JAVA_ENTRIES: TxnEntry[] = [
  {
    hdr: { clientId: SESSION, cxid: 0, zxid: 1n, time: 0x1a20bd6245e, type: OpCode.createSession },
    body: { type: OpCode.createSession, record: { timeOut: 30000 } },
    digest: { version: 2, treeDigest: 0x51c6d660n },
  },
  {
    hdr: { clientId: SESSION, cxid: 1, zxid: 2n, time: 0x1a20bd624b9, type: OpCode.create },
    body: { type: OpCode.create, record: { path: '/a', data: Buffer.from('hello'), acl: OPEN_ACL, ephemeral: false, parentCVersion: 1 } },
    digest: { version: 2, treeDigest: 0x67e88484n },
  },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tszk-txnlog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function writer(opts: Partial<TxnLogWriterOptions> = {}): TxnLogWriter {
  return new TxnLogWriter(dir, { preAllocSizeBytes: 4096, forceSync: true, ...opts });
}

async function names(): Promise<string[]> {
  return (await readdir(dir)).sort();
}

// ---------------------------------------------------------------- adler32

describe('adler32', () => {
  /** Straight from the definition, reducing every byte. */
  function reference(buf: Uint8Array): number {
    let a = 1;
    let b = 0;
    for (const byte of buf) {
      a = (a + byte) % 65521;
      b = (b + a) % 65521;
    }
    return ((b << 16) | a) >>> 0;
  }

  test('known values', () => {
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(Buffer.alloc(0))).toBe(1);
    expect(adler32(Buffer.from('a'))).toBe(0x00620062);
    expect(adler32(Buffer.from('abc'))).toBe(0x024d0127);
  });

  test('long runs of 0xff (the worst case for the block reduction) match the definition', () => {
    for (const n of [5551, 5552, 5553, 11104, 100_000, 1 << 20]) {
      const buf = Buffer.alloc(n, 0xff);
      expect(adler32(buf)).toBe(reference(buf));
    }
  });

  test('a range and a continued checksum agree with the whole', () => {
    const buf = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 31 + 7) & 0xff));
    expect(adler32(buf, 100, 9000)).toBe(reference(buf.subarray(100, 9000)));
    expect(adler32(buf, 12_345, buf.length, adler32(buf, 0, 12_345))).toBe(adler32(buf));
  });

  test('any range, continuing from any checksum, matches the definition', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12_000 }), fc.nat(), fc.nat(), fc.nat({ max: 65520 }), fc.nat({ max: 65520 }), (bytes, x, y, a0, b0) => {
        const start = bytes.length === 0 ? 0 : x % bytes.length;
        const end = start + (bytes.length === 0 ? 0 : y % (bytes.length - start + 1));
        let a = a0;
        let b = b0;
        for (let i = start; i < end; i++) {
          a = (a + bytes[i]!) % 65521;
          b = (b + a) % 65521;
        }
        expect(adler32(bytes, start, end, ((b0 << 16) | a0) >>> 0)).toBe(((b << 16) | a) >>> 0);
      }),
      { numRuns: 300 },
    );
  });

  test('checksums of the entries ZooKeeper wrote', () => {
    for (const entry of [JAVA_CREATE_SESSION, JAVA_CREATE_A]) {
      expect(adler32(entry, 12, entry.length - 1)).toBe(entry.readUInt32BE(4));
    }
  });
});

// ---------------------------------------------------------------- format

describe('entry encoding', () => {
  test('file header and entries are byte-identical to ZooKeeper 3.8', () => {
    const w = new JuteWriter(16);
    encodeFileHeader(w, 0n);
    expect(w.toBuffer()).toEqual(JAVA_HEADER);
    w.reset();
    encodeEntry(w, JAVA_ENTRIES[0]!);
    expect(w.toBuffer()).toEqual(JAVA_CREATE_SESSION);
    w.reset();
    encodeEntry(w, JAVA_ENTRIES[1]!);
    expect(w.toBuffer()).toEqual(JAVA_CREATE_A);
  });

  test('decodeEntry reads them back', () => {
    const buf = Buffer.concat([JAVA_CREATE_SESSION, JAVA_CREATE_A]);
    const first = decodeEntry(buf, 0, buf.length, 1 << 20);
    expect(first).toEqual({ type: 'entry', entry: JAVA_ENTRIES[0], next: JAVA_CREATE_SESSION.length });
    const second = decodeEntry(buf, JAVA_CREATE_SESSION.length, buf.length, 1 << 20);
    expect(second).toEqual({ type: 'entry', entry: JAVA_ENTRIES[1], next: buf.length });
  });

  test('decodeEntry tells zeros, short, bad and undecodable frames apart', () => {
    const e = JAVA_CREATE_A;
    expect(decodeEntry(Buffer.alloc(40), 0, 40, 1 << 20).type).toBe('zero');
    expect(decodeEntry(e, 0, e.length - 1, 1 << 20)).toEqual({ type: 'short', need: e.length });
    const flipped = Buffer.from(e);
    flipped[40]! ^= 1;
    expect(decodeEntry(flipped, 0, e.length, 1 << 20)).toMatchObject({ type: 'bad', reason: expect.stringMatching(/checksum/) });
    const noEor = Buffer.from(e);
    noEor[e.length - 1] = 0;
    expect(decodeEntry(noEor, 0, e.length, 1 << 20)).toMatchObject({ type: 'bad', reason: expect.stringMatching(/end-of-record/) });
    expect(decodeEntry(e, 0, e.length, 40)).toMatchObject({ type: 'bad', reason: expect.stringMatching(/length 91/) });
    // An intact frame around a txn type ZooKeeper does not know.
    const w = new JuteWriter(64);
    const start = w.pos;
    w.pos += 12;
    writeTxnHeader(w, { clientId: 1n, cxid: 1, zxid: 9n, time: 0, type: 99 });
    w.ensure(1);
    w.buf[w.pos++] = EOR;
    w.buf.writeUInt32BE(0, start);
    w.buf.writeUInt32BE(adler32(w.buf, start + 12, w.pos - 1), start + 4);
    w.buf.writeInt32BE(w.pos - start - ENTRY_OVERHEAD_BYTES, start + 8);
    expect(decodeEntry(w.buf, 0, w.pos, 1 << 20)).toMatchObject({ type: 'undecodable' });
  });

  /** Frames a hand-made payload the way the writer frames its own. */
  function frame(payload: Buffer): Buffer {
    const out = Buffer.alloc(payload.length + ENTRY_OVERHEAD_BYTES);
    out.writeUInt32BE(adler32(payload), 4);
    out.writeInt32BE(payload.length, 8);
    payload.copy(out, 12);
    out[out.length - 1] = EOR;
    return out;
  }

  test("SerializeUtils' rules: closeSession without a record, with or without a digest", () => {
    const w = new JuteWriter(64);
    writeTxnHeader(w, { clientId: 5n, cxid: 0, zxid: 3n, time: 10, type: OpCode.closeSession });
    const bare = frame(w.toBuffer());
    expect(decodeEntry(bare, 0, bare.length, 1 << 20)).toMatchObject({ type: 'entry', entry: { body: { type: OpCode.closeSession, record: null }, digest: null } });
    writeTxnDigest(w, { version: 2, treeDigest: 77n });
    const withDigest = frame(w.toBuffer());
    // closeSessionTxn.enabled=false: what follows the header is the digest.
    expect(decodeEntry(withDigest, 0, withDigest.length, 1 << 20, { closeSessionTxnEnabled: false })).toMatchObject({
      type: 'entry',
      entry: { body: { record: null }, digest: { version: 2, treeDigest: 77n } },
    });
    // digest.enabled=false: the digest is not read.
    const entry = decodeEntry(withDigest, 0, withDigest.length, 1 << 20, { closeSessionTxnEnabled: false, digestEnabled: false });
    expect(entry).toMatchObject({ type: 'entry', entry: { digest: null } });
  });

  test("SerializeUtils' rules: a CreateTxnV0 record reads as a create with parentCVersion -1", () => {
    const w = new JuteWriter(64);
    writeTxnHeader(w, { clientId: 5n, cxid: 1, zxid: 4n, time: 10, type: OpCode.create });
    writeCreateTxnV0(w, { path: '/old', data: Buffer.from('v0'), acl: OPEN_ACL, ephemeral: true });
    const buf = frame(w.toBuffer());
    expect(decodeEntry(buf, 0, buf.length, 1 << 20)).toMatchObject({
      type: 'entry',
      entry: { body: { type: OpCode.create, record: { path: '/old', data: Buffer.from('v0'), ephemeral: true, parentCVersion: -1 } }, digest: null },
    });
  });
});

describe('log file names', () => {
  test("as Java's Long.toHexString, negative zxids in two's complement", () => {
    expect(logFileName(1n)).toBe('log.1');
    expect(logFileName(0n)).toBe('log.0');
    expect(logFileName(0x100000001n)).toBe('log.100000001');
    expect(logFileName(0xabcdefn)).toBe('log.abcdef');
    expect(logFileName(-1n)).toBe('log.ffffffffffffffff');
    expect(logFileName(-(1n << 63n))).toBe('log.8000000000000000');
  });

  test('parse round-trips and ignores everything else', () => {
    for (const z of [0n, 1n, 0x100000001n, 0x7fffffffffffffffn, -1n, -(1n << 63n)]) expect(parseLogFileName(logFileName(z))).toBe(z);
    expect(parseLogFileName('log.ABC')).toBe(0xabcn);
    for (const other of ['log.1.fixed', 'log.', 'log', 'snapshot.1', 'log.1.chopped5', 'log.g', 'log.00000000000000001', 'xlog.1']) {
      expect(parseLogFileName(other)).toBeNull();
    }
  });

  test('listing sorts by zxid, not by name; selection starts at the file holding fromZxid', async () => {
    for (const name of ['log.10', 'log.a', 'log.2', 'snapshot.5', 'log.100000001', 'log.1.fixed']) await writeFile(join(dir, name), '');
    const files = await listLogFiles(nodeFileSystem, dir);
    expect(files.map((f) => f.name)).toEqual(['log.2', 'log.a', 'log.10', 'log.100000001']);
    expect(selectLogFiles(files, 0n).map((f) => f.name)).toEqual(['log.2', 'log.a', 'log.10', 'log.100000001']);
    expect(selectLogFiles(files, 0xan).map((f) => f.name)).toEqual(['log.a', 'log.10', 'log.100000001']);
    expect(selectLogFiles(files, 0xfn).map((f) => f.name)).toEqual(['log.a', 'log.10', 'log.100000001']);
    expect(selectLogFiles(files, 0x200000000n).map((f) => f.name)).toEqual(['log.100000001']);
  });
});

// ---------------------------------------------------------------- writer

describe('TxnLogWriter', () => {
  test('group commit: one write and one fdatasync for a batch, read back intact', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs, preAllocSizeBytes: 64 * 1024 });
    const txns = Array.from({ length: 200 }, (_, i) => (i % 3 === 2 ? setDataTxn(BigInt(i + 1), `/n${i}`, 'v') : createTxn(BigInt(i + 1), `/n${i}`)));
    for (const t of txns) w.append(t);
    expect(w.unflushed).toBe(200);
    expect(io.calls.write).toBe(0);
    expect(await flushP(w)).toBeNull();
    expect(w.unflushed).toBe(0);
    expect(io.calls).toMatchObject({ open: 1, write: 1, datasync: 1, syncDir: 1, truncate: 1 });
    // A second batch in the same file: no new file, no directory sync, no growth needed.
    w.append(createTxn(201n, '/more'));
    expect(await flushP(w)).toBeNull();
    expect(io.calls).toMatchObject({ open: 1, write: 2, datasync: 2, syncDir: 1, truncate: 1 });
    await w.close();
    expect(await names()).toEqual(['log.1']);
    const read = await readAllTxns(dir, 0n);
    expect(read.truncateAt).toBeNull();
    expect(read.txns.map(({ hdr, body, digest }) => ({ hdr, body, digest }))).toEqual([...txns, createTxn(201n, '/more')]);
    expect(read.txns[0]!.offset).toBe(FILE_HEADER_BYTES);
    expect(read.lastZxid).toBe(201n);
  });

  test('appends during a flush go to the next batch; flushes requested meanwhile are coalesced and complete in order', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    const order: string[] = [];
    w.append(createTxn(1n, '/a'));
    const release = io.hold();
    const first = new Promise<void>((resolve) => w.flush((err) => { order.push(`first ${String(err)}`); resolve(); }));
    expect(w.unflushed).toBe(0);
    w.append(createTxn(2n, '/b'));
    w.append(createTxn(3n, '/c'));
    expect(w.unflushed).toBe(2);
    const second = new Promise<void>((resolve) => w.flush((err) => { order.push(`second ${String(err)}`); resolve(); }));
    w.append(createTxn(4n, '/d'));
    const third = new Promise<void>((resolve) => w.flush((err) => { order.push(`third ${String(err)}`); resolve(); }));
    release();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first null', 'second null', 'third null']);
    // The first batch, then one write for everything queued behind it.
    expect(io.calls.write).toBe(2);
    expect(io.calls.datasync).toBe(2);
    expect(w.stats.batches).toBe(2);
    // Nothing new: completes without I/O, asynchronously.
    let sync = true;
    let called = false;
    w.flush((err) => { expect(err).toBeNull(); called = true; expect(sync).toBe(false); });
    sync = false;
    await flushP(w);
    expect(called).toBe(true);
    expect(io.calls.write).toBe(2);
    await w.close();
    expect((await readAllTxns(dir, 0n)).txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n, 3n, 4n]);
  });

  test('a flush queued behind a running one with nothing new completes without another write', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    w.append(createTxn(1n, '/a'));
    const release = io.hold();
    const first = flushP(w);
    const second = flushP(w);
    release();
    expect(await first).toBeNull();
    expect(await second).toBeNull();
    expect(io.calls.write).toBe(1);
    await w.close();
  });

  test('preallocation keeps the file a whole number of blocks, zero-filled past the data', async () => {
    const block = 4096;
    const w = writer({ preAllocSizeBytes: block });
    let zxid = 0n;
    let dataBytes = FILE_HEADER_BYTES;
    const sizes: number[] = [];
    for (let batch = 0; batch < 12; batch++) {
      for (let i = 0; i < 10; i++) {
        const t = createTxn(++zxid, `/node-${zxid}`, 'd'.repeat(50));
        const enc = new JuteWriter(256);
        encodeEntry(enc, t);
        dataBytes += enc.pos;
        w.append(t);
      }
      expect(await flushP(w)).toBeNull();
      const size = (await stat(join(dir, 'log.1'))).size;
      expect(size % block).toBe(0);
      expect(size).toBeGreaterThanOrEqual(dataBytes);
      expect(size - dataBytes).toBeLessThan(block);
      sizes.push(size);
    }
    await w.close();
    expect(new Set(sizes).size).toBeGreaterThan(1);
    const bytes = await readFile(join(dir, 'log.1'));
    expect(bytes.subarray(dataBytes).every((b) => b === 0)).toBe(true);
    expect((await readAllTxns(dir, 0n)).txns).toHaveLength(120);
  });

  test('preAllocSizeBytes 0 writes the data only', async () => {
    const io = faultyFs();
    const w = writer({ preAllocSizeBytes: 0, fs: io.fs });
    w.append(createTxn(1n, '/a'));
    await flushP(w);
    await w.close();
    const enc = new JuteWriter(256);
    encodeEntry(enc, createTxn(1n, '/a'));
    expect((await stat(join(dir, 'log.1'))).size).toBe(FILE_HEADER_BYTES + enc.pos);
    expect(io.calls.truncate).toBe(0);
  });

  test('rollLog starts the next file at the next txn, also inside one batch', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    w.append(createTxn(1n, '/a'));
    w.append(createTxn(2n, '/b'));
    await flushP(w);
    w.rollLog();
    w.rollLog(); // twice without a txn in between: still one new file
    w.append(createTxn(3n, '/c'));
    w.append(createTxn(4n, '/d'));
    w.rollLog();
    w.append(createTxn(5n, '/e'));
    const before = { ...io.calls };
    expect(await flushP(w)).toBeNull();
    // One batch across two new files: two opens, two writes, both synced, the old files closed.
    expect(io.calls.open - before.open).toBe(2);
    expect(io.calls.write - before.write).toBe(2);
    expect(io.calls.datasync - before.datasync).toBe(2);
    expect(io.calls.close - before.close).toBe(2);
    expect(w.currentFile).toBe('log.5');
    await w.close();
    expect(await names()).toEqual(['log.1', 'log.3', 'log.5']);
    const read = await readAllTxns(dir, 0n);
    expect(read.txns.map((t) => [t.file.slice(dir.length + 1), t.hdr.zxid])).toEqual([
      ['log.1', 1n], ['log.1', 2n], ['log.3', 3n], ['log.3', 4n], ['log.5', 5n],
    ]);
    expect((await readAllTxns(dir, 4n)).txns.map((t) => t.hdr.zxid)).toEqual([4n, 5n]);
  });

  test('txnLogSizeLimitBytes rolls at the first txn past the limit', async () => {
    const w = writer({ txnLogSizeLimitBytes: 1000 });
    for (let z = 1n; z <= 40n; z++) {
      w.append(createTxn(z, `/node${z}`, 'x'.repeat(40)));
      if (z % 7n === 0n) await flushP(w);
    }
    await flushP(w);
    await w.close();
    const files = await names();
    expect(files.length).toBeGreaterThan(3);
    const read = await readAllTxns(dir, 0n);
    expect(read.txns).toHaveLength(40);
    for (const f of files) {
      const txns = read.txns.filter((t) => t.file === join(dir, f));
      const last = txns[txns.length - 1]!;
      // Every entry but the last starts within the limit.
      expect(txns.slice(0, -1).every((t) => t.offset <= 1000)).toBe(true);
      expect(last.offset).toBeLessThanOrEqual(1000);
    }
  });

  test('a restarted server appends to a new file, never into the old one', async () => {
    const first = writer();
    for (let z = 1n; z <= 5n; z++) first.append(createTxn(z, `/a${z}`));
    await flushP(first);
    await first.close();
    const oldBytes = await readFile(join(dir, 'log.1'));
    const again = await TxnLogWriter.open(dir, { preAllocSizeBytes: 4096, forceSync: true });
    again.append(createTxn(6n, '/b'));
    await flushP(again);
    await again.close();
    expect(await names()).toEqual(['log.1', 'log.6']);
    expect(await readFile(join(dir, 'log.1'))).toEqual(oldBytes);
    expect((await readAllTxns(dir, 0n)).txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    // A first txn that would sort before an existing file is a broken restore: refused.
    const wrong = await TxnLogWriter.open(dir, { preAllocSizeBytes: 4096, forceSync: true });
    expect(() => wrong.append(createTxn(6n, '/c'))).toThrow(/sort before existing log/);
  });

  test('an existing file is never overwritten', async () => {
    await writeFile(join(dir, 'log.1'), 'precious');
    const w = writer();
    w.append(createTxn(1n, '/a'));
    const err = await flushP(w);
    expect(err).toBeInstanceOf(TxnLogWriteError);
    expect(err).toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'open' });
    expect(await readFile(join(dir, 'log.1'), 'utf8')).toBe('precious');
    await w.close();
  });

  test('a failed write reaches done(err), and every later flush fails too', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    w.append(createTxn(1n, '/a'));
    await flushP(w);
    io.failNext.write = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    w.append(createTxn(2n, '/b'));
    const release = io.hold();
    const failed = flushP(w);
    w.append(createTxn(3n, '/c'));
    const queued = flushP(w);
    release();
    const err = await failed;
    expect(err).toBeInstanceOf(TxnLogWriteError);
    expect(err).toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'write', message: expect.stringMatching(/ENOSPC/) });
    expect((err as TxnLogWriteError).cause).toMatchObject({ code: 'ENOSPC' });
    expect(await queued).toBe(err);
    w.append(createTxn(4n, '/d'));
    expect(await flushP(w)).toBe(err);
    expect(io.calls.write).toBe(2);
    await w.close();
  });

  test('a failed fdatasync reaches done(err)', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    io.failNext.datasync = new Error('EIO: i/o error, fsync');
    w.append(createTxn(1n, '/a'));
    const err = await flushP(w);
    expect(err).toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'datasync' });
    await w.close();
  });

  test('a failed preallocation reaches done(err) before anything is written', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    io.failNext.truncate = new Error('EFBIG: file too large');
    w.append(createTxn(1n, '/a'));
    expect(await flushP(w)).toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'preallocate' });
    expect(io.calls.write).toBe(0);
    await w.close();
  });

  test('forceSync=false skips fdatasync and the directory sync', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs, forceSync: false });
    for (let z = 1n; z <= 3n; z++) {
      w.append(createTxn(z, `/a${z}`));
      expect(await flushP(w)).toBeNull();
    }
    w.rollLog();
    w.append(createTxn(4n, '/b'));
    expect(await flushP(w)).toBeNull();
    expect(io.calls.datasync).toBe(0);
    expect(io.calls.syncDir).toBe(0);
    expect(io.calls.write).toBe(4);
    await w.close();
    expect((await readAllTxns(dir, 0n)).txns).toHaveLength(4);
  });

  test('close waits for the running flush, writes what is still open, and closes the file', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    w.append(createTxn(1n, '/a'));
    const release = io.hold();
    const first = flushP(w);
    w.append(createTxn(2n, '/b'));
    const closing = w.close();
    release();
    await closing;
    expect(await first).toBeNull();
    expect(io.calls.close).toBe(1);
    expect((await readAllTxns(dir, 0n)).txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n]);
    expect(() => w.append(createTxn(3n, '/c'))).toThrow(/after close/);
  });

  test('close reports a failure of its own last flush', async () => {
    const io = faultyFs();
    const w = writer({ fs: io.fs });
    w.append(createTxn(1n, '/a'));
    io.failNext.datasync = new Error('EIO: i/o error, fsync');
    await expect(w.close()).rejects.toMatchObject({ code: 'ERR_TXNLOG_WRITE', op: 'datasync' });
    expect(io.calls.close).toBe(1);
  });

  test('full signals backpressure at maxBatchTxns or maxBatchBytes', async () => {
    const w = writer({ maxBatchTxns: 3, maxBatchBytes: 1 << 20 });
    w.append(createTxn(1n, '/a'));
    w.append(createTxn(2n, '/b'));
    expect(w.full).toBe(false);
    w.append(createTxn(3n, '/c'));
    expect(w.full).toBe(true);
    await flushP(w);
    expect(w.full).toBe(false);
    const big = writer({ maxBatchBytes: 500 });
    big.append(createTxn(10n, '/a', 'x'.repeat(600)));
    expect(big.full).toBe(true);
    await big.close();
    await w.close();
  });
});

// ---------------------------------------------------------------- reader

describe('TxnLogReader', () => {
  async function writeLog(files: bigint[][], opts: Partial<TxnLogWriterOptions> = {}): Promise<void> {
    const w = writer(opts);
    for (const zxids of files) {
      w.rollLog();
      for (const z of zxids) w.append(createTxn(z, `/n${z}`, 'data'));
      await flushP(w);
    }
    await w.close();
  }

  /** What droppedBytes reports: from `offset` to the last non-zero byte. */
  function nonZeroExtent(bytes: Buffer, offset: number): number {
    let end = bytes.length;
    while (end > offset && bytes[end - 1] === 0) end--;
    return end - offset;
  }

  function entryOffsets(count: number): number[] {
    const out: number[] = [];
    let pos = FILE_HEADER_BYTES;
    for (let z = 1n; z <= BigInt(count); z++) {
      out.push(pos);
      const enc = new JuteWriter(256);
      encodeEntry(enc, createTxn(z, `/n${z}`, 'data'));
      pos += enc.pos;
    }
    out.push(pos);
    return out;
  }

  test('no directory or no files: nothing, cleanly', async () => {
    expect(await readAllTxns(join(dir, 'missing'), 0n)).toMatchObject({ txns: [], truncateAt: null, files: [] });
    expect(await readAllTxns(dir, 0n)).toMatchObject({ txns: [], truncateAt: null, lastZxid: null });
  });

  test('a torn last entry is reported, cut off, and the log then reads clean', async () => {
    await writeLog([[1n, 2n, 3n]], { preAllocSizeBytes: 0 });
    const offsets = entryOffsets(3);
    const file = join(dir, 'log.1');
    const full = await readFile(file);
    const cut = full.subarray(0, offsets[2]! + 20);
    await writeFile(file, cut);
    const read = await readAllTxns(dir, 0n);
    expect(read.txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n]);
    expect(read.truncateAt).toMatchObject({ file, offset: offsets[2], droppedBytes: nonZeroExtent(cut, offsets[2]!), reason: expect.stringMatching(/cut short/) });
    await truncateTornTail(read.truncateAt!);
    expect((await stat(file)).size).toBe(offsets[2]);
    const again = await readAllTxns(dir, 0n);
    expect(again.truncateAt).toBeNull();
    expect(again.txns).toHaveLength(2);
  });

  test('a torn entry inside the preallocated region: droppedBytes counts to the last non-zero byte', async () => {
    await writeLog([[1n, 2n, 3n]], { preAllocSizeBytes: 8192 });
    const offsets = entryOffsets(3);
    const file = join(dir, 'log.1');
    const bytes = await readFile(file);
    bytes.fill(0, offsets[2]! + 30, offsets[3]!); // the end of the last write never reached the disk
    await writeFile(file, bytes);
    const read = await readAllTxns(dir, 0n);
    expect(read.txns).toHaveLength(2);
    expect(read.truncateAt).toMatchObject({ offset: offsets[2], droppedBytes: nonZeroExtent(bytes, offsets[2]!) });
    expect(nonZeroExtent(bytes, offsets[2]!)).toBeLessThanOrEqual(30);
  });

  test('a file whose header never reached the disk is torn at 0 and removed by truncation', async () => {
    await writeLog([[1n, 2n], [3n]]);
    const second = join(dir, 'log.3');
    await writeFile(second, Buffer.alloc(4096));
    const read = await readAllTxns(dir, 0n);
    expect(read.txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n]);
    expect(read.truncateAt).toMatchObject({ file: second, offset: 0, droppedBytes: 0 });
    await truncateTornTail(read.truncateAt!);
    expect(await names()).toEqual(['log.1']);
    await writeFile(second, Buffer.alloc(0));
    expect((await readAllTxns(dir, 0n)).truncateAt).toMatchObject({ file: second, offset: 0, reason: expect.stringMatching(/no complete header/) });
    // A header and zeros: the first batch of the file was lost. Removed too, so a restarted
    // writer can create log.3 again.
    const header = new JuteWriter(16);
    encodeFileHeader(header, 0n);
    await writeFile(second, Buffer.concat([header.toBuffer(), Buffer.alloc(4000)]));
    const headerOnly = await readAllTxns(dir, 0n);
    expect(headerOnly.txns).toHaveLength(2);
    expect(headerOnly.truncateAt).toMatchObject({ file: second, offset: FILE_HEADER_BYTES, droppedBytes: 0 });
    await truncateTornTail(headerOnly.truncateAt!);
    expect(await names()).toEqual(['log.1']);
    const w = await TxnLogWriter.open(dir, { preAllocSizeBytes: 0, forceSync: true });
    w.append(createTxn(3n, '/n3', 'data'));
    expect(await flushP(w)).toBeNull();
    await w.close();
    expect((await readAllTxns(dir, 0n)).txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n, 3n]);
  });

  test('damage followed by a valid entry is corruption, named by file and offset', async () => {
    await writeLog([[1n, 2n, 3n, 4n]]);
    const offsets = entryOffsets(4);
    const file = join(dir, 'log.1');
    const bytes = await readFile(file);
    bytes[offsets[1]! + 40]! ^= 0x10;
    await writeFile(file, bytes);
    const reader = new TxnLogReader(dir, 0n);
    const seen: bigint[] = [];
    const err = await (async () => {
      try {
        for await (const t of reader) seen.push(t.hdr.zxid);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(TxnLogCorruptError);
    expect(err).toMatchObject({ code: 'ERR_TXNLOG_CORRUPT', file, offset: offsets[1], message: expect.stringMatching(new RegExp(`valid entry follows at offset ${offsets[2]}`)) });
    expect(seen).toEqual([1n]);
    expect(reader.result).toBeNull();
  });

  test('a zeroed hole in front of valid entries is corruption, not the end of the log', async () => {
    await writeLog([[1n, 2n, 3n]]);
    const offsets = entryOffsets(3);
    const file = join(dir, 'log.1');
    const bytes = await readFile(file);
    bytes.fill(0, offsets[1]!, offsets[2]!);
    await writeFile(file, bytes);
    await expect(readAllTxns(dir, 0n)).rejects.toMatchObject({ code: 'ERR_TXNLOG_CORRUPT', offset: offsets[1], message: expect.stringMatching(/zeroed entry header/) });
  });

  test('an intact entry that does not decode is corruption even at the tail', async () => {
    await writeLog([[1n]], { preAllocSizeBytes: 0 });
    const w = new JuteWriter(64);
    w.pos = 12;
    writeTxnHeader(w, { clientId: 1n, cxid: 1, zxid: 2n, time: 0, type: 99 });
    w.buf.writeUInt32BE(0, 0);
    w.buf.writeUInt32BE(adler32(w.buf, 12, w.pos), 4);
    w.buf.writeInt32BE(w.pos - 12, 8);
    w.ensure(1);
    w.buf[w.pos++] = EOR;
    const file = join(dir, 'log.1');
    await writeFile(file, Buffer.concat([await readFile(file), w.toBuffer()]));
    await expect(readAllTxns(dir, 0n)).rejects.toMatchObject({ code: 'ERR_TXNLOG_CORRUPT', message: expect.stringMatching(/does not decode.*unknown txn type 99/) });
  });

  test('a torn tail in an earlier file is skipped only when the next file restarts at its zxid', async () => {
    const offsets = entryOffsets(3);
    await writeLog([[1n, 2n, 3n]], { preAllocSizeBytes: 0 });
    const first = join(dir, 'log.1');
    const bytes = await readFile(first);
    const torn = bytes.subarray(0, offsets[2]! + 10); // zxid 3 torn
    await writeFile(first, torn);
    // A restart wrote zxid 3 again into log.3: the torn copy was never acknowledged.
    const again = await TxnLogWriter.open(dir, { preAllocSizeBytes: 0, forceSync: true });
    again.append(createTxn(3n, '/n3', 'data'));
    again.append(createTxn(4n, '/n4', 'data'));
    await flushP(again);
    await again.close();
    const read = await readAllTxns(dir, 0n);
    expect(read.txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n, 3n, 4n]);
    expect(read.truncateAt).toBeNull();
    expect(read.skippedTails).toMatchObject([{ file: first, offset: offsets[2], droppedBytes: nonZeroExtent(torn, offsets[2]!) }]);
    // Had the next file started at 4, zxid 3 would have been lost: corruption.
    await rm(join(dir, 'log.3'));
    const w4 = await TxnLogWriter.open(dir, { preAllocSizeBytes: 0, forceSync: true });
    w4.append(createTxn(4n, '/n4', 'data'));
    await flushP(w4);
    await w4.close();
    await expect(readAllTxns(dir, 0n)).rejects.toMatchObject({ code: 'ERR_TXNLOG_CORRUPT', file: first, offset: offsets[2], message: expect.stringMatching(/starts at zxid 0x4, not 0x3/) });
  });

  test('a gap between files is corruption; a new epoch is not a gap', async () => {
    await writeLog([[1n, 2n], [0x100000001n, 0x100000002n]]);
    expect((await readAllTxns(dir, 0n)).txns.map((t) => t.hdr.zxid)).toEqual([1n, 2n, 0x100000001n, 0x100000002n]);
    await rm(dir, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'tszk-txnlog-'));
    await writeLog([[1n, 2n], [4n, 5n]]);
    await expect(readAllTxns(dir, 0n)).rejects.toMatchObject({ code: 'ERR_TXNLOG_CORRUPT', file: join(dir, 'log.4'), message: expect.stringMatching(/does not follow 0x2/) });
  });

  test('foreign magic or a future version is ERR_TXNLOG_VERSION', async () => {
    await writeLog([[1n]]);
    const file = join(dir, 'log.1');
    const bytes = await readFile(file);
    bytes.writeInt32BE(3, 4);
    await writeFile(file, bytes);
    await expect(readAllTxns(dir, 0n)).rejects.toBeInstanceOf(TxnLogVersionError);
    await expect(readAllTxns(dir, 0n)).rejects.toMatchObject({ code: 'ERR_TXNLOG_VERSION', file, version: 3 });
    bytes.write('ZKSN', 0);
    await writeFile(file, bytes);
    await expect(readAllTxns(dir, 0n)).rejects.toMatchObject({ code: 'ERR_TXNLOG_VERSION', message: expect.stringMatching(/magic 0x5a4b534e/) });
  });

  test('fromZxid skips older entries and files', async () => {
    await writeLog([[1n, 2n, 3n], [4n, 5n], [6n, 7n, 8n]]);
    const reader = new TxnLogReader(dir, 5n);
    const got: bigint[] = [];
    for await (const t of reader) got.push(t.hdr.zxid);
    expect(got).toEqual([5n, 6n, 7n, 8n]);
    expect(reader.result?.files.map((f) => f.slice(dir.length + 1))).toEqual(['log.4', 'log.6']);
    expect(reader.result?.lastZxid).toBe(8n);
    expect((await readAllTxns(dir, 100n)).txns).toEqual([]);
  });
});
