import type { ACL } from '../proto/data.js';
import { parentOf } from './paths.js';
import { EventType } from '../proto/events.js';

/** Whoever registered a watch: in the server, a client connection. */
export interface Watcher {
  /**
   * Called synchronously while the tree applies a txn; must only queue the event. `acl` is that
   * of the node the event is about (the parent's for NodeChildrenChanged): a watcher without READ
   * on it must drop the event (ZooKeeper's fix for CVE-2024-23944). Absent for events that are not
   * filtered (setWatches on reconnect).
   */
  notifyWatch(eventType: number, path: string, acl?: readonly ACL[]): void;
}

/** Per (watcher, path), one mode; registering again replaces it, as in ZooKeeper 3.8. */
export const WatchMode = {
  standard: 0,
  persistent: 1,
  persistentRecursive: 2,
} as const;
export type WatchModeValue = (typeof WatchMode)[keyof typeof WatchMode];

/**
 * One table of watches (the tree keeps two: data and child). Standard watches fire once;
 * persistent ones stay; recursive ones also fire for every descendant, except for
 * NodeChildrenChanged.
 */
export class WatchManager {
  /** path -> watcher -> mode */
  private readonly byPath = new Map<string, Map<Watcher, WatchModeValue>>();
  /** watcher -> paths it watches, for removing a closed connection in one pass */
  private readonly byWatcher = new Map<Watcher, Set<string>>();
  private recursiveCount = 0;

  add(path: string, watcher: Watcher, mode: WatchModeValue = WatchMode.standard): void {
    let watchers = this.byPath.get(path);
    if (watchers === undefined) {
      watchers = new Map();
      this.byPath.set(path, watchers);
    }
    const previous = watchers.get(watcher);
    if (previous === WatchMode.persistentRecursive) this.recursiveCount--;
    if (mode === WatchMode.persistentRecursive) this.recursiveCount++;
    watchers.set(watcher, mode);
    let paths = this.byWatcher.get(watcher);
    if (paths === undefined) {
      paths = new Set();
      this.byWatcher.set(watcher, paths);
    }
    paths.add(path);
  }

  /**
   * Fire `eventType` at `path`. Watchers in `suppress` are not notified (they already were by the
   * other table). Returns the watchers notified or suppressed, for the caller's next table.
   */
  trigger(path: string, eventType: number, acl: readonly ACL[], suppress?: ReadonlySet<Watcher>): Set<Watcher> | undefined {
    let fired: Set<Watcher> | undefined;
    const leaf = this.byPath.get(path);
    if (leaf !== undefined) {
      for (const [watcher, mode] of leaf) {
        if (mode === WatchMode.persistentRecursive && eventType === EventType.nodeChildrenChanged) continue;
        (fired ??= new Set()).add(watcher);
        if (mode === WatchMode.standard) {
          leaf.delete(watcher);
          this.forgetPath(watcher, path);
        }
      }
      if (leaf.size === 0) this.byPath.delete(path);
    }
    if (this.recursiveCount > 0 && eventType !== EventType.nodeChildrenChanged && path !== '/') {
      for (let p = parentOf(path); ; p = parentOf(p)) {
        const ancestor = this.byPath.get(p === '' ? '/' : p);
        if (ancestor !== undefined) {
          for (const [watcher, mode] of ancestor) {
            if (mode === WatchMode.persistentRecursive) (fired ??= new Set()).add(watcher);
          }
        }
        if (p === '') break;
      }
    }
    if (fired === undefined) return undefined;
    for (const watcher of fired) {
      if (suppress === undefined || !suppress.has(watcher)) watcher.notifyWatch(eventType, path, acl);
    }
    return fired;
  }

  private forgetPath(watcher: Watcher, path: string): void {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    paths.delete(path);
    if (paths.size === 0) this.byWatcher.delete(watcher);
  }

  /** Remove one watcher's watch on one path; false when there was none. */
  remove(path: string, watcher: Watcher): boolean {
    const watchers = this.byPath.get(path);
    const mode = watchers?.get(watcher);
    if (watchers === undefined || mode === undefined) return false;
    watchers.delete(watcher);
    if (watchers.size === 0) this.byPath.delete(path);
    if (mode === WatchMode.persistentRecursive) this.recursiveCount--;
    this.forgetPath(watcher, path);
    return true;
  }

  /**
   * ZooKeeper 3.8's containsWatcher answers whether anyone watches exactly this path (its leaf
   * check does not look at which watcher); checkWatches inherits that.
   */
  hasWatchers(path: string): boolean {
    return this.byPath.has(path);
  }

  /** The mode of watcher's watch on exactly this path, if any. */
  modeOf(path: string, watcher: Watcher): WatchModeValue | undefined {
    return this.byPath.get(path)?.get(watcher);
  }

  /** Drop every watch of a closed connection. */
  removeWatcher(watcher: Watcher): void {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    for (const path of paths) {
      const watchers = this.byPath.get(path);
      if (watchers === undefined) continue;
      if (watchers.get(watcher) === WatchMode.persistentRecursive) this.recursiveCount--;
      watchers.delete(watcher);
      if (watchers.size === 0) this.byPath.delete(path);
    }
    this.byWatcher.delete(watcher);
  }

  pathsOf(watcher: Watcher): ReadonlySet<string> {
    return this.byWatcher.get(watcher) ?? new Set();
  }

  watchersOf(path: string): Iterable<Watcher> {
    return this.byPath.get(path)?.keys() ?? [];
  }

  /** For wchs: connections, paths, total watches. */
  summary(): { watchers: number; paths: number; watches: number } {
    let watches = 0;
    for (const paths of this.byWatcher.values()) watches += paths.size;
    return { watchers: this.byWatcher.size, paths: this.byPath.size, watches };
  }

  entriesByPath(): IterableIterator<[string, Map<Watcher, WatchModeValue>]> {
    return this.byPath.entries();
  }

  entriesByWatcher(): IterableIterator<[Watcher, Set<string>]> {
    return this.byWatcher.entries();
  }
}
