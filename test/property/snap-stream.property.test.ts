import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JuteWriter } from '../../src/jute/writer.js';
import type { ACL } from '../../src/proto/data.js';
import { writeQuorumPacket, type QuorumPacket } from '../../src/proto/quorum-records.js';
import { QuorumPacketStream } from '../../src/quorum/net/quorum-stream.js';
import { SnapStreamReader, writeSnapStream, type SnapStreamResult } from '../../src/quorum/net/snap-stream.js';
import { DataTree, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import { CONTAINER_EPHEMERAL_OWNER, ttlOwner } from '../../src/tree/ephemeral-type.js';
import type { ZNode } from '../../src/tree/znode.js';
import { DecodeError } from '../../src/util/errors.js';

/** Leader.SNAP */
const SNAP = 15;

// ---------------------------------------------------------------- arbitraries

const aclList: fc.Arbitrary<ACL[]> = fc.array(
  fc.record({
    perms: fc.integer({ min: 0, max: 31 }),
    id: fc.record({ scheme: fc.constantFrom('world', 'digest', 'ip', 'x509'), id: fc.string({ maxLength: 12 }) }),
  }),
  { maxLength: 3 },
);

interface Op {
  parent: number;
  name: string;
  data: Buffer | null;
  acl: number;
  owner: number;
  setData: Buffer | null | undefined;
}

const op: fc.Arbitrary<Op> = fc.record({
  parent: fc.nat(),
  name: fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('/') && s !== '.' && s !== '..'),
  data: fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { nil: null }),
  acl: fc.nat(),
  owner: fc.nat({ max: 5 }),
  setData: fc.option(fc.option(fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)), { nil: null }), { nil: undefined }),
});

const OWNERS = [0n, 0n, 0n, 0x0100_0000_0000_0001n, CONTAINER_EPHEMERAL_OWNER, ttlOwner(5_000) ?? 0n];

/** A tree from creates under existing nodes (ephemerals get no children), and some setData. */
const treeArb: fc.Arbitrary<DataTree> = fc
  .record({ ops: fc.array(op, { maxLength: 30 }), acls: fc.array(aclList, { maxLength: 4 }) })
  .map(({ ops, acls }) => {
    const lists: readonly ACL[][] = [[...OPEN_ACL_UNSAFE], [...READ_ACL_UNSAFE], ...acls];
    const tree = new DataTree(true);
    const parents = ['/', '/zookeeper'];
    let zxid = 0n;
    for (const o of ops) {
      const parent = parents[o.parent % parents.length] as string;
      const path = parent === '/' ? `/${o.name}` : `${parent}/${o.name}`;
      const owner = OWNERS[o.owner] as bigint;
      const acl = lists[o.acl % lists.length] as ACL[];
      if (tree.createNode(path, o.data, acl, owner, -1, ++zxid, 1_000 + Number(zxid)) !== 0) continue;
      if (owner === 0n || owner === CONTAINER_EPHEMERAL_OWNER) parents.push(path);
      if (o.setData !== undefined) tree.setData(path, o.setData, -1, ++zxid, 2_000 + Number(zxid));
      tree.lastProcessedZxid = zxid;
    }
    return tree;
  });

const sessionsArb = fc.uniqueArray(
  fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  { selector: ([id]) => id, maxLength: 5 },
);

const cutsArb = fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 60 });

const packetArb: fc.Arbitrary<QuorumPacket> = fc.record({
  type: fc.constantFrom(2, 4, 5, 10, 11, 12),
  zxid: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
  data: fc.option(fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)), { nil: null }),
  authinfo: fc.constant(null),
});

// ---------------------------------------------------------------- helpers

function streamOf(tree: DataTree, sessions: Iterable<readonly [bigint, number]>, chunkBytes?: number): Buffer {
  const chunks: Buffer[] = [];
  const total = writeSnapStream(tree, sessions, (c) => chunks.push(c), chunkBytes);
  const bytes = Buffer.concat(chunks);
  expect(bytes.length).toBe(total);
  return bytes;
}

function packetBytes(packets: readonly QuorumPacket[]): Buffer {
  const w = new JuteWriter(256);
  for (const p of packets) writeQuorumPacket(w, p);
  return w.toBuffer();
}

/** `bytes` cut into chunks of the given sizes, the last one taking the rest. */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    if (at >= bytes.length) break;
    chunks.push(bytes.subarray(at, at + cut));
    at += cut;
  }
  if (at < bytes.length) chunks.push(bytes.subarray(at));
  return chunks;
}

function treeView(tree: DataTree): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const path of [...tree.nodes.keys()].sort()) {
    const n = tree.nodes.get(path) as ZNode;
    nodes[path] = {
      data: n.data === null ? null : n.data.toString('hex'),
      acl: n.acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`),
      stat: tree.statOf(n),
      children: [...n.children.keys()].sort(),
    };
  }
  const ephemerals: Record<string, string[]> = {};
  for (const [owner, paths] of tree.ephemerals) if (paths.size > 0) ephemerals[owner.toString(16)] = [...paths].sort();
  return { nodes, ephemerals, containers: [...tree.containers].sort(), ttls: [...tree.ttls].sort(), digest: tree.digest };
}

function resultView(result: SnapStreamResult): Record<string, unknown> {
  return {
    tree: treeView(result.tree),
    sessions: [...result.sessions],
    bytes: result.bytes,
    nodes: result.nodes,
    unresolved: result.unresolvedAclPaths,
  };
}

/** Pushes chunks until the stream ends; returns the result and every byte after the stream. */
function readChunks(chunks: readonly Buffer[]): { result: SnapStreamResult; after: Buffer } | null {
  const reader = new SnapStreamReader({ extendedTypesEnabled: true });
  for (let i = 0; i < chunks.length; i++) {
    const leftover = reader.push(chunks[i] as Buffer);
    if (leftover !== null) return { result: reader.result(), after: Buffer.concat([leftover, ...chunks.slice(i + 1)]) };
  }
  return null;
}

// ---------------------------------------------------------------- properties

describe('the SNAP stream', () => {
  test('any split gives the same result as one push, equal to the source, and the same leftover', () => {
    fc.assert(
      fc.property(treeArb, sessionsArb, fc.uint8Array({ maxLength: 40 }), cutsArb, fc.integer({ min: 1, max: 300 }), (tree, sessions, trailerBytes, cuts, chunkBytes) => {
        const stream = streamOf(tree, sessions, chunkBytes);
        const trailer = Buffer.from(trailerBytes);
        const wire = Buffer.concat([stream, trailer]);
        const whole = readChunks([wire]);
        const pieces = readChunks(split(wire, cuts));
        expect(whole).not.toBeNull();
        expect(pieces).not.toBeNull();
        if (whole === null || pieces === null) return;
        expect(resultView(pieces.result)).toEqual(resultView(whole.result));
        expect(pieces.after.equals(trailer)).toBe(true);
        expect(whole.after.equals(trailer)).toBe(true);
        expect(whole.result.bytes).toBe(stream.length);
        expect(whole.result.sessions).toEqual(new Map(sessions));
        expect(treeView(whole.result.tree)).toEqual(treeView(tree));
      }),
      { numRuns: 200 },
    );
  });

  test('a prefix of the stream is never the end of it', () => {
    fc.assert(
      fc.property(treeArb, sessionsArb, fc.double({ min: 0, max: 1, noNaN: true }), (tree, sessions, where) => {
        const stream = streamOf(tree, sessions);
        const cut = Math.min(stream.length - 1, Math.floor(where * stream.length));
        expect(readChunks([stream.subarray(0, cut)])).toBeNull();
      }),
    );
  });

  test('a changed byte gives a DecodeError, a wait for more, or some tree; never another failure', () => {
    fc.assert(
      fc.property(treeArb, sessionsArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (tree, sessions, at, xor) => {
        const stream = Buffer.from(streamOf(tree, sessions));
        const i = at % stream.length;
        stream[i] = (stream[i] as number) ^ xor;
        const reader = new SnapStreamReader({ extendedTypesEnabled: true, limits: { maxBytes: 1 << 20 } });
        try {
          reader.push(stream);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('QuorumPacketStream.takeBuffered', () => {
  test('returns exactly the bytes not yet returned as packets, and the stream goes on with them', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 8 }), cutsArb, fc.nat(), (packets, cuts, pushedChunks) => {
        const bytes = packetBytes(packets);
        const chunks = split(bytes, cuts);
        const stream = new QuorumPacketStream();
        const got: QuorumPacket[] = [];
        const n = chunks.length === 0 ? 0 : pushedChunks % (chunks.length + 1);
        let pushed = 0;
        for (const chunk of chunks.slice(0, n)) {
          stream.push(chunk);
          pushed += chunk.length;
          for (let p = stream.next(); p !== null; p = stream.next()) got.push(p);
        }
        const consumed = packetBytes(got).length;
        const taken = Buffer.from(stream.takeBuffered());
        expect(taken.equals(bytes.subarray(consumed, pushed))).toBe(true);
        expect(stream.bufferedBytes).toBe(0);
        expect(stream.next()).toBeNull();
        // Give the bytes back, then the rest: every packet comes out once.
        for (const chunk of [taken, ...chunks.slice(n)]) {
          stream.push(chunk);
          for (let p = stream.next(); p !== null; p = stream.next()) got.push(p);
        }
        expect(got).toEqual(packets);
        expect(stream.bufferedBytes).toBe(0);
      }),
    );
  });

  test('a learner reads packets, SNAP, the stream and packets again, however the bytes arrive', () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { maxLength: 3 }),
        treeArb,
        sessionsArb,
        fc.array(packetArb, { maxLength: 4 }),
        cutsArb,
        (before, tree, sessions, after, cuts) => {
          const snap: QuorumPacket = { type: SNAP, zxid: tree.lastProcessedZxid, data: null, authinfo: null };
          const wire = Buffer.concat([packetBytes([...before, snap]), streamOf(tree, sessions), packetBytes(after)]);
          const packets = new QuorumPacketStream();
          const got: QuorumPacket[] = [];
          let reader: SnapStreamReader | null = null;
          let result: SnapStreamResult | null = null;
          // The driver's loop: raw bytes go to the SNAP reader while one is open.
          let pending: Buffer[] = split(wire, cuts);
          while (pending.length > 0) {
            const chunk = pending.shift() as Buffer;
            if (reader !== null) {
              const leftover = reader.push(chunk);
              if (leftover === null) continue;
              result = reader.result();
              reader = null;
              packets.push(leftover);
            } else {
              packets.push(chunk);
            }
            for (let p = packets.next(); p !== null; p = packets.next()) {
              got.push(p);
              if (p.type === SNAP) {
                reader = new SnapStreamReader({ extendedTypesEnabled: true });
                pending = [packets.takeBuffered(), ...pending];
                break;
              }
            }
          }
          expect(reader).toBeNull();
          expect(got).toEqual([...before, snap, ...after]);
          expect(result).not.toBeNull();
          if (result !== null) expect(treeView(result.tree)).toEqual(treeView(tree));
          expect(packets.bufferedBytes).toBe(0);
        },
      ),
    );
  });
});
