import { assert } from '../util/assert.js';
import { writeLongBE } from './long-bytes.js';

const INITIAL_BYTES = 64 * 1024;
/** Strings up to this length are tried as ASCII in a JS loop first. */
const ASCII_LOOP_MAX_CHARS = 256;

/**
 * A 32-bit int, big-endian, wrapped as Java's int. Plain stores: Buffer.writeInt32BE range-checks
 * its arguments on every call, which showed in profiles of the reply and txn encoders.
 */
function putInt(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v >>> 24;
  buf[pos + 1] = v >>> 16;
  buf[pos + 2] = v >>> 8;
  buf[pos + 3] = v;
}

/**
 * Writes jute primitives into one growable Buffer. A connection (or a whole event-loop turn)
 * reuses one writer: frames accumulate and leave in a single socket write.
 */
export class JuteWriter {
  buf: Buffer;
  pos = 0;
  private frameStart = -1;

  constructor(initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Forget the contents; keep the allocation. */
  reset(): this {
    this.pos = 0;
    this.frameStart = -1;
    return this;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Reserve the 4-byte length prefix of a frame; `endFrame` fills it in. */
  startFrame(): void {
    assert(this.frameStart === -1, 'frames do not nest');
    this.ensure(4);
    this.frameStart = this.pos;
    this.pos += 4;
  }

  endFrame(): void {
    assert(this.frameStart !== -1, 'endFrame without startFrame');
    putInt(this.buf, this.frameStart, this.pos - this.frameStart - 4);
    this.frameStart = -1;
  }

  writeInt(v: number): void {
    this.ensure(4);
    putInt(this.buf, this.pos, v);
    this.pos += 4;
  }

  writeLong(v: bigint): void {
    this.ensure(8);
    writeLongBE(this.buf, this.pos, v);
    this.pos += 8;
  }

  /** A long held as a double (times in ms, TTLs); must be an integer within 2^53. */
  writeLongNumber(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / 0x1_0000_0000);
    putInt(this.buf, this.pos, hi);
    putInt(this.buf, this.pos + 4, v - hi * 0x1_0000_0000);
    this.pos += 8;
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  writeBuffer(v: Uint8Array | null): void {
    if (v === null) {
      this.writeInt(-1);
      return;
    }
    this.ensure(4 + v.length);
    putInt(this.buf, this.pos, v.length);
    this.pos += 4;
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  writeString(v: string | null): void {
    if (v === null) {
      this.writeInt(-1);
      return;
    }
    const length = v.length;
    if (length <= ASCII_LOOP_MAX_CHARS) {
      // Paths and names are short and nearly always ASCII: copying char codes beats the call
      // into C++ that Buffer.write makes (with Buffer.byteLength before it).
      this.ensure(4 + length);
      const buf = this.buf;
      const start = this.pos + 4;
      let i = 0;
      for (; i < length; i++) {
        const code = v.charCodeAt(i);
        if (code > 0x7f) break;
        buf[start + i] = code;
      }
      if (i === length) {
        putInt(buf, this.pos, length);
        this.pos = start + length;
        return;
      }
    }
    const max = Buffer.byteLength(v, 'utf8');
    this.ensure(4 + max);
    const n = this.buf.write(v, this.pos + 4, 'utf8');
    putInt(this.buf, this.pos, n);
    this.pos += 4 + n;
  }

  writeVectorLength(n: number): void {
    this.writeInt(n);
  }

  /** Raw bytes, already encoded. */
  writeRaw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A copy of what was written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
