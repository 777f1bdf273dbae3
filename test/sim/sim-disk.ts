import type { PersistItem, ZabDurableState } from '../../src/quorum/zab/ready.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { SimFailure } from './sim-failure.js';
import type { Prng } from '../../src/util/prng.js';

type LogOp =
  | { type: 'append'; entry: TxnEntry; token: number }
  | { type: 'truncate'; zxid: bigint; token: number }
  | { type: 'install'; zxid: bigint; entries: readonly TxnEntry[]; token: number };

type EpochFile = 'acceptedEpoch' | 'currentEpoch';

/**
 * One server's disks. The txn log (with snapshots) is a sequence: an fsync makes every queued
 * op durable; a crash keeps a random prefix of the queued ops, cut at any txn (a torn tail).
 * The two epoch files are written apart from the log (temp file, fsync, rename), each with its
 * own latency: a crash keeps a random prefix of each file's queued writes, whatever the log
 * did. So durability across files is ordered only by what the core waits for.
 */
export class SimDisk {
  acceptedEpoch = 0n;
  currentEpoch = 0n;
  snapshotZxid = 0n;
  snapshotEntries: readonly TxnEntry[] = [];
  log: TxnEntry[] = [];
  private pendingLog: LogOp[] = [];
  private pendingEpochs: { file: EpochFile; value: bigint; token: number }[] = [];

  /** Queues a write; returns which device it went to. */
  write(item: PersistItem, snapshotContent: readonly TxnEntry[] | null): 'log' | 'epoch' {
    const { token, op } = item;
    switch (op.type) {
      case 'appendTxns':
        for (const entry of op.entries) this.pendingLog.push({ type: 'append', entry, token });
        return 'log';
      case 'truncateTo':
        this.pendingLog.push({ type: 'truncate', zxid: op.zxid, token });
        return 'log';
      case 'installSnapshot':
        if (snapshotContent === null) throw new SimFailure(`installSnapshot ${op.zxid} without a received snapshot`);
        this.pendingLog.push({ type: 'install', zxid: op.zxid, entries: snapshotContent, token });
        return 'log';
      case 'writeAcceptedEpoch':
        this.pendingEpochs.push({ file: 'acceptedEpoch', value: op.epoch, token });
        return 'epoch';
      case 'writeCurrentEpoch':
        this.pendingEpochs.push({ file: 'currentEpoch', value: op.epoch, token });
        return 'epoch';
    }
  }

  /** Whether a crash now would lose writes. */
  get hasPending(): boolean {
    return this.pendingLog.length > 0 || this.pendingEpochs.length > 0;
  }

  /** fsync of the log: returns the tokens that became durable and whether data was removed. */
  syncLog(): { tokens: number[]; removed: boolean } {
    const ops = this.pendingLog;
    this.pendingLog = [];
    const tokens: number[] = [];
    let removed = false;
    for (const op of ops) {
      removed = this.applyLogOp(op) || removed;
      if (tokens[tokens.length - 1] !== op.token) tokens.push(op.token);
    }
    return { tokens, removed };
  }

  /** The epoch write with this token, and earlier writes to the same file, are durable. */
  syncEpoch(token: number): number[] {
    const w = this.pendingEpochs.find((e) => e.token === token);
    if (w === undefined) return [];
    const done = this.pendingEpochs.filter((e) => e.file === w.file && e.token <= token);
    this.pendingEpochs = this.pendingEpochs.filter((e) => !(e.file === w.file && e.token <= token));
    for (const e of done) this[e.file] = e.value;
    return done.map((e) => e.token);
  }

  /** Power loss: unsynced writes survive only partly. Returns whether log data was removed. */
  crash(rng: Prng): boolean {
    const keep = rng.nextInt(this.pendingLog.length + 1);
    let removed = false;
    for (const op of this.pendingLog.slice(0, keep)) removed = this.applyLogOp(op) || removed;
    this.pendingLog = [];
    for (const file of ['acceptedEpoch', 'currentEpoch'] as const) {
      const writes = this.pendingEpochs.filter((e) => e.file === file);
      const n = rng.nextInt(writes.length + 1);
      if (n > 0) this[file] = writes[n - 1]!.value;
    }
    this.pendingEpochs = [];
    return removed;
  }

  durableState(): ZabDurableState {
    return {
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this.currentEpoch,
      snapshotZxid: this.snapshotZxid,
      log: [...this.log],
    };
  }

  /** The cxid of the durable txn at zxid, or undefined. */
  durableCxid(zxid: bigint): number | undefined {
    if (zxid <= this.snapshotZxid) return findCxid(this.snapshotEntries, zxid);
    return findCxid(this.log, zxid);
  }

  private applyLogOp(op: LogOp): boolean {
    switch (op.type) {
      case 'append': {
        const last = this.log[this.log.length - 1]?.hdr.zxid ?? this.snapshotZxid;
        if (op.entry.hdr.zxid <= last) throw new SimFailure(`disk append ${op.entry.hdr.zxid} after ${last}`);
        this.log.push(op.entry);
        return false;
      }
      case 'truncate': {
        if (op.zxid < this.snapshotZxid) throw new SimFailure(`disk truncate to ${op.zxid} below snapshot ${this.snapshotZxid}`);
        const before = this.log.length;
        this.log = this.log.filter((e) => e.hdr.zxid <= op.zxid);
        return this.log.length < before;
      }
      case 'install':
        this.snapshotZxid = op.zxid;
        this.snapshotEntries = op.entries;
        this.log = [];
        return true;
    }
  }
}

function findCxid(entries: readonly TxnEntry[], zxid: bigint): number | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const z = entries[mid]!.hdr.zxid;
    if (z === zxid) return entries[mid]!.hdr.cxid;
    if (z < zxid) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
