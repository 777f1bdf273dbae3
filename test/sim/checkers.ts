import type { TxnEntry } from '../../src/txn/txn.js';
import { epochOf, zxidHex } from '../../src/quorum/zab/zxid.js';
import type { SimDisk } from './sim-disk.js';
import { SimFailure } from './sim-failure.js';

/**
 * The invariants, checked as things happen (the simulator calls in after every step):
 * - at most one leader establishes each epoch;
 * - every server's applied txns are a prefix of one global sequence (same zxid, same txn at
 *   each position, no gaps), and its tree digest after position i equals everyone else's;
 * - an acknowledged txn (applied by the leader that proposed it) is in the history of every
 *   leader of a later epoch when it establishes that epoch, so it is never lost;
 * - (optional, white-box) every committed txn is durable on a quorum of voters' disks, and a
 *   disk whose currentEpoch is an established epoch e holds e's initial history (the history
 *   its leader synced before NEWLEADER), which is what currentEpoch promises to the election.
 * Txns are told apart by cxid: the workload gives every txn a unique one.
 */
export class Checkers {
  private readonly seqZxid: bigint[] = [];
  private readonly seqCxid: number[] = [];
  private readonly seqDigest: bigint[] = [];
  private readonly leaderOfEpoch = new Map<bigint, number>();
  /** The last zxid of each established epoch's initial history. */
  private readonly initialHistoryEnd = new Map<bigint, bigint>();
  private readonly acked: { zxid: bigint; cxid: number }[] = [];

  constructor(
    private readonly voterDisks: () => SimDisk[],
    private readonly durableQuorum: boolean,
  ) {}

  get committedCount(): number {
    return this.seqZxid.length;
  }

  get ackedCount(): number {
    return this.acked.length;
  }

  get establishedEpochs(): number {
    return this.leaderOfEpoch.size;
  }

  /** Server `sid` applied `entry` as the index-th txn of its history; `digest` is its tree's after. */
  onApply(sid: number, index: number, entry: TxnEntry, digest: bigint): void {
    const zxid = entry.hdr.zxid;
    const cxid = entry.hdr.cxid;
    if (index < this.seqZxid.length) {
      if (this.seqZxid[index] !== zxid || this.seqCxid[index] !== cxid) {
        throw new SimFailure(
          `s${sid} applied ${zxidHex(zxid)} (cxid ${cxid}) at position ${index}, where others applied ` +
            `${zxidHex(this.seqZxid[index]!)} (cxid ${this.seqCxid[index]})`,
          'prefix',
        );
      }
      if (this.seqDigest[index] !== digest) {
        throw new SimFailure(`s${sid} tree digest ${digest} at ${zxidHex(zxid)} differs from ${this.seqDigest[index]}`, 'digest');
      }
      return;
    }
    if (index !== this.seqZxid.length) throw new SimFailure(`s${sid} applied position ${index} past the end`, 'prefix');
    const prev = this.seqZxid[index - 1];
    if (prev !== undefined && zxid <= prev) {
      throw new SimFailure(`s${sid} committed ${zxidHex(zxid)} after ${zxidHex(prev)}`, 'prefix');
    }
    this.seqZxid.push(zxid);
    this.seqCxid.push(cxid);
    this.seqDigest.push(digest);
    if (this.durableQuorum) this.checkDurable(index);
  }

  onEstablished(sid: number, epoch: bigint, historyEnd: bigint, lookupCxid: (zxid: bigint) => number | undefined): void {
    const other = this.leaderOfEpoch.get(epoch);
    if (other !== undefined) throw new SimFailure(`s${sid} and s${other} both established epoch ${epoch}`, 'one-leader');
    this.leaderOfEpoch.set(epoch, sid);
    this.initialHistoryEnd.set(epoch, historyEnd);
    for (const a of this.acked) {
      // A leader can establish an epoch its quorum has since left behind (it learns so at its
      // next tick); it cannot commit anything then. It owes only what earlier epochs acked.
      if (epochOf(a.zxid) >= epoch) continue;
      const cxid = lookupCxid(a.zxid);
      if (cxid !== a.cxid) {
        throw new SimFailure(
          `s${sid} established epoch ${epoch} without acknowledged ${zxidHex(a.zxid)} (cxid ${a.cxid}; it has ${cxid ?? 'nothing'})`,
          'acked-lost',
        );
      }
    }
  }

  onAcked(zxid: bigint, cxid: number): void {
    this.acked.push({ zxid, cxid });
  }

  /** After a disk's durable state changed: its currentEpoch must be backed by its history. */
  checkEpochHistory(sid: number, disk: SimDisk): void {
    if (!this.durableQuorum) return;
    const end = this.initialHistoryEnd.get(disk.currentEpoch);
    if (end === undefined || end === 0n) return;
    const want = this.cxidAt(end);
    const have = disk.durableCxid(end);
    if (want !== undefined && have !== want) {
      throw new SimFailure(
        `s${sid} has currentEpoch ${disk.currentEpoch} on disk without that epoch's initial history up to ${zxidHex(end)}`,
        'epoch-history',
      );
    }
  }

  private cxidAt(zxid: bigint): number | undefined {
    let lo = 0;
    let hi = this.seqZxid.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const z = this.seqZxid[mid]!;
      if (z === zxid) return this.seqCxid[mid];
      if (z < zxid) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** After durable data was removed somewhere (truncate, snapshot install, crash). */
  recheckDurable(): void {
    if (!this.durableQuorum) return;
    for (let i = 0; i < this.seqZxid.length; i++) this.checkDurable(i);
  }

  private checkDurable(index: number): void {
    const zxid = this.seqZxid[index]!;
    const cxid = this.seqCxid[index]!;
    const disks = this.voterDisks();
    let n = 0;
    for (const d of disks) if (d.durableCxid(zxid) === cxid) n++;
    if (n * 2 <= disks.length) {
      throw new SimFailure(`committed ${zxidHex(zxid)} (cxid ${cxid}) is durable on only ${n} of ${disks.length} voters`, 'durable-quorum');
    }
  }
}
