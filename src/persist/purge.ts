import { join } from 'node:path';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { listSnapshots } from './snapshot-format.js';
import { listLogFiles, selectLogFiles } from './txn-log-format.js';

export interface PurgeResult {
  removedSnapshots: string[];
  removedLogs: string[];
}

/**
 * What ZooKeeper's PurgeTxnLog (zkCleanup.sh, autopurge) removes: every snapshot but the
 * `retainCount` newest, and every log file that holds only txns older than the oldest snapshot
 * kept (the log file that the oldest kept snapshot starts in stays, and all later ones).
 */
export async function purge(snapDir: string, logDir: string, retainCount: number, fs: FileSystem = nodeFileSystem): Promise<PurgeResult> {
  if (retainCount < 3) throw new RangeError(`snapRetainCount must be at least 3, not ${retainCount}`);
  const snapshots = await listSnapshots(snapDir, fs);
  const result: PurgeResult = { removedSnapshots: [], removedLogs: [] };
  if (snapshots.length <= retainCount) return result;
  const oldestKept = snapshots[retainCount - 1]!;
  for (const snap of snapshots.slice(retainCount)) {
    await fs.unlink(snap.path);
    result.removedSnapshots.push(snap.path);
  }
  if (!(await fs.exists(logDir))) return result;
  const logs = await listLogFiles(fs, logDir);
  const needed = new Set(selectLogFiles(logs, oldestKept.zxid).map((f) => f.name));
  for (const log of logs) {
    if (needed.has(log.name)) continue;
    const path = join(logDir, log.name);
    await fs.unlink(path);
    result.removedLogs.push(path);
  }
  return result;
}
