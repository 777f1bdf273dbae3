/**
 * zoo.cfg + java.env + dataDir/myid -> one frozen Config, with ZooKeeper 3.8's defaults and the
 * same refusals (QuorumPeerConfig.parseProperties, QuorumServer, QuorumMaj/QuorumHierarchical).
 *
 * Where a value comes from, as in ZooKeeper:
 * - Keys QuorumPeerConfig knows (tickTime, dataDir, server.N, ...) come only from the file.
 * - Any other key K in the file becomes the system property `zookeeper.K`, set after the JVM
 *   started, so the file beats -Dzookeeper.K (snapCount, skipACL, 4lw.commands.whitelist, ...).
 * - jute.maxbuffer, readonlymode.enabled and znode.container.checkIntervalMs are read by
 *   ZooKeeper only as un-prefixed system properties, so in zoo.cfg they do nothing there. tszk
 *   honours them in zoo.cfg as well, with the -D flag winning.
 * - Relative dataDir, dataLogDir and dynamicConfigFile are relative to the working directory
 *   (java.io.File), not to the config file.
 *
 * Deliberate differences: numbers and booleans that ZooKeeper would silently replace by a default
 * (snapCount=abc, skipACL=true, ...) are refused here with a message; a configuration without
 * any client port is refused; myid may come from the MYID (or ZOO_MY_ID) environment variable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config, PeerType, QuorumAddress, QuorumHierarchy, QuorumServer } from './config.js';
import { parseProperties, type ParsedProperties, type PropertyEntry } from './parse-properties.js';
import { collectSystemProps, type EnvFile, type SystemProp } from './system-props.js';
import { ConfigError } from '../util/errors.js';

/** Used when no zoo.cfg is given; the same settings as conf/zoo.cfg. */
export const DEFAULT_CONFIG_TEXT = [
  'tickTime=2000',
  'initLimit=10',
  'syncLimit=5',
  'clientPort=2181',
  'dataDir=data/standalone',
  '4lw.commands.whitelist=*',
  'admin.enableServer=false',
  '',
].join('\n');

/** Every four-letter word ZooKeeper 3.8 knows (FourLetterCommands). */
export const FOUR_LETTER_WORDS: readonly string[] = Object.freeze([
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst',
  'srvr', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash',
]);

/**
 * zoo.cfg keys tszk acts on. Every other key is accepted (ZooKeeper accepts any key) and listed
 * in Config.ignoredKeys. Move a key here when the feature behind it lands.
 */
export const ACTED_ON_KEYS: ReadonlySet<string> = new Set([
  'tickTime', 'initLimit', 'syncLimit', 'connectToLearnerMasterLimit', 'dataDir', 'dataLogDir',
  'clientPort', 'clientPortAddress', 'maxClientCnxns', 'minSessionTimeout', 'maxSessionTimeout',
  'globalOutstandingLimit', 'snapCount', 'commitLogCount', 'preAllocSize', 'forceSync', '4lw.commands.whitelist',
  'autopurge.snapRetainCount', 'autopurge.purgeInterval', 'extendedTypesEnabled', 'enforceQuota',
  'skipACL', 'DigestAuthenticationProvider.superDigest', 'jute.maxbuffer', 'reconfigEnabled',
  'standaloneEnabled', 'readonlymode.enabled', 'znode.container.checkIntervalMs', 'peerType',
  'electionAlg', 'dynamicConfigFile', 'multiAddress.enabled', 'version',
  'admin.enableServer', 'admin.serverAddress', 'admin.serverPort', 'maxCnxns', 'txnLogSizeLimitInKb',
]);

/** Committed txns a leader keeps for DIFF syncs when commitLogCount is not set (see readPersistence). */
const DEFAULT_COMMIT_LOG_COUNT = 10_000;
const JUTE_TEXT = 'expected a positive number of bytes (decimal, or hex as 0x...)';
const PURGE_TEXT = 'expected an integer number of hours (0 disables)';
const POSITIVE_MS_TEXT = 'expected a positive number of milliseconds';

const SERVER_FORMAT =
  'expected host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort] ' +
  "(IPv6 hosts in [brackets]; several addresses separated by '|' need multiAddress.enabled=true)";

export interface ParseConfigOptions {
  /** Absolute path of the config file, or null for DEFAULT_CONFIG_TEXT. */
  path: string | null;
  /** For MYID / ZOO_MY_ID. */
  env: NodeJS.ProcessEnv;
  /** -D properties (see collectSystemProps). */
  systemProps: ReadonlyMap<string, SystemProp>;
  /** Contents of dataDir/myid, or null when there is no such file. */
  readMyid: (dataDir: string) => string | null;
  /** Contents of the dynamic config file, or null when missing. Without it, a dynamicConfigFile fails. */
  readDynamicConfig?: (file: string) => string | null;
  /** Directory relative paths resolve against; process.cwd() by default. */
  cwd?: string;
  /** Warnings found before parsing (e.g. skipped java.env lines), carried into Config.warnings. */
  warnings?: readonly string[];
}

/** A value and where it was found, for messages. */
interface Found {
  key: string;
  value: string;
  /** "FILE:LINE" or the -D flag's source. */
  where: string;
}

function invalid(f: Found, allowed: string): ConfigError {
  return new ConfigError(`${f.where}: invalid ${f.key}=${JSON.stringify(f.value)}: ${allowed}`);
}

// ---- Java number and boolean parsing ------------------------------------------------------

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** Integer.parseInt / Long.parseLong: optional sign, decimal digits, nothing else. */
function javaParseInt(s: string, min = INT_MIN, max = INT_MAX): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = Number(s);
  return n >= min && n <= max && Number.isSafeInteger(n) ? n : null;
}

/** Integer.decode / Long.decode (what Integer.getInteger uses): also 0x.., #.., 0-octal. */
function javaDecodeInt(s: string, min = INT_MIN, max = INT_MAX): number | null {
  const m = /^([+-]?)(0[xX]|#|0(?=.))?(.+)$/.exec(s);
  if (m === null) return null;
  const sign = m[1] === '-' ? -1 : 1;
  const prefix = m[2] ?? '';
  const digits = m[3] ?? '';
  let n: number;
  if (prefix === '') {
    if (!/^\d+$/.test(digits)) return null;
    n = Number(digits);
  } else if (prefix === '0') {
    if (!/^[0-7]+$/.test(digits)) return null;
    n = parseInt(digits, 8);
  } else {
    if (!/^[0-9a-fA-F]+$/.test(digits)) return null;
    n = parseInt(digits, 16);
  }
  n *= sign;
  return n >= min && n <= max && Number.isSafeInteger(n) ? n : null;
}

const LONG_MIN = -Number.MAX_SAFE_INTEGER;
const LONG_MAX = Number.MAX_SAFE_INTEGER;

// ---- value sources ------------------------------------------------------------------------

class Sources {
  constructor(
    readonly props: ParsedProperties,
    readonly fileName: string,
    readonly systemProps: ReadonlyMap<string, SystemProp>,
  ) {}

  file(key: string): Found | undefined {
    const entry = this.props.byKey.get(key);
    if (entry === undefined) return undefined;
    return { key, value: entry.value, where: `${this.fileName}:${entry.line}` };
  }

  prop(name: string): Found | undefined {
    const p = this.systemProps.get(name);
    if (p === undefined) return undefined;
    return { key: name, value: p.value.trim(), where: p.source };
  }

  /** A key ZooKeeper turns into the system property zookeeper.<key>: the file wins. */
  zk(key: string): Found | undefined {
    return this.file(key) ?? this.prop(`zookeeper.${key}`);
  }

  /** A system property ZooKeeper reads without prefix; tszk also takes it from the file. */
  bare(name: string): Found | undefined {
    return this.prop(name) ?? this.file(name);
  }
}

/** QuorumPeerConfig.parseBoolean: true/false in any case. */
function strictBool(f: Found | undefined, dflt: boolean): boolean {
  if (f === undefined) return dflt;
  const v = f.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(f, "choose 'true' or 'false'");
}

/** Boolean.getBoolean / parseBoolean: ZooKeeper takes anything but "true" as false; tszk refuses it. */
function javaBool(f: Found | undefined, dflt: boolean): boolean {
  if (f === undefined) return dflt;
  const v = f.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(f, "expected 'true' or 'false' (ZooKeeper reads any other value as false)");
}

/** skipACL / forceSync: ZooKeeper compares with "yes" / "no" exactly. */
function yesNo(f: Found | undefined, dflt: boolean, otherMeans: 'yes' | 'no'): boolean {
  if (f === undefined) return dflt;
  if (f.value === 'yes') return true;
  if (f.value === 'no') return false;
  throw invalid(
    f,
    "expected 'yes' or 'no' in lowercase " +
      `(ZooKeeper reads any other value, such as 'true' or 'false', as '${otherMeans}')`,
  );
}

function fileInt(f: Found | undefined, dflt: number, min: number, allowed: string): number {
  if (f === undefined) return dflt;
  const n = javaParseInt(f.value);
  if (n === null || n < min) throw invalid(f, allowed);
  return n;
}

function propInt(f: Found | undefined, dflt: number, min: number, max: number, allowed: string): number {
  if (f === undefined) return dflt;
  const n = javaDecodeInt(f.value);
  if (n === null || n < min || n > max) throw invalid(f, allowed);
  return n;
}

function propLong(f: Found | undefined, dflt: number, allowed: string): number {
  if (f === undefined) return dflt;
  const n = javaDecodeInt(f.value, LONG_MIN, LONG_MAX);
  if (n === null) throw invalid(f, allowed);
  return n;
}

function port(f: Found | undefined, allowed: string): number {
  if (f === undefined) return 0;
  const n = javaParseInt(f.value);
  if (n === null || n < 0 || n > 65535) throw invalid(f, allowed);
  return n;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function address(f: Found | undefined): string | undefined {
  if (f === undefined) return undefined;
  const host = stripBrackets(f.value);
  if (host === '' || /\s/.test(host)) throw invalid(f, 'expected an IPv4 or IPv6 address or a host name');
  return host;
}

// ---- server.N -----------------------------------------------------------------------------

/** String.split as Java does it: trailing empty strings are dropped. */
function javaSplit(s: string, sep: string): string[] {
  if (s === '') return [''];
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** ConfigUtils.getHostAndPort: "[v6]:a:b" or "host:a:b". */
function hostAndPort(s: string): string[] | string {
  if (!s.startsWith('[')) return javaSplit(s, ':');
  const close = s.indexOf(']');
  if (close < 0) return `"${s}" starts with '[' but has no matching ']'`;
  if (close + 1 === s.length) return [s.slice(1, close)];
  if (s[close + 1] !== ':') return `expected ':' after ']' in "${s}"`;
  if (close + 2 === s.length) return `"${s}" has no port after the colon`;
  return [s.slice(1, close), ...javaSplit(s.slice(close + 2), ':')];
}

function peerTypeOf(s: string): PeerType | null {
  const t = s.trim().toLowerCase();
  return t === 'observer' || t === 'participant' ? t : null;
}

function parsePort(s: string | undefined): number | null {
  if (s === undefined) return null;
  const n = javaParseInt(s);
  return n !== null && n >= 1 && n <= 65535 ? n : null;
}

function checkHost(host: string | undefined): string | null {
  if (host === undefined || host === '') return 'the host is empty';
  if (/\s/.test(host)) return `the host "${host}" contains whitespace`;
  return null;
}

/** QuorumPeer.QuorumServer's address string. Returns the server or the reason it is invalid. */
function parseServer(id: number, value: string, multiAddressEnabled: boolean): QuorumServer | string {
  const serverClient = javaSplit(value, ';');
  if (serverClient.length > 2) return "more than one ';'";
  const serverPart = serverClient[0] ?? '';
  let clientAddress: string | undefined;
  let clientPort: number | undefined;
  const clientPart = serverClient[1];
  if (clientPart !== undefined) {
    const parts = hostAndPort(clientPart);
    if (typeof parts === 'string') return parts;
    if (parts.length > 2) return `the client part "${clientPart}" is not port or host:port`;
    const p = parsePort(parts[parts.length - 1]);
    if (p === null) return `the client port in "${clientPart}" is not a number from 1 to 65535`;
    const host = parts.length === 2 ? (parts[0] as string) : '0.0.0.0';
    const bad = checkHost(host);
    if (bad !== null) return `${bad} in the client part`;
    clientAddress = host;
    clientPort = p;
  }

  const addressStrings = javaSplit(serverPart, '|');
  if (addressStrings.length > 1 && !multiAddressEnabled) {
    return "several addresses separated by '|' need multiAddress.enabled=true";
  }
  const addresses: QuorumAddress[] = [];
  let type: PeerType | null = null;
  for (const a of addressStrings) {
    const parts = hostAndPort(a);
    if (typeof parts === 'string') return parts;
    if (parts.length < 3 || parts.length > 4) return `"${a}" is not host:quorumPort:electionPort[:type]`;
    const host = parts[0] as string;
    const bad = checkHost(host);
    if (bad !== null) return bad;
    const quorumPort = parsePort(parts[1]);
    if (quorumPort === null) return `the quorum port "${parts[1] ?? ''}" is not a number from 1 to 65535`;
    const electionPort = parsePort(parts[2]);
    if (electionPort === null) return `the election port "${parts[2] ?? ''}" is not a number from 1 to 65535`;
    if (quorumPort === electionPort) return 'the quorum port and the election port must differ';
    const typeText = parts[3];
    if (typeText !== undefined) {
      const t = peerTypeOf(typeText);
      if (t === null) return `unknown peer type "${typeText}" (participant or observer)`;
      if (type !== null && type !== t) return 'all addresses of one server must have the same type';
      type = t;
    }
    addresses.push({ host, quorumPort, electionPort });
  }
  const first = addresses[0];
  if (first === undefined) return 'no address';
  const server: QuorumServer = { id, ...first, type: type ?? 'participant' };
  if (clientAddress !== undefined) server.clientAddress = clientAddress;
  if (clientPort !== undefined) server.clientPort = clientPort;
  if (addresses.length > 1) server.addresses = addresses;
  return server;
}

/** The id after the first dot, parsed as Long.parseLong would; tszk also wants it >= 0. */
function keyId(key: string): number | null {
  const n = javaParseInt(key.slice(key.indexOf('.') + 1), LONG_MIN, LONG_MAX);
  return n !== null && n >= 0 ? n : null;
}

interface Membership {
  servers: QuorumServer[];
  hierarchy: QuorumHierarchy | null;
  version: bigint;
}

function isServerKey(key: string): boolean {
  return key.startsWith('server.');
}

function isHierarchyKey(key: string): boolean {
  return key.startsWith('group') || key.startsWith('weight');
}

function trailingWhitespaceHint(e: PropertyEntry): string {
  return e.rawValue !== e.value ? ' (ZooKeeper does not trim this value: remove the trailing whitespace)' : '';
}

/** QuorumMaj / QuorumHierarchical over the server./group/weight keys of one file. */
function parseMembership(props: ParsedProperties, fileName: string, multiAddressEnabled: boolean): Membership {
  const where = (e: PropertyEntry): string => `${fileName}:${e.line}`;
  const servers = new Map<number, QuorumServer>();
  const groups = new Map<number, number[]>();
  const groupOf = new Map<number, number>();
  const weights = new Map<number, number>();
  let hierarchical = false;
  let version = 0n;

  for (const e of props.byKey.values()) {
    const f: Found = { key: e.key, value: e.rawValue, where: where(e) };
    if (isServerKey(e.key)) {
      const id = keyId(e.key);
      if (id === null) {
        throw invalid(f, `the server id after "server." must be a non-negative integer; ${SERVER_FORMAT}`);
      }
      const s = parseServer(id, e.rawValue, multiAddressEnabled);
      if (typeof s === 'string') throw invalid(f, `${s}${trailingWhitespaceHint(e)}; ${SERVER_FORMAT}`);
      servers.set(id, s);
    } else if (e.key.startsWith('group')) {
      hierarchical = true;
      const gid = keyId(e.key);
      if (gid === null) throw invalid(f, 'expected group.N=serverId[:serverId...] with N a non-negative integer');
      const members: number[] = [];
      for (const part of javaSplit(e.rawValue, ':')) {
        const sid = javaParseInt(part, 0, LONG_MAX);
        if (sid === null) {
          throw invalid(f, `"${part}" is not a server id; expected serverId[:serverId...]${trailingWhitespaceHint(e)}`);
        }
        const other = groupOf.get(sid);
        if (other !== undefined) {
          throw invalid(f, `server ${sid} is already in group ${other}; groups must be disjoint`);
        }
        groupOf.set(sid, gid);
        members.push(sid);
      }
      groups.set(gid, members);
    } else if (e.key.startsWith('weight')) {
      hierarchical = true;
      const sid = keyId(e.key);
      const w = javaParseInt(e.rawValue, 0, LONG_MAX);
      if (sid === null || w === null) {
        throw invalid(
          f,
          `expected weight.N=W with N a server id and W a non-negative integer${trailingWhitespaceHint(e)}`,
        );
      }
      weights.set(sid, w);
    } else if (e.key === 'version') {
      const m = /^[0-9a-fA-F]+$/.exec(e.value);
      if (m === null) throw invalid(f, 'expected a hexadecimal number');
      version = BigInt(`0x${e.value}`);
    }
  }

  let hierarchy: QuorumHierarchy | null = null;
  if (hierarchical) {
    for (const s of servers.values()) {
      if (s.type === 'participant' && !groupOf.has(s.id)) {
        throw new ConfigError(
          `${fileName}: server ${s.id} is not in any group.N; with group.N every participant must be in one group`,
        );
      }
    }
    for (const [sid, gid] of groupOf) {
      if (!servers.has(sid)) {
        const e = props.byKey.get(`group.${gid}`);
        const at = e === undefined ? fileName : where(e);
        throw new ConfigError(`${at}: group.${gid} lists server ${sid}, which has no server.${sid} line`);
      }
      if (!weights.has(sid)) weights.set(sid, 1);
    }
    hierarchy = {
      groups: [...groups].sort((a, b) => a[0] - b[0]).map(([id, members]) => ({ id, members })),
      weights,
    };
  }
  return { servers: [...servers.values()].sort((a, b) => a.id - b.id), hierarchy, version };
}

/** getVersionFromFilename: "zoo.cfg.dynamic.100000000" -> 0x100000000. */
function versionFromFileName(file: string): bigint | null {
  const suffix = file.slice(file.lastIndexOf('.') + 1);
  return /^[0-9a-fA-F]+$/.test(suffix) && file.includes('.') ? BigInt(`0x${suffix}`) : null;
}

function readDynamic(
  src: Sources,
  dyn: Found,
  file: string,
  options: ParseConfigOptions,
  multiAddress: boolean,
): Membership {
  for (const e of src.props.entries) {
    if (isServerKey(e.key) || isHierarchyKey(e.key)) {
      throw new ConfigError(
        `${src.fileName}:${e.line}: ${e.key} must be in the dynamic config file, ` +
          `since dynamicConfigFile is set (${dyn.where})`,
      );
    }
  }
  const text = options.readDynamicConfig?.(file) ?? null;
  if (text === null) throw invalid(dyn, `the file ${file} is missing`);
  const props = parseProperties(text, file);
  for (const e of props.entries) {
    if (e.key === 'version') {
      throw new ConfigError(
        `${file}:${e.line}: a dynamic config file must not contain version (it comes from the file name)`,
      );
    }
    if (!isServerKey(e.key) && !isHierarchyKey(e.key)) {
      throw new ConfigError(
        `${file}:${e.line}: unrecognised key ${e.key}; a dynamic config file holds only server.N, group.N and weight.N`,
      );
    }
  }
  const m = parseMembership(props, file, multiAddress);
  return { ...m, version: versionFromFileName(file) ?? 0n };
}

// ---- paths and myid -----------------------------------------------------------------------

function resolveDir(f: Found, cwd: string, warnings: string[] | null): string {
  if (f.value === '') throw invalid(f, 'expected a directory path');
  if (warnings !== null && !path.isAbsolute(f.value) && !f.value.startsWith('./')) {
    warnings.push(
      `${f.where}: ${f.key}=${f.value} is relative to the working directory (${cwd}); ` +
        'prepend ./ to show that is intended',
    );
  }
  return path.resolve(cwd, f.value);
}

function parseMyid(text: string, where: string): number {
  const first = (text.split(/\r?\n/)[0] ?? '').trim();
  const n = javaParseInt(first, 0, LONG_MAX);
  if (n === null) {
    throw new ConfigError(
      `${where}: serverid ${JSON.stringify(first)} is not a number; expected a non-negative integer`,
    );
  }
  return n;
}

function findMyid(dataDir: string, options: ParseConfigOptions): number | null {
  const file = path.join(dataDir, 'myid');
  const text = options.readMyid(dataDir);
  if (text !== null) return parseMyid(text, file);
  for (const name of ['MYID', 'ZOO_MY_ID']) {
    const v = options.env[name];
    if (v !== undefined && v.trim() !== '') return parseMyid(v, `environment variable ${name}`);
  }
  return null;
}

// ---- four-letter words --------------------------------------------------------------------

function whitelist(f: Found | undefined, readonlyMode: boolean, warnings: string[]): Set<string> {
  const set = new Set<string>();
  if (f !== undefined) {
    for (const raw of f.value.split(',')) {
      const cmd = raw.trim();
      if (cmd === '*') {
        set.add('*');
        for (const w of FOUR_LETTER_WORDS) set.add(w);
        break;
      }
      if (cmd === '') continue;
      if (!FOUR_LETTER_WORDS.includes(cmd)) {
        warnings.push(
          `${f.where}: ${f.key} names "${cmd}", which is not a four-letter word (${FOUR_LETTER_WORDS.join(', ')})`,
        );
      }
      set.add(cmd);
    }
  }
  // zkServer.sh status uses srvr, and read-only clients use isro: ZooKeeper always allows them.
  if (readonlyMode) set.add('isro');
  set.add('srvr');
  return set;
}

// ---- freezing -----------------------------------------------------------------------------

function refuse(): never {
  throw new TypeError('Config is frozen');
}

function frozenSet<T>(items: Iterable<T>): ReadonlySet<T> {
  const s = new Set(items);
  Object.defineProperties(s, { add: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(s);
}

function frozenMap<K, V>(entries: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
  const m = new Map(entries);
  Object.defineProperties(m, { set: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(m);
}

function freezeServer(s: QuorumServer): QuorumServer {
  if (s.addresses !== undefined) s.addresses = Object.freeze(s.addresses.map((a) => Object.freeze(a)));
  return Object.freeze(s);
}

// ---- the parse ----------------------------------------------------------------------------

function hints(props: ParsedProperties, fileName: string, warnings: string[]): void {
  const seen = new Map<string, number>();
  for (const e of props.entries) {
    const before = seen.get(e.key);
    if (before !== undefined) {
      warnings.push(`${fileName}:${e.line}: ${e.key} is set again (first at line ${before}); the last one wins`);
    }
    seen.set(e.key, e.line);
    if (e.key === 'superDigest') {
      warnings.push(
        `${fileName}:${e.line}: superDigest is not a ZooKeeper key; use DigestAuthenticationProvider.superDigest`,
      );
    } else if (e.key.startsWith('zookeeper.') && ACTED_ON_KEYS.has(e.key.slice('zookeeper.'.length))) {
      warnings.push(
        `${fileName}:${e.line}: ${e.key} in zoo.cfg becomes the system property zookeeper.${e.key}; ` +
          `write ${e.key.slice('zookeeper.'.length)} instead`,
      );
    }
  }
}

function ignoredKeys(props: ParsedProperties): string[] {
  const out: string[] = [];
  for (const key of props.byKey.keys()) {
    if (!ACTED_ON_KEYS.has(key) && !isServerKey(key)) out.push(key);
  }
  return out;
}

/** Checks ZooKeeper makes on keys tszk does not act on yet (values it would refuse). */
function validateIgnored(src: Sources): void {
  for (const key of [
    'localSessionsEnabled', 'localSessionsUpgradingEnabled', 'quorumListenOnAllIPs', 'syncEnabled',
    'sslQuorum', 'portUnification', 'sslQuorumReloadCertFiles', 'quorum.auth.enableSasl',
    'quorum.auth.serverRequireSasl', 'quorum.auth.learnerRequireSasl', 'jvm.pause.monitor',
    'multiAddress.reachabilityCheckEnabled',
  ]) {
    strictBool(src.file(key), false);
  }
  for (const key of [
    'observerMasterPort', 'clientPortListenBacklog', 'quorum.cnxn.threads.size',
    'multiAddress.reachabilityCheckTimeoutMs',
  ]) {
    fileInt(src.file(key), 0, INT_MIN, 'expected an integer');
  }
  for (const key of ['jvm.pause.info-threshold.ms', 'jvm.pause.warn-threshold.ms', 'jvm.pause.sleep.time.ms']) {
    const f = src.file(key);
    if (f !== undefined && javaParseInt(f.value, LONG_MIN, LONG_MAX) === null) throw invalid(f, 'expected an integer');
  }
  const enable = strictBool(src.file('quorum.auth.enableSasl'), false);
  const serverReq = strictBool(src.file('quorum.auth.serverRequireSasl'), false);
  const learnerReq = strictBool(src.file('quorum.auth.learnerRequireSasl'), false);
  const sr = src.file('quorum.auth.serverRequireSasl');
  const lr = src.file('quorum.auth.learnerRequireSasl');
  if (!enable && serverReq && sr !== undefined) throw invalid(sr, 'needs quorum.auth.enableSasl=true');
  if (!enable && learnerReq && lr !== undefined) throw invalid(lr, 'needs quorum.auth.enableSasl=true');
  if (!learnerReq && serverReq && sr !== undefined) throw invalid(sr, 'needs quorum.auth.learnerRequireSasl=true');
}

/** What every section reader needs. */
interface Ctx {
  src: Sources;
  fileName: string;
  cwd: string;
  /** Null for the built-in default, whose relative dataDir is intended. */
  pathWarnings: string[] | null;
  warnings: string[];
  options: ParseConfigOptions;
}

type Timing = Pick<Config, 'tickTimeMs' | 'initLimitTicks' | 'syncLimitTicks' | 'connectToLearnerMasterLimitTicks'>;

function readTiming(ctx: Ctx): Timing {
  const { src } = ctx;
  const tickText = 'expected a positive integer number of milliseconds (default 3000)';
  const tickTimeMs = fileInt(src.file('tickTime'), 3000, 1, tickText);
  const limitText = 'expected a non-negative integer number of ticks';
  const initLimitTicks = fileInt(src.file('initLimit'), 0, 0, limitText);
  const syncLimitTicks = fileInt(src.file('syncLimit'), 0, 0, limitText);
  const ctlm = fileInt(src.file('connectToLearnerMasterLimit'), 0, 0, limitText);
  const electionF = src.file('electionAlg');
  if (electionF !== undefined && javaParseInt(electionF.value) !== 3) {
    throw invalid(electionF, 'only 3 (fast leader election over TCP) is supported');
  }
  // Learner falls back to initLimit when connectToLearnerMasterLimit is 0.
  const connectToLearnerMasterLimitTicks = ctlm > 0 ? ctlm : initLimitTicks;
  return { tickTimeMs, initLimitTicks, syncLimitTicks, connectToLearnerMasterLimitTicks };
}

function readDirectories(ctx: Ctx): Pick<Config, 'dataDir' | 'dataLogDir'> {
  const dataDirF = ctx.src.file('dataDir');
  if (dataDirF === undefined) {
    throw new ConfigError(`${ctx.fileName}: dataDir is not set; it is required (the directory for snapshots and myid)`);
  }
  const dataDir = resolveDir(dataDirF, ctx.cwd, ctx.pathWarnings);
  const dataLogDirF = ctx.src.file('dataLogDir');
  const dataLogDir = dataLogDirF === undefined ? dataDir : resolveDir(dataLogDirF, ctx.cwd, ctx.pathWarnings);
  return { dataDir, dataLogDir };
}

interface ClientPorts {
  clientPortF: Found | undefined;
  /** 0 when not set. */
  clientPort: number;
  clientPortAddress: string | undefined;
  secureClientPort: number;
  secureClientPortAddress: string | undefined;
}

function readClientPorts(ctx: Ctx): ClientPorts {
  const { src } = ctx;
  const portText = 'expected a port number from 1 to 65535 (0 or absent means not set)';
  const clientPortF = src.file('clientPort');
  const clientPort = port(clientPortF, portText);
  const clientPortAddressF = src.file('clientPortAddress');
  const clientPortAddress = address(clientPortAddressF);
  if (clientPort === 0 && clientPortAddressF !== undefined) {
    throw invalid(clientPortAddressF, 'clientPortAddress is set but clientPort is not');
  }
  const secureClientPort = port(src.file('secureClientPort'), portText);
  const secureAddressF = src.file('secureClientPortAddress');
  const secureClientPortAddress = address(secureAddressF);
  if (secureClientPort === 0 && secureAddressF !== undefined) {
    throw invalid(secureAddressF, 'secureClientPortAddress is set but secureClientPort is not');
  }
  return { clientPortF, clientPort, clientPortAddress, secureClientPort, secureClientPortAddress };
}

type Limits = Pick<
  Config,
  | 'maxClientCnxns'
  | 'maxCnxns'
  | 'minSessionTimeoutMs'
  | 'maxSessionTimeoutMs'
  | 'globalOutstandingLimit'
  | 'juteMaxBufferBytes'
>;

function readLimits(ctx: Ctx, tickTimeMs: number): Limits {
  const { src } = ctx;
  const minF = src.file('minSessionTimeout');
  const maxF = src.file('maxSessionTimeout');
  const timeoutText = 'expected milliseconds as a non-negative integer (-1 or absent means the default)';
  const minRaw = fileInt(minF, -1, -1, timeoutText);
  const maxRaw = fileInt(maxF, -1, -1, timeoutText);
  const minSessionTimeoutMs = minRaw === -1 ? 2 * tickTimeMs : minRaw;
  const maxSessionTimeoutMs = maxRaw === -1 ? 20 * tickTimeMs : maxRaw;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    const show = (f: Found | undefined, v: number, d: string): string => `${v} (${f === undefined ? d : f.where})`;
    throw new ConfigError(
      `${ctx.fileName}: minSessionTimeout ${show(minF, minSessionTimeoutMs, '2 * tickTime')} must not be larger than ` +
        `maxSessionTimeout ${show(maxF, maxSessionTimeoutMs, '20 * tickTime')}`,
    );
  }
  const noLimit = 'expected a non-negative integer (0 means no limit)';
  return {
    maxClientCnxns: fileInt(src.file('maxClientCnxns'), 60, 0, noLimit),
    maxCnxns: propInt(src.zk('maxCnxns'), 0, 0, INT_MAX, noLimit),
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    globalOutstandingLimit: propInt(src.zk('globalOutstandingLimit'), 1000, 1, INT_MAX, 'expected a positive integer'),
    juteMaxBufferBytes: propInt(src.bare('jute.maxbuffer'), 0xfffff, 1, INT_MAX, JUTE_TEXT),
  };
}

type Persistence = Pick<
  Config,
  | 'snapCount'
  | 'commitLogCount'
  | 'preAllocSizeKb'
  | 'forceSync'
  | 'snapSizeLimitKb'
  | 'txnLogSizeLimitKb'
  | 'autopurgeSnapRetainCount'
  | 'autopurgePurgeIntervalHours'
>;

function readPersistence(ctx: Ctx): Persistence {
  const { src, warnings } = ctx;
  const snapF = src.zk('snapCount');
  let snapCount = propInt(snapF, 100000, INT_MIN, INT_MAX, 'expected a positive integer number of transactions');
  if (snapCount < 2 && snapF !== undefined) {
    warnings.push(`${snapF.where}: snapCount=${snapCount} is below 2; using 2, as ZooKeeper does`);
    snapCount = 2;
  }
  const preF = src.zk('preAllocSize');
  const preAllocSizeKb = preF === undefined ? 65536 : javaParseInt(preF.value, 0, LONG_MAX);
  if (preF !== undefined && preAllocSizeKb === null) {
    throw invalid(preF, 'expected a non-negative integer number of kilobytes');
  }
  const retainF = src.file('autopurge.snapRetainCount');
  let autopurgeSnapRetainCount = fileInt(retainF, 3, INT_MIN, 'expected an integer number of snapshots (minimum 3)');
  if (autopurgeSnapRetainCount < 3 && retainF !== undefined) {
    warnings.push(
      `${retainF.where}: autopurge.snapRetainCount=${autopurgeSnapRetainCount} is below the minimum; using 3`,
    );
    autopurgeSnapRetainCount = 3;
  }
  const kbText = 'expected an integer number of kilobytes (<= 0 disables)';
  return {
    snapCount,
    // ZooKeeper keeps 500 in memory and diffs from its txn log files beyond them; tszk diffs from
    // memory only, so its default window is larger. An explicit value is taken as it is.
    commitLogCount: propInt(src.zk('commitLogCount'), DEFAULT_COMMIT_LOG_COUNT, 1, INT_MAX, 'expected a positive integer number of transactions'),
    preAllocSizeKb: preAllocSizeKb ?? 65536,
    forceSync: yesNo(src.zk('forceSync'), true, 'yes'),
    snapSizeLimitKb: propLong(src.zk('snapSizeLimitInKb'), 4194304, kbText),
    txnLogSizeLimitKb: propLong(src.zk('txnLogSizeLimitInKb'), -1, kbText),
    autopurgeSnapRetainCount,
    autopurgePurgeIntervalHours: fileInt(src.file('autopurge.purgeInterval'), 0, INT_MIN, PURGE_TEXT),
  };
}

type Features = Pick<
  Config,
  | 'extendedTypesEnabled'
  | 'enforceQuota'
  | 'skipACL'
  | 'superDigest'
  | 'reconfigEnabled'
  | 'standaloneEnabled'
  | 'readonlyModeEnabled'
  | 'containerCheckIntervalMs'
  | 'localSessionsEnabled'
  | 'localSessionsUpgradingEnabled'
  | 'quorumListenOnAllIPs'
  | 'syncEnabled'
>;

function readFeatures(ctx: Ctx): Features {
  const { src } = ctx;
  const superF = src.zk('DigestAuthenticationProvider.superDigest');
  const superDigest = superF === undefined || superF.value === '' ? null : superF.value;
  if (superF !== undefined && superDigest !== null && !/^[^:]+:.+$/.test(superDigest)) {
    throw invalid(superF, 'expected "super:<base64 SHA-1 digest>" as printed by DigestAuthenticationProvider');
  }
  validateIgnored(src);
  return {
    extendedTypesEnabled: javaBool(src.zk('extendedTypesEnabled'), false),
    enforceQuota: javaBool(src.zk('enforceQuota'), false),
    skipACL: yesNo(src.zk('skipACL'), false, 'no'),
    superDigest,
    reconfigEnabled: strictBool(src.file('reconfigEnabled'), false),
    standaloneEnabled: strictBool(src.file('standaloneEnabled'), true),
    readonlyModeEnabled: javaBool(src.bare('readonlymode.enabled'), false),
    containerCheckIntervalMs: propInt(src.bare('znode.container.checkIntervalMs'), 60000, 1, INT_MAX, POSITIVE_MS_TEXT),
    localSessionsEnabled: strictBool(src.file('localSessionsEnabled'), false),
    localSessionsUpgradingEnabled: strictBool(src.file('localSessionsUpgradingEnabled'), false),
    quorumListenOnAllIPs: strictBool(src.file('quorumListenOnAllIPs'), false),
    syncEnabled: strictBool(src.file('syncEnabled'), true),
  };
}

type Admin = Pick<Config, 'adminEnableServer' | 'adminServerAddress' | 'adminServerPort' | 'adminCommandUrl'>;

function readAdmin(ctx: Ctx): Admin {
  const { src } = ctx;
  // AdminServerFactory: enabled unless the property is exactly "false".
  const adminF = src.zk('admin.enableServer');
  if (adminF !== undefined && adminF.value !== 'true' && adminF.value !== 'false') {
    throw invalid(
      adminF,
      "expected 'true' or 'false' in lowercase (ZooKeeper enables the admin server for anything but 'false')",
    );
  }
  return {
    adminEnableServer: adminF?.value !== 'false',
    adminServerAddress: address(src.zk('admin.serverAddress')) ?? '0.0.0.0',
    adminServerPort: propInt(src.zk('admin.serverPort'), 8080, 1, 65535, 'expected a port number from 1 to 65535'),
    adminCommandUrl: src.zk('admin.commandURL')?.value ?? '/commands',
  };
}

interface Ensemble {
  membership: Membership;
  dynamicConfigFile: string | null;
  distributed: boolean;
}

/** Membership from zoo.cfg or dynamicConfigFile, checked like QuorumPeerConfig.parseDynamicConfig. */
function readEnsemble(ctx: Ctx, standaloneEnabled: boolean): Ensemble {
  const { src, warnings } = ctx;
  const multiAddressEnabled = javaBool(src.zk('multiAddress.enabled'), false);
  const dynF = src.file('dynamicConfigFile');
  let dynamicConfigFile: string | null = null;
  let membership: Membership;
  if (dynF !== undefined) {
    if (dynF.value === '') throw invalid(dynF, 'expected a file path');
    dynamicConfigFile = path.resolve(ctx.cwd, dynF.value);
    membership = readDynamic(src, dynF, dynamicConfigFile, ctx.options, multiAddressEnabled);
  } else {
    membership = parseMembership(src.props, ctx.fileName, multiAddressEnabled);
  }
  const { servers } = membership;
  const memberFile = dynamicConfigFile ?? ctx.fileName;
  const participants = servers.filter((s) => s.type === 'participant').length;
  const observers = servers.length - participants;
  if (participants === 0) {
    if (!standaloneEnabled) {
      throw new ConfigError(`${memberFile}: standaloneEnabled=false needs at least one participant in server.N`);
    }
    if (observers > 0) throw new ConfigError(`${memberFile}: observers without participants is not a valid ensemble`);
  } else if (participants === 1 && standaloneEnabled) {
    if (observers > 0) {
      throw new ConfigError(`${memberFile}: observers need a quorum of participants (or standaloneEnabled=false)`);
    }
    warnings.push(`${memberFile}: only one server is listed, so it runs standalone and the server list is ignored`);
  } else if (participants <= 2) {
    warnings.push(`${memberFile}: no server failure will be tolerated; an ensemble needs at least 3 servers for that`);
  } else if (participants % 2 === 0) {
    warnings.push(
      `${memberFile}: ${participants} participants tolerate no more failures than ${participants - 1}; ` +
        'consider an odd number',
    );
  }
  const distributed = servers.length > 0 && (!standaloneEnabled || participants > 1);
  return { membership, dynamicConfigFile, distributed };
}

interface Identity {
  myid: number | null;
  peerType: PeerType;
  clientPort: number;
  clientPortAddress: string | undefined;
}

/** myid, then QuorumPeerConfig.setupClientPort, setupPeerType and checkValidity. */
function resolveIdentity(ctx: Ctx, dataDir: string, ports: ClientPorts, ensemble: Ensemble): Identity {
  const { src, warnings, fileName } = ctx;
  const { servers } = ensemble.membership;
  const peerTypeF = src.file('peerType');
  let peerType: PeerType = 'participant';
  if (peerTypeF !== undefined) {
    const t = peerTypeOf(peerTypeF.value);
    if (t === null) throw invalid(peerTypeF, "expected 'participant' or 'observer'");
    peerType = t;
  }
  const myid = findMyid(dataDir, ctx.options);
  const me = myid === null ? undefined : servers.find((s) => s.id === myid);
  let { clientPort, clientPortAddress } = ports;
  if (me?.clientPort !== undefined) {
    // The server line's client address wins, but must agree with clientPort when both are set.
    if (ports.clientPortF !== undefined && clientPort !== 0) {
      const anyLocal = clientPortAddress === undefined || clientPortAddress === '0.0.0.0' || clientPortAddress === '::';
      const differs = clientPort !== me.clientPort || (!anyLocal && clientPortAddress !== me.clientAddress);
      if (differs) {
        throw invalid(
          ports.clientPortF,
          `server.${me.id} gives this server's client address as ${me.clientAddress ?? ''}:${me.clientPort}; ` +
            'the two must agree',
        );
      }
    }
    clientPort = me.clientPort;
    clientPortAddress = me.clientAddress;
  }
  // The server list decides the peer type; not being listed means participant.
  const listedType: PeerType = me?.type ?? 'participant';
  if (listedType !== peerType && peerTypeF !== undefined) {
    const why =
      me === undefined ? 'this server is not an observer in the server list' : `server.${me.id} says ${me.type}`;
    warnings.push(`${peerTypeF.where}: peerType=${peerType} is overridden: ${why}; using ${listedType}`);
  }
  if (ensemble.distributed) {
    if (myid === null) {
      throw new ConfigError(
        `${path.join(dataDir, 'myid')}: myid file is missing; ` +
          'an ensemble member needs it (or the MYID environment variable) ' +
          `to hold its server id, one of ${servers.map((s) => s.id).join(', ')}`,
      );
    }
    if (me === undefined) {
      throw new ConfigError(
        `${fileName}: my id ${myid} is not in the server list (server.${servers.map((s) => s.id).join(', server.')})`,
      );
    }
  }
  if (clientPort === 0 && ports.secureClientPort === 0) {
    throw new ConfigError(
      `${fileName}: clientPort is not set; set clientPort (1-65535)` +
        (servers.length > 0 ? ' or give this server\'s client port as ";port" in its server.N line' : ''),
    );
  }
  return { myid, peerType: listedType, clientPort, clientPortAddress };
}

function freezeHierarchy(h: QuorumHierarchy | null): QuorumHierarchy | null {
  if (h === null) return null;
  const groups = h.groups.map((g) => Object.freeze({ id: g.id, members: Object.freeze([...g.members]) }));
  return Object.freeze({ groups: Object.freeze(groups), weights: frozenMap(h.weights) });
}

/**
 * Builds the Config from zoo.cfg text. Pure apart from the callbacks in `options` (and
 * process.cwd() when options.cwd is absent).
 */
export function parseConfig(text: string, options: ParseConfigOptions): Config {
  const fileName = options.path ?? '<built-in default config>';
  const warnings: string[] = [...(options.warnings ?? [])];
  const props = parseProperties(text, fileName);
  const ctx: Ctx = {
    src: new Sources(props, fileName, options.systemProps),
    fileName,
    cwd: options.cwd ?? process.cwd(),
    pathWarnings: options.path === null ? null : warnings,
    warnings,
    options,
  };
  hints(props, fileName, warnings);

  const timing = readTiming(ctx);
  const dirs = readDirectories(ctx);
  const ports = readClientPorts(ctx);
  const limits = readLimits(ctx, timing.tickTimeMs);
  const persistence = readPersistence(ctx);
  const features = readFeatures(ctx);
  const admin = readAdmin(ctx);
  const ensemble = readEnsemble(ctx, features.standaloneEnabled);
  if (ensemble.distributed) {
    if (timing.initLimitTicks === 0) {
      throw new ConfigError(`${fileName}: initLimit is not set; an ensemble needs a positive number of ticks`);
    }
    if (timing.syncLimitTicks === 0) {
      throw new ConfigError(`${fileName}: syncLimit is not set; an ensemble needs a positive number of ticks`);
    }
  }
  const identity = resolveIdentity(ctx, dirs.dataDir, ports, ensemble);
  if (features.extendedTypesEnabled && identity.myid !== null && identity.myid > 254) {
    throw new ConfigError(
      `${fileName}: extendedTypesEnabled=true needs a server id of at most 254, but myid is ${identity.myid}`,
    );
  }
  const fourLetterWords = whitelist(ctx.src.zk('4lw.commands.whitelist'), features.readonlyModeEnabled, warnings);

  const raw: Array<[string, string]> = [...props.byKey.values()].map((e) => [e.key, e.value]);
  for (const p of options.systemProps.values()) raw.push([p.name, p.value]);

  const config: Config = {
    configPath: options.path,
    ...timing,
    ...dirs,
    clientPort: identity.clientPort,
    clientPortAddress: identity.clientPortAddress ?? '0.0.0.0',
    ...limits,
    ...persistence,
    fourLetterWordWhitelist: frozenSet(fourLetterWords),
    ...features,
    myid: identity.myid,
    servers: Object.freeze(ensemble.membership.servers.map(freezeServer)),
    distributed: ensemble.distributed,
    peerType: identity.peerType,
    quorumHierarchy: freezeHierarchy(ensemble.membership.hierarchy),
    quorumVersion: ensemble.membership.version,
    dynamicConfigFile: ensemble.dynamicConfigFile,
    ...admin,
    raw: frozenMap(raw),
    ignoredKeys: Object.freeze(ignoredKeys(props)),
    warnings: Object.freeze(warnings),
  };
  if (ports.secureClientPort !== 0) config.secureClientPort = ports.secureClientPort;
  if (ports.secureClientPortAddress !== undefined) config.secureClientPortAddress = ports.secureClientPortAddress;
  return Object.freeze(config);
}

// ---- files --------------------------------------------------------------------------------

/** A file's text, or null when it does not exist (or is a directory, like File.isFile()). */
function readOptionalFile(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null;
    throw new ConfigError(`${file}: cannot be read (${code ?? String(e)})`);
  }
}

/** conf/zookeeper-env.sh then conf/java.env, as zkEnv.sh sources them. */
function envFilesNextTo(configPath: string): EnvFile[] {
  const dir = path.dirname(configPath);
  const out: EnvFile[] = [];
  for (const name of ['zookeeper-env.sh', 'java.env']) {
    const file = path.join(dir, name);
    const text = readOptionalFile(file);
    if (text !== null) out.push({ path: file, text });
  }
  return out;
}

/**
 * Loads the configuration from a zoo.cfg path (relative to the working directory), or the
 * built-in default when `configPath` is null, together with java.env and dataDir/myid.
 */
export function loadConfig(configPath: string | null, env: NodeJS.ProcessEnv): Config {
  const common = {
    env,
    readMyid: (dataDir: string) => readOptionalFile(path.join(dataDir, 'myid')),
    readDynamicConfig: readOptionalFile,
  };
  if (configPath === null) {
    const sys = collectSystemProps(env, []);
    return parseConfig(DEFAULT_CONFIG_TEXT, { ...common, path: null, systemProps: sys.props, warnings: sys.warnings });
  }
  const file = path.resolve(configPath);
  const text = readOptionalFile(file);
  if (text === null) throw new ConfigError(`${file}: config file is missing`);
  const sys = collectSystemProps(env, envFilesNextTo(file));
  return parseConfig(text, { ...common, path: file, systemProps: sys.props, warnings: sys.warnings });
}
