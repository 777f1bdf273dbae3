import { basename } from 'node:path';
import { JuteReader } from '../jute/reader.js';
import { readACL, type ACL } from '../proto/data.js';
import { readFileHeader } from '../proto/txn-records.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../tree/data-tree.js';
import { DIGEST_VERSION } from '../tree/digest.js';
import { ZNode } from '../tree/znode.js';
import { DecodeError } from '../util/errors.js';
import { adler32 } from './adler32.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import {
  END_OF_NODES, MIN_SNAPSHOT_BYTES, OPEN_ACL_UNSAFE_ID, SEAL_TAIL, SNAP_MAGIC, SNAP_VERSION, SnapshotError,
  listSnapshots, parseSnapshotFileName, readZxidDigest, type ZxidDigest,
} from './snapshot-format.js';

/**
 * Loads snapshots in ZooKeeper 3.8's format (snapshot-format.ts), ours or ZooKeeper's. Checks
 * more than ZooKeeper does: the format version, both seals, and that nothing follows the last
 * one. The whole file is read into memory and its seals are checked before any node is built;
 * node data is copied out of the file buffer, so the tree does not pin it.
 */

/**
 * What a node gets when it names an ACL id the file's cache lacks (a fuzzy snapshot that raced
 * a setACL; the log replay sets the real list). ZooKeeper fails every access to such a node; so
 * do we, short of super: no permission for anyone. An empty list would mean "open" instead.
 */
export const UNRESOLVED_ACL: readonly ACL[] = Object.freeze([
  Object.freeze({ perms: 0, id: Object.freeze({ scheme: 'world', id: 'anyone' }) }),
]);

export interface ReadSnapshotOptions {
  fs?: FileSystem;
  /** Decides whether ephemeralOwner values with the top byte 0xff are TTL nodes. */
  extendedTypesEnabled: boolean;
  /** The snapshot's zxid, for a file not named snapshot.<hex zxid>. */
  zxid?: bigint;
}

export interface LoadedSnapshot {
  path: string;
  /** From the file name: every txn up to here is in the tree; replay from zxid + 1. */
  zxid: bigint;
  /** lastProcessedZxid is set to `zxid`. */
  tree: DataTree;
  /** Session id -> timeout in ms. */
  sessions: Map<bigint, number>;
  /** The digest trailer as written (zxid 0 means none); null when the file has none. */
  digest: ZxidDigest | null;
  /** Nodes that named an ACL id missing from the cache; they hold UNRESOLVED_ACL. */
  unresolvedAclPaths: string[];
  bytes: number;
}

export async function readSnapshot(path: string, opts: ReadSnapshotOptions): Promise<LoadedSnapshot> {
  const zxid = opts.zxid ?? parseSnapshotFileName(basename(path));
  if (zxid === null) throw new SnapshotError('ERR_SNAPSHOT_NAME', path, 'not named snapshot.<hex zxid>');
  const buf = await (opts.fs ?? nodeFileSystem).readFile(path);
  return decodeSnapshot(buf, path, zxid, opts.extendedTypesEnabled);
}

/** Decodes a whole snapshot file held in `buf`; `path` only names it in errors. */
export function decodeSnapshot(buf: Buffer, path: string, zxid: bigint, extendedTypesEnabled: boolean): LoadedSnapshot {
  const corrupt = (message: string): SnapshotError => new SnapshotError('ERR_SNAPSHOT_CORRUPT', path, message);
  if (buf.length >= 4 && buf.readInt32BE(0) !== SNAP_MAGIC) {
    throw new SnapshotError('ERR_SNAPSHOT_VERSION', path, `not a snapshot: magic 0x${buf.readUInt32BE(0).toString(16)}, expected "ZKSN"`);
  }
  if (buf.length >= 8 && buf.readInt32BE(4) !== SNAP_VERSION) {
    throw new SnapshotError('ERR_SNAPSHOT_VERSION', path, `snapshot format version ${buf.readInt32BE(4)}, we read version ${SNAP_VERSION}`);
  }
  if (buf.length < MIN_SNAPSHOT_BYTES) throw corrupt(`truncated: ${buf.length} bytes`);
  // ZooKeeper's quick test: a complete file ends with a seal.
  if (!buf.subarray(buf.length - SEAL_TAIL.length).equals(SEAL_TAIL)) throw corrupt('truncated: it does not end with a seal');

  const r = new JuteReader(buf);
  try {
    readFileHeader(r);
    const sessions = readSessions(r, corrupt);
    const acls = readAclCache(r, corrupt);
    // Check the seals before building anything: a first pass only skips over the node records.
    const nodesAt = r.pos;
    const nodeCount = skipNodes(r, corrupt);
    const digest = readSeals(r, buf, corrupt);
    r.pos = nodesAt;
    const unresolvedAclPaths: string[] = [];
    const tree = readSnapshotTree(r, acls, extendedTypesEnabled, nodeCount, unresolvedAclPaths, corrupt);
    tree.lastProcessedZxid = zxid;
    return { path, zxid, tree, sessions, digest, unresolvedAclPaths, bytes: buf.length };
  } catch (error) {
    if (error instanceof DecodeError) throw corrupt(`malformed at byte ${r.pos}: ${error.message}`);
    throw error;
  }
}

/** Makes the error a malformed snapshot body is reported with (SnapshotError for a file). */
export type Corrupt = (message: string) => Error;

/** The sessions of a snapshot body: id -> timeout in ms. */
export function readSessions(r: JuteReader, corrupt: Corrupt): Map<bigint, number> {
  const count = r.readInt();
  if (count < 0 || count * 12 > r.remaining) throw corrupt(`session count ${count}`);
  const sessions = new Map<bigint, number>();
  for (let i = 0; i < count; i++) {
    const id = r.readLong();
    sessions.set(id, r.readInt());
  }
  return sessions;
}

/** The ACL cache of a snapshot body: aclId -> list. */
export function readAclCache(r: JuteReader, corrupt: Corrupt): Map<bigint, readonly ACL[]> {
  const count = r.readInt();
  if (count < 0 || count * 12 > r.remaining) throw corrupt(`ACL cache size ${count}`);
  const acls = new Map<bigint, readonly ACL[]>();
  for (let i = 0; i < count; i++) {
    const id = r.readLong();
    const n = r.readVectorLength();
    if (n < 0) throw corrupt(`ACL cache entry ${id} has no list`);
    const list: ACL[] = [];
    for (let j = 0; j < n; j++) list.push(readACL(r));
    acls.set(id, list);
  }
  return acls;
}

/** DataNode after its path: data, aclId, then StatPersisted (4 longs, 3 ints, 2 longs). */
const ACL_AND_STAT_BYTES = 8 + 8 * 4 + 4 * 3 + 8 * 2;

/** Steps over the node records up to the "/" that ends them; returns how many there were. */
function skipNodes(r: JuteReader, corrupt: Corrupt): number {
  const buf = r.buf;
  let count = 0;
  for (;;) {
    const pathBytes = r.readInt();
    if (pathBytes < 0) throw corrupt(`path length ${pathBytes} at byte ${r.pos - 4}`);
    if (pathBytes === 1 && r.pos < r.end && buf[r.pos] === 0x2f) {
      r.pos += 1;
      return count;
    }
    skip(r, pathBytes);
    const dataBytes = r.readInt();
    if (dataBytes < -1) throw corrupt(`data length ${dataBytes} at byte ${r.pos - 4}`);
    skip(r, Math.max(dataBytes, 0) + ACL_AND_STAT_BYTES);
    count++;
  }
}

function skip(r: JuteReader, n: number): void {
  if (n > r.remaining) throw new DecodeError(`truncated: need ${n} bytes at offset ${r.pos}, have ${r.remaining}`);
  r.pos += n;
}

/**
 * The seal after the nodes and, when present, the digest trailer and its seal; each seal sums
 * every byte before it, earlier seals included. Returns the trailer.
 */
function readSeals(r: JuteReader, buf: Buffer, corrupt: Corrupt): ZxidDigest | null {
  let summedTo = r.pos;
  let checksum = adler32(buf, 0, summedTo);
  readSeal(r, checksum, corrupt);
  if (r.remaining === 0) return null;
  const digest = readZxidDigest(r);
  checksum = adler32(buf, summedTo, r.pos, checksum);
  summedTo = r.pos;
  readSeal(r, checksum, corrupt);
  if (r.remaining > 0) throw corrupt(`${r.remaining} bytes after the last seal`);
  return digest;
}

/**
 * Builds the tree from the node records at r.pos, through the "/" that ends them.
 * `nodeRecords` is how many records there are (known from a first pass over them): fewer tree
 * nodes means a path was repeated. A node naming an ACL id `acls` lacks gets UNRESOLVED_ACL and
 * its path is added to `unresolvedAclPaths`.
 */
export function readSnapshotTree(
  r: JuteReader,
  acls: Map<bigint, readonly ACL[]>,
  extendedTypesEnabled: boolean,
  nodeRecords: number,
  unresolvedAclPaths: string[],
  corrupt: Corrupt,
): DataTree {
  let tree: DataTree;
  try {
    tree = DataTree.fromNodes(extendedTypesEnabled, readNodes(r, acls, unresolvedAclPaths, corrupt));
  } catch (error) {
    if (error instanceof SnapshotError || error instanceof DecodeError) throw error;
    // fromNodes reports a node without a parent as a plain Error.
    throw corrupt((error as Error).message);
  }
  if (tree.nodeCount !== nodeRecords) throw corrupt(`${nodeRecords - tree.nodeCount} duplicate node paths`);
  return tree;
}

/** The node records, in file order (pre-order, the root first as ""). */
function* readNodes(
  r: JuteReader,
  acls: Map<bigint, readonly ACL[]>,
  unresolvedAclPaths: string[],
  corrupt: Corrupt,
): Generator<[string, ZNode]> {
  let first = true;
  for (;;) {
    const path = r.readString();
    if (path === null) throw corrupt(`null path at byte ${r.pos - 4}`);
    if (path === END_OF_NODES) break;
    if (first ? path !== '' : !path.startsWith('/')) {
      throw corrupt(`node path ${JSON.stringify(path)} ${first ? 'where the root ("") belongs' : 'is not absolute'}`);
    }
    first = false;
    const data = r.readBuffer();
    const aclId = r.readLong();
    let acl = aclId === OPEN_ACL_UNSAFE_ID ? OPEN_ACL_UNSAFE : acls.get(aclId);
    if (acl === undefined) {
      acl = UNRESOLVED_ACL;
      unresolvedAclPaths.push(path === '' ? '/' : path);
    }
    // StatPersisted, read straight into the ZNode rather than through readStatPersisted: one
    // object fewer per node matters at a million nodes.
    // Equal zxids share one BigInt, as they do in a tree built by txns (a node never changed
    // has czxid = mzxid = pzxid): 48 bytes less per such node, and less for the GC to move.
    const czxid = r.readLong();
    let mzxid = r.readLong();
    if (mzxid === czxid) mzxid = czxid;
    const ctime = r.readLongNumber();
    const mtime = r.readLongNumber();
    const version = r.readInt();
    const cversion = r.readInt();
    const aversion = r.readInt();
    let ephemeralOwner = r.readLong();
    if (ephemeralOwner === 0n) ephemeralOwner = 0n;
    let pzxid = r.readLong();
    if (pzxid === czxid) pzxid = czxid;
    else if (pzxid === mzxid) pzxid = mzxid;
    yield [path, new ZNode(data, acl, czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid)];
  }
  if (first) throw corrupt('no root node');
}

/** A seal: the checksum of everything before it, then "/" (read and ignored, as ZooKeeper does). */
function readSeal(r: JuteReader, expected: number, corrupt: Corrupt): void {
  const at = r.pos;
  const value = r.readLong();
  r.readString();
  if (value !== BigInt(expected)) {
    throw corrupt(`checksum mismatch at byte ${at}: file says 0x${value.toString(16)}, content sums to 0x${expected.toString(16)}`);
  }
}

/**
 * The trailer digest a restore must check, by ZooKeeper's rules, or null: none when absent or
 * empty (zxid 0), older than the snapshot (it cannot describe it), or of another digest version.
 * Compare it with the tree right away when its zxid is the snapshot's, else right after replaying
 * the txn with its zxid.
 */
export function digestToVerify(snapshot: LoadedSnapshot): ZxidDigest | null {
  const d = snapshot.digest;
  if (d === null || d.zxid <= 0n || d.zxid < snapshot.zxid || d.version !== DIGEST_VERSION) return null;
  return d;
}

export interface SkippedSnapshot {
  path: string;
  code: string;
  message: string;
}

export interface LatestSnapshot {
  /** The newest snapshot that loaded; null when none did (or the dir holds none). */
  snapshot: LoadedSnapshot | null;
  /** Newer snapshots passed over, newest first, and why. */
  skipped: SkippedSnapshot[];
}

/**
 * Loads the newest snapshot in `dir` that is intact, passing over corrupt or truncated ones (a
 * crash while writing, a bad sector), as ZooKeeper does. A file in an unknown format stops the
 * search with its ERR_SNAPSHOT_VERSION: falling back past data we cannot read would lose it.
 */
export async function findLatestValidSnapshot(
  dir: string,
  opts: Omit<ReadSnapshotOptions, 'zxid'>,
): Promise<LatestSnapshot> {
  const fs = opts.fs ?? nodeFileSystem;
  const skipped: SkippedSnapshot[] = [];
  for (const file of await listSnapshots(dir, fs)) {
    try {
      return { snapshot: await readSnapshot(file.path, { ...opts, zxid: file.zxid }), skipped };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_SNAPSHOT_CORRUPT' || code === 'ENOENT') {
        skipped.push({ path: file.path, code, message: (error as Error).message });
        continue;
      }
      throw error;
    }
  }
  return { snapshot: null, skipped };
}
