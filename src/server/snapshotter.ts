import type { Logger } from 'pino';
import { writeSnapshot } from '../persist/snapshot-writer.js';
import type { TxnLogWriter } from '../persist/txn-log-writer.js';
import type { ZkServer } from './zk-server.js';

export interface SnapshotPolicy {
  /** zoo.cfg snapCount: snapshot after roughly this many txns (randomised between 1/2 and 1). */
  snapCount: number;
  fsync: boolean;
}

/**
 * When to snapshot, as ZooKeeper's SyncRequestProcessor decides: after snapCount/2 plus a random
 * share of snapCount/2 txns, so the servers of an ensemble do not all snapshot at once. The log
 * rolls first, so the new log file starts after the snapshot's zxid. Snapshots are fuzzy and
 * written in slices between requests; a threshold reached while one is running is skipped.
 */
export class Snapshotter {
  private count = 0;
  private threshold: number;
  private running: Promise<void> | null = null;

  constructor(
    private readonly server: ZkServer,
    private readonly txnLog: TxnLogWriter,
    private readonly snapDir: string,
    private readonly policy: SnapshotPolicy,
    private readonly log: Logger,
  ) {
    this.threshold = this.nextThreshold();
  }

  private nextThreshold(): number {
    const half = Math.max(1, Math.floor(this.policy.snapCount / 2));
    return half + Math.floor(Math.random() * half);
  }

  txnCommitted(): void {
    if (++this.count < this.threshold) return;
    if (this.running !== null) return;
    this.count = 0;
    this.threshold = this.nextThreshold();
    this.txnLog.rollLog();
    this.running = this.take().finally(() => {
      this.running = null;
    });
  }

  /** Write a snapshot of the tree as of now; resolves when it is on disk. */
  async take(): Promise<void> {
    const tree = this.server.tree;
    const zxid = tree.lastProcessedZxid;
    const startedMs = performance.now();
    try {
      const written = await writeSnapshot(this.snapDir, tree, this.server.sessionTimeouts(), zxid, { fsync: this.policy.fsync });
      this.log.info(
        { snapshot: written.path, nodes: written.nodes, bytes: written.bytes, ms: Math.round(performance.now() - startedMs) },
        'snapshot written',
      );
    } catch (err) {
      // The txn log still holds everything: a failed snapshot costs restart time, not data.
      this.log.error({ err }, 'snapshot failed');
    }
  }

  /** Wait for a running snapshot (shutdown). */
  async idle(): Promise<void> {
    await this.running;
  }
}
