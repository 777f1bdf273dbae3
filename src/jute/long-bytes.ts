import { endianness } from 'node:os';

/*
 * Big-endian 64-bit longs without Buffer's BigInt methods. Buffer.writeBigInt64BE and
 * readBigInt64BE (and BigInt.asIntN before a write) are several times slower than storing the
 * value through a BigInt64Array and moving its eight bytes: zxids, session ids and czxids are
 * written and read for every request and every txn, so this shows in profiles.
 */

const slot = new BigInt64Array(1);
const bytes = new Uint8Array(slot.buffer);
const littleEndian = endianness() === 'LE';

/** Writes v (wrapped to a signed 64-bit value, as Java's long) at buf[pos..pos+8). */
export function writeLongBE(buf: Uint8Array, pos: number, v: bigint): void {
  slot[0] = v;
  if (littleEndian) {
    buf[pos] = bytes[7]!;
    buf[pos + 1] = bytes[6]!;
    buf[pos + 2] = bytes[5]!;
    buf[pos + 3] = bytes[4]!;
    buf[pos + 4] = bytes[3]!;
    buf[pos + 5] = bytes[2]!;
    buf[pos + 6] = bytes[1]!;
    buf[pos + 7] = bytes[0]!;
  } else {
    buf.set(bytes, pos);
  }
}

/** The signed 64-bit value at buf[pos..pos+8). */
export function readLongBE(buf: Uint8Array, pos: number): bigint {
  if (littleEndian) {
    bytes[7] = buf[pos]!;
    bytes[6] = buf[pos + 1]!;
    bytes[5] = buf[pos + 2]!;
    bytes[4] = buf[pos + 3]!;
    bytes[3] = buf[pos + 4]!;
    bytes[2] = buf[pos + 5]!;
    bytes[1] = buf[pos + 6]!;
    bytes[0] = buf[pos + 7]!;
  } else {
    bytes.set(buf.subarray(pos, pos + 8));
  }
  return slot[0]!;
}
