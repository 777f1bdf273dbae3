import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { systemClock, type Clock } from './clock.js';
import { ClientConnection, type ConnectionHost } from './connection.js';
import { fourLetterWord } from './four-letter/commands.js';
import { MemoryPersister, type TxnPersister } from './persister.js';
import type { ServerView } from './server-view.js';
import { ZkServer } from './zk-server.js';

export interface RunningServer {
  readonly clientPort: number;
  mode(): string;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  persister?: TxnPersister;
}

/**
 * A standalone server: the request pipeline, the client listener, and the two timers it needs
 * (session expiry every tick, container/TTL reaping every containerCheckIntervalMs).
 */
export class StandaloneServer implements RunningServer, ConnectionHost, ServerView {
  readonly server: ZkServer;
  readonly maxFrameBytes: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly maxOutstanding: number;
  readonly superDigest: string | null;
  readonly startedMs = Date.now();
  readonly connections = new Set<ClientConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly listener: Server;
  private nextCnxnId = 1;
  private expiryTimer: NodeJS.Timeout | null = null;
  private reapTimer: NodeJS.Timeout | null = null;
  private port = 0;
  private readonly persister: TxnPersister;
  readonly clock: Clock;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    opts: StartOptions = {},
  ) {
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    this.persister = opts.persister ?? new MemoryPersister();
    this.server = new ZkServer(
      {
        tickTimeMs: config.tickTimeMs,
        serverId: config.myid ?? 1,
        skipACL: config.skipACL,
        extendedTypesEnabled: config.extendedTypesEnabled,
        enforceQuota: config.enforceQuota,
        reconfigEnabled: config.reconfigEnabled,
      },
      this.persister,
      clock,
      log.child({ component: 'pipeline' }),
    );
    this.maxFrameBytes = config.juteMaxBufferBytes;
    this.minSessionTimeoutMs = config.minSessionTimeoutMs;
    this.maxSessionTimeoutMs = config.maxSessionTimeoutMs;
    this.maxOutstanding = Math.max(1, config.globalOutstandingLimit);
    this.superDigest = config.superDigest;
    this.listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  get clientPort(): number {
    return this.port;
  }

  mode(): string {
    return 'standalone';
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

  async close(): Promise<void> {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    if (this.reapTimer !== null) clearInterval(this.reapTimer);
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const cnxn of this.connections) cnxn.destroy();
    await closed;
    await this.persister.close();
  }
}

export async function startServer(config: Config, logger: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  const server = new StandaloneServer(config, logger, opts);
  await server.listen();
  return server;
}
