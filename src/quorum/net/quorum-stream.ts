import { JuteReader } from '../../jute/reader.js';
import { readQuorumPacket, type QuorumPacket } from '../../proto/quorum-records.js';
import { DecodeError } from '../../util/errors.js';

/**
 * Splits the leader/learner stream into QuorumPackets. Unlike the client and election streams it
 * has no length prefix: Java writes bare jute records back to back.
 *
 *   stream       = *QuorumPacket
 *   QuorumPacket = type:int zxid:long data:buffer authinfo:vector<Id>
 *   buffer       = int length (-1 = null) then length bytes
 *   vector<Id>   = int count (-1 = null) then count Ids; Id = scheme:ustring id:ustring
 *
 * `packetLength` walks those length fields to find where a packet ends, so a packet is decoded
 * once, when all of it has arrived, and a large one (SNAP follow-ups, big proposals) costs no
 * re-parsing per chunk. Lengths beyond the limits are a broken or hostile peer: DecodeError.
 */
export interface QuorumStreamLimits {
  /** Largest `data` buffer accepted (jute.maxbuffer plus room for a txn header). */
  maxDataBytes: number;
  /** Largest authinfo vector. */
  maxAuthIds: number;
  /** Largest scheme or id string. */
  maxIdBytes: number;
}

export const DEFAULT_QUORUM_STREAM_LIMITS: QuorumStreamLimits = {
  maxDataBytes: 64 * 1024 * 1024,
  maxAuthIds: 1024,
  maxIdBytes: 64 * 1024,
};

/** Bytes of the packet starting at buf[pos], or -1 when not all of its length fields are here yet. */
export function packetLength(buf: Buffer, pos: number, end: number, limits: QuorumStreamLimits): number {
  let p = pos + 12; // type, zxid
  if (p + 4 > end) return -1;
  const dataLength = buf.readInt32BE(p);
  if (dataLength < -1 || dataLength > limits.maxDataBytes) throw new DecodeError(`quorum packet data length ${dataLength}`);
  p += 4 + Math.max(0, dataLength);
  if (p + 4 > end) return -1;
  const ids = buf.readInt32BE(p);
  if (ids < -1 || ids > limits.maxAuthIds) throw new DecodeError(`quorum packet authinfo count ${ids}`);
  p += 4;
  for (let i = 0; i < ids * 2; i++) {
    if (p + 4 > end) return -1;
    const n = buf.readInt32BE(p);
    if (n < -1 || n > limits.maxIdBytes) throw new DecodeError(`quorum packet authinfo string length ${n}`);
    p += 4 + Math.max(0, n);
  }
  return p > end ? -1 : p - pos;
}

export class QuorumPacketStream {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private readonly reader = new JuteReader();

  constructor(private readonly limits: QuorumStreamLimits = DEFAULT_QUORUM_STREAM_LIMITS) {}

  /** Bytes received and not yet returned as packets. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** Whether `buf` is our own growable buffer (true) or a pushed chunk read in place (false). */
  private owned = false;

  push(chunk: Buffer): void {
    if (this.start === this.end) {
      // Nothing pending: read the chunk in place.
      this.buf = chunk;
      this.owned = false;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    // A packet spans chunks: append into an owned buffer that grows by doubling, so a large
    // packet arriving in many small chunks costs amortised linear copying.
    const tail = this.end - this.start;
    if (!this.owned || this.end + chunk.length > this.buf.length) {
      let capacity = Math.max(64 * 1024, this.owned ? this.buf.length : 0);
      while (capacity < tail + chunk.length) capacity *= 2;
      const next = Buffer.allocUnsafe(capacity);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.owned = true;
      this.start = 0;
      this.end = tail;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /**
   * Removes and returns every buffered byte not yet returned as a packet (used when raw bytes --
   * the SNAP stream -- follow a packet). A view: the stream lets go of the buffer and never
   * writes into it again.
   */
  takeBuffered(): Buffer {
    const rest = this.buf.subarray(this.start, this.end);
    this.buf = Buffer.alloc(0);
    this.owned = false;
    this.start = 0;
    this.end = 0;
    return rest;
  }

  /** The next complete packet, or null until more bytes arrive. Throws DecodeError on garbage. */
  next(): QuorumPacket | null {
    const length = packetLength(this.buf, this.start, this.end, this.limits);
    if (length < 0) return null;
    const packet = readQuorumPacket(this.reader.reset(this.buf, this.start, this.start + length));
    this.start += length;
    return packet;
  }
}
