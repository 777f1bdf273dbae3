/**
 * Quotas as ZooKeeper keeps them: for a quota on /app, zkCli creates
 * /zookeeper/quota/app/zookeeper_limits (the limits) and .../zookeeper_stats (the usage).
 * The server tracks which paths have quotas and rewrites the stats node's data in place on
 * every create, delete and setData under them (no txn, no version change), exactly like
 * ZooKeeper's DataTree does. Data format (StatsTrack):
 *   "count=<n>,bytes=<n>"  then, when more keys exist, "=" and ";key=value" sorted by key,
 *   e.g. "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2".
 */
export const QUOTA_ROOT = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

export function limitPath(path: string): string {
  return `${QUOTA_ROOT}${path}/${LIMIT_NODE}`;
}

export function statPath(path: string): string {
  return `${QUOTA_ROOT}${path}/${STAT_NODE}`;
}

export class StatsTrack {
  readonly values = new Map<string, number>();

  static parse(data: Buffer | null): StatsTrack {
    const track = new StatsTrack();
    if (data === null || data.length === 0) return track;
    for (const pair of data.toString('utf8').split(/[,;]+/)) {
      if (pair === '') continue;
      const [key = '', value = ''] = pair.split('=');
      const n = value === '' ? -1 : Number.parseInt(value, 10);
      track.values.set(key, Number.isNaN(n) ? -1 : n);
    }
    return track;
  }

  get(key: string): number {
    return this.values.get(key) ?? -1;
  }

  set(key: string, value: number): void {
    this.values.set(key, value);
  }

  toString(): string {
    let out = `count=${this.get('count')},bytes=${this.get('bytes')}`;
    const rest = [...this.values.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    if (rest.length > 0) {
      out += '=';
      for (const key of rest) out += `;${key}=${this.values.get(key)}`;
    }
    return out;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.toString(), 'utf8');
  }
}

/** The set of paths that have a quota, answering "longest quota'd prefix of this path". */
export class QuotaPaths {
  private readonly paths = new Set<string>();

  add(path: string): void {
    this.paths.add(path);
  }

  delete(path: string): void {
    this.paths.delete(path);
  }

  get size(): number {
    return this.paths.size;
  }

  all(): IterableIterator<string> {
    return this.paths.values();
  }

  /** The longest path with a quota that is `path` or an ancestor of it (by whole components). */
  maxPrefix(path: string): string | null {
    if (this.paths.size === 0) return null;
    for (let p = path; p.length > 0; p = p.substring(0, p.lastIndexOf('/'))) {
      if (this.paths.has(p)) return p === '/' ? null : p;
    }
    return null;
  }
}
