import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Err } from '../../src/proto/error-codes.js';
import { SessionTracker, initialSessionId } from '../../src/session/session-tracker.js';
import { CONTAINER_EPHEMERAL_OWNER } from '../../src/tree/ephemeral-type.js';

const TICK = 2000;

/** ZooKeeper's SessionTrackerImpl.initializeNextSessionId, restated with Java long arithmetic. */
function javaInitialSessionId(timeMs: bigint, serverId: bigint): bigint {
  const shifted = BigInt.asUintN(64, timeMs << 24n) >> 8n; // (t << 24) >>> 8
  let id = BigInt.asIntN(64, shifted | (serverId << 56n));
  if (id === -(1n << 63n)) id += 1n;
  return id;
}

describe('initialSessionId', () => {
  test('time in the middle bits, server id in the top byte', () => {
    expect(initialSessionId(1, 1)).toBe(0x0100_0000_0001_0000n);
    expect(initialSessionId(0, 0)).toBe(0n);
    expect(initialSessionId(1, 0)).toBe(0x1_0000n);
    expect(initialSessionId(0, 255)).toBe(-0x0100_0000_0000_0000n); // 0xff00000000000000 as a long
  });

  test('a realistic clock keeps 40 bits of milliseconds', () => {
    const now = 1_700_000_000_123;
    const id = initialSessionId(now, 3);
    expect(id >> 56n).toBe(3n);
    expect((id >> 16n) & 0xff_ffff_ffffn).toBe(BigInt(now) & 0xff_ffff_ffffn);
    expect(id & 0xffffn).toBe(0n);
  });

  test('never the container owner marker', () => {
    expect(initialSessionId(0, 128)).toBe(CONTAINER_EPHEMERAL_OWNER + 1n);
  });

  test('matches Java long arithmetic for any time and server id', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 }), fc.integer({ min: 0, max: 255 }), (t, sid) => {
        expect(initialSessionId(t, sid)).toBe(javaInitialSessionId(BigInt(t), BigInt(sid)));
      }),
    );
  });
});

describe('session ids', () => {
  test('start from initialSessionId(idSeedMs, serverId) and count up', () => {
    const tracker = new SessionTracker(TICK, 7, 123_456, 0);
    const first = initialSessionId(123_456, 7);
    expect(tracker.newSessionId()).toBe(first);
    expect(tracker.newSessionId()).toBe(first + 1n);
    expect(tracker.newSessionId()).toBe(first + 2n);
  });

  test('wrap like a Java long at the top of the range', () => {
    // Server id 127 and a time whose bits are all ones: the id is Long.MAX_VALUE minus 0xffff.
    const tracker = new SessionTracker(TICK, 127, 0xff_ffff_ffff, 0);
    const first = tracker.newSessionId();
    expect(first).toBe((1n << 63n) - 1n - 0xffffn);
    for (let i = 0; i < 0xfffe; i++) tracker.newSessionId();
    expect(tracker.newSessionId()).toBe((1n << 63n) - 1n);
    expect(tracker.newSessionId()).toBe(-(1n << 63n));
  });

  test('do not track a session until add', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    const id = tracker.newSessionId();
    expect(tracker.check(id)).toBe(Err.unknownSession);
    expect(tracker.size).toBe(0);
    tracker.add(id, 10_000, 0);
    expect(tracker.check(id)).toBe(Err.ok);
    expect(tracker.size).toBe(1);
  });
});

describe('expiry buckets', () => {
  test('a session lands in the bucket at roundUp(now + timeout) (ExpiryQueue.roundToNextInterval)', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 5000, 100);
    // (5100 / 2000 + 1) * 2000 = 6000
    expect(tracker.get(1n)?.expiresAtMs).toBe(6000);
    tracker.add(2n, 6000, 0);
    // exactly on a boundary still rounds up to the next interval
    expect(tracker.get(2n)?.expiresAtMs).toBe(8000);
  });

  test('first bucket due is the tick after the tracker starts', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 4500);
    expect(tracker.waitMs(4500)).toBe(1500);
    expect(tracker.waitMs(6000)).toBe(0);
    expect(tracker.waitMs(9000)).toBe(0);
  });

  test('nothing expires before its bucket is due; the whole bucket expires at once', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0); // bucket 6000
    tracker.add(2n, 5000, 100); // bucket 6000
    tracker.add(3n, 6000, 0); // bucket 8000
    expect(tracker.expire(5999)).toEqual([]);
    expect(tracker.expire(6000).sort()).toEqual([1n, 2n]);
    expect(tracker.check(1n)).toBe(Err.sessionExpired);
    expect(tracker.check(3n)).toBe(Err.ok);
    expect(tracker.expire(7999)).toEqual([]);
    expect(tracker.expire(8000)).toEqual([3n]);
  });

  test('waitMs follows the next bucket as expire advances one tick at a time', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    expect(tracker.waitMs(0)).toBe(2000);
    tracker.expire(2000);
    expect(tracker.waitMs(2000)).toBe(2000);
    tracker.expire(9000); // catches up over several buckets
    expect(tracker.waitMs(9000)).toBe(1000);
  });

  test('a touch moves the session to a later bucket', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0); // 6000
    expect(tracker.touch(1n, 3000)).toBe(true); // (7000/2000+1)*2000 = 8000
    expect(tracker.get(1n)?.expiresAtMs).toBe(8000);
    expect(tracker.expire(6000)).toEqual([]);
    expect(tracker.expire(8000)).toEqual([1n]);
  });

  test('a touch within the same interval leaves the session where it is', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0); // 6000
    expect(tracker.touch(1n, 1999)).toBe(true); // (5999/2000+1)*2000 = 6000
    expect(tracker.get(1n)?.expiresAtMs).toBe(6000);
    expect(tracker.expire(6000)).toEqual([1n]);
  });

  test('touch fails for unknown and closing sessions, and does not revive them', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    expect(tracker.touch(9n, 0)).toBe(false);
    tracker.add(1n, 4000, 0);
    tracker.setClosing(1n);
    expect(tracker.touch(1n, 1000)).toBe(false);
    expect(tracker.get(1n)?.expiresAtMs).toBe(6000);
    expect(tracker.check(1n)).toBe(Err.sessionExpired);
  });

  test('add on a tracked session keeps its timeout but reschedules it (SessionTrackerImpl.trackSession)', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0);
    tracker.add(1n, 10_000, 0);
    expect(tracker.size).toBe(1);
    expect(tracker.get(1n)?.expiresAtMs).toBe(12_000);
    expect(tracker.get(1n)?.timeoutMs).toBe(4000);
    expect(tracker.expire(6000)).toEqual([]);
  });
});

describe('expire and close', () => {
  test('expire returns each session once, and marks it closing', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0);
    expect(tracker.expire(6000)).toEqual([1n]);
    expect(tracker.get(1n)?.closing).toBe(true);
    expect(tracker.expire(6000)).toEqual([]);
    expect(tracker.expire(60_000)).toEqual([]);
  });

  test('a session already closing (client closeSession) is not expired again', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0);
    tracker.add(2n, 4000, 0);
    tracker.setClosing(1n);
    expect(tracker.expire(6000)).toEqual([2n]);
  });

  test('a removed session is gone from its bucket and from checks', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0);
    tracker.remove(1n);
    tracker.remove(1n);
    expect(tracker.check(1n)).toBe(Err.unknownSession);
    expect(tracker.size).toBe(0);
    expect(tracker.expire(100_000)).toEqual([]);
  });

  test('setClosing on an unknown session is harmless', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.setClosing(5n);
    expect(tracker.check(5n)).toBe(Err.unknownSession);
  });

  test('all() lists live and closing sessions', () => {
    const tracker = new SessionTracker(TICK, 1, 0, 0);
    tracker.add(1n, 4000, 0);
    tracker.add(2n, 4000, 0);
    tracker.setClosing(2n);
    expect([...tracker.all()].map((s) => [s.id, s.closing])).toEqual([
      [1n, false],
      [2n, true],
    ]);
  });
});

describe('against a model on a fake clock', () => {
  test('a session expires exactly at the first tick boundary after its last touch + timeout', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 1, max: 4 }), timeoutMs: fc.integer({ min: 0, max: 9000 }) }),
      fc.record({ kind: fc.constant('touch' as const), id: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('close' as const), id: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.array(op, { maxLength: 40 }), (start, ops) => {
        let now = start;
        const tracker = new SessionTracker(TICK, 1, 0, now);
        // model: id -> { deadline bucket, timeout, closing }
        const model = new Map<bigint, { at: number; timeoutMs: number; closing: boolean }>();
        const roundUp = (t: number): number => (Math.floor(t / TICK) + 1) * TICK;
        let processedUpTo = roundUp(start) - TICK; // buckets <= this were polled
        const expiredEver = new Set<bigint>();
        for (const o of ops) {
          if (o.kind === 'advance') {
            now += o.ms;
            const got = tracker.expire(now).sort((a, b) => (a < b ? -1 : 1));
            const due = Math.floor(now / TICK) * TICK;
            const want: bigint[] = [];
            for (const [id, s] of model) {
              if (!s.closing && s.at > processedUpTo && s.at <= due) {
                s.closing = true;
                want.push(id);
              }
            }
            if (due > processedUpTo) processedUpTo = due;
            want.sort((a, b) => (a < b ? -1 : 1));
            expect(got).toEqual(want);
            for (const id of got) {
              expect(expiredEver.has(id)).toBe(false);
              expiredEver.add(id);
            }
          } else {
            const id = BigInt(o.id);
            const s = model.get(id);
            if (o.kind === 'add') {
              if (expiredEver.has(id)) continue; // ids are never reused in a real server
              tracker.add(id, o.timeoutMs, now);
              if (s === undefined) model.set(id, { at: roundUp(now + o.timeoutMs), timeoutMs: o.timeoutMs, closing: false });
              else s.at = roundUp(now + o.timeoutMs);
            } else if (o.kind === 'touch') {
              const ok = tracker.touch(id, now);
              expect(ok).toBe(s !== undefined && !s.closing);
              if (ok && s !== undefined) s.at = roundUp(now + s.timeoutMs);
            } else if (o.kind === 'close') {
              tracker.setClosing(id);
              if (s !== undefined) s.closing = true;
            } else {
              tracker.remove(id);
              model.delete(id);
            }
          }
          for (const [id, s] of model) {
            expect(tracker.check(id)).toBe(s.closing ? Err.sessionExpired : Err.ok);
          }
          expect(tracker.size).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('SessionTracker.discardDue (a learner: the leader owns expiry)', () => {
  test('moves the next due time on, expires nobody, and a touch files the session again', () => {
    const tracker = new SessionTracker(100, 1, 0, 0);
    tracker.add(7n, 300, 0);
    expect(tracker.waitMs(1_000)).toBe(0);
    tracker.discardDue(1_000);
    // Not stuck at 0 (a timer armed on waitMs would spin): the next bucket is one tick away.
    expect(tracker.waitMs(1_000)).toBe(100);
    expect(tracker.check(7n)).toBe(0);
    expect(tracker.touch(7n, 1_000)).toBe(true);
    expect(tracker.expire(1_300)).toEqual([]);
    expect(tracker.expire(1_400)).toEqual([7n]);
  });
});
