import type { TxnEntry } from '../../txn/txn.js';
import { fail } from './fail.js';
import { zxidHex } from './zxid.js';

/**
 * A peer's history as ZAB sees it: a snapshot up to `snapshotZxid` (its content lives with the
 * driver), then logged txns in ascending zxid order. This is the in-memory view, including
 * writes that are not durable yet; the peer tracks durability through persist tokens.
 */
export class History {
  snapshotZxid: bigint;
  private entries: TxnEntry[];

  constructor(snapshotZxid: bigint, log: readonly TxnEntry[]) {
    this.snapshotZxid = snapshotZxid;
    this.entries = [...log];
    let prev = snapshotZxid;
    for (const e of this.entries) {
      if (e.hdr.zxid <= prev) fail(`history out of order at ${zxidHex(e.hdr.zxid)}`);
      prev = e.hdr.zxid;
    }
  }

  get length(): number {
    return this.entries.length;
  }

  get lastZxid(): bigint {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapshotZxid : last.hdr.zxid;
  }

  at(index: number): TxnEntry {
    const e = this.entries[index];
    if (e === undefined) fail(`history index ${index} out of range`);
    return e;
  }

  /** Index of the entry with this zxid, or -1. */
  indexOf(zxid: bigint): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const z = this.entries[mid]!.hdr.zxid;
      if (z === zxid) return mid;
      if (z < zxid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Index of the first entry with a zxid above `zxid`. */
  firstAfter(zxid: bigint): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.hdr.zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether the history holds zxid: as a logged txn, or as the snapshot's last one. */
  has(zxid: bigint): boolean {
    return zxid === this.snapshotZxid || this.indexOf(zxid) >= 0;
  }

  get(zxid: bigint): TxnEntry | undefined {
    const i = this.indexOf(zxid);
    return i < 0 ? undefined : this.entries[i];
  }

  slice(from: number, to = this.entries.length): TxnEntry[] {
    return this.entries.slice(from, to);
  }

  append(entry: TxnEntry): void {
    if (entry.hdr.zxid <= this.lastZxid) fail(`append ${zxidHex(entry.hdr.zxid)} after ${zxidHex(this.lastZxid)}`);
    this.entries.push(entry);
  }

  /** Drop every txn after zxid, which must be the snapshot's zxid or a logged one. */
  truncateTo(zxid: bigint): void {
    if (zxid !== this.snapshotZxid && this.indexOf(zxid) < 0) fail(`truncate to ${zxidHex(zxid)}: not in the history`);
    this.entries.length = this.firstAfter(zxid);
  }

  /**
   * Forget the entries up to zxid, as if a snapshot at zxid held them (the driver's tree does):
   * a learner further behind is then sent a SNAP. Only for committed, applied txns.
   */
  compactTo(zxid: bigint): void {
    const keepFrom = this.firstAfter(zxid);
    if (keepFrom === 0) return;
    this.snapshotZxid = this.entries[keepFrom - 1]!.hdr.zxid;
    this.entries = this.entries.slice(keepFrom);
  }

  installSnapshot(zxid: bigint): void {
    this.snapshotZxid = zxid;
    this.entries = [];
  }
}
