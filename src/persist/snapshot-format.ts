import { join } from 'node:path';
import type { JuteReader } from '../jute/reader.js';
import type { JuteWriter } from '../jute/writer.js';
import type { ACL } from '../proto/data.js';
import { DecodeError, TszkError } from '../util/errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';

/**
 * Snapshots in Apache ZooKeeper 3.8's on-disk format (FileSnap, uncompressed "checked" stream),
 * readable by ZooKeeper and its SnapshotFormatter, and ZooKeeper's readable by us. Jute encoding,
 * big-endian: int 4 bytes, long 8, buffer/ustring = int length (-1 null) then bytes,
 * vector = int count (-1 null) then elements.
 *
 *   snapshot      = header sessions acl-cache nodes seal [zxid-digest seal]
 *   header        = FileHeader{ magic:int 0x5a4b534e ("ZKSN"), version:int 2, dbid:long -1 }
 *   sessions      = count:int count*( id:long timeoutMs:int )
 *   acl-cache     = count:int count*( aclId:long acls:vector<ACL> )
 *   ACL           = perms:int scheme:ustring id:ustring
 *   nodes         = *( path:ustring DataNode ) "/":ustring
 *   DataNode      = data:buffer aclId:long StatPersisted
 *   StatPersisted = czxid:long mzxid:long ctime:long mtime:long version:int cversion:int
 *                   aversion:int ephemeralOwner:long pzxid:long
 *   seal          = checksum:long "/":ustring
 *   zxid-digest   = ZxidDigest{ zxid:long digestVersion:int digest:long }
 *                   (digestVersion < 2, never written by 3.8: digest:ustring in hex)
 *
 * - The file is named snapshot.<zxid in lower-case hex, no padding> (Java's Long.toHexString):
 *   every txn up to that zxid is in it; a fuzzy snapshot may also hold effects of later ones.
 * - nodes are in pre-order, every parent before its children; the root's path is "" (not "/"),
 *   so the terminating "/" cannot be mistaken for a node. Child order is free.
 * - aclId -1 means OPEN_ACL_UNSAFE and is never listed in acl-cache; other ids are listed (ZooKeeper
 *   numbers them from 1, with gaps where lists fell out of use). A node may name an id the cache
 *   lacks (a fuzzy snapshot that raced a setACL): ZooKeeper loads it and the log replay fixes it.
 * - checksum is the Adler-32 of every byte of the file before it (the unsigned 32-bit value as a
 *   long). The second seal covers the first seal and the digest too.
 * - zxid-digest is the tree digest when serialization ended and the zxid it belongs to, which
 *   may be past the file name's zxid; zxid 0 means "no digest". Loaders compare it with their
 *   tree once replay reaches that zxid. Files older than ZooKeeper 3.6 end after the first seal.
 * - ZooKeeper finds candidates by the last five bytes: int 1 then '/' (the end of a seal).
 */

export const SNAP_MAGIC = 0x5a4b534e;
export const SNAP_VERSION = 2;
export const SNAP_DBID = -1n;
export const SNAPSHOT_PREFIX = 'snapshot';
/** The aclId of OPEN_ACL_UNSAFE, never present in the acl-cache. */
export const OPEN_ACL_UNSAFE_ID = -1n;
/** The path that ends the node list and each seal. */
export const END_OF_NODES = '/';
/** Jute bytes of the string "/": the last five bytes of every complete snapshot. */
export const SEAL_TAIL = Buffer.from([0, 0, 0, 1, 0x2f]);
/** header, empty session list, empty acl-cache, "/", seal: the shortest valid file. */
export const MIN_SNAPSHOT_BYTES = 16 + 4 + 4 + 5 + 13;

/** ZooKeeper's ZxidDigest: the tree digest (digest version `version`) as of `zxid`. */
export interface ZxidDigest {
  zxid: bigint;
  version: number;
  digest: bigint;
}

export function writeZxidDigest(w: JuteWriter, d: ZxidDigest): void {
  w.writeLong(d.zxid);
  w.writeInt(d.version);
  w.writeLong(d.digest);
}

export function readZxidDigest(r: JuteReader): ZxidDigest {
  const zxid = r.readLong();
  const version = r.readInt();
  if (version >= 2) return { zxid, version, digest: r.readLong() };
  // Digest version 1 stored the value as hex text (Long.toHexString, read by Long.parseLong).
  const text = r.readString();
  if (text === null) return { zxid, version, digest: 0n };
  const match = /^(-?)([0-9a-fA-F]{1,16})$/.exec(text);
  if (match === null) throw new DecodeError(`digest ${JSON.stringify(text)} is not hex`);
  const magnitude = BigInt(`0x${match[2] ?? ''}`);
  return { zxid, version, digest: BigInt.asIntN(64, match[1] === '-' ? -magnitude : magnitude) };
}

export type SnapshotErrorCode =
  /** Not a snapshot (foreign magic) or one in a format version we do not know. */
  | 'ERR_SNAPSHOT_VERSION'
  /** Truncated, a checksum that does not match, or a structure that does not parse. */
  | 'ERR_SNAPSHOT_CORRUPT'
  /** The file name is not snapshot.<hex zxid>. */
  | 'ERR_SNAPSHOT_NAME';

export class SnapshotError extends TszkError {
  constructor(
    override readonly code: SnapshotErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(code, `${path}: ${message}`);
    this.name = 'SnapshotError';
  }
}

/** snapshot.<hex zxid>, as ZooKeeper's Util.makeSnapshotName (uncompressed). */
export function snapshotFileName(zxid: bigint): string {
  return `${SNAPSHOT_PREFIX}.${BigInt.asUintN(64, zxid).toString(16)}`;
}

const SNAPSHOT_NAME = /^snapshot\.([0-9a-fA-F]{1,16})$/;
const MAX_ZXID = 0x7fff_ffff_ffff_ffffn;

/**
 * The zxid in a snapshot file name, or null for any other name. ZooKeeper also counts
 * snapshot.<hex>.gz, .snappy and its own leftover .tmp files; we read only uncompressed
 * snapshots and never a temp file, so those are not snapshots here.
 */
export function parseSnapshotFileName(name: string): bigint | null {
  const match = SNAPSHOT_NAME.exec(name);
  if (match === null) return null;
  const zxid = BigInt(`0x${match[1] ?? ''}`);
  // Java's Long.parseLong(hex, 16) rejects values above Long.MAX_VALUE.
  return zxid <= MAX_ZXID ? zxid : null;
}

export interface SnapshotFile {
  path: string;
  name: string;
  zxid: bigint;
}

/** The snapshot files in `dir`, newest (highest zxid) first; none when the dir is missing. */
export async function listSnapshots(dir: string, fs: FileSystem = nodeFileSystem): Promise<SnapshotFile[]> {
  if (!(await fs.exists(dir))) return [];
  const files: SnapshotFile[] = [];
  for (const name of await fs.readdir(dir)) {
    const zxid = parseSnapshotFileName(name);
    if (zxid !== null) files.push({ path: join(dir, name), name, zxid });
  }
  return files.sort((a, b) => (a.zxid > b.zxid ? -1 : a.zxid < b.zxid ? 1 : 0));
}
