/**
 * The one frozen configuration object. Only src/config/ reads zoo.cfg, java.env and the
 * environment; every other module receives this object (or the part of it it needs).
 */

export type PeerType = 'participant' | 'observer';

export interface QuorumServer {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  type: PeerType;
  /** From the `;[addr:]clientPort` suffix, when given. */
  clientAddress?: string;
  clientPort?: number;
}

export interface Config {
  /** Absolute path of the zoo.cfg this came from, or null for the built-in default. */
  configPath: string | null;
  tickTimeMs: number;
  initLimitTicks: number;
  syncLimitTicks: number;
  dataDir: string;
  /** dataLogDir, or dataDir when unset. */
  dataLogDir: string;
  clientPort: number;
  /** '0.0.0.0' unless clientPortAddress is set. */
  clientPortAddress: string;
  secureClientPort?: number;
  maxClientCnxns: number;
  /** Derived like ZooKeeper: minSessionTimeout defaults to 2 ticks, max to 20 ticks. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  globalOutstandingLimit: number;
  snapCount: number;
  preAllocSizeKb: number;
  forceSync: boolean;
  /** Four-letter words allowed; contains '*' when all are. */
  fourLetterWordWhitelist: ReadonlySet<string>;
  autopurgeSnapRetainCount: number;
  autopurgePurgeIntervalHours: number;
  extendedTypesEnabled: boolean;
  enforceQuota: boolean;
  skipACL: boolean;
  /** zookeeper.DigestAuthenticationProvider.superDigest, "super:base64(sha1)". */
  superDigest: string | null;
  juteMaxBufferBytes: number;
  reconfigEnabled: boolean;
  standaloneEnabled: boolean;
  readonlyModeEnabled: boolean;
  containerCheckIntervalMs: number;
  /** myid from dataDir/myid or the MYID environment variable, when present. */
  myid: number | null;
  servers: readonly QuorumServer[];
  peerType: PeerType;
  adminEnableServer: boolean;
  adminServerAddress: string;
  adminServerPort: number;
  /** Every key/value as read (zoo.cfg keys, and system properties after mapping), for `conf`/`envi`. */
  raw: ReadonlyMap<string, string>;
  /** Keys accepted but not acted on; logged once at start. */
  ignoredKeys: readonly string[];
}
