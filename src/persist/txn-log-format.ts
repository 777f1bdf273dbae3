/*
 * The transaction log, byte for byte as Apache ZooKeeper 3.8 writes it (FileTxnLog, version 2).
 * All integers are big-endian jute: int = 4 bytes, long = 8 bytes.
 *
 *   dataDir/version-2/log.<zxid>      zxid of the file's first txn, lowercase hex without leading
 *                                     zeros (Java's Long.toHexString: a negative zxid is its 64-bit
 *                                     two's complement, "log.ffffffffffffffff" for -1)
 *
 *   file     = FileHeader *entry tail
 *   FileHeader = magic:int  0x5a4b4c47 ("ZKLG")
 *                version:int 2
 *                dbid:long   0 in practice
 *   entry    = checksum:long   Adler-32 of `payload` only (not of `length` or EOR, whatever
 *                              FileTxnLog's own comment says), so the high 4 bytes are zero
 *              length:int      byte length of `payload`, > 0
 *              payload         TxnHeader{clientId:long cxid:int zxid:long time:long type:int}
 *                              record     the txn record of `type` (txn.ts); absent for a
 *                                         closeSession written with closeSessionTxn.enabled=false
 *                              [TxnDigest{version:int treeDigest:long}]  when digests are on
 *              eor:byte        0x42 ('B')
 *   tail     = *0x00           preallocated zeros up to the end of the file
 *
 * The checksum and length do not say where the file ends: the writer grows the file ahead of
 * its writes, so after the last entry comes a zero-filled region. A reader stops where it finds
 * checksum 0 and length 0 (Java: "since we preallocate, we define EOF to be an empty
 * transaction"), or at the end of the file exactly at an entry boundary. Readers here also check
 * that the zero region really is all zeros to the end, so that a zeroed hole in front of valid
 * entries is found instead of silently ending the log there.
 *
 * Nothing frames a group commit: a crash can leave the last written entries torn (short,
 * checksum wrong, EOR missing). Such a tail was never acknowledged and is cut away on restore;
 * damage with valid entries after it cannot be a torn write and is reported as corruption.
 *
 * Java's reader rules for the payload (SerializeUtils.deserializeTxn), followed by decodeTxnPayload:
 * - the digest is optional: read only when bytes remain after the record;
 * - closeSession: the record is read only when closeSessionTxn.enabled (default true), and a
 *   closeSession too short for a CloseSessionTxn has no record;
 * - create: a record too short for CreateTxn is a CreateTxnV0 (3.2 and older), read with
 *   parentCVersion -1.
 */
import type { JuteWriter } from '../jute/writer.js';
import {
  writeFileHeader, writeTxnDigest, writeTxnHeader,
} from '../proto/txn-records.js';
import { writeTxnBody, type TxnEntry } from '../txn/txn.js';
import { decodeTxnPayload, type TxnDecodeOptions } from '../txn/txn-payload.js';

export { decodeTxnPayload, type TxnDecodeOptions };
import { DecodeError, TszkError } from '../util/errors.js';
import type { FileSystem } from './file-system.js';
import { adler32 } from './adler32.js';

/** "ZKLG" as a big-endian int. */
export const TXNLOG_MAGIC = 0x5a4b4c47;
export const TXNLOG_VERSION = 2;
export const FILE_HEADER_BYTES = 16;
/** checksum:long + length:int in front of the payload. */
export const ENTRY_PREFIX_BYTES = 12;
/** prefix + EOR byte. */
export const ENTRY_OVERHEAD_BYTES = 13;
export const EOR = 0x42;
/** TxnHeader: clientId, cxid, zxid, time, type. */
export const TXN_HEADER_BYTES = 32;
export const LOG_FILE_PREFIX = 'log';

/** A log file whose bytes contradict the format somewhere other than a torn tail. */
export class TxnLogCorruptError extends TszkError {
  constructor(
    readonly file: string,
    readonly offset: number,
    message: string,
  ) {
    super('ERR_TXNLOG_CORRUPT', `txn log ${file} at offset ${offset}: ${message}`);
    this.name = 'TxnLogCorruptError';
  }
}

/** A file named like a log that is not a ZooKeeper version-2 txn log. */
export class TxnLogVersionError extends TszkError {
  constructor(
    readonly file: string,
    readonly magic: number,
    readonly version: number,
  ) {
    super(
      'ERR_TXNLOG_VERSION',
      `txn log ${file}: magic 0x${(magic >>> 0).toString(16)} version ${version}, ` +
        `expected magic 0x${TXNLOG_MAGIC.toString(16)} ("ZKLG") version ${TXNLOG_VERSION}`,
    );
    this.name = 'TxnLogVersionError';
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

export function encodeFileHeader(w: JuteWriter, dbId: bigint): void {
  writeFileHeader(w, { magic: TXNLOG_MAGIC, version: TXNLOG_VERSION, dbid: dbId });
}

/**
 * Appends one entry (checksum, length, payload, EOR) to `w`, encoding the payload in place and
 * checksumming it there: no allocation beyond what the record encoders do.
 */
export function encodeEntry(w: JuteWriter, entry: TxnEntry): void {
  const start = w.pos;
  w.ensure(ENTRY_PREFIX_BYTES);
  w.pos += ENTRY_PREFIX_BYTES;
  if (entry.payload !== undefined) {
    w.writeRaw(entry.payload);
  } else {
    try {
      writeTxnHeader(w, entry.hdr);
      writeTxnBody(w, entry.body);
      if (entry.digest !== null) writeTxnDigest(w, entry.digest);
    } catch (err) {
      w.pos = start;
      throw err;
    }
  }
  const payloadStart = start + ENTRY_PREFIX_BYTES;
  const length = w.pos - payloadStart;
  w.ensure(1);
  // ensure() may have moved the buffer: look it up only now.
  const buf = w.buf;
  buf[w.pos++] = EOR;
  buf.writeUInt32BE(0, start);
  buf.writeUInt32BE(adler32(buf, payloadStart, payloadStart + length), start + 4);
  buf.writeInt32BE(length, start + 8);
}

// ---------------------------------------------------------------------------------------------
// Reading

export type FileHeaderCheck =
  | { type: 'ok'; dbId: bigint }
  /** Fewer than 16 bytes, or a zero magic: the header never reached the disk. */
  | { type: 'torn' };

/** Checks the first bytes of a log file (`buf` holds up to 16 of them); throws for a foreign
 * magic or version. */
export function checkFileHeader(buf: Buffer, length: number, file: string): FileHeaderCheck {
  if (length < FILE_HEADER_BYTES) {
    if (length >= 4 && buf.readInt32BE(0) !== 0 && buf.readInt32BE(0) !== TXNLOG_MAGIC) {
      throw new TxnLogVersionError(file, buf.readInt32BE(0), length >= 8 ? buf.readInt32BE(4) : 0);
    }
    return { type: 'torn' };
  }
  const magic = buf.readInt32BE(0);
  const version = buf.readInt32BE(4);
  if (magic === 0) return { type: 'torn' };
  if (magic !== TXNLOG_MAGIC || version !== TXNLOG_VERSION) throw new TxnLogVersionError(file, magic, version);
  return { type: 'ok', dbId: buf.readBigInt64BE(8) };
}

export type FrameScan =
  /** A complete entry whose length, EOR and checksum hold. */
  | { type: 'frame'; payloadStart: number; payloadEnd: number; next: number }
  /** Checksum 0 and length 0: where preallocated zeros begin. */
  | { type: 'zero' }
  /** `end` comes before the frame does: `need` bytes from `pos` would settle it. */
  | { type: 'short'; need: number }
  | { type: 'bad'; reason: string };

/**
 * Looks at the entry frame starting at buf[pos] without decoding its payload. `end` is the end
 * of the available bytes; `maxPayloadBytes` bounds the length a frame may claim.
 */
export function scanFrame(buf: Buffer, pos: number, end: number, maxPayloadBytes: number): FrameScan {
  if (end - pos < ENTRY_PREFIX_BYTES) return { type: 'short', need: ENTRY_PREFIX_BYTES };
  const crcHigh = buf.readUInt32BE(pos);
  const crc = buf.readUInt32BE(pos + 4);
  const length = buf.readInt32BE(pos + 8);
  if (length === 0 && crcHigh === 0 && crc === 0) return { type: 'zero' };
  if (length < TXN_HEADER_BYTES || length > maxPayloadBytes) {
    return { type: 'bad', reason: `entry length ${length} outside [${TXN_HEADER_BYTES}, ${maxPayloadBytes}]` };
  }
  const frameBytes = ENTRY_OVERHEAD_BYTES + length;
  if (end - pos < frameBytes) return { type: 'short', need: frameBytes };
  const payloadStart = pos + ENTRY_PREFIX_BYTES;
  const payloadEnd = payloadStart + length;
  if (buf[payloadEnd] !== EOR) return { type: 'bad', reason: `end-of-record byte 0x${buf[payloadEnd]!.toString(16)}, expected 0x42` };
  const actual = adler32(buf, payloadStart, payloadEnd);
  if (crcHigh !== 0 || crc !== actual) {
    const stored = crcHigh === 0 ? crc.toString(16) : `${crcHigh.toString(16)}${crc.toString(16).padStart(8, '0')}`;
    return { type: 'bad', reason: `checksum 0x${stored}, computed 0x${actual.toString(16)}` };
  }
  return { type: 'frame', payloadStart, payloadEnd, next: payloadEnd + 1 };
}

export type EntryDecode =
  | { type: 'entry'; entry: TxnEntry; next: number }
  /** The frame is intact (checksum holds) but its payload is not a txn we can read. */
  | { type: 'undecodable'; reason: string }
  | Exclude<FrameScan, { type: 'frame' }>;

/** scanFrame, then decodeTxnPayload for an intact frame. */
export function decodeEntry(buf: Buffer, pos: number, end: number, maxPayloadBytes: number, opts: TxnDecodeOptions = {}): EntryDecode {
  const frame = scanFrame(buf, pos, end, maxPayloadBytes);
  if (frame.type !== 'frame') return frame;
  try {
    return { type: 'entry', entry: decodeTxnPayload(buf, frame.payloadStart, frame.payloadEnd, opts), next: frame.next };
  } catch (err) {
    if (err instanceof DecodeError) return { type: 'undecodable', reason: err.message };
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// File names

/** log.<zxid in lowercase hex>, as Java's Util.makeLogName. */
export function logFileName(zxid: bigint): string {
  return `${LOG_FILE_PREFIX}.${BigInt.asUintN(64, zxid).toString(16)}`;
}

const LOG_NAME = /^log\.([0-9a-fA-F]{1,16})$/;

/**
 * The start zxid of a log file name, or null for any other name. Stricter than Java's
 * Util.getZxidFromName, which takes "log.1.fixed" (TxnLogToolkit's recovery output) for log.1,
 * and which cannot read back a negative zxid's name (Long.parseLong rejects 16-digit hex above
 * 0x7fffffffffffffff); here the hex is read as 64 bits, so every name logFileName makes parses.
 */
export function parseLogFileName(name: string): bigint | null {
  const m = LOG_NAME.exec(name);
  if (m === null) return null;
  return BigInt.asIntN(64, BigInt(`0x${m[1]!}`));
}

export interface LogFileRef {
  name: string;
  /** The zxid in the name: that of the file's first txn. */
  zxid: bigint;
}

/** The log files of `dir`, ascending by zxid (signed, as Java compares longs). */
export async function listLogFiles(fs: FileSystem, dir: string): Promise<LogFileRef[]> {
  const files: LogFileRef[] = [];
  for (const name of await fs.readdir(dir)) {
    const zxid = parseLogFileName(name);
    if (zxid !== null) files.push({ name, zxid });
  }
  return files.sort((x, y) => (x.zxid < y.zxid ? -1 : x.zxid > y.zxid ? 1 : 0));
}

/**
 * The files that can hold txns from `fromZxid` on (Java's FileTxnLog.getLogFiles): the last file
 * starting at or before `fromZxid`, and every later one. `files` must be sorted ascending.
 */
export function selectLogFiles(files: readonly LogFileRef[], fromZxid: bigint): LogFileRef[] {
  let first = 0;
  for (let i = 0; i < files.length; i++) {
    if (files[i]!.zxid <= fromZxid) first = i;
    else break;
  }
  return files.slice(first);
}
