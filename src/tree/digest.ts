import { crc32 } from 'node:zlib';
import { writeLongBE } from '../jute/long-bytes.js';
import type { ZNode } from './znode.js';

/**
 * ZooKeeper's tree digest (DigestCalculator, digest version 2): every node outside /zookeeper/
 * contributes CRC32(path, data, stat) and the tree digest is their sum modulo 2^64. Replicas with
 * equal digests at equal zxids hold equal trees; txn logs and snapshots carry it.
 *
 * The stat bytes, big-endian: czxid, mzxid, pzxid, ctime, mtime (8 each), version, cversion,
 * aversion (4 each, cversion as stored), ephemeralOwner (8): 60 bytes.
 */
export const DIGEST_VERSION = 2;
const SYSTEM_SUBTREE = '/zookeeper/';
const statBytes = Buffer.alloc(60);

/** A ms time as a big-endian long, without a BigInt per call. */
function writeLongNumber(v: number, at: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  statBytes.writeInt32BE(hi | 0, at);
  statBytes.writeUInt32BE(v - hi * 0x1_0000_0000, at + 4);
}

export function nodeDigest(path: string, node: ZNode): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  // "/" and "" name the root; ZooKeeper digests it under "".
  let crc = path === '/' ? 0 : crc32(path);
  if (node.data !== null && node.data.length > 0) crc = crc32(node.data, crc);
  writeLongBE(statBytes, 0, node.czxid);
  writeLongBE(statBytes, 8, node.mzxid);
  writeLongBE(statBytes, 16, node.pzxid);
  writeLongNumber(node.ctime, 24);
  writeLongNumber(node.mtime, 32);
  statBytes.writeInt32BE(node.version, 40);
  statBytes.writeInt32BE(node.cversion, 44);
  statBytes.writeInt32BE(node.aversion, 48);
  writeLongBE(statBytes, 52, node.ephemeralOwner);
  return crc32(statBytes, crc);
}
