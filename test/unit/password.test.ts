import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { checkPassword, sessionPassword } from '../../src/session/password.js';

// Computed with a real JVM: new Random(sessionId ^ 0xB3415C00L).nextBytes(new byte[16]).
const FIXTURES: Array<[bigint, string]> = [
  [72057594037927936n, 'f22acd4a97e69d6d20a49bb638eadb38'],
  [-5n, 'd47144b5e45e45c49c3b7fdcd66257ba'],
  [123456789012345n, '8bf4c71b6a74227de170ea4c5d4abf4c'],
];

describe('sessionPassword', () => {
  test.each(FIXTURES)('session %s gives the password Java gives', (sessionId, hex) => {
    const password = sessionPassword(sessionId);
    expect(password.length).toBe(16);
    expect(password.toString('hex')).toBe(hex);
  });

  test('is a pure function of the session id', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (id) => {
        expect(sessionPassword(id).equals(sessionPassword(id))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test('differs between neighbouring session ids', () => {
    const seen = new Set<string>();
    for (let i = 0n; i < 256n; i++) seen.add(sessionPassword(0x0100_0000_0001_0000n + i).toString('hex'));
    expect(seen.size).toBe(256);
  });

  test('only the low 64 bits of the id count, as with a Java long', () => {
    expect(sessionPassword(-5n).equals(sessionPassword((1n << 64n) - 5n))).toBe(true);
  });
});

describe('checkPassword', () => {
  test('accepts the derived password and nothing else', () => {
    const id = 72057594037927936n;
    const good = Buffer.from(FIXTURES[0]![1], 'hex');
    expect(checkPassword(id, good)).toBe(true);
    expect(checkPassword(id, new Uint8Array(good))).toBe(true);
    const bad = Buffer.from(good);
    bad.writeUInt8(bad.readUInt8(15) ^ 1, 15);
    expect(checkPassword(id, bad)).toBe(false);
    expect(checkPassword(id, good.subarray(0, 15))).toBe(false);
    expect(checkPassword(id, Buffer.concat([good, Buffer.of(0)]))).toBe(false);
    expect(checkPassword(id, null)).toBe(false);
    expect(checkPassword(id + 1n, good)).toBe(false);
  });

  test('session 0 never checks out, even with its own derived bytes (ZooKeeperServer.checkPasswd)', () => {
    expect(checkPassword(0n, sessionPassword(0n))).toBe(false);
  });
});
