/**
 * The one frozen configuration object. Only src/config/ reads zoo.cfg, java.env and the
 * environment; every other module receives this object (or the part of it it needs).
 */

export type PeerType = 'participant' | 'observer';

export interface QuorumAddress {
  host: string;
  quorumPort: number;
  electionPort: number;
}

export interface QuorumServer {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  type: PeerType;
  /** From the `;[addr:]clientPort` suffix, when given ('0.0.0.0' when only the port is). */
  clientAddress?: string;
  clientPort?: number;
  /**
   * Every address when server.N lists several separated by '|' (multiAddress.enabled=true);
   * the first one is also in host/quorumPort/electionPort. Absent for a single address.
   */
  addresses?: readonly QuorumAddress[];
}

/** group.N / weight.N: a hierarchical quorum instead of a simple majority. */
export interface QuorumHierarchy {
  groups: readonly { id: number; members: readonly number[] }[];
  /** Weight of every server in a group (1 unless weight.N says otherwise). */
  weights: ReadonlyMap<number, number>;
}

export interface Config {
  /** Absolute path of the zoo.cfg this came from, or null for the built-in default. */
  configPath: string | null;
  tickTimeMs: number;
  initLimitTicks: number;
  syncLimitTicks: number;
  /** connectToLearnerMasterLimit, or initLimit when unset (as Learner does). */
  connectToLearnerMasterLimitTicks: number;
  dataDir: string;
  /** dataLogDir, or dataDir when unset. */
  dataLogDir: string;
  /**
   * This server's client port: clientPort, or the `;port` of its server.N line. 0 only when just
   * secureClientPort is configured.
   */
  clientPort: number;
  /** '0.0.0.0' unless clientPortAddress is set, or this server's server.N line gives a client address. */
  clientPortAddress: string;
  secureClientPort?: number;
  secureClientPortAddress?: string;
  maxClientCnxns: number;
  /** zookeeper.maxCnxns: limit on all client connections of one listener; 0 = none. */
  maxCnxns: number;
  /** Derived like ZooKeeper: minSessionTimeout defaults to 2 ticks, max to 20 ticks. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  globalOutstandingLimit: number;
  snapCount: number;
  /** zookeeper.commitLogCount: committed txns a leader keeps in memory to sync learners by DIFF. */
  commitLogCount: number;
  preAllocSizeKb: number;
  /** zookeeper.snapSizeLimitInKb (default 4 GiB); <= 0 disables the size trigger. */
  snapSizeLimitKb: number;
  /** zookeeper.txnLogSizeLimitInKb; <= 0 (the default, -1) disables it. */
  txnLogSizeLimitKb: number;
  forceSync: boolean;
  /** Four-letter words allowed; contains '*' (and every word) when all are. Always has srvr. */
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
  /** server.N lines (from zoo.cfg or dynamicConfigFile), sorted by id. */
  servers: readonly QuorumServer[];
  /**
   * True when this server runs as an ensemble member: more than one participant, or any servers
   * with standaloneEnabled=false (QuorumPeerConfig.isDistributed). Otherwise it runs standalone
   * and ignores `servers`.
   */
  distributed: boolean;
  /** From the server list when this server is in it (ZooKeeper lets the list win over peerType). */
  peerType: PeerType;
  quorumHierarchy: QuorumHierarchy | null;
  /** The membership version: hex suffix of the dynamic config file's name, or `version=`; else 0. */
  quorumVersion: bigint;
  /** Absolute path of dynamicConfigFile, when set. */
  dynamicConfigFile: string | null;
  localSessionsEnabled: boolean;
  localSessionsUpgradingEnabled: boolean;
  quorumListenOnAllIPs: boolean;
  /** Whether observers log and snapshot (syncEnabled). */
  syncEnabled: boolean;
  adminEnableServer: boolean;
  adminServerAddress: string;
  adminServerPort: number;
  adminCommandUrl: string;
  /** Every key/value as read (zoo.cfg keys, and system properties after mapping), for `conf`/`envi`. */
  raw: ReadonlyMap<string, string>;
  /** Keys accepted but not acted on; logged once at start. */
  ignoredKeys: readonly string[];
  /** Non-fatal findings to log once at start: relative paths, clamped values, skipped java.env lines. */
  warnings: readonly string[];
}
