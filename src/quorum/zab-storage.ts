/**
 * Carries out ZAB's persist items (zab/ready.ts) on the real disks, strictly in order, and
 * reports each token once its write is durable. Consecutive txn appends are one group commit:
 * appended together, then one flush (write + fdatasync). Epoch files are replaced atomically;
 * a TRUNC cuts the txn log; a SNAP writes the received database as a snapshot and then drops the
 * txn log it supersedes. Any failure is fatal to the server (the caller exits): a peer that
 * cannot persist must not ack anything.
 */
import type { Logger } from 'pino';
import { ACCEPTED_EPOCH, CURRENT_EPOCH, writeEpoch } from '../persist/epoch-file.js';
import { writeSnapshot } from '../persist/snapshot-writer.js';
import type { TxnLogWriter } from '../persist/txn-log-writer.js';
import type { DataTree } from '../tree/data-tree.js';
import type { PersistItem } from './zab/ready.js';

export interface ZabStorageHooks {
  /** The token's write is durable. */
  durable(token: number): void;
  /** The database a SNAP brought (the tree the learner now holds, at zxid). */
  snapshotToInstall(zxid: bigint): { tree: DataTree; sessions: Iterable<readonly [bigint, number]> };
  /** After the log was cut back to zxid (the tree may hold txns past it). */
  afterTruncate(zxid: bigint): Promise<void>;
  failed(err: Error): void;
}

export class ZabStorage {
  private readonly queue: PersistItem[] = [];
  private running = false;

  constructor(
    private readonly txnLog: TxnLogWriter,
    private readonly snapDir: string,
    private readonly forceSync: boolean,
    private readonly hooks: ZabStorageHooks,
    private readonly log: Logger,
  ) {}

  /** Items not yet durable. */
  get pending(): number {
    return this.queue.length;
  }

  submit(items: readonly PersistItem[]): void {
    for (const item of items) this.queue.push(item);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const first = this.queue[0]!;
        if (first.op.type === 'appendTxns') {
          // Everything queued up to the next non-append goes out in one flush.
          let n = 0;
          while (n < this.queue.length && this.queue[n]!.op.type === 'appendTxns') n++;
          const batch = this.queue.splice(0, n);
          for (const item of batch) {
            if (item.op.type === 'appendTxns') for (const entry of item.op.entries) this.txnLog.append(entry);
          }
          await new Promise<void>((resolve, reject) => this.txnLog.flush((err) => (err === null ? resolve() : reject(err))));
          for (const item of batch) this.hooks.durable(item.token);
          continue;
        }
        this.queue.shift();
        await this.write(first);
        this.hooks.durable(first.token);
      }
    } catch (err) {
      this.hooks.failed(err as Error);
    } finally {
      this.running = false;
    }
  }

  private async write(item: PersistItem): Promise<void> {
    const op = item.op;
    switch (op.type) {
      case 'writeAcceptedEpoch':
        return writeEpoch(this.snapDir, ACCEPTED_EPOCH, op.epoch);
      case 'writeCurrentEpoch':
        return writeEpoch(this.snapDir, CURRENT_EPOCH, op.epoch);
      case 'truncateTo':
        this.log.info({ zxid: `0x${op.zxid.toString(16)}` }, 'truncating the txn log (TRUNC from the leader)');
        await this.txnLog.truncateAfter(op.zxid);
        return this.hooks.afterTruncate(op.zxid);
      case 'installSnapshot': {
        const { tree, sessions } = this.hooks.snapshotToInstall(op.zxid);
        const written = await writeSnapshot(this.snapDir, tree, sessions, op.zxid, { fsync: this.forceSync });
        await this.txnLog.discardAll();
        this.log.info({ zxid: `0x${op.zxid.toString(16)}`, nodes: written.nodes }, 'installed the leader\'s snapshot');
        return;
      }
      case 'appendTxns':
        throw new Error('unreachable');
    }
  }
}
