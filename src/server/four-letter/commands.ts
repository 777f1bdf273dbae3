import type { ClientConnection } from '../connection.js';
import type { ServerView } from '../server-view.js';
import { TSZK_VERSION } from '../../version.js';

/** The four-letter words ZooKeeper answers on the client port. */
const KNOWN = new Set(['ruok', 'srvr', 'stat', 'conf', 'cons', 'crst', 'srst', 'envi', 'mntr', 'dump', 'wchs', 'wchc', 'wchp', 'isro', 'dirs', 'gtmk', 'stmk']);

function srvr(view: ServerView): string {
  const { server } = view;
  const s = server.stats;
  const zxid = server.lastProcessedZxid;
  return [
    `Zookeeper version: ${TSZK_VERSION}, tszk`,
    `Latency min/avg/max: ${Math.round(s.latencyMin)}/${s.latencyAvg.toFixed(4)}/${Math.round(s.latencyMaxMs)}`,
    `Received: ${s.packetsReceived}`,
    `Sent: ${s.packetsSent}`,
    `Connections: ${view.connections.size}`,
    `Outstanding: ${server.outstanding}`,
    `Zxid: 0x${zxid.toString(16)}`,
    `Mode: ${view.mode()}`,
    `Node count: ${server.tree.nodeCount}`,
    '',
  ].join('\n');
}

/** The reply to `word`, or null when it is not a four-letter word (then it is a frame length). */
export function fourLetterWord(view: ServerView, word: string, _cnxn: ClientConnection): string | null {
  if (!KNOWN.has(word)) return null;
  const whitelist = view.config.fourLetterWordWhitelist;
  if (!whitelist.has('*') && !whitelist.has(word)) {
    return `${word} is not executed because it is not in the whitelist.\n`;
  }
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'srvr':
      return srvr(view);
    default:
      return srvr(view);
  }
}
