import { dirname, join } from 'node:path';
import { JuteReader } from '../jute/reader.js';
import type { TxnEntry } from '../txn/txn.js';
import { DecodeError } from '../util/errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import {
  ENTRY_OVERHEAD_BYTES, FILE_HEADER_BYTES, TXN_HEADER_BYTES, TxnLogCorruptError, checkFileHeader, decodeTxnPayload,
  listLogFiles, scanFrame, selectLogFiles, type TxnDecodeOptions,
} from './txn-log-format.js';

/** One txn as read back, with where it was found. */
export interface LoggedTxn extends TxnEntry {
  /** Path of the log file. */
  file: string;
  /** Offset of the entry (its checksum) in the file. */
  offset: number;
}

/** Where the valid part of a log file ends and damage begins. */
export interface TornTail {
  file: string;
  offset: number;
  /** Bytes from `offset` to the last non-zero byte of the file, inclusive. */
  droppedBytes: number;
  reason: string;
}

export interface TxnLogReadOptions extends TxnDecodeOptions {
  fs?: FileSystem;
  /** Read size; default 1 MiB. */
  chunkBytes?: number;
  /** The longest payload an entry may claim; longer is damage. Default 64 MiB (jute.maxbuffer
   * is 1 MiB by default; a txn is its data plus the path and ACL). */
  maxPayloadBytes?: number;
}

export interface TxnLogReadResult {
  /**
   * The last file ends in damage no valid entry follows (a write torn by a crash, never
   * acknowledged): restore cuts it off with truncateTornTail before the server writes again.
   */
  truncateAt: TornTail | null;
  /**
   * Damaged tails of earlier files that the next file continues past with the very next zxid:
   * ZooKeeper, restarted after a crash, leaves the torn tail and starts a new file. Harmless.
   */
  skippedTails: TornTail[];
  /** Paths of the files read, in order. */
  files: string[];
  /** Zxid of the last valid entry (yielded or not), null when there was none. */
  lastZxid: bigint | null;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Reads the txn log of `dir`: every entry of the file that starts at or before `fromZxid` and of
 * all later files, yielding those with zxid >= fromZxid. Iterate it once; `result` is set when
 * the iteration has run to the end.
 *
 * Per entry: the length must be sane and the frame complete, the EOR byte 'B', the checksum
 * right. Each file must end cleanly: at an entry boundary followed by nothing or by zeros only.
 *
 * Damage with no valid entry after it, in this file or a later one, is a torn write: in the last
 * file it becomes `truncateAt` and reading stops; in an earlier file it is accepted only if the
 * next file starts with the zxid right after the last valid entry (see `skippedTails`).
 * Everything else throws TxnLogCorruptError (ERR_TXNLOG_CORRUPT) with file and offset: damage
 * followed by valid entries, an intact entry that cannot be decoded, or a next file whose first
 * zxid neither continues the previous one nor starts a later epoch. A file that is not a version-2
 * ZooKeeper log throws TxnLogVersionError (ERR_TXNLOG_VERSION).
 */
export class TxnLogReader implements AsyncIterable<LoggedTxn> {
  result: TxnLogReadResult | null = null;
  private readonly fs: FileSystem;
  private readonly chunkBytes: number;
  private readonly maxPayloadBytes: number;
  private readonly reader = new JuteReader();

  constructor(
    readonly dir: string,
    readonly fromZxid: bigint,
    private readonly opts: TxnLogReadOptions = {},
  ) {
    this.fs = opts.fs ?? nodeFileSystem;
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LoggedTxn, void, undefined> {
    const fs = this.fs;
    const refs = (await fs.exists(this.dir)) ? selectLogFiles(await listLogFiles(fs, this.dir), this.fromZxid) : [];
    const result: TxnLogReadResult = { truncateAt: null, skippedTails: [], files: [], lastZxid: null };
    /** A damaged tail of an earlier file, waiting for the next entry to prove it superseded. */
    let pending: { tail: TornTail; expect: bigint } | null = null;
    let prevFile = '';
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const file = join(this.dir, ref.name);
      const isLast = i === refs.length - 1;
      result.files.push(file);
      const fd = await fs.open(file, 'r');
      try {
        const cur = new FileWindow((buf, offset, length, position) => fs.read(fd, buf, offset, length, position), await fs.size(fd), this.chunkBytes);
        let firstInFile = true;
        // Zxid the damage check compares against: the last valid one, or just before the name's.
        let lastGood = ref.zxid - 1n;
        const damage = async (offset: number, reason: string): Promise<TornTail> => {
          const validAt = await this.findValidEntry(cur, offset, lastGood);
          if (validAt !== null) throw new TxnLogCorruptError(file, offset, `${reason}; a valid entry follows at offset ${validAt}`);
          return { file, offset, droppedBytes: (await lastNonZeroEnd(cur, offset)) - offset, reason };
        };
        let tail: TornTail | null = null;
        await cur.fill(0, FILE_HEADER_BYTES);
        const header = checkFileHeader(cur.buf, Math.min(cur.size, FILE_HEADER_BYTES), file);
        let pos = FILE_HEADER_BYTES;
        if (header.type === 'torn') tail = await damage(0, cur.size < FILE_HEADER_BYTES ? `file of ${cur.size} bytes has no complete header` : 'zeroed file header');
        while (tail === null && pos < cur.size) {
          const avail = await cur.fill(pos, ENTRY_OVERHEAD_BYTES + TXN_HEADER_BYTES);
          let frame = scanFrame(cur.buf, pos - cur.start, pos - cur.start + avail, this.maxPayloadBytes);
          if (frame.type === 'short' && pos + frame.need <= cur.size) {
            const more = await cur.fill(pos, frame.need);
            frame = scanFrame(cur.buf, pos - cur.start, pos - cur.start + more, this.maxPayloadBytes);
          }
          if (frame.type === 'zero' || frame.type === 'short') {
            const nonZero = await nextNonZero(cur, pos);
            if (nonZero === cur.size) break;
            tail = await damage(pos, frame.type === 'short' ? `entry cut short by the end of the file at ${cur.size}` : `zeroed entry header, non-zero byte at offset ${nonZero}`);
            break;
          }
          if (frame.type === 'bad') {
            tail = await damage(pos, frame.reason);
            break;
          }
          const base = cur.start;
          let entry: TxnEntry;
          try {
            entry = decodeTxnPayload(cur.buf, frame.payloadStart, frame.payloadEnd, this.opts, this.reader);
          } catch (err) {
            if (!(err instanceof DecodeError)) throw err;
            throw new TxnLogCorruptError(file, pos, `intact entry (checksum holds) does not decode: ${err.message}`);
          }
          const zxid = entry.hdr.zxid;
          if (firstInFile) {
            if (pending !== null) {
              if (zxid !== pending.expect) {
                throw new TxnLogCorruptError(pending.tail.file, pending.tail.offset,
                  `${pending.tail.reason}; the next file ${file} starts at zxid 0x${zxid.toString(16)}, not 0x${pending.expect.toString(16)}, so the damage is not a superseded torn write`);
              }
              result.skippedTails.push(pending.tail);
              pending = null;
            } else if (result.lastZxid !== null && !continues(result.lastZxid, zxid)) {
              throw new TxnLogCorruptError(file, pos,
                `first zxid 0x${zxid.toString(16)} does not follow 0x${result.lastZxid.toString(16)}, the last of ${prevFile}`);
            }
            firstInFile = false;
          }
          result.lastZxid = zxid;
          lastGood = zxid;
          if (zxid >= this.fromZxid) {
            const offset = pos;
            pos = base + frame.next;
            yield { hdr: entry.hdr, body: entry.body, digest: entry.digest, file, offset };
          } else {
            pos = base + frame.next;
          }
        }
        if (tail === null && firstInFile && isLast && header.type === 'ok') {
          // A header and nothing else: the first write of this file did not reach the disk (or
          // ZooKeeper flushed its header alone). Restore removes it, so a new file can take its name.
          tail = { file, offset: FILE_HEADER_BYTES, droppedBytes: 0, reason: 'file has a header and no entries' };
        }
        if (tail !== null) {
          if (isLast) {
            result.truncateAt = tail;
          } else {
            if (pending !== null) throw unresolved(pending.tail, file);
            pending = { tail, expect: lastGood + 1n };
          }
        }
        if (!firstInFile) prevFile = file;
      } finally {
        await fs.close(fd);
      }
    }
    if (pending !== null) throw unresolved(pending.tail, null);
    this.result = result;
  }

  /** The offset of the first entry after `from` that is intact and newer than `lastGood`. */
  private async findValidEntry(cur: FileWindow, from: number, lastGood: bigint): Promise<number | null> {
    const minFrame = ENTRY_OVERHEAD_BYTES + TXN_HEADER_BYTES;
    const size = cur.size;
    const maxPayload = this.maxPayloadBytes;
    let r = from + 1;
    while (r + minFrame <= size) {
      await cur.fill(r, minFrame);
      // Cheap filters over the buffered bytes first: the checksum's high half is zero and the
      // length is plausible. Everything else about a candidate needs its whole frame.
      const buf = cur.buf;
      const base = cur.start;
      const last = Math.min(cur.length - 12, size - minFrame - base);
      let o = r - base;
      let candidate = -1;
      for (; o <= last; o++) {
        if ((o & 4095) === 0 && o + 4096 <= cur.length && buf.compare(ZEROS, 0, 4096, o, o + 4096) === 0) {
          // No frame starting in this zero block can have a non-zero length field.
          o += 4096 - 12;
          continue;
        }
        if ((buf[o]! | buf[o + 1]! | buf[o + 2]! | buf[o + 3]!) !== 0) continue;
        const length = buf.readInt32BE(o + 8);
        if (length < TXN_HEADER_BYTES || length > maxPayload || base + o + ENTRY_OVERHEAD_BYTES + length > size) continue;
        candidate = base + o;
        break;
      }
      if (candidate < 0) {
        r = Math.max(r + 1, base + o);
        continue;
      }
      const have = await cur.fill(candidate, minFrame);
      const length = cur.buf.readInt32BE(candidate - cur.start + 8);
      const more = await cur.fill(candidate, Math.max(have, ENTRY_OVERHEAD_BYTES + length));
      const c = candidate - cur.start;
      const frame = scanFrame(cur.buf, c, c + more, maxPayload);
      if (frame.type === 'frame') {
        try {
          const entry = decodeTxnPayload(cur.buf, frame.payloadStart, frame.payloadEnd, this.opts, this.reader);
          if (entry.hdr.zxid > lastGood) return candidate;
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }
      r = candidate + 1;
    }
    return null;
  }
}

function unresolved(tail: TornTail, nextFile: string | null): TxnLogCorruptError {
  return new TxnLogCorruptError(tail.file, tail.offset,
    `${tail.reason}; damage in a file that is not the last${nextFile === null ? ', and no later txn continues after it' : `, and ${nextFile} is damaged too`}`);
}

/** z follows prev in one log: the next counter of the epoch, or any zxid of a later epoch. */
function continues(prev: bigint, z: bigint): boolean {
  return z === prev + 1n || z >> 32n > prev >> 32n;
}

/** Reads the whole log into memory: for tools, tests and small logs. */
export async function readAllTxns(dir: string, fromZxid: bigint, opts: TxnLogReadOptions = {}): Promise<TxnLogReadResult & { txns: LoggedTxn[] }> {
  const reader = new TxnLogReader(dir, fromZxid, opts);
  const txns: LoggedTxn[] = [];
  for await (const txn of reader) txns.push(txn);
  return { ...reader.result!, txns };
}

/**
 * Cuts a torn tail off (what restore does with `truncateAt` before the server writes again): the
 * file is cut at the offset and synced; a file left without any entry is removed (and the
 * directory synced), so a new file of the same name can be created.
 */
export async function truncateTornTail(tail: TornTail, opts: { fs?: FileSystem } = {}): Promise<void> {
  const fs = opts.fs ?? nodeFileSystem;
  if (tail.offset <= FILE_HEADER_BYTES) {
    await fs.unlink(tail.file);
    await fs.syncDir(dirname(tail.file));
    return;
  }
  const fd = await fs.open(tail.file, 'r+');
  try {
    await fs.truncate(fd, tail.offset);
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}

// ---------------------------------------------------------------------------------------------

/** Reads up to `length` bytes at file offset `position` into buf[offset..]; returns how many (0 at the end). */
export type ReadAt = (buf: Buffer, offset: number, length: number, position: number) => Promise<number>;

/**
 * A window on one log file, refilled by position; grows to hold the largest entry asked for.
 * Shared with txn-log-truncate, which passes a `readAt` that types its read errors.
 */
export class FileWindow {
  buf: Buffer;
  /** File offset of buf[0]. */
  start = 0;
  /** Valid bytes in buf. */
  length = 0;

  constructor(
    private readonly readAt: ReadAt,
    readonly size: number,
    readonly chunkBytes: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(size, FILE_HEADER_BYTES)));
  }

  /** Makes file bytes [pos, pos+n) available (fewer at the end of the file); returns how many
   * bytes from pos are in the buffer. */
  async fill(pos: number, n: number): Promise<number> {
    const want = Math.min(n, this.size - pos);
    if (pos >= this.start && pos + want <= this.start + this.length) return this.start + this.length - pos;
    const read = Math.min(Math.max(want, this.chunkBytes), this.size - pos);
    if (read > this.buf.length) this.buf = Buffer.allocUnsafe(read);
    let got = 0;
    while (got < read) {
      const k = await this.readAt(this.buf, got, read - got, pos + got);
      if (k === 0) break;
      got += k;
    }
    this.start = pos;
    this.length = got;
    return got;
  }
}

/** The first non-zero byte at or after `from`, or the file size (also when the file turns out shorter). */
export async function nextNonZero(win: FileWindow, from: number): Promise<number> {
  let pos = from;
  while (pos < win.size) {
    const have = await win.fill(pos, Math.min(win.size - pos, ZEROS.length));
    if (have <= 0) return win.size;
    const buf = win.buf;
    let i = pos - win.start;
    const end = i + have;
    while (end - i >= 4096 && buf.compare(ZEROS, 0, 4096, i, i + 4096) === 0) i += 4096;
    while (i < end && buf[i] === 0) i++;
    if (i < end) return win.start + i;
    pos = win.start + end;
  }
  return win.size;
}

/** One past the last non-zero byte in [from, size), or `from` when there is none. */
export async function lastNonZeroEnd(win: FileWindow, from: number): Promise<number> {
  let end = win.size;
  while (end > from) {
    const start = Math.max(from, end - win.chunkBytes);
    await win.fill(start, end - start);
    const buf = win.buf;
    const lo = start - win.start;
    let i = end - win.start;
    while (i - lo >= 4096 && buf.compare(ZEROS, 0, 4096, i - 4096, i) === 0) i -= 4096;
    while (i > lo && buf[i - 1] === 0) i--;
    if (i > lo) return win.start + i;
    end = start;
  }
  return from;
}
