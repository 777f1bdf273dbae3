import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { JuteWriter } from '../../src/jute/writer.js';
import { decodeSnapshot, UNRESOLVED_ACL } from '../../src/persist/snapshot-reader.js';
import { writeSnapshot } from '../../src/persist/snapshot-writer.js';
import type { ACL } from '../../src/proto/data.js';
import { writeQuorumPacket, type QuorumPacket } from '../../src/proto/quorum-records.js';
import { QuorumPacketStream } from '../../src/quorum/net/quorum-stream.js';
import { SNAP_SIGNATURE, SnapStreamReader, writeSnapStream } from '../../src/quorum/net/snap-stream.js';
import { DataTree, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import type { ZNode } from '../../src/tree/znode.js';
import { DecodeError } from '../../src/util/errors.js';
import { SESSION_B, TIME0, richSessions, richTree, treeView } from '../support/tree-fixtures.js';

// ---------------------------------------------------------------- helpers

/** Leader.SNAP */
const SNAP = 15;
/** A leader's tree: zxids of epoch 1, a deep path and a 100 kB node. */
const LEADER_TREE = { epoch: 1, large: true } as const;

function streamOf(tree: DataTree, sessions: Iterable<readonly [bigint, number]>, chunkBytes?: number): { bytes: Buffer; chunks: Buffer[]; total: number } {
  const chunks: Buffer[] = [];
  const total = writeSnapStream(tree, sessions, (chunk) => chunks.push(chunk), chunkBytes);
  return { bytes: Buffer.concat(chunks), chunks, total };
}

const reader = (maxBytes?: number): SnapStreamReader =>
  new SnapStreamReader({ extendedTypesEnabled: true, ...(maxBytes === undefined ? {} : { limits: { maxBytes } }) });

/** A stream by hand: sessions, ACL cache, then node records given as [path, aclId, data]. */
function handStream(nodes: [string, bigint, string | null][], opts: { acls?: [bigint, ACL[]][]; signature?: string | null } = {}): Buffer {
  const w = new JuteWriter(256);
  w.writeInt(0);
  const acls = opts.acls ?? [];
  w.writeInt(acls.length);
  for (const [id, list] of acls) {
    w.writeLong(id);
    w.writeInt(list.length);
    for (const a of list) {
      w.writeInt(a.perms);
      w.writeString(a.id.scheme);
      w.writeString(a.id.id);
    }
  }
  for (const [path, aclId, data] of nodes) {
    w.writeString(path);
    w.writeBuffer(data === null ? null : Buffer.from(data));
    w.writeLong(aclId);
    for (let i = 0; i < 4; i++) w.writeLong(1n);
    for (let i = 0; i < 3; i++) w.writeInt(0);
    w.writeLong(0n);
    w.writeLong(1n);
  }
  w.writeString('/');
  w.writeString(opts.signature === undefined ? SNAP_SIGNATURE : opts.signature);
  return w.toBuffer();
}

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return error as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

// ---------------------------------------------------------------- round trip

describe('the SNAP stream round trip', () => {
  test('every node kind, ACLs, sessions, quota: the learner gets the leader\'s tree', () => {
    const tree = richTree(LEADER_TREE);
    const { bytes, total } = streamOf(tree, richSessions());
    expect(total).toBe(bytes.length);
    const r = reader();
    const leftover = r.push(bytes);
    expect(leftover).not.toBeNull();
    expect(leftover?.length).toBe(0);
    const got = r.result();
    expect(got.bytes).toBe(bytes.length);
    expect(got.nodes).toBe(tree.nodeCount);
    expect(got.sessions).toEqual(richSessions());
    expect(got.unresolvedAclPaths).toEqual([]);
    expect(got.tree.lastProcessedZxid).toBe(0n);
    expect(got.tree.extendedTypesEnabled).toBe(true);
    got.tree.lastProcessedZxid = tree.lastProcessedZxid;
    expect(treeView(got.tree)).toEqual(treeView(tree));
    expect(got.tree.digest).toBe(tree.digest);
    for (const [p, node] of tree.nodes) expect(got.tree.statOf(got.tree.get(p) as ZNode)).toEqual(tree.statOf(node));
    expect([...got.tree.ttls]).toEqual(['/ttl']);
    expect([...got.tree.containers]).toEqual(['/cont']);
    expect(got.tree.ephemeralsOf(SESSION_B)).toEqual(['/app/eph-b']);
    expect(got.tree.get('/app/null')?.data).toBeNull();
    expect(got.tree.get('/app/empty')?.data?.length).toBe(0);
    // Equal lists are interned: one array for both nodes.
    expect(got.tree.get('/ip')?.acl).toBe(got.tree.get('/app/config/deep/deeper')?.acl);
  });

  test('a fresh tree and no sessions', () => {
    const tree = new DataTree(false);
    const { bytes } = streamOf(tree, []);
    const r = new SnapStreamReader({ extendedTypesEnabled: false });
    expect(r.push(bytes)?.length).toBe(0);
    expect(treeView(r.result().tree)).toEqual(treeView(tree));
    expect(r.result().sessions.size).toBe(0);
    expect(r.result().nodes).toBe(4);
  });

  test('ACL cache: OPEN_ACL_UNSAFE is id -1 and unlisted, other distinct lists are 1..n', () => {
    const { bytes } = streamOf(richTree(LEADER_TREE), richSessions());
    let at = 4 + 3 * 12;
    const count = bytes.readInt32BE(at);
    at += 4;
    const ids: bigint[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(bytes.readBigInt64BE(at));
      at += 8;
      const n = bytes.readInt32BE(at);
      at += 4;
      for (let j = 0; j < n; j++) {
        at += 4;
        at += 4 + bytes.readInt32BE(at);
        at += 4 + bytes.readInt32BE(at);
      }
    }
    // READ_ACL_UNSAFE, IP, bob, alice, carol (the setACL replaced /app/config's list).
    expect(ids).toEqual([1n, 2n, 3n, 4n, 5n]);
    // The root follows: path "" (length 0), empty data, aclId -1.
    expect(bytes.readInt32BE(at)).toBe(0);
    expect(bytes.readInt32BE(at + 4)).toBe(0);
    expect(bytes.readBigInt64BE(at + 8)).toBe(-1n);
    // And it ends with the signature as a jute ustring.
    expect(bytes.subarray(bytes.length - 14).toString('hex')).toBe(`0000000a${Buffer.from('BenWasHere').toString('hex')}`);
  });

  test('chunks: about chunkBytes each, each a buffer of its own, the same bytes in total', () => {
    const tree = richTree(LEADER_TREE);
    const whole = streamOf(tree, richSessions());
    expect(whole.chunks.length).toBe(1);
    const small = streamOf(tree, richSessions(), 64);
    expect(small.total).toBe(whole.total);
    expect(small.chunks.length).toBeGreaterThan(10);
    // A chunk ends after the node record that fills it: at most one record (here /big) past the
    // size. The first holds all of sessions and ACL cache, and the root.
    for (const chunk of small.chunks.slice(1)) expect(chunk.length < 64 + 256 || chunk.length > 100_000).toBe(true);
    // Joined only after the last was handed out, they still hold the right bytes: none was reused.
    expect(small.bytes.equals(whole.bytes)).toBe(true);
  });

  test('the bytes between a snapshot file\'s header and its seal are the stream without its signature', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tszk-snap-stream-'));
    try {
      const tree = richTree(LEADER_TREE);
      const written = await writeSnapshot(dir, tree, richSessions(), tree.lastProcessedZxid, { fsync: false, chunkBytes: 4096 });
      const file = await readFile(written.path);
      const header = 16;
      const sealDigestSeal = 13 + 20 + 13;
      const body = file.subarray(header, file.length - sealDigestSeal);
      const { bytes } = streamOf(tree, richSessions(), 1000);
      const signature = 4 + SNAP_SIGNATURE.length;
      expect(bytes.subarray(0, bytes.length - signature).equals(body)).toBe(true);
      // And the file's body plus a signature reads as a stream.
      const r = reader();
      expect(r.push(Buffer.concat([body, bytes.subarray(bytes.length - signature)]))?.length).toBe(0);
      const fromFile = decodeSnapshot(file, written.path, tree.lastProcessedZxid, true);
      expect(treeView(r.result().tree)).toEqual(treeView(fromFile.tree));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a node naming an ACL id the cache lacks gets no permission for anyone (a fuzzy leader snapshot)', () => {
    const bytes = handStream([
      ['', -1n, null],
      ['/a', 1n, 'x'],
      ['/b', 7n, 'y'],
    ], { acls: [[1n, [...READ_ACL_UNSAFE]]] });
    const r = reader();
    expect(r.push(bytes)?.length).toBe(0);
    const { tree, unresolvedAclPaths } = r.result();
    expect(unresolvedAclPaths).toEqual(['/b']);
    expect(tree.get('/b')?.acl).toEqual(UNRESOLVED_ACL);
    expect(tree.get('/a')?.acl).toEqual(READ_ACL_UNSAFE);
  });
});

// ---------------------------------------------------------------- incremental reading

describe('reading the stream as it arrives', () => {
  test('every strict prefix needs more; the whole stream does not', () => {
    const { bytes } = streamOf(richTree(LEADER_TREE), richSessions());
    // Every prefix length near the start and the end, and a stride through the middle.
    const cuts = new Set<number>();
    for (let n = 0; n < 300; n++) cuts.add(n);
    for (let n = bytes.length - 300; n < bytes.length; n++) cuts.add(n);
    for (let n = 0; n < bytes.length; n += 997) cuts.add(n);
    for (const n of cuts) {
      const r = reader();
      expect(r.push(bytes.subarray(0, n))).toBeNull();
      expect(r.push(bytes.subarray(n))?.length).toBe(0);
      expect(r.result().nodes).toBe(richTree(LEADER_TREE).nodeCount);
    }
  });

  test('bytes after the signature are returned as the leftover, a view of the chunk', () => {
    const { bytes } = streamOf(richTree(LEADER_TREE), richSessions());
    const after = Buffer.from('packets follow');
    const last = Buffer.concat([bytes.subarray(bytes.length - 3), after]);
    const r = reader();
    expect(r.push(bytes.subarray(0, bytes.length - 3))).toBeNull();
    const leftover = r.push(last);
    expect(leftover?.toString()).toBe('packets follow');
    expect(leftover?.buffer).toBe(last.buffer);
    expect(r.result().bytes).toBe(bytes.length);
  });

  test('push after the end, or result before it, is a programming error', () => {
    const { bytes } = streamOf(new DataTree(), []);
    const r = reader();
    expect(() => r.result()).toThrow(/before the end/);
    r.push(bytes);
    expect(() => r.push(Buffer.alloc(1))).toThrow(/after the end/);
  });

  /** /p0../p{parents-1}, each with `perParent` children holding a few bytes. */
  function wideTree(parents: number, perParent: number): DataTree {
    const tree = new DataTree(false);
    let zxid = 0n;
    for (let p = 0; p < parents; p++) {
      tree.createNode(`/p${p}`, null, OPEN_ACL_UNSAFE, 0n, -1, ++zxid, TIME0);
      for (let c = 0; c < perParent; c++) tree.createNode(`/p${p}/n${c}`, Buffer.from('v'), OPEN_ACL_UNSAFE, 0n, -1, ++zxid, TIME0);
    }
    return tree;
  }

  test('a large tree in 64 KiB chunks', () => {
    const tree = wideTree(50, 1000);
    const { bytes } = streamOf(tree, []);
    const r = reader();
    const results: (Buffer | null)[] = [];
    for (let at = 0; at < bytes.length; at += 64 * 1024) results.push(r.push(bytes.subarray(at, at + 64 * 1024)));
    expect(results.slice(0, -1).every((x) => x === null)).toBe(true);
    expect(results.at(-1)?.length).toBe(0);
    expect(r.result().nodes).toBe(tree.nodeCount);
    expect(r.result().tree.digest).toBe(tree.digest);
  });

  test('one byte at a time costs one pass: a scan that restarted per chunk would take hours here', () => {
    // ~5,000 records in ~150,000 one-byte chunks; rescanning from the start on each would be
    // some 10^8 record steps.
    const tree = wideTree(5, 1000);
    const { bytes } = streamOf(tree, []);
    const r = reader();
    let early = 0;
    for (let i = 0; i < bytes.length - 1; i++) if (r.push(bytes.subarray(i, i + 1)) !== null) early++;
    expect(early).toBe(0);
    expect(r.push(bytes.subarray(bytes.length - 1))?.length).toBe(0);
    expect(treeView(r.result().tree)).toEqual(treeView(tree));
  });
});

// ---------------------------------------------------------------- bad streams

describe('a malformed stream is a DecodeError', () => {
  test('a wrong signature, of the right length or not', () => {
    const { bytes } = streamOf(richTree(LEADER_TREE), richSessions());
    const wrong = Buffer.from(bytes);
    wrong[wrong.length - 1] = 0x66;
    expect(decodeError(() => reader().push(wrong)).message).toMatch(/signature "BenWasHerf"/);
    for (const signature of ['Ben', '', null, 'BenWasHere!']) {
      const r = reader();
      // The length alone gives it away, before the signature's bytes arrive.
      const bad = handStream([['', -1n, null]], { signature });
      const lengthEnd = bad.length - Math.max(0, Buffer.byteLength(signature ?? ''));
      expect(() => r.push(bad.subarray(0, lengthEnd))).toThrow(DecodeError);
    }
  });

  test('a stream past limits.maxBytes', () => {
    const { bytes } = streamOf(richTree(LEADER_TREE), richSessions());
    const exact = reader(bytes.length);
    expect(exact.push(Buffer.concat([bytes, Buffer.alloc(100)]))?.length).toBe(100);
    expect(decodeError(() => reader(bytes.length - 1).push(bytes)).message).toMatch(/limit/);
    // A length field that promises too much fails at once, not when the bytes are in.
    const r = reader(50_000);
    const bigAt = bytes.indexOf(Buffer.from('/big'));
    expect(() => r.push(bytes.subarray(0, bigAt + 4 + 4))).toThrow(/limit/);
    expect(() => reader(64).push(Buffer.from([0x00, 0x10, 0x00, 0x00]))).toThrow(/limit/);
  });

  test('bad counts and lengths', () => {
    const cases: Buffer[] = [
      Buffer.from('ffffffff', 'hex'), // session count -1
      Buffer.from('00000000' + 'fffffffe', 'hex'), // ACL cache size -2
      Buffer.from('00000000' + '00000001' + '0000000000000001' + 'ffffffff', 'hex'), // ACL vector null
      Buffer.from('00000000' + '00000001' + '0000000000000001' + '00000001' + '0000001f' + 'fffffffe', 'hex'),
      Buffer.from('00000000' + '00000000' + 'ffffffff', 'hex'), // null path
      Buffer.from('00000000' + '00000000' + '00000000' + 'fffffffe', 'hex'), // data length -2
    ];
    for (const bytes of cases) expect(() => reader().push(bytes)).toThrow(DecodeError);
  });

  test('a tree that does not hold together', () => {
    const root: [string, bigint, string | null] = ['', -1n, null];
    const bad: [string, bigint, string | null][][] = [
      [root, ['/a/b', -1n, 'orphan']],
      [root, ['/a', -1n, 'x'], ['/a', -1n, 'again']],
      [root, ['relative', -1n, 'x']],
      [['/a', -1n, 'no root first']],
      [],
    ];
    for (const nodes of bad) expect(() => reader().push(handStream(nodes))).toThrow(DecodeError);
    expect(reader().push(handStream([root, ['/a', -1n, 'x']]))?.length).toBe(0);
  });
});

// ---------------------------------------------------------------- with the packet stream

describe('the learner side: packets, SNAP, the stream, packets', () => {
  test('takeBuffered hands over what follows the SNAP packet; the leftover goes back', () => {
    const tree = richTree(LEADER_TREE);
    const before: QuorumPacket = { type: 4, zxid: 0x1_0000_0000n, data: Buffer.from('newleader?'), authinfo: null };
    const snap: QuorumPacket = { type: SNAP, zxid: tree.lastProcessedZxid, data: null, authinfo: null };
    const after: QuorumPacket[] = [
      { type: 2, zxid: tree.lastProcessedZxid + 1n, data: Buffer.from('proposal'), authinfo: null },
      { type: 10, zxid: 0x2_0000_0000n, data: null, authinfo: null },
    ];
    const w = new JuteWriter(64);
    writeQuorumPacket(w, before);
    writeQuorumPacket(w, snap);
    const head = w.toBuffer();
    w.reset();
    for (const p of after) writeQuorumPacket(w, p);
    const tail = w.toBuffer();
    const wire = Buffer.concat([head, streamOf(tree, richSessions(), 4096).bytes, tail]);

    for (const chunkBytes of [1, 7, 100, 4096, wire.length]) {
      const packets = new QuorumPacketStream();
      const got: QuorumPacket[] = [];
      let snapReader: SnapStreamReader | null = null;
      for (let at = 0; at < wire.length; at += chunkBytes) {
        const chunk = wire.subarray(at, at + chunkBytes);
        if (snapReader !== null) {
          const leftover = snapReader.push(chunk);
          if (leftover === null) continue;
          snapReader = null;
          packets.push(leftover);
        } else {
          packets.push(chunk);
        }
        for (let p = packets.next(); p !== null; p = packets.next()) {
          got.push(p);
          if (p.type !== SNAP) continue;
          snapReader = reader();
          const rest = packets.takeBuffered();
          expect(packets.bufferedBytes).toBe(0);
          const leftover = snapReader.push(rest);
          if (leftover === null) break;
          snapReader = null;
          packets.push(leftover);
        }
      }
      expect(got).toEqual([before, snap, ...after]);
      expect(packets.bufferedBytes).toBe(0);
    }
  });

  test('takeBuffered on an empty stream is empty, and the stream goes on afterwards', () => {
    const packets = new QuorumPacketStream();
    expect(packets.takeBuffered().length).toBe(0);
    const w = new JuteWriter(64);
    writeQuorumPacket(w, { type: 5, zxid: 1n, data: null, authinfo: null });
    const bytes = w.toBuffer();
    packets.push(bytes.subarray(0, 5));
    packets.push(bytes.subarray(5, 10));
    expect(packets.next()).toBeNull();
    expect(packets.takeBuffered().equals(bytes.subarray(0, 10))).toBe(true);
    expect(packets.bufferedBytes).toBe(0);
    packets.push(bytes);
    expect(packets.next()).toEqual({ type: 5, zxid: 1n, data: null, authinfo: null });
  });
});
