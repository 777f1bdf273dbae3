import { endianness } from 'node:os';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32Ascii, crc32Bytes, crc32Int } from '../util/crc32.js';
import type { ZNode } from './znode.js';

/**
 * ZooKeeper's tree digest (DigestCalculator, digest version 2): every node outside /zookeeper/
 * contributes CRC32(path, data, stat) and the tree digest is their sum modulo 2^64. Replicas with
 * equal digests at equal zxids hold equal trees; txn logs and snapshots carry it.
 *
 * The stat bytes, big-endian: czxid, mzxid, pzxid, ctime, mtime (8 each), version, cversion,
 * aversion (4 each, cversion as stored), ephemeralOwner (8): 60 bytes. They are fed to the CRC
 * as 32-bit words straight from the node, never written out.
 */
export const DIGEST_VERSION = 2;
const SYSTEM_SUBTREE = '/zookeeper/';
/** Data longer than this goes to zlib, whose CRC is faster once the call's cost is paid. */
const JS_CRC_MAX_BYTES = 512;

const slot = new BigInt64Array(1);
const halves = new Int32Array(slot.buffer);
const HIGH = endianness() === 'LE' ? 1 : 0;
const LOW = 1 - HIGH;

function crcLong(v: bigint, crc: number): number {
  slot[0] = v;
  return crc32Int(halves[LOW]!, crc32Int(halves[HIGH]!, crc));
}

/** A ms time (a non-negative integer below 2^53) as a long, without a BigInt. */
function crcTime(ms: number, crc: number): number {
  const high = Math.floor(ms / 0x1_0000_0000);
  return crc32Int(ms - high * 0x1_0000_0000, crc32Int(high, crc));
}

export function nodeDigest(path: string, node: ZNode): number {
  if (path.startsWith(SYSTEM_SUBTREE)) return 0;
  // "/" and "" name the root; ZooKeeper digests it under "".
  let crc = 0;
  if (path !== '/') {
    crc = crc32Ascii(path);
    if (crc === -1) {
      const bytes = Buffer.from(path, 'utf8');
      crc = crc32Bytes(bytes, 0, bytes.length);
    }
  }
  const data = node.data;
  if (data !== null && data.length > 0) {
    crc = data.length <= JS_CRC_MAX_BYTES ? crc32Bytes(data, 0, data.length, crc) : zlibCrc32(data, crc);
  }
  crc = crcLong(node.czxid, crc);
  crc = crcLong(node.mzxid, crc);
  crc = crcLong(node.pzxid, crc);
  crc = crcTime(node.ctime, crc);
  crc = crcTime(node.mtime, crc);
  crc = crc32Int(node.version, crc);
  crc = crc32Int(node.cversion, crc);
  crc = crc32Int(node.aversion, crc);
  return crcLong(node.ephemeralOwner, crc);
}
