/**
 * A zxid is a signed 64-bit long: the epoch in the high 32 bits, a counter in the low 32 bits.
 * Counter 0 names the start of an epoch (NEWLEADER carries it); no txn has it.
 */

const COUNTER_MASK = 0xffffffffn;

export function makeZxid(epoch: bigint, counter: bigint): bigint {
  return BigInt.asIntN(64, (epoch << 32n) | (counter & COUNTER_MASK));
}

/** Arithmetic shift, as Java's `zxid >> 32`: the epoch of -1 is -1. */
export function epochOf(zxid: bigint): bigint {
  return zxid >> 32n;
}

export function counterOf(zxid: bigint): bigint {
  return zxid & COUNTER_MASK;
}

/** The counter a leader must never hand out: ZooKeeper forces a new epoch before it. */
export const COUNTER_ROLLOVER = COUNTER_MASK;

export function zxidHex(zxid: bigint): string {
  return `0x${BigInt.asUintN(64, zxid).toString(16)}`;
}
