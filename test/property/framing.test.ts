import { test, expect } from 'vitest';
import fc from 'fast-check';
import { FrameSplitter, FrameTooLargeError } from '../../src/jute/framing.js';
import { DecodeError } from '../../src/util/errors.js';

const MAX = 256;

function stream(frames: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(f.length);
    parts.push(len, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

/** Cuts `buf` at the given offsets (any order, duplicates allowed) into non-empty chunks. */
function split(buf: Buffer, cutSeeds: readonly number[]): Buffer[] {
  const cuts = [...new Set(cutSeeds.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    if (c > prev) chunks.push(buf.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  return chunks;
}

function take(s: FrameSplitter, out: Buffer[]): boolean {
  if (!s.next()) return false;
  out.push(Buffer.from(s.frameBuf.subarray(s.frameStart, s.frameEnd)));
  return true;
}

function drainAll(s: FrameSplitter, out: Buffer[]): void {
  while (take(s, out));
}

const frames = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 });
const cuts = fc.array(fc.nat(), { maxLength: 30 });

test('any split of a valid stream into chunks yields the same frames', () => {
  fc.assert(
    fc.property(frames, cuts, (fs, cs) => {
      const s = new FrameSplitter(MAX);
      const out: Buffer[] = [];
      for (const chunk of split(stream(fs), cs)) {
        s.push(chunk);
        drainAll(s, out);
      }
      expect(out).toEqual(fs.map((f) => Buffer.from(f)));
      expect(s.bufferedBytes).toBe(0);
    }),
  );
});

test('every two-way and one-byte split of a fixed stream', () => {
  const fs = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), Buffer.from('z')];
  const buf = stream(fs);
  for (let i = 0; i <= buf.length; i++) {
    const s = new FrameSplitter(MAX);
    const out: Buffer[] = [];
    for (const chunk of [buf.subarray(0, i), buf.subarray(i)]) {
      s.push(chunk);
      drainAll(s, out);
    }
    expect(out).toEqual(fs);
  }
  const s = new FrameSplitter(MAX);
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) {
    s.push(buf.subarray(i, i + 1));
    drainAll(s, out);
  }
  expect(out).toEqual(fs);
});

test('stopping mid-chunk and pushing more meanwhile loses nothing', () => {
  fc.assert(
    fc.property(frames, cuts, fc.array(fc.nat(3), { maxLength: 30 }), (fs, cs, takes) => {
      const s = new FrameSplitter(MAX);
      const out: Buffer[] = [];
      split(stream(fs), cs).forEach((chunk, i) => {
        s.push(chunk);
        // Consume at most a few frames per chunk, as a connection whose queue is full would.
        for (let k = takes[i] ?? 0; k > 0 && take(s, out); k--);
      });
      drainAll(s, out);
      expect(out).toEqual(fs.map((f) => Buffer.from(f)));
      expect(s.bufferedBytes).toBe(0);
      expect(s.next()).toBe(false);
    }),
  );
});

test('bufferedBytes counts what was pushed and not yet delivered', () => {
  fc.assert(
    fc.property(frames, cuts, (fs, cs) => {
      const s = new FrameSplitter(MAX);
      let pushed = 0;
      let delivered = 0;
      for (const chunk of split(stream(fs), cs)) {
        s.push(chunk);
        pushed += chunk.length;
        expect(s.bufferedBytes).toBe(pushed - delivered);
        while (s.next()) delivered += 4 + s.frameEnd - s.frameStart;
        expect(s.bufferedBytes).toBe(pushed - delivered);
      }
    }),
  );
});

test('frames inside one chunk are views of it; straddling frames are right-sized copies', () => {
  fc.assert(
    fc.property(frames, cuts, (fs, cs) => {
      const s = new FrameSplitter(MAX);
      for (const chunk of split(stream(fs), cs)) {
        s.push(chunk);
        while (s.next()) {
          if (s.frameBuf === chunk) continue;
          expect(s.frameStart).toBe(0);
          expect(s.frameEnd).toBe(s.frameBuf.length);
        }
      }
    }),
  );
  const whole = stream([Buffer.from('ab'), Buffer.from('cde')]);
  const s = new FrameSplitter(MAX);
  s.push(whole);
  expect(s.next()).toBe(true);
  expect([s.frameBuf === whole, s.frameStart, s.frameEnd]).toEqual([true, 4, 6]);
  expect(s.next()).toBe(true);
  expect([s.frameBuf === whole, s.frameStart, s.frameEnd]).toEqual([true, 10, 13]);
  expect(s.next()).toBe(false);
});

test('an empty frame whose length prefix is split is delivered without waiting for more bytes', () => {
  const s = new FrameSplitter(MAX);
  s.push(Buffer.from([0, 0]));
  expect(s.next()).toBe(false);
  s.push(Buffer.from([0, 0]));
  expect(s.next()).toBe(true);
  expect(s.frameEnd - s.frameStart).toBe(0);
  expect(s.next()).toBe(false);
});

test('a length above maxFrameBytes or below zero is rejected as soon as its 4 bytes arrive', () => {
  const bad = fc.oneof(
    fc.integer({ min: MAX + 1, max: 0x7fff_ffff }),
    fc.integer({ min: -0x8000_0000, max: -1 }),
  );
  fc.assert(
    fc.property(frames, bad, cuts, (fs, length, cs) => {
      const header = Buffer.alloc(4);
      header.writeInt32BE(length);
      const buf = Buffer.concat([stream(fs), header]);
      const s = new FrameSplitter(MAX);
      const out: Buffer[] = [];
      let error: unknown = null;
      try {
        for (const chunk of split(buf, cs)) {
          s.push(chunk);
          drainAll(s, out);
        }
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect(error).toBeInstanceOf(DecodeError);
      expect(error).toMatchObject({ length, limit: MAX, code: 'ERR_BAD_FRAME' });
      expect(out).toEqual(fs.map((f) => Buffer.from(f)));
    }),
  );
});

test('a frame of exactly maxFrameBytes is accepted; one byte more is not', () => {
  const s = new FrameSplitter(MAX);
  s.push(stream([Buffer.alloc(MAX, 7)]));
  expect(s.next()).toBe(true);
  expect(s.frameEnd - s.frameStart).toBe(MAX);
  const t = new FrameSplitter(MAX);
  t.push(Buffer.from([0, 0, 1, 1]));
  expect(() => t.next()).toThrow(/frame length 257 exceeds the limit of 256 bytes/);
  const u = new FrameSplitter(MAX);
  u.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  expect(() => u.next()).toThrow(/frame length -1 is negative/);
});

test('peekLength reads the next length prefix without consuming it', () => {
  const s = new FrameSplitter(MAX);
  expect(s.peekLength()).toBeNull();
  s.push(Buffer.from('ru'));
  expect(s.peekLength()).toBeNull();
  s.push(Buffer.from('ok'));
  expect(s.peekLength()).toBe(0x72756f6b);
  expect(s.bufferedBytes).toBe(4);

  fc.assert(
    fc.property(frames, cuts, (fs, cs) => {
      const t = new FrameSplitter(MAX);
      const out: Buffer[] = [];
      for (const chunk of split(stream(fs), cs)) {
        t.push(chunk);
        for (;;) {
          const peeked = t.peekLength();
          if (!take(t, out)) break;
          if (peeked !== null) expect(peeked).toBe(out[out.length - 1]?.length);
        }
      }
      expect(out.length).toBe(fs.length);
    }),
  );
});
