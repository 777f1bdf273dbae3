import { DecodeError } from '../util/errors.js';
import { readLongBE } from './long-bytes.js';

/**
 * Reads jute primitives in place from one Buffer with an offset cursor.
 * One reader is reused for every frame of a connection: `reset` points it at the next frame.
 *
 * Jute encoding (big-endian): int = 4 bytes, long = 8 bytes, boolean = 1 byte (0 or 1),
 * buffer = int length (-1 for null) then bytes, ustring = buffer holding UTF-8,
 * vector<T> = int count (-1 for null) then count elements.
 */
/** readBuffer keeps a view rather than a copy from this size up, when the buffer is owned. */
export const VIEW_MIN_BYTES = 64 * 1024;

export class JuteReader {
  buf: Buffer;
  pos: number;
  end: number;
  /** `buf` belongs to what is being read and is never written again (FrameSplitter.frameOwned). */
  owned = false;

  constructor(buf: Buffer = Buffer.alloc(0), pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Buffer, pos = 0, end = buf.length, owned = false): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.owned = owned;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new DecodeError(`truncated ${what}: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  readInt(): number {
    this.need(4, 'int');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    // Plain loads: Buffer.readInt32BE checks its argument again on every call.
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  readLong(): bigint {
    this.need(8, 'long');
    const v = readLongBE(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  /** A long that is known to fit a double exactly (times in ms, TTLs). */
  readLongNumber(): number {
    this.need(8, 'long');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 8;
    const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const lo = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    return hi * 0x1_0000_0000 + lo;
  }

  readBool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.pos++] !== 0;
  }

  private readLength(what: string): number {
    const n = this.readInt();
    if (n < -1) throw new DecodeError(`negative ${what} length ${n}`);
    if (n > this.end - this.pos && what !== 'vector') {
      throw new DecodeError(`${what} length ${n} exceeds the ${this.end - this.pos} bytes left`);
    }
    return n;
  }

  /** A view into the frame: valid only until the socket chunk is released. */
  readBufferView(): Buffer | null {
    const n = this.readLength('buffer');
    if (n === -1) return null;
    return this.readBufferViewOf(n);
  }

  private readBufferViewOf(n: number): Buffer {
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /**
   * A right-sized copy, safe to keep (znode data entering the tree); or, for big data in a
   * buffer the reader owns, a view, which is as safe and spares a copy of up to a megabyte (the
   * view keeps the frame's few other bytes alive with it).
   */
  readBuffer(): Buffer | null {
    const n = this.readLength('buffer');
    if (n === -1) return null;
    if (this.owned && n >= VIEW_MIN_BYTES) return this.readBufferViewOf(n);
    const v = Buffer.allocUnsafe(n);
    this.buf.copy(v, 0, this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  readString(): string | null {
    const n = this.readLength('ustring');
    if (n === -1) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Vector element count; -1 means null. Each element needs at least one byte, so a count
   * larger than the bytes left is a malformed frame, caught before any allocation. */
  readVectorLength(): number {
    const n = this.readInt();
    if (n < -1) throw new DecodeError(`negative vector length ${n}`);
    if (n > this.end - this.pos) {
      throw new DecodeError(`vector length ${n} exceeds the ${this.end - this.pos} bytes left`);
    }
    return n;
  }
}
