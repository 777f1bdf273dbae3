import { OpCode } from '../../src/proto/opcodes.js';
import { OPEN_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import type { Prng } from '../../src/util/prng.js';

/**
 * Client writes: creates, updates and deletes over a small set of znodes, so that txns touch
 * the same nodes and any divergence shows in the tree digest. Every txn gets a unique cxid,
 * which the checkers use as its identity.
 */
export class Workload {
  private nextCxid = 1;
  private created = 0;

  constructor(private readonly rng: Prng) {}

  makeTxn(zxid: bigint, timeMs: number): TxnEntry {
    const cxid = this.nextCxid++;
    const clientId = BigInt(1 + (cxid % 3));
    const hdrOf = (type: number) => ({ clientId, cxid, zxid, time: timeMs, type });
    const roll = this.rng.nextInt(10);
    if (this.created === 0 || roll < 4) {
      const path = `/n${this.created++}`;
      const data = Buffer.from(`c${cxid}`);
      return {
        hdr: hdrOf(OpCode.create),
        body: { type: OpCode.create, record: { path, data, acl: [...OPEN_ACL_UNSAFE], ephemeral: false, parentCVersion: -1 } },
        digest: null,
      };
    }
    const path = `/n${this.rng.nextInt(this.created)}`;
    if (roll < 9) {
      return {
        hdr: hdrOf(OpCode.setData),
        body: { type: OpCode.setData, record: { path, data: Buffer.from(`s${cxid}`), version: cxid % 1000 } },
        digest: null,
      };
    }
    return { hdr: hdrOf(OpCode.delete), body: { type: OpCode.delete, record: { path } }, digest: null };
  }
}
