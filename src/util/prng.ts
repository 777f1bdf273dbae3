/**
 * A small seeded pseudo-random generator for simulations and anything else that must replay from
 * a seed: xoshiro128** (Blackman and Vigna) over four 32-bit words, seeded through splitmix32 so
 * that nearby seeds give unrelated streams. Not for secrets.
 *
 * Pure: no Math.random, no clock. The whole state is four numbers, so a generator can be copied
 * (`clone`) to replay a stream, or split (`fork`) to give each simulated component its own stream
 * without the components disturbing each other's draws.
 */
import { assert } from './assert.js';

const UINT32 = 0x1_0000_0000;

/** One step of splitmix32 over a 32-bit state: returns [output, next state]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [z, next];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(s0: number, s1: number, s2: number, s3: number) {
    // xoshiro's one forbidden state is all zeroes; splitmix32 never yields four zero words in a row
    // from one seed, but a cloned or hand-built state could.
    assert((s0 | s1 | s2 | s3) !== 0, 'Prng: all-zero state');
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** A generator from any integer seed (only its low 32 bits matter). */
  static fromSeed(seed: number): Prng {
    assert(Number.isInteger(seed), `Prng.fromSeed: seed must be an integer, got ${seed}`);
    let state = seed >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32(state);
      words.push(out);
      state = next;
    }
    const [a = 0, b = 0, c = 0, d = 0] = words;
    return new Prng(a, b, c, d === 0 && (a | b | c) === 0 ? 1 : d);
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform integer in [0, maxExclusive), without modulo bias. 1 <= maxExclusive <= 2^32. */
  nextInt(maxExclusive: number): number {
    assert(
      Number.isInteger(maxExclusive) && maxExclusive >= 1 && maxExclusive <= UINT32,
      `Prng.nextInt: bound must be an integer in [1, 2^32], got ${maxExclusive}`,
    );
    // Reject the top sliver of the 32-bit range that does not divide evenly by the bound.
    const limit = UINT32 - (UINT32 % maxExclusive);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % maxExclusive;
    }
  }

  /** A uniform integer in [min, max] (both inclusive). */
  nextIntBetween(min: number, max: number): number {
    assert(max >= min, `Prng.nextIntBetween: max ${max} < min ${min}`);
    return min + this.nextInt(max - min + 1);
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** True with probability p (p <= 0 never, p >= 1 always; neither draws when p is 0 or 1). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.nextFloat() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'Prng.pick: empty array');
    return items[this.nextInt(items.length)] as T;
  }

  /** Shuffles in place (Fisher-Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * A new, independent generator seeded from this one's next draws. Forking advances this
   * generator, so the same sequence of calls always yields the same children.
   */
  fork(): Prng {
    return Prng.fromSeed(this.nextUint32() ^ Math.imul(this.nextUint32(), 0x9e3779b1));
  }

  /** An exact copy: both continue with the same stream. */
  clone(): Prng {
    return new Prng(this.s0, this.s1, this.s2, this.s3);
  }
}
