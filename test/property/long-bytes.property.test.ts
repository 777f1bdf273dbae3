import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLongBE, writeLongBE } from '../../src/jute/long-bytes.js';

describe('64-bit longs through a BigInt64Array', () => {
  it('write the same bytes as Buffer.writeBigInt64BE, wrapping values outside a signed long', () => {
    fc.assert(
      fc.property(fc.bigInt(-(1n << 64n), 1n << 64n), fc.integer({ min: 0, max: 8 }), (v, pos) => {
        const ours = Buffer.alloc(16, 0xaa);
        const node = Buffer.alloc(16, 0xaa);
        writeLongBE(ours, pos, v);
        node.writeBigInt64BE(BigInt.asIntN(64, v), pos);
        expect(ours.equals(node)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('read what Buffer.readBigInt64BE reads, at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 24 }), fc.nat(), (bytes, at) => {
        const buf = Buffer.from(bytes);
        const pos = at % (buf.length - 7);
        expect(readLongBE(buf, pos)).toBe(buf.readBigInt64BE(pos));
      }),
      { numRuns: 2000 },
    );
  });
});
