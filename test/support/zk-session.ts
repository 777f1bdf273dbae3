// A node-zookeeper-client session with promises, for tests that need a client which fails over
// between the servers of its connect string (the quorum tests).
import { createRequire } from 'node:module';

// node-zookeeper-client (1.x, pure JavaScript, ships no types): the parts the quorum tests use.
// It fails over between the servers of its connect string and keeps its session; a request in
// flight when the connection drops fails with CONNECTION_LOSS (its outcome unknown), requests made
// while disconnected wait for the next connection. It has no sync().

interface NzkStat {
  czxid: Buffer;
  mzxid: Buffer;
  version: number;
  cversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
}

interface NzkException extends Error {
  code: number;
}

interface NzkState {
  name: string;
  code: number;
}

interface NzkHandle {
  connect(): void;
  close(): void;
  once(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void;
  on(event: 'state', listener: (state: NzkState) => void): void;
  getSessionId(): Buffer;
  getState(): NzkState;
  create(path: string, data: Buffer | undefined, acls: unknown[], mode: number, callback: (error: NzkException | null, path: string) => void): void;
  remove(path: string, version: number, callback: (error: NzkException | null) => void): void;
  setData(path: string, data: Buffer, version: number, callback: (error: NzkException | null, stat: NzkStat) => void): void;
  getData(path: string, watcher: undefined, callback: (error: NzkException | null, data: Buffer | undefined, stat: NzkStat) => void): void;
  exists(path: string, watcher: undefined, callback: (error: NzkException | null, stat: NzkStat | null) => void): void;
  getChildren(path: string, watcher: undefined, callback: (error: NzkException | null, children: string[], stat: NzkStat) => void): void;
}

interface NzkModule {
  createClient(
    connectString: string,
    options?: { sessionTimeout?: number; retries?: number; spinDelay?: number },
  ): NzkHandle;
  ACL: { OPEN_ACL_UNSAFE: unknown[] };
  CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
}

const nzk = createRequire(import.meta.url)('node-zookeeper-client') as NzkModule;
export const CreateMode = nzk.CreateMode;

/** ZooKeeper error codes the quorum tests branch on. */
export const ZkCode = {
  connectionLoss: -4,
  operationTimeout: -7,
  noNode: -101,
  nodeExists: -110,
  sessionExpired: -112,
} as const;

/** The ZooKeeper error code of a failed call, undefined for anything else. */
export function zkErrorCode(error: unknown): number | undefined {
  const code = (error as Partial<NzkException> | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export interface ZkStatLite {
  version: number;
  cversion: number;
  numChildren: number;
  /** Session id of the owner as 16 hex digits, '0000000000000000' for a persistent node. */
  ephemeralOwner: string;
  mzxid: bigint;
}

function statLite(stat: NzkStat): ZkStatLite {
  return {
    version: stat.version,
    cversion: stat.cversion,
    numChildren: stat.numChildren,
    ephemeralOwner: stat.ephemeralOwner.toString('hex'),
    mzxid: stat.mzxid.readBigInt64BE(0),
  };
}

export interface ZkSessionOptions {
  /** Requested session timeout; the server clamps it to [2, 20] ticks unless min/maxSessionTimeout say otherwise. */
  sessionTimeoutMs?: number;
  /** Longest pause after trying every server once; default 100 ms (the library's default is 1 s). */
  spinDelayMs?: number;
  /** Give up on the first connection after this long; default 30 s. */
  connectTimeoutMs?: number;
}

/** A node-zookeeper-client session with promises, its state changes counted. */
export class ZkSession {
  readonly handle: NzkHandle;
  readonly connectString: string;
  /** The session id the first connection got, 16 hex digits. */
  readonly sessionIdHex: string;
  /** How often the connection dropped (DISCONNECTED), and whether the session expired. */
  disconnects = 0;
  expired = false;
  #closed = false;

  private constructor(handle: NzkHandle, connectString: string) {
    this.handle = handle;
    this.connectString = connectString;
    this.sessionIdHex = handle.getSessionId().toString('hex');
    handle.on('state', (state) => {
      if (state.name === 'DISCONNECTED') this.disconnects += 1;
      if (state.name === 'EXPIRED') this.expired = true;
    });
  }

  static connect(connectString: string, options: ZkSessionOptions = {}): Promise<ZkSession> {
    const handle = nzk.createClient(connectString, {
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      spinDelay: options.spinDelayMs ?? 100,
      retries: 0,
    });
    const timeoutMs = options.connectTimeoutMs ?? 30_000;
    return new Promise<ZkSession>((resolve, reject) => {
      const timer = setTimeout(() => {
        handle.close();
        reject(new Error(`node-zookeeper-client: no session from ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      handle.once('connected', () => {
        clearTimeout(timer);
        resolve(new ZkSession(handle, connectString));
      });
      handle.once('expired', () => {
        clearTimeout(timer);
        reject(new Error(`node-zookeeper-client: session from ${connectString} expired while connecting`));
      });
      handle.connect();
    });
  }

  /** The session id now (the library keeps it across reconnects), 16 hex digits. */
  currentSessionIdHex(): string {
    return this.handle.getSessionId().toString('hex');
  }

  get connected(): boolean {
    return this.handle.getState().name === 'SYNC_CONNECTED';
  }

  create(path: string, data: Buffer | string | undefined, mode: number = CreateMode.PERSISTENT): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return new Promise((resolve, reject) =>
      this.handle.create(path, bytes, nzk.ACL.OPEN_ACL_UNSAFE, mode, (e, created) => (e ? reject(e) : resolve(created))),
    );
  }

  setData(path: string, data: Buffer | string, version = -1): Promise<ZkStatLite> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return new Promise((resolve, reject) => this.handle.setData(path, bytes, version, (e, stat) => (e ? reject(e) : resolve(statLite(stat)))));
  }

  getData(path: string): Promise<{ data: string; stat: ZkStatLite }> {
    return new Promise((resolve, reject) =>
      this.handle.getData(path, undefined, (e, data, stat) => (e ? reject(e) : resolve({ data: data?.toString('utf8') ?? '', stat: statLite(stat) }))),
    );
  }

  exists(path: string): Promise<ZkStatLite | null> {
    return new Promise((resolve, reject) => this.handle.exists(path, undefined, (e, stat) => (e ? reject(e) : resolve(stat ? statLite(stat) : null))));
  }

  getChildren(path: string): Promise<string[]> {
    return new Promise((resolve, reject) => this.handle.getChildren(path, undefined, (e, children) => (e ? reject(e) : resolve(children))));
  }

  remove(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => this.handle.remove(path, version, (e) => (e ? reject(e) : resolve())));
  }

  /** Closes the session (closeSession, then the socket); resolves within 5 s either way. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      this.handle.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.handle.close();
    });
  }
}

