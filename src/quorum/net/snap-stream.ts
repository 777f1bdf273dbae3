import { constants as bufferConstants } from 'node:buffer';
import { JuteReader } from '../../jute/reader.js';
import { JuteWriter } from '../../jute/writer.js';
import { readAclCache, readSessions, readSnapshotTree } from '../../persist/snapshot-reader.js';
import { writeSnapshotBody } from '../../persist/snapshot-writer.js';
import type { DataTree } from '../../tree/data-tree.js';
import { assert } from '../../util/assert.js';
import { DecodeError } from '../../util/errors.js';

/**
 * The database a leader sends a learner it syncs by SNAP. Right after the SNAP QuorumPacket, on
 * the same TCP stream, with no length prefix and not wrapped in a packet, comes:
 *
 *   snap-stream = sessions acl-cache nodes signature
 *   sessions    = count:int count*( id:long timeoutMs:int )
 *   acl-cache   = count:int count*( aclId:long acls:vector<ACL> )
 *   nodes       = *( path:ustring DataNode ) "/":ustring      (pre-order, the root's path "")
 *   signature   = "BenWasHere":ustring
 *
 * sessions, acl-cache and nodes are byte for byte the body of a snapshot file (see
 * snapshot-format.ts for ACL, DataNode and the aclId rules) and are written and read by the same
 * code; unlike a file there is no header, no seal and no digest trailer. The tree is as of the
 * SNAP packet's zxid, which the learner sets as its lastProcessedZxid; QuorumPackets follow.
 *
 * Nothing says how long the stream is, so the reader walks its length fields as bytes arrive (a
 * push parser that never looks back, so any chunking costs linear time), keeps the bytes, and
 * decodes them once the signature is in.
 */

export const SNAP_SIGNATURE = 'BenWasHere';
const SIGNATURE_BYTES = Buffer.from(SNAP_SIGNATURE, 'utf8');
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Past every zxid: a quiet tree is written whole. */
const MAX_ZXID = 0x7fff_ffff_ffff_ffffn;

/**
 * Serializes sessions + tree + signature synchronously (the tree must not change meanwhile),
 * handing out chunks of about `chunkBytes`: a chunk ends after the node record that fills it,
 * and the first holds all of the sessions and the ACL cache. Each chunk is a fresh buffer the
 * sink may keep (socket.write does). Returns total bytes.
 */
export function writeSnapStream(
  tree: DataTree,
  sessions: Iterable<readonly [bigint, number]>,
  sink: (chunk: Buffer) => void,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): number {
  const limit = Math.max(1, Math.floor(chunkBytes));
  const capacity = limit + Math.min(limit, 64 * 1024);
  const w = new JuteWriter(capacity);
  let total = 0;
  const flush = (): void => {
    if (w.pos === 0) return;
    const chunk = w.buf.subarray(0, w.pos);
    total += w.pos;
    // Hand the bytes over instead of copying them, and write on into a new buffer.
    w.buf = Buffer.allocUnsafe(capacity);
    w.reset();
    sink(chunk);
  };
  const body = writeSnapshotBody(w, tree, [...sessions], MAX_ZXID);
  let step = body.next();
  while (step.done !== true) {
    if (w.pos >= limit) flush();
    step = body.next();
  }
  // Both fail only if the tree changed during the walk, which a synchronous caller rules out.
  assert(step.value.unresolvedAcls === 0, 'a quiet tree has every ACL list in its cache');
  assert(step.value.nodes === tree.nodeCount, 'a quiet tree is written whole');
  w.writeString(SNAP_SIGNATURE);
  flush();
  return total;
}

/**
 * The same stream, written a slice at a time (about `sliceMs` of work, then an event-loop turn) so a
 * leader keeps serving while it sends a large tree. The result is fuzzy, as ZooKeeper's SNAP is:
 * each node as it was when visited, nodes created after `zxid` (the tree's zxid when the SNAP
 * was sent) left out. The learner replays every txn after `zxid`, which the leader sends after
 * this stream, and replaying a txn over a state that already holds it changes nothing but what
 * it must (the property fuzzy snapshot files rely on). Resolves with the bytes written.
 */
export async function writeSnapStreamSliced(
  tree: DataTree,
  sessions: Iterable<readonly [bigint, number]>,
  zxid: bigint,
  sink: (chunk: Buffer) => void | Promise<void>,
  opts: { sliceMs?: number; chunkBytes?: number } = {},
): Promise<number> {
  const sliceMs = opts.sliceMs ?? 1;
  const limit = Math.max(1, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES));
  const capacity = limit + Math.min(limit, 64 * 1024);
  const w = new JuteWriter(capacity);
  let total = 0;
  // The sink may ask to wait (a peer that reads slowly): then the walk waits too.
  const flush = async (): Promise<void> => {
    if (w.pos === 0) return;
    const chunk = w.buf.subarray(0, w.pos);
    total += w.pos;
    w.buf = Buffer.allocUnsafe(capacity);
    w.reset();
    await sink(chunk);
  };
  const body = writeSnapshotBody(w, tree, [...sessions], zxid);
  let sliceStart = performance.now();
  let steps = 0;
  for (let step = body.next(); step.done !== true; step = body.next()) {
    if (w.pos >= limit) await flush();
    if (++steps % 64 === 0 && performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  w.writeString(SNAP_SIGNATURE);
  await flush();
  return total;
}

export interface SnapStreamLimits {
  /** Bytes of the whole stream, signature included; beyond it: DecodeError. */
  maxBytes: number;
}

export interface SnapStreamResult {
  /** lastProcessedZxid is 0: the caller sets it from the SNAP packet's zxid. */
  tree: DataTree;
  /** Session id -> timeout in ms. */
  sessions: Map<bigint, number>;
  /** Bytes of the stream, signature included. */
  bytes: number;
  /** Nodes in the tree, the root included. */
  nodes: number;
  /**
   * Nodes that named an ACL id missing from the ACL cache; they hold UNRESOLVED_ACL. ZooKeeper's
   * leader serializes a live tree, so a setACL racing it leaves such a node; the txns that follow
   * the snapshot repair it.
   */
  unresolvedAclPaths: string[];
}

/** What the next field of the stream is; each is an int except PathByte (one byte). */
const Field = {
  SessionCount: 0,
  AclCount: 1,
  /** The vector<ACL> count of an acl-cache entry (its aclId was skipped). */
  AclVector: 2,
  SchemeLength: 3,
  IdLength: 4,
  PathLength: 5,
  /** The only byte of a one-byte path: "/" ends the nodes. */
  PathByte: 6,
  DataLength: 7,
  SignatureLength: 8,
  /** Skipping the signature's bytes, then done. */
  Signature: 9,
} as const;
type Field = (typeof Field)[keyof typeof Field];

/** DataNode after its data: aclId, then StatPersisted (4 longs, 3 ints, 2 longs). */
const ACL_AND_STAT_BYTES = 8 + 8 * 4 + 4 * 3 + 8 * 2;
const FIRST_BLOCK_BYTES = 64 * 1024;
const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/**
 * Reads the stream a learner gets after a SNAP packet. Bytes are copied into blocks of our own
 * (a socket chunk can pin a much larger allocation) while the scan walks the length fields; at
 * the signature the blocks are joined and decoded once.
 */
export class SnapStreamReader {
  private readonly extendedTypesEnabled: boolean;
  private readonly maxBytes: number;

  // The scan: skip `skip` bytes, then read the int (or byte) that `field` names.
  private field: Field = Field.SessionCount;
  private skip = 0;
  /** An int split across chunks: its bytes so far. */
  private partial = 0;
  private partialBytes = 0;
  private aclEntriesLeft = 0;
  private aclsLeft = 0;
  private nodeRecords = 0;
  private done = false;

  // The bytes, in blocks.
  private readonly blocks: Buffer[] = [];
  private block: Buffer = Buffer.alloc(0);
  private blockUsed = 0;
  /** Bytes of the stream consumed by earlier pushes. */
  private bytes = 0;

  private decoded: SnapStreamResult | null = null;

  constructor(opts: { extendedTypesEnabled: boolean; limits?: SnapStreamLimits }) {
    this.extendedTypesEnabled = opts.extendedTypesEnabled;
    this.maxBytes = Math.min(opts.limits?.maxBytes ?? Infinity, bufferConstants.MAX_LENGTH);
  }

  /**
   * Feed bytes. Returns null while more are needed; once the signature is read returns the bytes
   * of `chunk` after it (possibly empty, a view): those belong to the packet stream. Throws
   * DecodeError on malformed data, a wrong signature, or a stream past limits.maxBytes.
   */
  push(chunk: Buffer): Buffer | null {
    assert(!this.done, 'SnapStreamReader.push after the end of the stream');
    const n = chunk.length;
    let i = 0;
    while (i < n && !this.done) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - i);
        this.skip -= k;
        i += k;
        if (this.skip === 0 && this.field === Field.Signature) this.done = true;
        continue;
      }
      let value: number;
      if (this.field === Field.PathByte) {
        value = chunk[i++] as number;
      } else if (this.partialBytes === 0 && i + 4 <= n) {
        value = chunk.readInt32BE(i);
        i += 4;
      } else {
        this.partial = (this.partial << 8) | (chunk[i++] as number);
        if (++this.partialBytes < 4) continue;
        value = this.partial;
        this.partial = 0;
        this.partialBytes = 0;
      }
      this.onField(value, this.bytes + i);
    }
    if (this.bytes + i > this.maxBytes) throw this.tooLong(this.bytes + i);
    this.store(chunk, i);
    this.bytes += i;
    if (!this.done) return null;
    this.decoded = this.decode();
    return chunk.subarray(i);
  }

  /** After push returned non-null. tree.lastProcessedZxid is 0: set it from the SNAP packet's zxid. */
  result(): SnapStreamResult {
    assert(this.decoded !== null, 'SnapStreamReader.result before the end of the stream');
    return this.decoded;
  }

  /** Takes the field just read (ending at stream offset `at`) and says what comes next. */
  private onField(value: number, at: number): void {
    switch (this.field) {
      case Field.SessionCount:
        if (value < 0) throw this.bad(`session count ${value}`, at);
        this.skip = value * 12;
        this.field = Field.AclCount;
        break;
      case Field.AclCount:
        if (value < 0) throw this.bad(`ACL cache size ${value}`, at);
        this.aclEntriesLeft = value;
        this.nextAclEntry();
        break;
      case Field.AclVector:
        if (value < 0) throw this.bad(`ACL cache entry with vector length ${value}`, at);
        this.aclsLeft = value;
        this.nextAcl();
        break;
      case Field.SchemeLength:
        if (value < -1) throw this.bad(`ACL scheme length ${value}`, at);
        this.skip = Math.max(0, value);
        this.field = Field.IdLength;
        break;
      case Field.IdLength:
        if (value < -1) throw this.bad(`ACL id length ${value}`, at);
        this.skip = Math.max(0, value);
        this.aclsLeft--;
        this.nextAcl();
        break;
      case Field.PathLength:
        if (value < 0) throw this.bad(`node path length ${value}`, at);
        if (value === 1) {
          this.field = Field.PathByte;
        } else {
          this.skip = value;
          this.field = Field.DataLength;
        }
        break;
      case Field.PathByte:
        this.field = value === 0x2f ? Field.SignatureLength : Field.DataLength;
        break;
      case Field.DataLength:
        if (value < -1) throw this.bad(`node data length ${value}`, at);
        this.skip = Math.max(0, value) + ACL_AND_STAT_BYTES;
        this.nodeRecords++;
        this.field = Field.PathLength;
        break;
      case Field.SignatureLength:
        // Only one signature is right; anything else fails now rather than after its bytes.
        if (value !== SIGNATURE_BYTES.length) throw this.bad(`signature length ${value}, expected "${SNAP_SIGNATURE}"`, at);
        this.skip = value;
        this.field = Field.Signature;
        break;
      case Field.Signature:
        assert(false, 'the signature is skipped, not read');
    }
    if (at + this.skip > this.maxBytes) throw this.tooLong(at + this.skip);
  }

  /** Then skip the aclId of the next acl-cache entry, or go on to the nodes. */
  private nextAclEntry(): void {
    if (this.aclEntriesLeft === 0) {
      this.field = Field.PathLength;
      return;
    }
    this.aclEntriesLeft--;
    this.skip += 8;
    this.field = Field.AclVector;
  }

  /** Then skip the perms of the entry's next ACL, or go on to the next entry. */
  private nextAcl(): void {
    if (this.aclsLeft === 0) {
      this.nextAclEntry();
      return;
    }
    this.skip += 4;
    this.field = Field.SchemeLength;
  }

  private bad(message: string, at: number): DecodeError {
    return new DecodeError(`SNAP stream: ${message} (field ending at byte ${at})`);
  }

  private tooLong(bytes: number): DecodeError {
    return new DecodeError(`SNAP stream: at least ${bytes} bytes, more than the limit of ${this.maxBytes}`);
  }

  private store(chunk: Buffer, end: number): void {
    let from = 0;
    while (from < end) {
      if (this.blockUsed === this.block.length) {
        if (this.block.length > 0) this.blocks.push(this.block);
        const next = Math.min(MAX_BLOCK_BYTES, Math.max(FIRST_BLOCK_BYTES, 2 * this.block.length));
        // Never more than the limit allows: a small limit gets small blocks.
        this.block = Buffer.allocUnsafe(Math.max(1, Math.min(next, this.maxBytes - this.bytes - from)));
        this.blockUsed = 0;
      }
      const copied = chunk.copy(this.block, this.blockUsed, from, Math.min(end, from + this.block.length - this.blockUsed));
      this.blockUsed += copied;
      from += copied;
    }
  }

  /** The whole stream in one buffer; the blocks are let go. */
  private join(): Buffer {
    const last = this.block.subarray(0, this.blockUsed);
    const all = this.blocks.length === 0 ? last : Buffer.concat([...this.blocks, last], this.bytes);
    this.blocks.length = 0;
    this.block = Buffer.alloc(0);
    this.blockUsed = 0;
    return all;
  }

  private decode(): SnapStreamResult {
    const buf = this.join();
    const signatureAt = buf.length - SIGNATURE_BYTES.length;
    if (!buf.subarray(signatureAt).equals(SIGNATURE_BYTES)) {
      const got = buf.toString('utf8', signatureAt);
      throw new DecodeError(`SNAP stream: signature ${JSON.stringify(got)}, expected "${SNAP_SIGNATURE}"`);
    }
    const r = new JuteReader(buf, 0, signatureAt - 4);
    const corrupt = (message: string): DecodeError => new DecodeError(message);
    try {
      const sessions = readSessions(r, corrupt);
      const acls = readAclCache(r, corrupt);
      const unresolvedAclPaths: string[] = [];
      const tree = readSnapshotTree(r, acls, this.extendedTypesEnabled, this.nodeRecords, unresolvedAclPaths, corrupt);
      // The scan found the end of the nodes here; a decoder that disagrees read something else.
      if (r.remaining !== 0) throw corrupt(`${r.remaining} bytes between the nodes and the signature`);
      return { tree, sessions, bytes: buf.length, nodes: tree.nodeCount, unresolvedAclPaths };
    } catch (error) {
      if (error instanceof DecodeError) throw new DecodeError(`SNAP stream malformed at byte ${r.pos}: ${error.message}`);
      throw error;
    }
  }
}
