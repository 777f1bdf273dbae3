import { readdirSync, readFileSync } from 'node:fs';
import type { DataTree } from '../../tree/data-tree.js';
import { javaDouble, round4 } from './java-format.js';
import { FULL_VERSION, zkNodeCount } from './stat.js';
import type { FourLetterView } from './types.js';

/**
 * `mntr`: "zk_<key>\t<value>" lines. ZooKeeper 3.8 prints about 500 (every metric it registers,
 * most of them pipeline internals we do not have); we print the ones we can compute, in the order
 * the 3.8 server prints them (the iteration order of its gauge map, measured standalone), and
 * leave out the rest rather than print zeros we did not measure.
 */
export function monitorText(view: FourLetterView): string {
  const { server } = view;
  const stats = server.stats;
  const tree = server.tree;
  const fds = fileDescriptorCounts();
  const lines: [string, string][] = [
    ['version', FULL_VERSION],
    ['server_state', view.mode()],
    // An ensemble member prints its detailed peer state right after (QuorumZooKeeperServer).
    ...(view.quorumView ? [['peer_state', view.quorumView.peerState()] as [string, string]] : []),
    ['ephemerals_count', String(ephemeralsCount(tree))],
    ['num_alive_connections', String(view.connections.size)],
    ['avg_latency', javaDouble(round4(stats.latencyAvg))],
    ['outstanding_requests', String(server.outstanding)],
    ['znode_count', String(zkNodeCount(tree))],
    ['global_sessions', String(server.sessions.size)],
    ['packets_sent', String(stats.packetsSent)],
    ['packets_received', String(stats.packetsReceived)],
    ['watch_count', String(tree.dataWatches.summary().watches + tree.childWatches.summary().watches)],
    ['min_latency', String(Math.round(stats.latencyMin))],
  ];
  if (fds !== null) lines.push(['max_file_descriptor_count', String(fds.max)]);
  lines.push(['approximate_data_size', String(approximateDataSize(tree))]);
  if (fds !== null) lines.push(['open_file_descriptor_count', String(fds.open)]);
  // Every session is global: tszk never creates local sessions.
  lines.push(['local_sessions', '0']);
  lines.push(['uptime', String(Math.max(0, Date.now() - view.startedMs))]);
  lines.push(['max_latency', String(Math.round(stats.latencyMaxMs))]);
  if (view.quorumView) lines.push(...quorumLines(view));
  return lines.map(([key, value]) => `zk_${key}\t${value}\n`).join('');
}

/** The gauges an ensemble member registers (QuorumZooKeeperServer and its leader/learner kinds). */
function quorumLines(view: FourLetterView): [string, string][] {
  const q = view.quorumView!;
  const lines: [string, string][] = [['quorum_size', String(q.quorumSize)]];
  const mode = view.mode();
  if (mode === 'leader') {
    const counts = q.learnerCounts();
    const p = q.proposalSizes;
    if (counts !== null) {
      lines.push(['learners', String(counts.learners)]);
      lines.push(['synced_followers', String(counts.syncedFollowers)]);
      // Participants that do not vote exist only with dynamic reconfiguration, which tszk lacks.
      lines.push(['synced_non_voting_followers', '0']);
      lines.push(['synced_observers', String(counts.syncedObservers)]);
      lines.push(['pending_syncs', String(counts.pendingSyncs)]);
    }
    lines.push(['leader_uptime', String(q.leaderUptimeMs())]);
    lines.push(['last_proposal_size', String(p.last)]);
    lines.push(['max_proposal_size', String(p.max)]);
    lines.push(['min_proposal_size', String(p.min)]);
  } else if (mode === 'observer') {
    lines.push(['observer_master_id', String(q.leaderSid() ?? -1)]);
  }
  return lines;
}

/** DataTree.getEphemeralsCount: ephemeral paths over all sessions. */
export function ephemeralsCount(tree: DataTree): number {
  let n = 0;
  for (const paths of tree.ephemerals.values()) n += paths.size;
  return n;
}

/**
 * DataTree.approximateDataSize: path length plus data length of every entry of ZooKeeper's node
 * map, which holds the root under "" as well as "/". One pass over the tree; ZooKeeper keeps a
 * running total instead, which is worth doing if mntr is scraped often on a very large tree.
 */
export function approximateDataSize(tree: DataTree): number {
  let size = 0;
  for (const [path, node] of tree.nodes) size += path.length + (node.data === null ? 0 : node.data.length);
  const root = tree.get('/');
  return size + (root?.data?.length ?? 0);
}

/**
 * Open descriptors and the soft limit, from /proc as the JVM's UnixOperatingSystemMXBean reads
 * them; null where there is no /proc (or no finite limit), and mntr then leaves both lines out.
 */
function fileDescriptorCounts(): { open: number; max: number } | null {
  try {
    // Listing the directory opens one descriptor of its own, which is not the server's.
    const open = readdirSync('/proc/self/fd').length - 1;
    const limits = readFileSync('/proc/self/limits', 'latin1');
    const match = /^Max open files\s+(\d+)/m.exec(limits);
    if (match?.[1] === undefined) return null;
    return { open, max: Number(match[1]) };
  } catch {
    return null;
  }
}
