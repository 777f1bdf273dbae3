/**
 * Session passwords exactly as ZooKeeper derives them: 16 bytes from java.util.Random seeded
 * with (sessionId ^ 0xB3415C00). Any server can then verify a reconnecting client's password
 * without storing it, and a session can move between tszk and Java servers.
 */
const SUPER_SECRET = 0xb3415c00n;
const MULTIPLIER = 0x5deece66dn;
const MASK_48 = (1n << 48n) - 1n;

/** java.util.Random, as far as nextBytes needs it. */
class JavaRandom {
  private seed: bigint;

  constructor(seed: bigint) {
    this.seed = (BigInt.asUintN(64, seed) ^ MULTIPLIER) & MASK_48;
  }

  private nextInt(): number {
    this.seed = (this.seed * MULTIPLIER + 0xbn) & MASK_48;
    return Number(BigInt.asIntN(32, this.seed >> 16n));
  }

  nextBytes(out: Uint8Array): void {
    for (let i = 0; i < out.length; ) {
      let rnd = this.nextInt();
      for (let n = Math.min(out.length - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
    }
  }
}

export function sessionPassword(sessionId: bigint): Buffer {
  const out = Buffer.alloc(16);
  new JavaRandom(sessionId ^ SUPER_SECRET).nextBytes(out);
  return out;
}

export function checkPassword(sessionId: bigint, password: Uint8Array | null): boolean {
  return sessionId !== 0n && password !== null && sessionPassword(sessionId).equals(password);
}
