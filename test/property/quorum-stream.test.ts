import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JuteWriter } from '../../src/jute/writer.js';
import { writeQuorumPacket, type QuorumPacket } from '../../src/proto/quorum-records.js';
import { QuorumPacketStream } from '../../src/quorum/net/quorum-stream.js';
import { DecodeError } from '../../src/util/errors.js';

const packet: fc.Arbitrary<QuorumPacket> = fc.record({
  type: fc.integer({ min: 1, max: 19 }),
  zxid: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  data: fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: null }),
  authinfo: fc.option(fc.array(fc.record({ scheme: fc.string({ maxLength: 8 }), id: fc.string({ maxLength: 20 }) }), { maxLength: 3 }), { nil: null }),
});

function encode(packets: readonly QuorumPacket[]): Buffer {
  const w = new JuteWriter(1024);
  for (const p of packets) writeQuorumPacket(w, p);
  return w.toBuffer();
}

describe('the unframed leader/learner stream', () => {
  test('any split of a valid stream yields the same packets, in order', () => {
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 }), (packets, cuts) => {
        const bytes = encode(packets);
        const stream = new QuorumPacketStream();
        const out: QuorumPacket[] = [];
        let pos = 0;
        for (const cut of [...cuts, bytes.length]) {
          if (pos >= bytes.length) break;
          stream.push(bytes.subarray(pos, Math.min(bytes.length, pos + cut)));
          pos = Math.min(bytes.length, pos + cut);
          for (let p = stream.next(); p !== null; p = stream.next()) out.push(p);
        }
        expect(out).toEqual(packets);
        expect(stream.bufferedBytes).toBe(0);
      }),
    );
  });

  test('a length beyond the limits is refused before any allocation', () => {
    const w = new JuteWriter(64);
    w.writeInt(2);
    w.writeLong(1n);
    w.writeInt(0x7fffffff); // data length
    const stream = new QuorumPacketStream();
    stream.push(w.toBuffer());
    expect(() => stream.next()).toThrow(DecodeError);
  });

  test('a packet is not returned until all of it has arrived', () => {
    const bytes = encode([{ type: 2, zxid: 5n, data: Buffer.alloc(100, 1), authinfo: null }]);
    const stream = new QuorumPacketStream();
    stream.push(bytes.subarray(0, bytes.length - 1));
    expect(stream.next()).toBeNull();
    stream.push(bytes.subarray(bytes.length - 1));
    expect(stream.next()?.data?.length).toBe(100);
  });
});
