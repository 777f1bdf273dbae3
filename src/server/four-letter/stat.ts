import type { DataTree } from '../../tree/data-tree.js';
import { TSZK_VERSION, ZOOKEEPER_COMPAT_VERSION } from '../../version.js';
import { hex64, javaDouble, javaSocketAddress, round4 } from './java-format.js';
import type { FourLetterCnxn, FourLetterView } from './types.js';

/**
 * What `srvr`, `envi` and `mntr` give as the version: the ZooKeeper release whose protocol we
 * speak first, so that tools which parse "3.8.0-..." pick the right feature set, then ours.
 * ZooKeeper's own is "3.8.0-<git hash>, built on <date>"; we have no build date to give.
 */
export const FULL_VERSION = `${ZOOKEEPER_COMPAT_VERSION}-tszk-${TSZK_VERSION}`;

/**
 * ZooKeeper's node map holds the root twice, under "" and "/", and every count it reports
 * (srvr's Node count, mntr's zk_znode_count) includes both.
 */
export function zkNodeCount(tree: DataTree): number {
  return tree.nodeCount + 1;
}

/**
 * One connection as ServerCnxn.dumpConnectionInfo prints it (without the newline); `brief` (for
 * `stat`) stops after the packet counts. The connection asking is no longer being read, so its
 * interest ops are 0, as in ZooKeeper, whose selector has let go of it.
 */
export function connectionInfo(c: FourLetterCnxn, brief: boolean, asker: FourLetterCnxn | null): string {
  const ops = c === asker ? 0 : (c.interestOps ?? 1);
  let s = ` ${javaSocketAddress(c.remoteAddress, c.remotePort)}[${ops === 0 ? '0' : ops.toString(16)}]`;
  s += `(queued=${c.outstandingRequests},recved=${c.packetsReceived},sent=${c.packetsSent}`;
  if (!brief && c.sessionId !== 0n) {
    const rs = c.responseStats;
    s += `,sid=0x${hex64(c.sessionId)}`;
    if (rs !== undefined) s += `,lop=${rs.lastOp}`;
    s += `,est=${c.establishedMs},to=${c.sessionTimeoutMs}`;
    if (c.lastCxid >= 0) s += `,lcxid=0x${hex64(BigInt(c.lastCxid))}`;
    if (rs !== undefined) {
      s += `,lzxid=0x${hex64(rs.lastZxid)},lresp=${rs.lastResponseMs},llat=${rs.lastLatencyMs}`;
      s += `,minlat=${rs.latencyMinMs},avglat=${rs.latencyAvgMs},maxlat=${rs.latencyMaxMs}`;
    }
  }
  return `${s})`;
}

/**
 * ServerStats.toString. The pipeline measures latency in fractional ms; ZooKeeper's are whole
 * ms, so min and max are rounded, and the average is rounded to 4 places as AvgMinMaxCounter does.
 */
function serverStatsText(view: FourLetterView): string {
  const { server } = view;
  const s = server.stats;
  return [
    `Latency min/avg/max: ${Math.round(s.latencyMin)}/${javaDouble(round4(s.latencyAvg))}/${Math.round(s.latencyMaxMs)}`,
    `Received: ${s.packetsReceived}`,
    `Sent: ${s.packetsSent}`,
    `Connections: ${view.connections.size}`,
    `Outstanding: ${server.outstanding}`,
    `Zxid: 0x${hex64(server.lastProcessedZxid)}`,
    `Mode: ${view.mode()}`,
    '',
  ].join('\n');
}

/** `srvr` (clients: false) and `stat` (clients: true). */
export function statText(view: FourLetterView, clients: boolean, asker: FourLetterCnxn | null): string {
  let out = `Zookeeper version: ${FULL_VERSION}\n`;
  if (view.mode() === 'read-only') out += 'READ-ONLY mode; serving only read-only clients\n';
  if (clients) {
    out += 'Clients:\n';
    for (const c of view.connections) out += `${connectionInfo(c, true, asker)}\n`;
    out += '\n';
  }
  out += serverStatsText(view);
  out += `Node count: ${zkNodeCount(view.server.tree)}\n`;
  const q = view.quorumView;
  if (q && view.mode() === 'leader') {
    const p = q.proposalSizes;
    out += `Proposal sizes last/min/max: ${p.last}/${p.min}/${p.max}\n`;
  }
  return out;
}

/** `cons`: every connection in full, then an empty line. */
export function consText(view: FourLetterView, asker: FourLetterCnxn | null): string {
  let out = '';
  for (const c of view.connections) out += `${connectionInfo(c, false, asker)}\n`;
  return `${out}\n`;
}

/** `crst`: ServerCnxn.resetStats on every connection. */
export function resetConnectionStats(view: FourLetterView): string {
  for (const c of view.connections) {
    c.packetsReceived = 0;
    c.packetsSent = 0;
    c.lastCxid = -1;
    c.responseStats?.reset();
  }
  return 'Connection stats reset.\n';
}

/** `srst`: latency and packet counters. */
export function resetServerStats(view: FourLetterView): string {
  view.server.stats.reset();
  return 'Server stats reset.\n';
}
