import { test, expect } from 'vitest';
import fc from 'fast-check';
import { JuteReader, VIEW_MIN_BYTES } from '../../src/jute/reader.js';
import { FrameSplitter } from '../../src/jute/framing.js';
import { JuteWriter, SHARE_MIN_BYTES } from '../../src/jute/writer.js';
import { DecodeError } from '../../src/util/errors.js';

const INT_MIN = -0x8000_0000;
const INT_MAX = 0x7fff_ffff;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function written(f: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(8);
  f(w);
  return w.toBuffer();
}

test('int at the edges of 32 bits', () => {
  const bytes = written((w) => {
    for (const v of [0, -1, 1, INT_MIN, INT_MAX]) w.writeInt(v);
  });
  expect(bytes).toEqual(hex('00000000 ffffffff 00000001 80000000 7fffffff'));
  const r = new JuteReader(bytes);
  expect([r.readInt(), r.readInt(), r.readInt(), r.readInt(), r.readInt()]).toEqual([0, -1, 1, INT_MIN, INT_MAX]);
  expect(r.remaining).toBe(0);
});

test('long at the edges of 64 bits', () => {
  const values = [0n, -1n, 1n, LONG_MIN, LONG_MAX, 0x1_0000_0000n, -0x1_0000_0001n];
  const bytes = written((w) => {
    for (const v of values) w.writeLong(v);
  });
  expect(bytes.subarray(0, 40)).toEqual(
    hex('0000000000000000 ffffffffffffffff 0000000000000001 8000000000000000 7fffffffffffffff'),
  );
  const r = new JuteReader(bytes);
  expect(values.map(() => r.readLong())).toEqual(values);
});

test('writeLong wraps values outside int64 as Java would', () => {
  const r = new JuteReader(written((w) => w.writeLong(1n << 63n)));
  expect(r.readLong()).toBe(LONG_MIN);
});

test('readLongNumber reads negative and large longs exactly', () => {
  const values = [0, -1, 1, -2, -0x1_0000_0000, -0x1_0000_0001, 0xffff_ffff, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
  for (const v of values) {
    const bytes = written((w) => w.writeLong(BigInt(v)));
    expect(new JuteReader(bytes).readLongNumber()).toBe(v);
    expect(written((w) => w.writeLongNumber(v))).toEqual(bytes);
  }
});

test('readLongNumber agrees with readLong for every safe integer', () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (v) => {
      const a = written((w) => w.writeLongNumber(v));
      expect(a).toEqual(written((w) => w.writeLong(BigInt(v))));
      expect(new JuteReader(a).readLongNumber()).toBe(v);
      expect(new JuteReader(a).readLong()).toBe(BigInt(v));
    }),
  );
});

test('boolean is one byte, any non-zero byte reads as true', () => {
  expect(written((w) => (w.writeBool(true), w.writeBool(false)))).toEqual(hex('01 00'));
  const r = new JuteReader(hex('00 01 02 ff'));
  expect([r.readBool(), r.readBool(), r.readBool(), r.readBool()]).toEqual([false, true, true, true]);
});

test('null and empty buffers are distinct', () => {
  const bytes = written((w) => (w.writeBuffer(null), w.writeBuffer(Buffer.alloc(0)), w.writeBuffer(hex('abcd'))));
  expect(bytes).toEqual(hex('ffffffff 00000000 00000002 abcd'));
  const r = new JuteReader(bytes);
  expect(r.readBuffer()).toBeNull();
  expect(r.readBuffer()).toEqual(Buffer.alloc(0));
  expect(r.readBuffer()).toEqual(hex('abcd'));
});

test('null and empty strings are distinct; lengths count UTF-8 bytes', () => {
  const bytes = written((w) => (w.writeString(null), w.writeString(''), w.writeString('é/€')));
  expect(bytes).toEqual(hex('ffffffff 00000000 00000006 c3a9 2f e282ac'));
  const r = new JuteReader(bytes);
  expect(r.readString()).toBeNull();
  expect(r.readString()).toBe('');
  expect(r.readString()).toBe('é/€');
});

test('readBufferView shares memory with the frame, readBuffer copies', () => {
  const frame = hex('00000003 010203 00000002 0405');
  const r = new JuteReader(frame);
  const view = r.readBufferView();
  const copy = r.readBuffer();
  expect(view).toEqual(hex('010203'));
  expect(copy).toEqual(hex('0405'));
  frame[4] = 9;
  frame[11] = 9;
  expect(view?.[0]).toBe(9);
  expect(copy?.[0]).toBe(4);
  expect(copy?.length).toBe(2);
});

test('truncated primitives throw DecodeError', () => {
  expect(() => new JuteReader(hex('000000')).readInt()).toThrow(DecodeError);
  expect(() => new JuteReader(hex('00000000000000')).readLong()).toThrow(DecodeError);
  expect(() => new JuteReader(hex('00000000000000')).readLongNumber()).toThrow(DecodeError);
  expect(() => new JuteReader(Buffer.alloc(0)).readBool()).toThrow(DecodeError);
  expect(() => new JuteReader(hex('0000000a 0102030405')).readBuffer()).toThrow(DecodeError);
  expect(() => new JuteReader(hex('0000000a 0102030405')).readBufferView()).toThrow(DecodeError);
  expect(() => new JuteReader(hex('00000003 6162')).readString()).toThrow(/truncated|exceeds/);
  expect(() => new JuteReader(hex('0000')).readVectorLength()).toThrow(DecodeError);
});

test('reads stop at `end`, not at the end of the buffer', () => {
  const buf = hex('00000001 00000002');
  const r = new JuteReader(buf, 0, 4);
  expect(r.readInt()).toBe(1);
  expect(() => r.readInt()).toThrow(DecodeError);
  r.reset(buf, 4);
  expect(r.readInt()).toBe(2);
});

test('negative lengths other than -1 throw DecodeError', () => {
  for (const len of ['fffffffe', '80000000', 'fffffff0']) {
    expect(() => new JuteReader(hex(len + '00000000')).readBuffer()).toThrow(/negative buffer length/);
    expect(() => new JuteReader(hex(len + '00000000')).readString()).toThrow(/negative ustring length/);
    expect(() => new JuteReader(hex(len + '00000000')).readVectorLength()).toThrow(/negative vector length/);
  }
});

test('vector length -1 means null; a count above the bytes left is rejected before allocation', () => {
  expect(new JuteReader(hex('ffffffff')).readVectorLength()).toBe(-1);
  expect(new JuteReader(hex('00000002 0000')).readVectorLength()).toBe(2);
  expect(() => new JuteReader(hex('7fffffff 00')).readVectorLength()).toThrow(/exceeds/);
});

test('writer grows past its initial size and frames get their length prefix', () => {
  const w = new JuteWriter(4);
  w.startFrame();
  w.writeString('x'.repeat(100));
  w.writeLong(-1n);
  w.endFrame();
  const out = w.toBuffer();
  expect(out.length).toBe(4 + 4 + 100 + 8);
  expect(out.readInt32BE(0)).toBe(112);
  expect(w.reset().pos).toBe(0);
});

test('garbage input only ever raises DecodeError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 12 }), (bytes, ops) => {
      const r = new JuteReader(Buffer.from(bytes));
      try {
        for (const op of ops) {
          if (op === 0) r.readInt();
          else if (op === 1) r.readLong();
          else if (op === 2) r.readLongNumber();
          else if (op === 3) r.readBool();
          else if (op === 4) r.readBuffer();
          else if (op === 5) r.readString();
          else r.readVectorLength();
        }
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
      expect(r.pos).toBeLessThanOrEqual(bytes.length);
    }),
  );
});

test('writer: strings, ints and number longs are the bytes Buffer and BigInt give', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 300 })),
      fc.integer({ min: INT_MIN, max: 0xffff_ffff }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      (s, i, n) => {
        const w = new JuteWriter(8);
        w.writeString(s);
        w.writeInt(i);
        w.writeLongNumber(n);
        const text = Buffer.from(s, 'utf8');
        const expected = Buffer.alloc(4 + text.length + 12);
        expected.writeInt32BE(text.length, 0);
        text.copy(expected, 4);
        expected.writeInt32BE(i | 0, 4 + text.length);
        expected.writeBigInt64BE(BigInt(n), 8 + text.length);
        expect(w.toBuffer().equals(expected)).toBe(true);
      },
    ),
  );
});

test('writer: shared buffers give the same bytes as copies, in frames, through rewinds', () => {
  const big = fc.integer({ min: SHARE_MIN_BYTES - 2, max: SHARE_MIN_BYTES + 300 }).map((n) => Buffer.alloc(n, n & 0xff));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('int' as const), v: fc.integer({ min: INT_MIN, max: INT_MAX }) }),
    fc.record({ kind: fc.constant('small' as const), v: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ kind: fc.constant('big' as const), v: big }),
    fc.record({ kind: fc.constant('null' as const) }),
  );
  // Frames of ops; some frames take back their body after writing it (a read that failed).
  const frame = fc.record({ ops: fc.array(op, { maxLength: 5 }), rewind: fc.boolean() });
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 6 }), (frames) => {
      const shared = new JuteWriter(16);
      const copied = new JuteWriter(16);
      for (const f of frames) {
        for (const w of [shared, copied]) {
          w.startFrame();
          w.writeInt(7);
          const body = w.pos;
          for (const o of f.ops) {
            if (o.kind === 'int') w.writeInt(o.v);
            else if (o.kind === 'null') w === shared ? w.writeBufferShared(null) : w.writeBuffer(null);
            else w === shared ? w.writeBufferShared(o.v) : w.writeBuffer(o.v);
          }
          if (f.rewind) w.rewind(body);
          w.endFrame();
        }
      }
      const expected = copied.toBuffer();
      expect(shared.length).toBe(expected.length);
      expect(shared.toBuffer().equals(expected)).toBe(true);
      expect(Buffer.concat(shared.chunks()).equals(expected)).toBe(true);
      // Shared buffers go out as they are, never copied.
      const bigs = frames.filter((f) => !f.rewind).flatMap((f) => f.ops).filter((o) => o.kind === 'big' && o.v.length >= SHARE_MIN_BYTES);
      expect(shared.chunks().filter((c) => bigs.some((o) => o.v === c)).length).toBe(bigs.length);
      shared.reset();
      expect(shared.hasShared).toBe(false);
      expect(shared.length).toBe(0);
    }),
    { numRuns: 200 },
  );
});

test('reader: big data from a frame of its own is a view, anything else a copy', () => {
  const big = Buffer.alloc(VIEW_MIN_BYTES, 1);
  const w = new JuteWriter(16);
  w.startFrame();
  w.writeBuffer(Buffer.from('small'));
  w.writeBuffer(big);
  w.endFrame();
  const stream = w.toBuffer();
  // Fed in two pieces, the frame straddles them and is assembled into a buffer of its own.
  const splitter = new FrameSplitter(stream.length);
  splitter.push(stream.subarray(0, 100));
  expect(splitter.next()).toBe(false);
  splitter.push(stream.subarray(100));
  expect(splitter.next()).toBe(true);
  expect(splitter.frameOwned).toBe(true);
  const owned = new JuteReader().reset(splitter.frameBuf, splitter.frameStart, splitter.frameEnd, splitter.frameOwned);
  const small = owned.readBuffer()!;
  const view = owned.readBuffer()!;
  expect(small.toString()).toBe('small');
  expect(small.buffer).not.toBe(splitter.frameBuf.buffer);
  expect(view.equals(big)).toBe(true);
  expect(view.buffer).toBe(splitter.frameBuf.buffer);
  // Whole in one chunk: the frame is a view of the chunk, which is not ours to keep.
  const whole = new FrameSplitter(stream.length);
  whole.push(stream);
  expect(whole.next()).toBe(true);
  expect(whole.frameOwned).toBe(false);
  const shared = new JuteReader().reset(whole.frameBuf, whole.frameStart, whole.frameEnd, whole.frameOwned);
  shared.readBuffer();
  const copy = shared.readBuffer()!;
  expect(copy.equals(big)).toBe(true);
  expect(copy.buffer).not.toBe(stream.buffer);
});

test('writer: writePath(parent bytes, name) is writeString(parent + "/" + name)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (parent, name) => {
      const a = new JuteWriter(8);
      a.writePath(Buffer.from(parent, 'utf8'), name);
      const b = new JuteWriter(8);
      b.writeString(name === '' ? parent : `${parent}/${name}`);
      expect(a.toBuffer().equals(b.toBuffer())).toBe(true);
    }),
  );
});
