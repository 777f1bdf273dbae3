import { join } from 'node:path';
import { JuteWriter } from '../jute/writer.js';
import { writeACLVector, writeStatPersisted, type ACL } from '../proto/data.js';
import { writeFileHeader } from '../proto/txn-records.js';
import { isOpenAclUnsafe, type DataTree } from '../tree/data-tree.js';
import type { ZNode } from '../tree/znode.js';
import { DIGEST_VERSION } from '../tree/digest.js';
import { assert } from '../util/assert.js';
import { adler32 } from './adler32.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import {
  END_OF_NODES, OPEN_ACL_UNSAFE_ID, SNAP_DBID, SNAP_MAGIC, SNAP_VERSION,
  snapshotFileName, writeZxidDigest, type ZxidDigest,
} from './snapshot-format.js';

/**
 * Writes a snapshot (format: snapshot-format.ts) of a tree that keeps changing while it is
 * written. The request path is never stalled for long: nodes are serialized in slices of at most
 * `sliceMs` (or `yieldEveryNodes` nodes), each followed by an event-loop turn, and bytes leave in
 * `chunkBytes` chunks, so neither a big tree nor a big file is ever held whole.
 *
 * The snapshot is fuzzy, as ZooKeeper's are: each node is captured as it is when visited, so
 * the file mixes states from the start to the end of the walk. It is named after `zxid` (the
 * last txn applied when the walk began) and loading replays the log from zxid+1. Every txn is
 * idempotent when replayed over a state that may already contain it (absolute versions; a create
 * that finds its node, or a delete that misses it, only moves the parent's cversion/pzxid
 * forward), so once the replay passes the last txn applied during the walk the tree equals the
 * live one. The digest trailer records exactly that point: the tree digest and
 * lastProcessedZxid read together, synchronously, after the last node was written; a loader
 * checks its tree against it when replay reaches that zxid (ZooKeeper's lastProcessedZxidDigest).
 * A tree whose lastProcessedZxid is 0 writes ZooKeeper's empty digest (zxid 0, digest 0), which
 * loaders skip.
 *
 * The walk never trusts the tree to hold still: it goes through live iterators of the child maps,
 * so a child deleted before its turn is skipped, and a node created after `zxid`
 * (czxid > zxid) is left out with its subtree, since the log replay creates it. Leaving it out
 * matters: the ACL cache precedes the nodes in the file, so a node created mid-walk with an ACL
 * list new to the tree would name an ACL id the file does not define, and replaying its create
 * (NodeExists) would not repair it (ZooKeeper 3.8 has exactly this hole, ZOOKEEPER-4846). A
 * setACL to a brand-new list during the walk still yields such an id (counted in
 * `unresolvedAcls`); its replayed setACL repairs it.
 *
 * The file is written as <name>.tmp and renamed when complete, so a snapshot.<zxid> is always
 * whole; with fsync the temp file is synced before the rename and the directory after it.
 * ZooKeeper writes the final name directly unless it syncs, and relies on the checksum and the
 * tail check to skip a torn file; the rename costs nothing and spares readers that race.
 */

export interface WriteSnapshotOptions {
  fs?: FileSystem;
  /** fsync the file before the rename and the directory after it. */
  fsync: boolean;
  /** At most this many nodes per slice; default 10,000. */
  yieldEveryNodes?: number;
  /** At most about this long per slice; default 2 ms. */
  sliceMs?: number;
  /**
   * A busy server would give a snapshot only `sliceMs` per event-loop turn, however long the turns
   * get: at 50k requests/s a 100k-node snapshot then takes many seconds, and the next one is
   * skipped. With a share, a slice lasts as long as needed for the snapshot to get about this
   * share of the time (measured as the time the other work took since the last slice), between
   * `sliceMs` and `maxSliceMs`.
   */
  cpuShare?: number;
  /** Longest slice when `cpuShare` stretches them; default 5 ms. */
  maxSliceMs?: number;
  /** Bytes buffered before a write; default 1 MiB. */
  chunkBytes?: number;
  /**
   * With fsync: fdatasync the file each time this many more bytes were written (default 16 MiB;
   * 0: only at the end). One flush of a whole big snapshot at the end keeps the disk busy for
   * hundreds of milliseconds, and every txn log fdatasync meanwhile waits behind it; flushing as
   * it goes keeps each such wait short.
   */
  syncEveryBytes?: number;
  /** Milliseconds from a monotonic clock; default performance.now. */
  nowMs?: () => number;
  /** Called each time the writer gives the event loop a turn (tests mutate the tree here). */
  onSlice?: () => void;
}

export interface WrittenSnapshot extends WrittenBody {
  path: string;
  bytes: number;
  /** The digest trailer that was written. */
  digest: ZxidDigest;
}

const DEFAULT_YIELD_EVERY_NODES = 10_000;
const DEFAULT_SLICE_MS = 2;
const DEFAULT_MAX_SLICE_MS = 5;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const NO_BYTES = new Uint8Array(0);
const DEFAULT_SYNC_EVERY_BYTES = 16 * 1024 * 1024;
/** Look at the clock once per this many nodes. */
const CLOCK_EVERY_NODES = 64;

export async function writeSnapshot(
  dir: string,
  tree: DataTree,
  sessions: Iterable<readonly [bigint, number]>,
  zxid: bigint,
  opts: WriteSnapshotOptions,
): Promise<WrittenSnapshot> {
  const fs = opts.fs ?? nodeFileSystem;
  const path = join(dir, snapshotFileName(zxid));
  const tmpPath = `${path}.tmp`;
  const fd = await fs.open(tmpPath, 'w');
  let open = true;
  try {
    const syncEveryBytes = opts.fsync ? (opts.syncEveryBytes ?? DEFAULT_SYNC_EVERY_BYTES) : 0;
    const out = new CheckedOutput(fs, fd, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, syncEveryBytes);
    const slicer = new Slicer(out, opts);
    const written = await serialize(out, slicer, tree, [...sessions], zxid);
    await out.flush();
    if (opts.fsync) await fs.fsync(fd);
    open = false;
    await fs.close(fd);
    await fs.rename(tmpPath, path);
    if (opts.fsync) await fs.syncDir(dir);
    return { path, bytes: out.bytes, ...written };
  } catch (error) {
    if (open) await fs.close(fd).catch(() => undefined);
    await fs.unlink(tmpPath).catch(() => undefined);
    throw error;
  }
}

async function serialize(
  out: CheckedOutput,
  slicer: Slicer,
  tree: DataTree,
  sessions: readonly (readonly [bigint, number])[],
  zxid: bigint,
): Promise<Omit<WrittenSnapshot, 'path' | 'bytes'>> {
  const w = out.w;
  writeFileHeader(w, { magic: SNAP_MAGIC, version: SNAP_VERSION, dbid: SNAP_DBID });
  const body = writeSnapshotBody(w, tree, sessions, zxid);
  let step = body.next();
  while (step.done !== true) {
    if (slicer.tick()) await slicer.pause();
    step = body.next();
  }
  // Read together with no turn in between: the digest of the tree as of lastProcessedZxid. Before
  // any txn ZooKeeper has no digest to record and writes an empty one (zxid 0, digest 0).
  const lastZxid = tree.lastProcessedZxid;
  const digest: ZxidDigest = { zxid: lastZxid, version: DIGEST_VERSION, digest: lastZxid === 0n ? 0n : tree.digest };
  out.seal();
  writeZxidDigest(w, digest);
  out.seal();
  return { ...step.value, digest };
}

export interface WrittenBody {
  /** Node records written, the root included. */
  nodes: number;
  /** Nodes written with an ACL id missing from the ACL cache (a setACL raced the walk). */
  unresolvedAcls: number;
}

/**
 * The body both a snapshot file and the leader's SNAP stream carry: sessions, ACL cache, nodes,
 * up to and including the "/" that ends the nodes. Nodes created after `zxid` are left out with
 * their subtrees. A step per node (in the ACL pass and in the walk) hands control back to the
 * caller, which may let the event loop run; the walk copes with the tree changing meanwhile.
 * Nothing is read after the last step, so the caller may read the digest right after it.
 */
export function* writeSnapshotBody(
  w: JuteWriter,
  tree: DataTree,
  sessions: readonly (readonly [bigint, number])[],
  zxid: bigint,
): Generator<void, WrittenBody, void> {
  w.writeInt(sessions.length);
  for (const [id, timeoutMs] of sessions) {
    w.writeLong(id);
    w.writeInt(timeoutMs);
  }

  // The ACL cache comes first in the file, so collect the lists in use before writing any node.
  // A Map iterator stays valid while the map changes; new nodes are appended to it, so stop after
  // as many as there were at the start, or a burst of creates could keep this loop going forever.
  const acls = new AclIds();
  let aclBudget = tree.nodes.size;
  for (const node of tree.nodes.values()) {
    if (aclBudget-- === 0) break;
    if (node.czxid <= zxid) acls.add(node.acl);
    yield;
  }
  w.writeInt(acls.lists.length);
  for (const [id, list] of acls.lists) {
    w.writeLong(id);
    writeACLVector(w, list);
  }

  let nodes = 0;
  let unresolvedAcls = 0;
  const stack: Frame[] = [];
  // A node's path is written as its parent's path bytes, "/" and its name, never built as a
  // string: at a million nodes the strings (and the GC work they cause while the rest of the
  // server runs) were a good part of the walk. Only a node with children gets its path as bytes.
  const visit = (parentPath: Uint8Array, name: string, node: ZNode): void => {
    if (node.czxid > zxid) return;
    let aclId = acls.idOf(node.acl);
    if (aclId === null) {
      aclId = acls.unresolvedId;
      unresolvedAcls++;
    }
    const pathStart = w.pos + 4;
    w.writePath(parentPath, name);
    const pathEnd = w.pos;
    w.writeBuffer(node.data);
    w.writeLong(aclId);
    writeStatPersisted(w, node);
    nodes++;
    if (node.children.size > 0) {
      // The path bytes just written, copied: the writer's buffer is reused once flushed.
      const path = Buffer.from(w.buf.subarray(pathStart, pathEnd));
      stack.push({ path, children: node.children.entries() });
    }
  };

  const root = tree.nodes.get('/');
  assert(root !== undefined, 'a tree always has its root');
  // The root is written as "" (as ZooKeeper does), which is also the prefix of its children.
  visit(NO_BYTES, '', root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const next = frame.children.next();
    if (next.done === true) {
      stack.pop();
      continue;
    }
    const [name, child] = next.value;
    visit(frame.path, name, child);
    yield;
  }
  w.writeString(END_OF_NODES);
  return { nodes, unresolvedAcls };
}

/**
 * A node whose children are being walked, through a live iterator of its child map: a child
 * deleted before its turn is never reached, and one added meanwhile is reached but has a czxid
 * past the snapshot's and is left out (the log replay creates it).
 */
interface Frame {
  /** The node's path as written (UTF-8; empty for the root). */
  path: Uint8Array;
  children: Iterator<[string, ZNode]>;
}

/** Long ids for the distinct ACL lists in the tree: 1..n, and -1 for OPEN_ACL_UNSAFE. */
class AclIds {
  /** What the ACL cache lists, in id order. */
  readonly lists: [bigint, readonly ACL[]][] = [];
  // The tree interns ACL lists, so identity finds nearly all; equal copies share an id anyway.
  private readonly byList = new Map<readonly ACL[], bigint>();
  private readonly byValue = new Map<string, bigint>();

  add(acl: readonly ACL[]): void {
    if (this.byList.has(acl)) return;
    if (isOpenAclUnsafe(acl)) {
      this.byList.set(acl, OPEN_ACL_UNSAFE_ID);
      return;
    }
    const key = aclKey(acl);
    let id = this.byValue.get(key);
    if (id === undefined) {
      id = BigInt(this.lists.length + 1);
      this.byValue.set(key, id);
      this.lists.push([id, acl]);
    }
    this.byList.set(acl, id);
  }

  /** The id of a list, or null when it was not in the tree when the cache was collected. */
  idOf(acl: readonly ACL[]): bigint | null {
    const id = this.byList.get(acl);
    if (id !== undefined) return id;
    if (isOpenAclUnsafe(acl)) return OPEN_ACL_UNSAFE_ID;
    return this.byValue.get(aclKey(acl)) ?? null;
  }

  /** An id the cache does not define, for a list it does not hold. */
  get unresolvedId(): bigint {
    return BigInt(this.lists.length + 1);
  }
}

function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (const a of acl) key += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return key;
}

/**
 * Jute output in chunks with a running Adler-32 of everything written, for the seals. Bytes are
 * summed once: when sealed or when their chunk is flushed, whichever comes first.
 */
class CheckedOutput {
  readonly w: JuteWriter;
  private adler = 1;
  /** w.buf[0, summedTo) is already in `adler`. */
  private summedTo = 0;
  private flushed = 0;
  private synced = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly fd: number,
    private readonly chunkBytes: number,
    /** fdatasync after this many more bytes were written; 0: never (the caller syncs at the end). */
    private readonly syncEveryBytes: number,
  ) {
    this.w = new JuteWriter(chunkBytes + 64 * 1024);
  }

  get full(): boolean {
    return this.w.pos >= this.chunkBytes;
  }

  get bytes(): number {
    return this.flushed + this.w.pos;
  }

  /** Appends the seal: the checksum of every byte so far, then "/". */
  seal(): void {
    this.sum();
    this.w.writeLong(BigInt(this.adler));
    this.w.writeString(END_OF_NODES);
  }

  async flush(): Promise<void> {
    this.sum();
    if (this.w.pos === 0) return;
    await this.fs.write(this.fd, this.w.buf, 0, this.w.pos, this.flushed);
    this.flushed += this.w.pos;
    this.w.reset();
    this.summedTo = 0;
    if (this.syncEveryBytes > 0 && this.flushed - this.synced >= this.syncEveryBytes) {
      await this.fs.datasync(this.fd);
      this.synced = this.flushed;
    }
  }

  private sum(): void {
    this.adler = adler32(this.w.buf, this.summedTo, this.w.pos, this.adler);
    this.summedTo = this.w.pos;
  }
}

/** Decides when a slice is over and gives the event loop its turn (writing a full chunk or not). */
class Slicer {
  private readonly maxNodes: number;
  private readonly minMs: number;
  private readonly maxMs: number;
  /** Slice length per ms of other work (share / (1 - share)); 0 keeps slices at minMs. */
  private readonly perOtherMs: number;
  private readonly nowMs: () => number;
  private readonly onSlice: (() => void) | undefined;
  private startMs: number;
  private budgetMs: number;
  private count = 0;

  constructor(
    private readonly out: CheckedOutput,
    opts: WriteSnapshotOptions,
  ) {
    this.maxNodes = Math.max(1, opts.yieldEveryNodes ?? DEFAULT_YIELD_EVERY_NODES);
    this.minMs = opts.sliceMs ?? DEFAULT_SLICE_MS;
    this.maxMs = Math.max(this.minMs, opts.maxSliceMs ?? DEFAULT_MAX_SLICE_MS);
    const share = Math.min(Math.max(opts.cpuShare ?? 0, 0), 0.9);
    this.perOtherMs = share / (1 - share);
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.onSlice = opts.onSlice;
    this.startMs = this.nowMs();
    this.budgetMs = this.minMs;
  }

  /** Counts one node; true when the slice is used up. */
  tick(): boolean {
    this.count++;
    if (this.count >= this.maxNodes || this.out.full) return true;
    return this.count % CLOCK_EVERY_NODES === 0 && this.nowMs() - this.startMs >= this.budgetMs;
  }

  async pause(): Promise<void> {
    this.onSlice?.();
    if (this.out.full) await this.out.flush();
    const pausedMs = this.nowMs();
    // A turn even after a write: an injected file system may answer without one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.count = 0;
    this.startMs = this.nowMs();
    const otherMs = this.startMs - pausedMs;
    this.budgetMs = Math.min(this.maxMs, Math.max(this.minMs, otherMs * this.perOtherMs));
  }
}
