import { DecodeError } from '../util/errors.js';

/**
 * Splits a byte stream into length-prefixed frames.
 *
 *   stream = *frame
 *   frame  = length body
 *   length = int32, big-endian, 0 <= length <= maxFrameBytes (jute.maxbuffer)
 *   body   = length bytes
 *
 * This is the client stream (ConnectRequest, then RequestHeader + record per frame; replies the
 * same way back) and the election stream between peers. The Java leader/learner stream is NOT
 * framed: it carries bare QuorumPacket records back to back.
 *
 * A frame that lies wholly inside one pushed chunk is delivered as a view of that chunk
 * (frameBuf = the chunk, frameStart/frameEnd = offsets into it): no copy. A frame that straddles
 * chunks is assembled into one right-sized Buffer allocated when its length is known, so memory
 * stays bounded by one frame plus the chunks not yet consumed however finely the stream is cut.
 * (As in the Java server, that buffer is allocated as soon as the length is read, so a peer can
 * make each connection hold up to maxFrameBytes by sending only a length prefix.)
 *
 * Usage, with no per-frame closure:
 *
 *   splitter.push(chunk);
 *   while (splitter.next()) handle(splitter.frameBuf, splitter.frameStart, splitter.frameEnd);
 *
 * The caller may stop calling next() at any point (backpressure) and push more chunks meanwhile;
 * nothing is lost, and next() resumes where it stopped. A frame view stays valid as long as the
 * caller keeps the Buffer; the splitter never writes into a pushed chunk. After next() throws,
 * the stream is unusable and the connection must be closed.
 */

export class FrameTooLargeError extends DecodeError {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(
      length < 0
        ? `frame length ${length} is negative`
        : `frame length ${length} exceeds the limit of ${limit} bytes (jute.maxbuffer)`,
    );
    this.name = 'FrameTooLargeError';
  }
}

const EMPTY = Buffer.alloc(0);
const HEADER_BYTES = 4;

export class FrameSplitter {
  /** The last frame delivered by next(): bytes [frameStart, frameEnd) of frameBuf. */
  frameBuf: Buffer = EMPTY;
  /**
   * Whether frameBuf was allocated for this frame alone (it straddled chunks) and is never
   * written again: views of it may then be kept (JuteReader.readBuffer does for big data).
   */
  frameOwned = false;
  frameStart = 0;
  frameEnd = 0;

  readonly maxFrameBytes: number;

  /** The chunk being consumed and the cursor in it. */
  private chunk: Buffer = EMPTY;
  private pos = 0;
  /** Chunks pushed while `chunk` still had bytes; consumed in order (array + head cursor). */
  private queue: Buffer[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  /** A length prefix split across chunks: its first headerFill bytes. */
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  /** A body split across chunks, being assembled: partialFill of partial.length bytes so far. */
  private partial: Buffer | null = null;
  private partialFill = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet delivered, counting length prefixes and any partly assembled frame. */
  get bufferedBytes(): number {
    const assembling = this.partial === null ? this.headerFill : HEADER_BYTES + this.partialFill;
    return this.chunk.length - this.pos + this.queuedBytes + assembling;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.pos === this.chunk.length && this.queueHead === this.queue.length) {
      this.chunk = chunk;
      this.pos = 0;
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** Delivers the next complete frame into frameBuf/frameStart/frameEnd; false if none yet. */
  next(): boolean {
    while (this.advanceChunk()) {
      if (this.partial !== null) {
        if (this.fillPartial()) return true;
      } else if (this.headerFill === 0 && this.chunk.length - this.pos >= HEADER_BYTES) {
        if (this.takeInPlace()) return true;
      } else if (this.fillHeader()) {
        return true;
      }
    }
    return false;
  }

  /**
   * The length prefix of the next frame if its 4 bytes have arrived, without consuming anything
   * (a connection's first frame may be a four-letter word such as "ruok" instead of a length).
   */
  peekLength(): number | null {
    if (this.partial !== null) return null;
    let v = 0;
    let got = 0;
    for (; got < this.headerFill; got++) v = v * 256 + (this.header[got] ?? 0);
    for (let i = this.pos; i < this.chunk.length && got < HEADER_BYTES; i++, got++) {
      v = v * 256 + (this.chunk[i] ?? 0);
    }
    for (let q = this.queueHead; q < this.queue.length && got < HEADER_BYTES; q++) {
      const c = this.queue[q] ?? EMPTY;
      for (let i = 0; i < c.length && got < HEADER_BYTES; i++, got++) v = v * 256 + (c[i] ?? 0);
    }
    return got === HEADER_BYTES ? v | 0 : null;
  }

  /** Makes `chunk` hold unconsumed bytes; false when every pushed byte is consumed. */
  private advanceChunk(): boolean {
    if (this.pos < this.chunk.length) return true;
    if (this.queueHead === this.queue.length) {
      this.chunk = EMPTY;
      this.pos = 0;
      return false;
    }
    const c = this.queue[this.queueHead] ?? EMPTY;
    this.queue[this.queueHead++] = EMPTY;
    this.queuedBytes -= c.length;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
    this.chunk = c;
    this.pos = 0;
    return true;
  }

  private checkLength(length: number): void {
    if (length < 0 || length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
  }

  /** Fast path: the length prefix is whole in the chunk; deliver a view if the body is too. */
  private takeInPlace(): boolean {
    const length = this.chunk.readInt32BE(this.pos);
    this.checkLength(length);
    const start = this.pos + HEADER_BYTES;
    if (this.chunk.length - start >= length) {
      this.deliver(this.chunk, start, start + length);
      this.pos = start + length;
      return true;
    }
    this.pos = start;
    this.startPartial(length);
    return false;
  }

  /** Slow path: the length prefix is split across chunks; true if it completed an empty frame. */
  private fillHeader(): boolean {
    const n = Math.min(HEADER_BYTES - this.headerFill, this.chunk.length - this.pos);
    this.chunk.copy(this.header, this.headerFill, this.pos, this.pos + n);
    this.headerFill += n;
    this.pos += n;
    if (this.headerFill < HEADER_BYTES) return false;
    this.headerFill = 0;
    const length = this.header.readInt32BE(0);
    this.checkLength(length);
    this.startPartial(length);
    // The body may already be here or, for an empty frame, need nothing more.
    return this.fillPartial();
  }

  private startPartial(length: number): void {
    this.partial = Buffer.allocUnsafe(length);
    this.partialFill = 0;
  }

  /** Copies what the chunk holds of the split body; true once the frame is whole and delivered. */
  private fillPartial(): boolean {
    const partial = this.partial;
    if (partial === null) return false;
    const n = Math.min(partial.length - this.partialFill, this.chunk.length - this.pos);
    this.chunk.copy(partial, this.partialFill, this.pos, this.pos + n);
    this.partialFill += n;
    this.pos += n;
    if (this.partialFill < partial.length) return false;
    this.partial = null;
    this.partialFill = 0;
    this.deliver(partial, 0, partial.length, true);
    return true;
  }

  private deliver(buf: Buffer, start: number, end: number, owned = false): void {
    this.frameBuf = buf;
    this.frameStart = start;
    this.frameEnd = end;
    this.frameOwned = owned;
  }
}
