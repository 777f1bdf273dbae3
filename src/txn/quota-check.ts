import { Err } from '../proto/error-codes.js';
import type { DataTree } from '../tree/data-tree.js';
import { StatsTrack, limitPath, statPath } from '../tree/quota.js';

/**
 * With enforceQuota, refuse a create or setData that would take a quota'd subtree past a hard
 * limit (countHardLimit / byteHardLimit, or the soft count / bytes when no hard limit is set and
 * the soft one is exceeded only logs in ZooKeeper - so only hard limits refuse).
 */
export function quotaAllows(tree: DataTree, path: string, bytesDiff: number, countDiff: number): number {
  const prefix = tree.quotas.maxPrefix(path);
  if (prefix === null) return Err.ok;
  const limitNode = tree.get(limitPath(prefix));
  const statNode = tree.get(statPath(prefix));
  if (limitNode === undefined || statNode === undefined) return Err.ok;
  const limits = StatsTrack.parse(limitNode.data);
  const usage = StatsTrack.parse(statNode.data);
  if (countDiff !== 0) {
    const hard = limits.get('countHardLimit');
    if (hard > -1 && usage.get('count') + countDiff > hard) return Err.quotaExceeded;
  }
  if (bytesDiff !== 0) {
    const hard = limits.get('byteHardLimit');
    if (hard > -1 && usage.get('bytes') + bytesDiff > hard) return Err.quotaExceeded;
  }
  return Err.ok;
}
