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
/** Buffers at least this long are sent by reference by writeBufferShared; shorter ones are copied. */
export const SHARE_MIN_BYTES = 64 * 1024;

/** A buffer to be sent by reference, in front of byte `at` of the writer's own bytes. */
interface Splice {
  at: number;
  data: Uint8Array;
}

export class JuteWriter {
  buf: Buffer;
  pos = 0;
  private frameStart = -1;
  /** writeBufferShared's buffers, in order of `at`. */
  private splices: Splice[] = [];
  private splicedBytes = 0;
  private frameSplicedFrom = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Forget the contents; keep the allocation. */
  reset(): this {
    this.pos = 0;
    this.frameStart = -1;
    if (this.splices.length > 0) this.splices = [];
    this.splicedBytes = 0;
    return this;
  }

  /** Bytes written so far, shared buffers included. */
  get length(): number {
    return this.pos + this.splicedBytes;
  }

  /** Whether some bytes are held by reference (then send `chunks()`, or copy with toBuffer). */
  get hasShared(): boolean {
    return this.splices.length > 0;
  }

  /** Takes back everything written after `pos`, shared buffers included. */
  rewind(pos: number): void {
    assert(pos <= this.pos, 'rewind goes back');
    while (this.splices.length > 0 && (this.splices[this.splices.length - 1] as Splice).at > pos) {
      this.splicedBytes -= (this.splices.pop() as Splice).data.length;
    }
    this.pos = pos;
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
    this.frameSplicedFrom = this.splicedBytes;
    this.pos += 4;
  }

  endFrame(): void {
    assert(this.frameStart !== -1, 'endFrame without startFrame');
    putInt(this.buf, this.frameStart, this.pos - this.frameStart - 4 + this.splicedBytes - this.frameSplicedFrom);
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

  /**
   * As writeBuffer, but a buffer of SHARE_MIN_BYTES or more is not copied: it is sent as it is,
   * so it must not change until sent (znode data never does: a setData replaces the buffer).
   * Copy-free reads of big znodes: a 1 MB getData otherwise copies the data twice.
   */
  writeBufferShared(v: Uint8Array | null): void {
    if (v === null || v.length < SHARE_MIN_BYTES) {
      this.writeBuffer(v);
      return;
    }
    this.writeInt(v.length);
    this.splices.push({ at: this.pos, data: v });
    this.splicedBytes += v.length;
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

  /**
   * A ustring made of `parent` (UTF-8 bytes of a path), "/" and `name`, as writeString would
   * write their concatenation; an empty name writes `parent` alone (the root: "").
   */
  writePath(parent: Uint8Array, name: string): void {
    const nameLength = name.length;
    this.ensure(4 + parent.length + 1 + nameLength * 3);
    const buf = this.buf;
    const start = this.pos + 4;
    buf.set(parent, start);
    let at = start + parent.length;
    if (nameLength > 0) {
      buf[at++] = 0x2f; // '/'
      let i = 0;
      for (; i < nameLength; i++) {
        const code = name.charCodeAt(i);
        if (code > 0x7f) break;
        buf[at + i] = code;
      }
      at += i < nameLength ? buf.write(name, at, 'utf8') : nameLength;
    }
    putInt(buf, this.pos, at - start);
    this.pos = at;
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
    if (this.splices.length === 0) return Buffer.from(this.buf.subarray(0, this.pos));
    return Buffer.concat(this.chunks(), this.length);
  }

  /**
   * What was written so far as a list to send in order: copies of the writer's own bytes (the
   * writer is reused) and the shared buffers themselves.
   */
  chunks(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let from = 0;
    for (const { at, data } of this.splices) {
      if (at > from) out.push(Buffer.from(this.buf.subarray(from, at)));
      out.push(data);
      from = at;
    }
    if (this.pos > from) out.push(Buffer.from(this.buf.subarray(from, this.pos)));
    return out;
  }
}
