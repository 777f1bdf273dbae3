import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { OpCode } from '../../src/proto/opcodes.js';
import { readQuorumPacket } from '../../src/proto/quorum-records.js';
import { encodeEntry } from '../../src/persist/txn-log-format.js';
import {
  decodeZabPacket, encodeTxnPayload, encodeZabPacket, fromQuorumPacket, PacketType, readPingTouches, toQuorumPacket,
  type ZabPacket,
} from '../../src/quorum/zab/packets.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { DecodeError } from '../../src/util/errors.js';

const long = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const bytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const path = fc.stringMatching(/^\/[a-z]{1,8}$/);
const acl = fc.constant([{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);

const txn: fc.Arbitrary<TxnEntry> = fc
  .record({
    clientId: long,
    cxid: int32,
    zxid: long,
    time: fc.integer({ min: 0, max: 2 ** 40 }),
    digest: fc.option(fc.record({ version: fc.constant(2), treeDigest: long }), { nil: null }),
    body: fc.oneof(
      fc.record({ path, data: bytes, acl, ephemeral: fc.boolean(), parentCVersion: int32 }).map((record) => ({ type: OpCode.create, record })),
      fc.record({ path, data: bytes, version: int32 }).map((record) => ({ type: OpCode.setData, record })),
      path.map((p) => ({ type: OpCode.delete, record: { path: p } })),
      fc.integer({ min: 1, max: 60_000 }).map((timeOut) => ({ type: OpCode.createSession, record: { timeOut } })),
    ),
  })
  .map(({ clientId, cxid, zxid, time, digest, body }) => ({
    hdr: { clientId, cxid, zxid, time, type: body.type },
    body,
    digest,
  }) as TxnEntry);

const packet: fc.Arbitrary<ZabPacket> = fc.oneof(
  txn.map((t) => ({ type: 'proposal', txn: t }) as const),
  txn.map((t) => ({ type: 'inform', txn: t }) as const),
  fc.record({ designatedLeader: long, txn }).map((r) => ({ type: 'informAndActivate', ...r }) as const),
  fc.constantFrom('ack', 'commit', 'sync', 'upToDate', 'diff', 'trunc', 'snap').chain((type) =>
    long.map((zxid) => ({ type, zxid }) as ZabPacket),
  ),
  fc.record({ zxid: long, data: fc.option(bytes, { nil: null }) }).map((r): ZabPacket => ({ type: 'ping', ...r, authinfo: [] })),
  fc.record({ zxid: long, data: fc.option(bytes, { nil: null }) }).map((r) => ({ type: 'revalidate', ...r }) as const),
  fc.record({ zxid: long, designatedLeader: long }).map((r) => ({ type: 'commitAndActivate', ...r }) as const),
  fc.record({ zxid: long, config: fc.option(bytes, { nil: null }) }).map((r) => ({ type: 'newLeader', ...r }) as const),
  fc.record({ zxid: long, protocolVersion: int32 }).map((r) => ({ type: 'leaderInfo', ...r }) as const),
  fc.record({ zxid: long, currentEpoch: int32 }).map((r) => ({ type: 'ackEpoch', ...r }) as const),
  fc
    .record({ type: fc.constantFrom('followerInfo', 'observerInfo'), zxid: long, sid: long, protocolVersion: int32, configVersion: long })
    .map(({ type, zxid, sid, protocolVersion, configVersion }) => ({ type, zxid, info: { sid, protocolVersion, configVersion } }) as ZabPacket),
  fc
    .record({ sessionId: long, cxid: int32, opType: int32, request: bytes })
    .map((r): ZabPacket => ({ type: 'request', ...r, authinfo: [{ scheme: 'digest', id: 'u:p' }] })),
);

describe('ZAB packets', () => {
  test('decode(encode(p)) equals p for every packet type', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const decoded = decodeZabPacket(encodeZabPacket(p));
        if ('txn' in decoded && 'txn' in p) {
          // A decoded txn keeps its received bytes as its payload: exactly what encoding it gives.
          const { payload, ...txn } = decoded.txn;
          expect(payload).toEqual(Buffer.from(encodeTxnPayload(p.txn)));
          expect({ ...decoded, txn }).toEqual(p);
        } else {
          expect(decoded).toEqual(p);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a txn packet carries exactly the payload of a txn log entry (Util.marshallTxnEntry)', () => {
    fc.assert(
      fc.property(txn, (t) => {
        const w = new JuteWriter(256);
        encodeEntry(w, t);
        // checksum:long, length:int, payload, EOR
        const payload = w.toBuffer().subarray(12, w.pos - 1);
        expect(toQuorumPacket({ type: 'proposal', txn: t }).data).toEqual(payload);
        expect(encodeTxnPayload(t)).toEqual(payload);
      }),
      { numRuns: 200 },
    );
  });

  test('the discovery packets have ZooKeeper 3.8 layouts', () => {
    // FOLLOWERINFO: zxid = acceptedEpoch << 32, data = LearnerInfo{sid, 0x10000, configVersion}.
    const fi = toQuorumPacket({ type: 'followerInfo', zxid: 3n << 32n, info: { sid: 2n, protocolVersion: 0x10000, configVersion: 0n } });
    expect(fi.type).toBe(11);
    expect(fi.data?.toString('hex')).toBe('0000000000000002' + '00010000' + '0000000000000000');
    // LEADERINFO: data = protocol version as an int.
    expect(toQuorumPacket({ type: 'leaderInfo', zxid: 4n << 32n, protocolVersion: 0x10000 }).data?.toString('hex')).toBe('00010000');
    // ACKEPOCH: zxid = last logged zxid, data = currentEpoch as an int (-1: not counted).
    const ae = toQuorumPacket({ type: 'ackEpoch', zxid: 0x300000007n, currentEpoch: -1 });
    expect([ae.type, ae.zxid, ae.data?.toString('hex')]).toEqual([18, 0x300000007n, 'ffffffff']);
    // The numbers of Leader.java.
    expect(PacketType).toMatchObject({ request: 1, proposal: 2, ack: 3, commit: 4, ping: 5, newLeader: 10, upToDate: 12, diff: 13, trunc: 14, snap: 15, ackEpoch: 18, informAndActivate: 19 });
  });

  test('reads what Java writes: a null authinfo vector (-1) and a short LearnerInfo', () => {
    // type 11, zxid 0x500000000, data = sid only (8 bytes, a pre-3.5 learner), authinfo null.
    const wire = Buffer.from('0000000b' + '0000000500000000' + '00000008' + '0000000000000007' + 'ffffffff', 'hex');
    const qp = readQuorumPacket(new JuteReader(wire));
    expect(fromQuorumPacket(qp)).toEqual({
      type: 'followerInfo',
      zxid: 0x500000000n,
      info: { sid: 7n, protocolVersion: null, configVersion: null },
    });
  });

  test('rejects unknown types, short data and a txn whose zxid differs from the packet', () => {
    expect(() => fromQuorumPacket({ type: 99, zxid: 0n, data: null, authinfo: [] })).toThrow(DecodeError);
    expect(() => fromQuorumPacket({ type: 18, zxid: 0n, data: Buffer.alloc(2), authinfo: [] })).toThrow(DecodeError);
    const t: TxnEntry = { hdr: { clientId: 1n, cxid: 1, zxid: 5n, time: 0, type: OpCode.delete }, body: { type: OpCode.delete, record: { path: '/a' } }, digest: null };
    const qp = toQuorumPacket({ type: 'proposal', txn: t });
    expect(() => fromQuorumPacket({ ...qp, zxid: 6n })).toThrow(DecodeError);
  });

  test('learner PING replies carry a session touch table', () => {
    const data = Buffer.from('00000000000000aa' + '00001388', 'hex');
    expect(readPingTouches(data)).toEqual([{ sessionId: 0xaan, timeoutMs: 5000 }]);
    expect(readPingTouches(null)).toEqual([]);
  });
});
