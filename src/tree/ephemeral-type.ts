/**
 * The meaning packed into Stat.ephemeralOwner: 0 for a persistent node, a session id for an
 * ephemeral, Long.MIN_VALUE for a container, and (when extended types are on) 0xff00.. | ttl
 * for a TTL node.
 */
export const CONTAINER_EPHEMERAL_OWNER = -0x8000_0000_0000_0000n;
const EXTENDED_MASK = -0x0100_0000_0000_0000n; // 0xff00000000000000 as a signed long
const RESERVED_BITS_MASK = 0x00ff_ff00_0000_0000n;
const EXTENDED_BIT_TTL = 0n;
/** Largest TTL in ms: the bits below the extended and reserved bytes. */
export const TTL_MAX_MS = 0x0000_00ff_ffff_ffffn;

export type EphemeralKind = 'void' | 'normal' | 'container' | 'ttl';

export function ephemeralKind(owner: bigint, extendedTypesEnabled: boolean): EphemeralKind {
  if (extendedTypesEnabled && (owner & EXTENDED_MASK) === EXTENDED_MASK) {
    const feature = (owner & RESERVED_BITS_MASK) >> 40n;
    if (feature === EXTENDED_BIT_TTL) return 'ttl';
  }
  if (owner === CONTAINER_EPHEMERAL_OWNER) return 'container';
  return owner === 0n ? 'void' : 'normal';
}

/** Null when the TTL is out of range (ZooKeeper answers BadArguments). */
export function ttlOwner(ttlMs: number): bigint | null {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || BigInt(ttlMs) > TTL_MAX_MS) return null;
  return EXTENDED_MASK | EXTENDED_BIT_TTL | BigInt(ttlMs);
}

export function ttlOf(owner: bigint): number {
  return Number(owner & ~(EXTENDED_MASK | RESERVED_BITS_MASK));
}
