/*
 * Cutting the txn log back, for the quorum protocol and for offline tools.
 *
 * TRUNC (truncateLogDir): a learner drops every logged txn after a zxid, the proposals of a
 * leader that failed before they committed. Every log file that starts after the zxid is removed;
 * the file holding the cut point is truncated right after its last kept entry. The file then ends
 * exactly at an entry boundary, which every reader takes as a clean end (ours: end of file at an
 * entry boundary; ZooKeeper's FileTxnIterator and TxnLogToolkit: EOFException on the next
 * checksum), like ZooKeeper's own FileTxnLog.truncate, which sets the file length the same way.
 *
 * SNAP (discardLogDir): a snapshot the caller has made durable replaces the whole history, so
 * every log file goes.
 *
 * Crash safety: files are removed newest first, each removal made durable before the next, and
 * the cut file is truncated last. A crash anywhere leaves a prefix of the old log: never a log
 * with a hole, which restore would refuse, nor a cut file followed by files whose txns no longer
 * continue it. After a TRUNC cut short, the learner restores its old history and reports its old
 * last zxid, so the leader sends the TRUNC again. After a SNAP cut short, restore takes the new
 * snapshot and replays whatever txns of the old prefix lie above it; the learner again reports a
 * zxid the leader does not have and is synced again.
 *
 * Differences from ZooKeeper's FileTxnLog.truncate, on purpose: a zxid that is not itself logged
 * (a gap between epochs) keeps exactly the txns below it, where ZooKeeper also keeps the first
 * txn after it; a zxid beyond the last logged txn changes nothing, where ZooKeeper throws "No log
 * files found to truncate"; and the removals and the cut are synced.
 */
import { join } from 'node:path';
import { TszkError } from '../util/errors.js';
import type { FileSystem } from './file-system.js';
import {
  ENTRY_OVERHEAD_BYTES, ENTRY_PREFIX_BYTES, FILE_HEADER_BYTES, TXN_HEADER_BYTES, TxnLogCorruptError, checkFileHeader, listLogFiles,
  scanFrame, type LogFileRef,
} from './txn-log-format.js';
import { FileWindow, lastNonZeroEnd, nextNonZero, type ReadAt } from './txn-log-reader.js';

/** A file operation failed while cutting the log: it may be cut part way (a prefix of the old log). */
export class TxnLogTruncateError extends TszkError {
  constructor(
    readonly file: string,
    readonly op: 'open' | 'read' | 'truncate' | 'fsync' | 'unlink' | 'syncDir' | 'close',
    cause: unknown,
  ) {
    super('ERR_TXNLOG_TRUNCATE', `txn log ${op} failed for ${file} while cutting the log: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TxnLogTruncateError';
    this.cause = cause;
  }
}

export interface TruncateLogOptions {
  /** fsync the cut file and the directory after each removal (zookeeper.forceSync); default true. */
  sync?: boolean;
  /** The longest payload an entry may claim; longer is damage. Default 64 MiB, as the reader. */
  maxPayloadBytes?: number;
  /** Read size; default 1 MiB. */
  chunkBytes?: number;
}

export interface TruncateLogResult {
  /** Paths of the files removed, newest first (the cut file too, when it kept no entry). */
  removedFiles: string[];
  /** The file cut short: where it now ends and how many bytes it lost. Null when none was. */
  cut: { file: string; offset: number; droppedBytes: number } | null;
  /** Zxid of the last txn kept in the file holding the cut point; null when it kept none (or
   * there is no such file). Earlier files are not read. */
  lastKeptZxid: bigint | null;
  /** Zxid in the name of the newest log file left, null when none is left. */
  newestFileZxid: bigint | null;
  /** Something on disk changed. */
  changed: boolean;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** TxnHeader: clientId:long cxid:int, then zxid:long. */
const ZXID_OFFSET_IN_PAYLOAD = 12;

/**
 * Removes every logged txn with zxid > `zxid` from the log files of `dir` (see the top of the
 * file). Only the file holding the cut point is read. Throws TxnLogCorruptError when that file is
 * damaged before the cut point and an intact entry follows the damage (restore would refuse such a
 * log too), TxnLogVersionError for a foreign file, TxnLogTruncateError when a file operation fails.
 * Nothing is changed before the cut point has been found.
 */
export async function truncateLogDir(fs: FileSystem, dir: string, zxid: bigint, opts: TruncateLogOptions = {}): Promise<TruncateLogResult> {
  const sync = opts.sync ?? true;
  const files = await io(dir, 'read', () => listLogFiles(fs, dir));
  const later = files.filter((f) => f.zxid > zxid);
  const kept = files.filter((f) => f.zxid <= zxid);
  const cutRef = kept[kept.length - 1];
  const plan = cutRef === undefined ? null : await planCut(fs, join(dir, cutRef.name), zxid, opts);

  const result: TruncateLogResult = { removedFiles: [], cut: null, lastKeptZxid: plan?.lastKept ?? null, newestFileZxid: null, changed: false };
  await removeNewestFirst(fs, dir, later, sync, result.removedFiles);
  if (cutRef !== undefined && plan !== null) {
    const file = join(dir, cutRef.name);
    if (plan.keptEntries === 0) {
      await removeNewestFirst(fs, dir, [cutRef], sync, result.removedFiles);
      kept.pop();
    } else if (plan.cutAt !== null) {
      await cutFile(fs, file, plan.cutAt, sync);
      result.cut = { file, offset: plan.cutAt, droppedBytes: plan.dataEnd - plan.cutAt };
    }
  }
  result.newestFileZxid = kept[kept.length - 1]?.zxid ?? null;
  result.changed = result.removedFiles.length > 0 || result.cut !== null;
  return result;
}

/** Removes every log file of `dir`, newest first (see the top of the file); returns their paths. */
export async function discardLogDir(fs: FileSystem, dir: string, opts: { sync?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  const files = await io(dir, 'read', () => listLogFiles(fs, dir));
  await removeNewestFirst(fs, dir, files, opts.sync ?? true, removed);
  return removed;
}

// ---------------------------------------------------------------------------------------------

/** `files` ascending; each removal is made durable before the next, so a crash leaves a prefix. */
async function removeNewestFirst(fs: FileSystem, dir: string, files: readonly LogFileRef[], sync: boolean, removed: string[]): Promise<void> {
  for (let i = files.length - 1; i >= 0; i--) {
    const path = join(dir, files[i]!.name);
    await io(path, 'unlink', () => fs.unlink(path));
    removed.push(path);
    if (sync) await io(dir, 'syncDir', () => fs.syncDir(dir));
  }
}

async function cutFile(fs: FileSystem, file: string, offset: number, sync: boolean): Promise<void> {
  const fd = await io(file, 'open', () => fs.open(file, 'r+'));
  try {
    await io(file, 'truncate', () => fs.truncate(fd, offset));
    if (sync) await io(file, 'fsync', () => fs.fsync(fd));
  } finally {
    await io(file, 'close', () => fs.close(fd));
  }
}

async function io<T>(file: string, op: TxnLogTruncateError['op'], f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw new TxnLogTruncateError(file, op, err);
  }
}

interface CutPlan {
  /** Entries with zxid <= the cut zxid at the start of the file. */
  keptEntries: number;
  lastKept: bigint | null;
  /** Offset to truncate the file to, or null when nothing after the kept entries needs to go. */
  cutAt: number | null;
  /** One past the last non-zero byte: what the cut drops, for the result. */
  dataEnd: number;
}

/** Reads `file` up to the first entry newer than `zxid` (or its end, or damage). */
async function planCut(fs: FileSystem, file: string, zxid: bigint, opts: TruncateLogOptions): Promise<CutPlan> {
  const maxPayload = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const fd = await io(file, 'open', () => fs.open(file, 'r'));
  try {
    const size = await io(file, 'read', () => fs.size(fd));
    const readAt: ReadAt = (buf, offset, length, position) => io(file, 'read', () => fs.read(fd, buf, offset, length, position));
    const win = new FileWindow(readAt, size, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    const plan: CutPlan = { keptEntries: 0, lastKept: null, cutAt: null, dataEnd: size };
    /** Damage at `pos`: cut there, unless an intact newer entry follows (then it is not a torn tail). */
    const damage = async (pos: number, reason: string): Promise<CutPlan> => {
      const validAt = await findIntactFrame(win, pos + 1, plan.lastKept, maxPayload);
      if (validAt !== null) throw new TxnLogCorruptError(file, pos, `${reason}; a valid entry follows at offset ${validAt}, so the log cannot be cut at zxid 0x${zxid.toString(16)}`);
      plan.cutAt = pos;
      plan.dataEnd = await lastNonZeroEnd(win, pos);
      return plan;
    };
    await win.fill(0, FILE_HEADER_BYTES);
    const header = checkFileHeader(win.buf, Math.min(size, FILE_HEADER_BYTES), file);
    if (header.type === 'torn') return await damage(0, 'no complete file header');
    let pos = FILE_HEADER_BYTES;
    while (pos < size) {
      let avail = await win.fill(pos, ENTRY_OVERHEAD_BYTES + TXN_HEADER_BYTES);
      let frame = scanFrame(win.buf, pos - win.start, pos - win.start + avail, maxPayload);
      if (frame.type === 'short' && pos + frame.need <= size) {
        avail = await win.fill(pos, frame.need);
        frame = scanFrame(win.buf, pos - win.start, pos - win.start + avail, maxPayload);
      }
      if (frame.type === 'zero' || frame.type === 'short') {
        const nonZero = await nextNonZero(win, pos);
        if (nonZero === size) return plan;
        return await damage(pos, frame.type === 'short' ? `entry cut short by the end of the file at ${size}` : `zeroed entry header, non-zero byte at offset ${nonZero}`);
      }
      if (frame.type === 'bad') return await damage(pos, frame.reason);
      const entryZxid = win.buf.readBigInt64BE(frame.payloadStart + ZXID_OFFSET_IN_PAYLOAD);
      if (entryZxid > zxid) {
        plan.cutAt = pos;
        plan.dataEnd = await lastNonZeroEnd(win, pos);
        return plan;
      }
      plan.keptEntries++;
      plan.lastKept = entryZxid;
      pos = win.start + frame.next;
    }
    return plan;
  } finally {
    await io(file, 'close', () => fs.close(fd));
  }
}

/** The offset of the first intact entry at or after `from` that is newer than `newerThan`. */
async function findIntactFrame(win: FileWindow, from: number, newerThan: bigint | null, maxPayload: number): Promise<number | null> {
  const minFrame = ENTRY_OVERHEAD_BYTES + TXN_HEADER_BYTES;
  const size = win.size;
  let r = from;
  while (r + minFrame <= size) {
    await win.fill(r, minFrame);
    const buf = win.buf;
    const base = win.start;
    // A candidate: checksum high half zero (Adler-32 fits in 32 bits) and a plausible length.
    const last = Math.min(base + win.length - ENTRY_PREFIX_BYTES, size - minFrame);
    let o = r;
    let candidate = -1;
    for (; o <= last; o++) {
      const i = o - base;
      if ((buf[i]! | buf[i + 1]! | buf[i + 2]! | buf[i + 3]!) !== 0) continue;
      const length = buf.readInt32BE(i + 8);
      if (length < TXN_HEADER_BYTES || length > maxPayload || o + ENTRY_OVERHEAD_BYTES + length > size) continue;
      candidate = o;
      break;
    }
    if (candidate < 0) {
      r = Math.max(r + 1, o);
      continue;
    }
    const length = buf.readInt32BE(candidate - base + 8);
    const have = await win.fill(candidate, ENTRY_OVERHEAD_BYTES + length);
    const c = candidate - win.start;
    const frame = scanFrame(win.buf, c, c + have, maxPayload);
    if (frame.type === 'frame') {
      const z = win.buf.readBigInt64BE(frame.payloadStart + ZXID_OFFSET_IN_PAYLOAD);
      if (newerThan === null || z > newerThan) return candidate;
    }
    r = candidate + 1;
  }
  return null;
}
