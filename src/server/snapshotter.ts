import type { Logger } from 'pino';
import { writeSnapshot } from '../persist/snapshot-writer.js';
import type { TxnLogWriter } from '../persist/txn-log-writer.js';
import type { ZkServer } from './zk-server.js';

/** Serialisation time per event-loop turn while a snapshot is written (the bench measured 2 ms
 * slices adding ~10 ms to a write, which needs several turns; 0.5 ms cut that by half or more). */
const SLICE_MS = 0.5;
/**
 * Under heavy load the turns get long and 0.5 ms each left a 100k-node snapshot taking 2-6 s
 * (and the next one skipped, "too busy to snapshot"): slices stretch, up to 5 ms, so that the
 * snapshot gets about a fifth of the time.
 */
const CPU_SHARE = 0.2;

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
    this.count = 0;
    this.threshold = this.nextThreshold();
    if (this.running !== null) {
      // As ZooKeeper: too busy to snap; count afresh rather than snapshot back to back.
      this.log.warn('too busy to snapshot: the previous snapshot is still being written');
      return;
    }
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
      // Short slices: a request waits for at most one slice per event-loop turn it needs.
      const written = await writeSnapshot(this.snapDir, tree, this.server.sessionTimeouts(), zxid, {
        fsync: this.policy.fsync,
        sliceMs: SLICE_MS,
        cpuShare: CPU_SHARE,
      });
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
