import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config, QuorumServer } from '../../config/config.js';
import { hex64 } from './java-format.js';
import type { FourLetterView } from './types.js';

/** ZooKeeper keeps its files one level down, in version-2 (FileTxnSnapLog.VERSION). */
const VERSION_DIR = 'version-2';
/** Deep enough for any layout the server writes; stops a symlink loop. */
const MAX_DIR_DEPTH = 16;

/** ZooKeeperServer.getDirSize: the bytes of every file below `path`, 0 when it does not exist. */
export function dirSizeBytes(path: string, depth = 0): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  if (depth >= MAX_DIR_DEPTH) return 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  let size = 0;
  for (const name of names) size += dirSizeBytes(join(path, name), depth + 1);
  return size;
}

/**
 * ZooKeeper's FileTxnSnapLog names the txn log directory its "dataDir" and the snapshot
 * directory its "snapDir", so getDataDirSize measures dataLogDir and getLogDirSize measures
 * dataDir. `conf` and `dirs` print them that way round, and so do we: a script comparing the
 * two servers sees the same numbers for the same files.
 */
function dirs(config: Config): { snapDir: string; txnLogDir: string; dataDirSize: number; logDirSize: number } {
  const snapDir = join(resolve(config.dataDir), VERSION_DIR);
  const txnLogDir = join(resolve(config.dataLogDir), VERSION_DIR);
  return { snapDir, txnLogDir, dataDirSize: dirSizeBytes(txnLogDir), logDirSize: dirSizeBytes(snapDir) };
}

/** `dirs`. */
export function dirsText(view: FourLetterView): string {
  const d = dirs(view.config);
  return `datadir_size: ${d.dataDirSize}\nlogdir_size: ${d.logDirSize}\n`;
}

function bracketIpv6(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** QuorumServer.toString: "host:quorumPort:electionPort[|...]:type[;clientHost:clientPort]". */
function memberText(s: QuorumServer): string {
  const addresses = s.addresses ?? [{ host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort }];
  const sorted = [...addresses].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  let text = sorted.map((a) => `${bracketIpv6(a.host)}:${a.quorumPort}:${a.electionPort}`).join('|');
  text += `:${s.type}`;
  if (s.clientPort !== undefined) text += `;${bracketIpv6(s.clientAddress ?? '0.0.0.0')}:${s.clientPort}`;
  return text;
}

/** The QuorumVerifier's toString: members, then groups and weights of a hierarchy, then version. */
function membershipText(config: Config): string {
  let text = '';
  for (const s of config.servers) text += `server.${s.id}=${memberText(s)}\n`;
  const h = config.quorumHierarchy;
  if (h !== null) {
    for (const g of h.groups) text += `group.${g.id}=${g.members.join(':')}\n`;
    for (const [sid, weight] of [...h.weights].sort((a, b) => a[0] - b[0])) text += `weight.${sid}=${weight}\n`;
  }
  return `${text}version=${hex64(config.quorumVersion)}`;
}

function distinct(ports: number[]): string {
  return [...new Set(ports)].join('|');
}

/**
 * The lines QuorumZooKeeperServer adds. The membership ends without a newline, as ZooKeeper's
 * does. tszk's own server line gives the ports; electionAlg is always 3 (fast leader election).
 */
function quorumConfText(config: Config): string {
  const self = config.servers.find((s) => s.id === config.myid);
  const addresses = self?.addresses ?? (self === undefined ? [] : [self]);
  return [
    `initLimit=${config.initLimitTicks}`,
    `syncLimit=${config.syncLimitTicks}`,
    'electionAlg=3',
    `electionPort=${distinct(addresses.map((a) => a.electionPort))}`,
    `quorumPort=${distinct(addresses.map((a) => a.quorumPort))}`,
    `peerType=${config.peerType === 'observer' ? 1 : 0}`,
    'membership: ',
    membershipText(config),
  ].join('\n');
}

const QUORUM_MODES: ReadonlySet<string> = new Set(['leader', 'follower', 'observer']);

/**
 * `conf`: ZooKeeperServer.dumpConf. secureClientPort is -1 because tszk serves no TLS port, and
 * clientPortListenBacklog -1 because it listens with the platform's default backlog.
 */
export function confText(view: FourLetterView): string {
  const { config } = view;
  const d = dirs(config);
  const quorum = QUORUM_MODES.has(view.mode());
  const lines = [
    `clientPort=${view.clientPort}`,
    'secureClientPort=-1',
    `dataDir=${d.snapDir}`,
    `dataDirSize=${d.dataDirSize}`,
    `dataLogDir=${d.txnLogDir}`,
    `dataLogSize=${d.logDirSize}`,
    `tickTime=${config.tickTimeMs}`,
    `maxClientCnxns=${config.maxClientCnxns}`,
    `minSessionTimeout=${config.minSessionTimeoutMs}`,
    `maxSessionTimeout=${config.maxSessionTimeoutMs}`,
    'clientPortListenBacklog=-1',
    // A standalone ZooKeeperServer reports 0; a quorum member its myid.
    `serverId=${quorum ? (config.myid ?? 0) : 0}`,
    '',
  ];
  return lines.join('\n') + (quorum ? quorumConfText(config) : '');
}
