import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { systemClock, type Clock } from './clock.js';
import { ClientConnection, type ConnectionHost } from './connection.js';
import { fourLetterWord } from './four-letter/commands.js';
import { purge } from '../persist/purge.js';
import { dataDirs, restoreDatabase, type DataDirs } from '../persist/restore.js';
import { TxnLogWriter } from '../persist/txn-log-writer.js';
import { MemoryPersister, type TxnPersister } from './persister.js';
import type { ServerView } from './server-view.js';
import { Snapshotter } from './snapshotter.js';
import { ZkServer, type InitialState } from './zk-server.js';
import type { QuorumPeer, QuorumHost } from '../quorum/quorum-peer.js';
import { ACCEPTED_EPOCH, CURRENT_EPOCH, readEpoch, writeEpoch } from '../persist/epoch-file.js';
import { ConfigError } from '../util/errors.js';

export interface RunningServer {
  readonly clientPort: number;
  mode(): string;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Keep everything in memory (no txn log, no snapshots): for tests of the protocol alone. */
  inMemory?: boolean;
}

/** The durable parts a server runs with: its txn log, snapshots and where they live. */
interface Durability {
  dirs: DataDirs;
  txnLog: TxnLogWriter;
  initial: InitialState;
}

/**
 * A standalone server: the request pipeline, the client listener, and the two timers it needs
 * (session expiry every tick, container/TTL reaping every containerCheckIntervalMs).
 */
export class StandaloneServer implements RunningServer, ConnectionHost, ServerView, QuorumHost {
  readonly server: ZkServer;
  readonly maxFrameBytes: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly maxOutstanding: number;
  readonly superDigest: string | null;
  readonly skipACL: boolean;
  readonly startedMs = Date.now();
  readonly connections = new Set<ClientConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly listener: Server;
  private nextCnxnId = 1;
  private expiryTimer: NodeJS.Timeout | null = null;
  private reapTimer: NodeJS.Timeout | null = null;
  private port = 0;
  private readonly persister: TxnPersister;
  private readonly snapshotter: Snapshotter | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  readonly clock: Clock;
  /** In quorum mode, the ensemble member that moves the pipeline between roles. */
  quorum: QuorumPeer | null = null;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    opts: StartOptions = {},
    private readonly durability: Durability | null = null,
  ) {
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    this.persister = durability?.txnLog ?? new MemoryPersister();
    this.server = new ZkServer(
      {
        tickTimeMs: config.tickTimeMs,
        globalOutstandingLimit: Math.max(1, config.globalOutstandingLimit),
        serverId: config.myid ?? 1,
        skipACL: config.skipACL,
        extendedTypesEnabled: config.extendedTypesEnabled,
        enforceQuota: config.enforceQuota,
        reconfigEnabled: config.reconfigEnabled,
      },
      this.persister,
      clock,
      log.child({ component: 'pipeline' }),
      durability?.initial,
    );
    if (durability !== null) {
      const snapshotter = new Snapshotter(
        this.server,
        durability.txnLog,
        durability.dirs.snapDir,
        { snapCount: config.snapCount, fsync: config.forceSync },
        log.child({ component: 'snapshot' }),
      );
      this.snapshotter = snapshotter;
      this.server.onTxnCommitted = () => snapshotter.txnCommitted();
    }
    this.maxFrameBytes = config.juteMaxBufferBytes;
    this.minSessionTimeoutMs = config.minSessionTimeoutMs;
    this.maxSessionTimeoutMs = config.maxSessionTimeoutMs;
    this.maxOutstanding = Math.max(1, config.globalOutstandingLimit);
    this.superDigest = config.superDigest;
    this.skipACL = config.skipACL;
    this.listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  get clientPort(): number {
    return this.port;
  }

  mode(): string {
    return this.quorum?.mode() ?? 'standalone';
  }

  get quorumView(): QuorumPeer | null {
    return this.quorum;
  }

  dropClients(reason: string): void {
    for (const cnxn of [...this.connections]) cnxn.closeAfterFlush(reason);
  }

  async listen(): Promise<void> {
    const host = this.config.clientPortAddress === '0.0.0.0' ? undefined : this.config.clientPortAddress;
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen({ port: this.config.clientPort, host }, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    const address = this.listener.address();
    this.port = typeof address === 'object' && address !== null ? address.port : this.config.clientPort;
    this.scheduleExpiry();
    this.reapTimer = setInterval(() => this.server.reapContainers(), this.config.containerCheckIntervalMs);
    const purgeHours = this.config.autopurgePurgeIntervalHours;
    if (this.durability !== null && purgeHours > 0) {
      this.purgeTimer = setInterval(() => void this.purgeNow(), purgeHours * 3_600_000);
    }
    this.log.info({ clientPort: this.port }, 'serving clients');
  }

  private scheduleExpiry(): void {
    const wait = this.server.expiryWaitMs();
    this.expiryTimer = setTimeout(() => {
      this.server.expireSessions();
      this.scheduleExpiry();
    }, wait + 1);
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const count = (this.perAddress.get(address) ?? 0) + 1;
    if (this.config.maxClientCnxns > 0 && count > this.config.maxClientCnxns) {
      this.log.warn(`too many connections from ${address}: max is ${this.config.maxClientCnxns}`);
      socket.destroy();
      return;
    }
    if (this.config.maxCnxns > 0 && this.connections.size >= this.config.maxCnxns) {
      this.log.warn(`too many connections: max is ${this.config.maxCnxns}`);
      socket.destroy();
      return;
    }
    this.perAddress.set(address, count);
    const cnxn = new ClientConnection(this.nextCnxnId++, socket, this, this.log);
    this.connections.add(cnxn);
    socket.once('close', () => this.release(address));
  }

  private release(address: string): void {
    const count = (this.perAddress.get(address) ?? 1) - 1;
    if (count <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, count);
  }

  connectionClosed(cnxn: ClientConnection): void {
    this.connections.delete(cnxn);
    this.server.tree.removeWatcher(cnxn);
    if (this.server.cnxnBySession.get(cnxn.sessionId) === cnxn) this.server.cnxnBySession.delete(cnxn.sessionId);
  }

  fourLetterWord(word: string, cnxn: ClientConnection): string | null {
    return fourLetterWord(this, word, cnxn);
  }

  /** autopurge: keep snapRetainCount snapshots and the logs they need. */
  private async purgeNow(): Promise<void> {
    if (this.durability === null) return;
    const { snapDir, logDir } = this.durability.dirs;
    try {
      const removed = await purge(snapDir, logDir, this.config.autopurgeSnapRetainCount);
      this.log.info({ snapshots: removed.removedSnapshots.length, logs: removed.removedLogs.length }, 'purged old snapshots and logs');
    } catch (err) {
      this.log.error({ err }, 'purge failed');
    }
  }

  /** A snapshot at start when the log had txns to replay, so the next start replays less. */
  async snapshotAfterRestore(replayedTxns: number, hadSnapshot: boolean): Promise<void> {
    if (this.snapshotter === null || (replayedTxns === 0 && hadSnapshot)) return;
    this.durability?.txnLog.rollLog();
    await this.snapshotter.take();
  }

  async close(): Promise<void> {
    await this.quorum?.stop();
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    if (this.reapTimer !== null) clearInterval(this.reapTimer);
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const cnxn of this.connections) cnxn.destroy();
    await closed;
    await this.snapshotter?.idle();
    await this.persister.close();
  }
}

export async function startServer(config: Config, logger: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  if (opts.inMemory === true) {
    const server = new StandaloneServer(config, logger, opts);
    await server.listen();
    return server;
  }
  const dirs = dataDirs(config.dataDir, config.dataLogDir);
  const startedMs = performance.now();
  const restored = await restoreDatabase(dirs, { extendedTypesEnabled: config.extendedTypesEnabled, log: logger });
  logger.info(
    {
      snapshotZxid: restored.snapshotZxid === null ? null : `0x${restored.snapshotZxid.toString(16)}`,
      replayedTxns: restored.replayedTxns,
      lastZxid: `0x${restored.lastZxid.toString(16)}`,
      nodes: restored.tree.nodeCount,
      sessions: restored.sessions.size,
      ms: Math.round(performance.now() - startedMs),
    },
    'database restored',
  );
  const txnLog = await TxnLogWriter.open(dirs.logDir, {
    preAllocSizeBytes: config.preAllocSizeKb * 1024,
    forceSync: config.forceSync,
    txnLogSizeLimitBytes: config.txnLogSizeLimitKb > 0 ? config.txnLogSizeLimitKb * 1024 : undefined,
  });
  const server = new StandaloneServer(config, logger, opts, { dirs, txnLog, initial: restored });
  await server.snapshotAfterRestore(restored.replayedTxns, restored.snapshotZxid !== null);
  if (config.distributed) {
    const { acceptedEpoch, currentEpoch } = await loadEpochs(dirs.snapDir, restored.lastZxid, logger);
    server.server.role = 'down';
    // Loaded only here: a standalone server does not pay for the quorum modules at start-up.
    const { QuorumPeer } = await import('../quorum/quorum-peer.js');
    server.quorum = new QuorumPeer({
      config, host: server, txnLog, dirs, acceptedEpoch, currentEpoch, log: logger.child({ component: 'quorum' }),
    });
    await server.listen();
    await server.quorum.start();
    return server;
  }
  await server.listen();
  return server;
}

/**
 * acceptedEpoch and currentEpoch from dataDir, as ZooKeeper reads them: a missing file takes the
 * epoch of the last logged zxid (and is written), and acceptedEpoch may never be behind
 * currentEpoch.
 */
async function loadEpochs(dir: string, lastZxid: bigint, logger: Logger): Promise<{ acceptedEpoch: bigint; currentEpoch: bigint }> {
  const logged = lastZxid >> 32n;
  let currentEpoch = await readEpoch(dir, CURRENT_EPOCH);
  if (currentEpoch === null) {
    currentEpoch = logged;
    logger.info({ epoch: String(currentEpoch) }, `${CURRENT_EPOCH} not found; using the epoch of the last logged zxid`);
    await writeEpoch(dir, CURRENT_EPOCH, currentEpoch);
  }
  let acceptedEpoch = await readEpoch(dir, ACCEPTED_EPOCH);
  if (acceptedEpoch === null) {
    acceptedEpoch = logged;
    logger.info({ epoch: String(acceptedEpoch) }, `${ACCEPTED_EPOCH} not found; using the epoch of the last logged zxid`);
    await writeEpoch(dir, ACCEPTED_EPOCH, acceptedEpoch);
  }
  if (logged > currentEpoch) {
    throw new ConfigError(`the current epoch, ${currentEpoch}, is older than the last logged zxid's epoch, ${logged}`);
  }
  if (acceptedEpoch < currentEpoch) {
    throw new ConfigError(`the accepted epoch, ${acceptedEpoch}, is less than the current epoch, ${currentEpoch}`);
  }
  return { acceptedEpoch, currentEpoch };
}
