import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { writeLongBE } from '../../src/jute/long-bytes.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import { nodeDigest } from '../../src/tree/digest.js';
import { ZNode } from '../../src/tree/znode.js';
import { crc32Ascii, crc32Bytes, crc32Int } from '../../src/util/crc32.js';

/** The node digest by its definition: zlib's CRC of path, data and the 60 stat bytes, written out. */
function digestByDefinition(path: string, node: ZNode): number {
  if (path.startsWith('/zookeeper/')) return 0;
  const stat = Buffer.alloc(60);
  writeLongBE(stat, 0, node.czxid);
  writeLongBE(stat, 8, node.mzxid);
  writeLongBE(stat, 16, node.pzxid);
  writeLongBE(stat, 24, BigInt(node.ctime));
  writeLongBE(stat, 32, BigInt(node.mtime));
  stat.writeInt32BE(node.version, 40);
  stat.writeInt32BE(node.cversion, 44);
  stat.writeInt32BE(node.aversion, 48);
  writeLongBE(stat, 52, node.ephemeralOwner);
  const pathBytes = Buffer.from(path === '/' ? '' : path, 'utf8');
  return zlibCrc32(Buffer.concat([pathBytes, node.data ?? Buffer.alloc(0), stat]));
}

const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const time = fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 });
const nodeArb = fc.record({
  data: fc.option(fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a))),
  czxid: long, mzxid: long, pzxid: long, ctime: time, mtime: time,
  version: int, cversion: int, aversion: int, ephemeralOwner: long,
}).map((f) => new ZNode(f.data, OPEN_ACL_UNSAFE, f.czxid, f.mzxid, f.ctime, f.mtime, f.version, f.cversion, f.aversion, f.ephemeralOwner, f.pzxid));
const pathArb = fc.oneof(
  fc.constant('/'),
  fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
  fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
);

describe('crc32 in JavaScript', () => {
  it('equals zlib on any bytes, range and starting value', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), fc.nat({ max: 0xffffffff }), (bytes, a, b, seed) => {
      const buf = Buffer.from(bytes);
      const start = buf.length === 0 ? 0 : a % (buf.length + 1);
      const end = start + (buf.length === 0 ? 0 : b % (buf.length - start + 1));
      // zlib answers 0 for no bytes whatever the seed; continuing by nothing keeps the seed.
      expect(crc32Bytes(buf, start, end, seed)).toBe(end > start ? zlibCrc32(buf.subarray(start, end), seed) : seed);
    }));
  });

  it('equals zlib on ASCII strings, and declines anything else', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.nat({ max: 0xffffffff }), (s, seed) => {
      const ascii = /^[\x00-\x7f]*$/.test(s);
      const expected = s === '' ? seed : zlibCrc32(Buffer.from(s, 'utf8'), seed);
      expect(crc32Ascii(s, seed)).toBe(ascii ? expected : -1);
    }));
  });

  it('feeds an int as its four big-endian bytes', () => {
    fc.assert(fc.property(int, fc.nat({ max: 0xffffffff }), (v, seed) => {
      const bytes = Buffer.alloc(4);
      bytes.writeInt32BE(v);
      expect(crc32Int(v, seed)).toBe(zlibCrc32(bytes, seed));
    }));
  });
});

describe('node digest', () => {
  it('is the CRC of path, data and stat bytes, for any node', () => {
    fc.assert(fc.property(pathArb, nodeArb, (path, node) => {
      expect(nodeDigest(path, node)).toBe(digestByDefinition(path, node));
    }), { numRuns: 500 });
  });

  it('leaves the system subtree out, but not /zookeeper itself', () => {
    const node = ZNode.create(Buffer.from('x'), OPEN_ACL_UNSAFE, 5n, 1_700_000_000_000, 0n);
    expect(nodeDigest('/zookeeper/quota', node)).toBe(0);
    expect(nodeDigest('/zookeeper', node)).toBe(digestByDefinition('/zookeeper', node));
  });

  it('sums to the tree digest through creates, changes and deletes', () => {
    const tree = new DataTree();
    let zxid = 1n;
    for (let i = 0; i < 200; i++) {
      const path = `/n${i % 50}`;
      const at = 1_700_000_000_000 + i;
      if (tree.get(path) === undefined) tree.createNode(path, Buffer.alloc(i * 7, i), OPEN_ACL_UNSAFE, 0n, -1, zxid++, at);
      else if (i % 3 === 0) tree.deleteNode(path, zxid++);
      else tree.setData(path, Buffer.from(`v${i}é`), -1, zxid++, at);
    }
    let sum = 0n;
    for (const [path, node] of tree.nodes) sum += BigInt(digestByDefinition(path, node));
    expect(tree.digest).toBe(BigInt.asIntN(64, sum));
  });
});
