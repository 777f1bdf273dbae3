import type { DataTree } from '../../tree/data-tree.js';
import type { Watcher } from '../../tree/watch-manager.js';
import { systemClock } from '../clock.js';
import { hex64, javaDate } from './java-format.js';
import type { FourLetterView } from './types.js';

/** The session a watcher belongs to: watchers are client connections, which carry one. */
function sessionOf(watcher: Watcher): bigint {
  return 'sessionId' in watcher && typeof watcher.sessionId === 'bigint' ? watcher.sessionId : 0n;
}

/**
 * SessionTrackerImpl.dumpSessions: the expiry buckets in time order, each with its sessions.
 * ZooKeeper also lists buckets that have emptied ("0 expire at ..."); our tracker does not show
 * those, so only buckets that hold a session appear, and the first count says how many do.
 */
function sessionsText(view: FourLetterView): string {
  const clock = view.clock ?? systemClock;
  const buckets = new Map<number, bigint[]>();
  let count = 0;
  for (const session of view.server.sessions.all()) {
    let ids = buckets.get(session.expiresAtMs);
    if (ids === undefined) {
      ids = [];
      buckets.set(session.expiresAtMs, ids);
    }
    ids.push(session.id);
    count++;
  }
  // Expiry times are on the pipeline's monotonic clock; dates are wall-clock.
  const wallOffsetMs = clock.wallMs() - clock.elapsedMs();
  let out = `Session Sets (${buckets.size})/(${count}):\n`;
  for (const at of [...buckets.keys()].sort((a, b) => a - b)) {
    const ids = buckets.get(at) ?? [];
    out += `${ids.length} expire at ${javaDate(at + wallOffsetMs)}:\n`;
    for (const id of ids) out += `\t0x${hex64(id)}\n`;
  }
  return out;
}

/** DataTree.dumpEphemerals. */
function ephemeralsText(tree: DataTree): string {
  let out = `Sessions with Ephemerals (${tree.ephemerals.size}):\n`;
  for (const [sessionId, paths] of tree.ephemerals) {
    out += `0x${hex64(sessionId)}:\n`;
    for (const path of paths) out += `\t${path}\n`;
  }
  return out;
}

/**
 * `dump`: sessions with their expiry, then ephemerals by session. ZooKeeper's NIO server then
 * lists its connection expiry queue; tszk has no such queue (a connection lives as long as its
 * socket and its session), so, like ZooKeeper's Netty server, it prints only the heading.
 */
export function dumpText(view: FourLetterView): string {
  return (
    'SessionTracker dump:\n' +
    sessionsText(view) +
    'ephemeral nodes dump:\n' +
    ephemeralsText(view.server.tree) +
    'Connections dump:\n'
  );
}

/*
 * The watch words. ZooKeeper 3.8's DataTree.dumpWatches and dumpWatchesSummary read only the
 * data-watch table (exists and getData watches, persistent ones included), not the child-watch
 * table, while mntr's zk_watch_count counts both. We report the same tables as it does.
 */

/** `wchs`. */
export function watchSummaryText(view: FourLetterView): string {
  const s = view.server.tree.dataWatches.summary();
  return `${s.watchers} connections watching ${s.paths} paths\nTotal watches:${s.watches}\n`;
}

/** `wchc`: by session, the paths each watches. */
export function watchesByConnectionText(view: FourLetterView): string {
  let out = '';
  for (const [watcher, paths] of view.server.tree.dataWatches.entriesByWatcher()) {
    out += `0x${hex64(sessionOf(watcher))}\n`;
    for (const path of paths) out += `\t${path}\n`;
  }
  return `${out}\n`;
}

/** `wchp`: by path, the sessions watching it. */
export function watchesByPathText(view: FourLetterView): string {
  let out = '';
  for (const [path, watchers] of view.server.tree.dataWatches.entriesByPath()) {
    out += `${path}\n`;
    for (const watcher of watchers.keys()) out += `\t0x${hex64(sessionOf(watcher))}\n`;
  }
  return `${out}\n`;
}
