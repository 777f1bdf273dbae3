/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the checksum of java.util.zip.CRC32 and
 * zlib, in plain JavaScript for short inputs.
 *
 * Why not zlib.crc32: the tree digest takes a CRC of every changed node (path, data, stat: about
 * 200 bytes), two or three per write. Each zlib call crosses into C++ and a string argument is
 * UTF-8 encoded first; at that size the crossing costs more than the sum, and the profile of a
 * create load showed zlib's crc32 at 8% of the server's time. Here the bytes are fed from where
 * they already are: char codes of a string, a Buffer range, 32-bit words of a Stat.
 *
 * Every function takes and returns a finished CRC (the unsigned value zlib and Java return), so
 * calls chain: crc32Bytes(data, 0, data.length, crc32Ascii(path, 0)) = CRC of path + data.
 */

function makeTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  // Slicing-by-4: t[k][n] is the CRC of byte n followed by k zero bytes.
  const tables = [t0];
  for (let k = 1; k < 4; k++) {
    const prev = tables[k - 1]!;
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
    tables.push(t);
  }
  return tables;
}

const [T0, T1, T2, T3] = makeTables() as [Int32Array, Int32Array, Int32Array, Int32Array];

/** CRC of buf[start, end), continuing from `crc` (0 for a fresh one). */
export function crc32Bytes(buf: Uint8Array, start: number, end: number, crc = 0): number {
  let c = ~crc;
  let i = start;
  const wordsEnd = end - 3;
  for (; i < wordsEnd; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ T0[c >>> 24]!;
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC of the UTF-8 bytes of `s`, continuing from `crc`; or -1 when `s` holds a character above
 * U+007F (then its bytes are those of the characters themselves and the caller encodes it).
 */
export function crc32Ascii(s: string, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code > 0x7f) return -1;
    c = T0[(c ^ code) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/** CRC continued by the four bytes of `word`, big-endian (as jute writes an int). */
export function crc32Int(word: number, crc: number): number {
  // The bytes in stream order are word>>>24 first; reversed into a little-endian word that is
  // one slicing-by-4 step.
  let c = ~crc ^ (((word >>> 24) & 0xff) | ((word >>> 8) & 0xff00) | ((word << 8) & 0xff0000) | (word << 24));
  c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ T0[c >>> 24]!;
  return ~c >>> 0;
}
