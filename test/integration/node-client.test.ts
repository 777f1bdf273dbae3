// node-zookeeper-client (1.x, pure JavaScript) against each target server. It is an "old client":
// its ConnectRequest has no readOnly byte, so the server must answer without one too. Every
// expectation here holds against the real ZooKeeper 3.8 server.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachTarget, type TestServer } from '../support/zk-server.js';
import { waitFor } from '../support/wait.js';

// ---------------------------------------------------------------------------------------------
// The parts of node-zookeeper-client used here (it ships no type declarations).

interface ZkStat {
  czxid: Buffer;
  mzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  pzxid: Buffer;
}

interface ZkId {
  scheme: string;
  id: string;
}

interface ZkAcl {
  permission: number;
  id: ZkId;
}

interface ZkEvent {
  type: number;
  name: string;
  path: string;
}

interface ZkException extends Error {
  code: number;
}

type Callback<T> = (error: ZkException | null, result: T) => void;
type Watcher = (event: ZkEvent) => void;

interface OpResult {
  type: number;
  path?: string;
  stat?: ZkStat;
  err?: number;
}

interface ZkTransaction {
  create(path: string, data: Buffer | undefined, acls: ZkAcl[], mode: number): ZkTransaction;
  create(path: string, data?: Buffer, mode?: number): ZkTransaction;
  setData(path: string, data: Buffer, version?: number): ZkTransaction;
  check(path: string, version?: number): ZkTransaction;
  remove(path: string, version?: number): ZkTransaction;
  commit(callback: (error: ZkException | null, results: OpResult[] | undefined) => void): void;
}

interface ZkClientHandle {
  connect(): void;
  close(): void;
  once(event: 'connected' | 'disconnected' | 'expired' | 'authenticationFailed', listener: () => void): void;
  on(event: 'state', listener: (state: { name: string; code: number }) => void): void;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  getSessionTimeout(): number;
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer | undefined, acls: ZkAcl[], mode: number, callback: Callback<string>): void;
  remove(path: string, version: number, callback: (error: ZkException | null) => void): void;
  setData(path: string, data: Buffer, version: number, callback: Callback<ZkStat>): void;
  getData(path: string, watcher: Watcher | undefined, callback: (error: ZkException | null, data: Buffer | undefined, stat: ZkStat) => void): void;
  setACL(path: string, acls: ZkAcl[], version: number, callback: Callback<ZkStat>): void;
  getACL(path: string, callback: (error: ZkException | null, acls: ZkAcl[], stat: ZkStat) => void): void;
  exists(path: string, watcher: Watcher | undefined, callback: Callback<ZkStat | null>): void;
  getChildren(path: string, watcher: Watcher | undefined, callback: (error: ZkException | null, children: string[], stat: ZkStat) => void): void;
  mkdirp(path: string, data: Buffer | undefined, acls: ZkAcl[], mode: number, callback: Callback<string>): void;
  removeRecursive(path: string, version: number, callback: (error: ZkException | null) => void): void;
  transaction(): ZkTransaction;
}

interface NodeZookeeperClient {
  createClient(connectString: string, options?: { sessionTimeout?: number; retries?: number; spinDelay?: number; sessionId?: Buffer; sessionPassword?: Buffer }): ZkClientHandle;
  ACL: { new (permission: number, id: ZkId): ZkAcl; OPEN_ACL_UNSAFE: ZkAcl[]; CREATOR_ALL_ACL: ZkAcl[]; READ_ACL_UNSAFE: ZkAcl[] };
  Id: { new (scheme: string, id: string): ZkId };
  Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };
  CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
  Event: { NODE_CREATED: number; NODE_DELETED: number; NODE_DATA_CHANGED: number; NODE_CHILDREN_CHANGED: number };
  Exception: Record<string, number>;
}

const require = createRequire(import.meta.url);
const NODE_ZK_PATH = require.resolve('node-zookeeper-client');
const zookeeper = require('node-zookeeper-client') as NodeZookeeperClient;
const { ACL, Id, Permission, CreateMode, Event } = zookeeper;
const E = {
  ok: 0,
  runtimeInconsistency: -2,
  noNode: -101,
  noAuth: -102,
  badVersion: -103,
  noChildrenForEphemerals: -108,
  nodeExists: -110,
  notEmpty: -111,
} as const;
/** OpCode.error: the type of a failed op's result in a multi reply. */
const OP_ERROR = -1;

// ---------------------------------------------------------------------------------------------
// Promises over the callback API. A ZooKeeper error rejects with the library's Exception, whose
// `code` is the server's error code.

const DEADLINE_MS = 15_000;

class Client {
  private constructor(readonly handle: ZkClientHandle) {}

  static connect(server: TestServer, options: Parameters<NodeZookeeperClient['createClient']>[1] = {}): Promise<Client> {
    const handle = zookeeper.createClient(server.connectString, { retries: 0, ...options });
    return new Promise<Client>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no session from ${server.connectString} within ${DEADLINE_MS} ms`)), DEADLINE_MS);
      handle.once('connected', () => {
        clearTimeout(timer);
        resolve(new Client(handle));
      });
      handle.once('expired', () => {
        clearTimeout(timer);
        reject(Object.assign(new Error('session expired while connecting'), { expired: true }));
      });
      handle.connect();
    });
  }

  get sessionIdHex(): string {
    return this.handle.getSessionId().toString('hex');
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DEADLINE_MS);
      this.handle.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      this.handle.close();
    });
  }

  create(path: string, data?: Buffer, mode: number = CreateMode.PERSISTENT, acls: ZkAcl[] = ACL.OPEN_ACL_UNSAFE): Promise<string> {
    return new Promise((resolve, reject) => this.handle.create(path, data, acls, mode, (e, p) => (e ? reject(e) : resolve(p))));
  }

  remove(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => this.handle.remove(path, version, (e) => (e ? reject(e) : resolve())));
  }

  setData(path: string, data: Buffer, version = -1): Promise<ZkStat> {
    return new Promise((resolve, reject) => this.handle.setData(path, data, version, (e, s) => (e ? reject(e) : resolve(s))));
  }

  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer | undefined; stat: ZkStat }> {
    return new Promise((resolve, reject) => this.handle.getData(path, watcher, (e, data, stat) => (e ? reject(e) : resolve({ data, stat }))));
  }

  setACL(path: string, acls: ZkAcl[], version = -1): Promise<ZkStat> {
    return new Promise((resolve, reject) => this.handle.setACL(path, acls, version, (e, s) => (e ? reject(e) : resolve(s))));
  }

  getACL(path: string): Promise<{ acls: ZkAcl[]; stat: ZkStat }> {
    return new Promise((resolve, reject) => this.handle.getACL(path, (e, acls, stat) => (e ? reject(e) : resolve({ acls, stat }))));
  }

  exists(path: string, watcher?: Watcher): Promise<ZkStat | null> {
    return new Promise((resolve, reject) => this.handle.exists(path, watcher, (e, s) => (e ? reject(e) : resolve(s))));
  }

  getChildren(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: ZkStat }> {
    return new Promise((resolve, reject) =>
      this.handle.getChildren(path, watcher, (e, children, stat) => (e ? reject(e) : resolve({ children, stat }))),
    );
  }

  mkdirp(path: string, data?: Buffer): Promise<string> {
    return new Promise((resolve, reject) =>
      this.handle.mkdirp(path, data, ACL.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, (e, p) => (e ? reject(e) : resolve(p))),
    );
  }

  removeRecursive(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.handle.removeRecursive(path, -1, (e) => (e ? reject(e) : resolve())));
  }

  /** Commits and returns the error code (0 on success) with the per-op results. */
  commit(transaction: ZkTransaction): Promise<{ code: number; results: OpResult[] | undefined }> {
    return new Promise((resolve) => transaction.commit((e, results) => resolve({ code: e ? e.code : E.ok, results })));
  }
}

/** The ZooKeeper error code a call failed with. */
async function errorCode(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    const code = (error as Partial<ZkException>).code;
    if (typeof code === 'number') return code;
    throw error;
  }
  throw new Error('expected the call to fail, and it succeeded');
}

/** Collects the events of one-shot watchers. */
class EventLog {
  readonly events: { type: number; path: string }[] = [];
  readonly watcher: Watcher = (event) => {
    this.events.push({ type: event.type, path: event.path });
  };

  async waitFor(count: number, what: string): Promise<void> {
    await waitFor(() => this.events.length >= count, {
      timeoutMs: DEADLINE_MS,
      what,
      detail: () => `events so far: ${JSON.stringify(this.events)}`,
    });
  }
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const long = (value: Buffer): bigint => value.readBigInt64BE(0);
/** base64(sha1("user1:pass1")), as the digest scheme stores an identity. */
const USER1_DIGEST_ID = 'user1:+7K83PhyQ3ijGj0ADmljf0quVwQ=';

describeEachTarget('node-zookeeper-client', (target) => {
  let server: TestServer | undefined;
  const live = (): TestServer => {
    if (!server) throw new Error('server not started');
    return server;
  };
  const open: Client[] = [];
  const connect = async (options?: Parameters<typeof Client.connect>[1]): Promise<Client> => {
    const client = await Client.connect(live(), options);
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await target.start();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('connects without the readOnly byte and negotiates the session timeout', async () => {
    const client = await connect({ sessionTimeout: 30_000 });
    expect(client.handle.getSessionId().length).toBe(8);
    expect(long(client.handle.getSessionId())).not.toBe(0n);
    expect(client.handle.getSessionPassword().length).toBe(16);
    expect(client.handle.getSessionTimeout()).toBe(30_000);
    // Asked-for timeouts are clamped to [2, 20] ticks (tickTime=2000).
    expect((await connect({ sessionTimeout: 1000 })).handle.getSessionTimeout()).toBe(4000);
    expect((await connect({ sessionTimeout: 120_000 })).handle.getSessionTimeout()).toBe(40_000);
    const root = await client.getChildren('/');
    expect(root.children).toContain('zookeeper');
  });

  it('create: persistent, ephemeral, sequential, with parents, and the errors', async () => {
    const client = await connect();
    expect(await client.create('/modes', text('parent'))).toBe('/modes');
    expect(await client.create('/modes/persistent', text('p'))).toBe('/modes/persistent');
    expect(await client.create('/modes/ephemeral', text('e'), CreateMode.EPHEMERAL)).toBe('/modes/ephemeral');
    // Sequence numbers come from the parent's cversion: two children were created before.
    expect(await client.create('/modes/seq-', text('s'), CreateMode.PERSISTENT_SEQUENTIAL)).toBe('/modes/seq-0000000002');
    expect(await client.create('/modes/eseq-', undefined, CreateMode.EPHEMERAL_SEQUENTIAL)).toBe('/modes/eseq-0000000003');

    const ephemeral = await client.exists('/modes/ephemeral');
    expect(ephemeral?.ephemeralOwner.equals(client.handle.getSessionId())).toBe(true);
    const persistent = await client.exists('/modes/persistent');
    expect(persistent && long(persistent.ephemeralOwner)).toBe(0n);
    const noData = await client.getData('/modes/eseq-0000000003');
    expect(noData.stat.dataLength).toBe(0);

    const parent = await client.getChildren('/modes');
    expect([...parent.children].sort()).toEqual(['ephemeral', 'eseq-0000000003', 'persistent', 'seq-0000000002']);
    expect(parent.stat).toMatchObject({ cversion: 4, numChildren: 4, version: 0 });

    expect(await errorCode(client.create('/modes', text('again')))).toBe(E.nodeExists);
    expect(await errorCode(client.create('/no-parent/child'))).toBe(E.noNode);
    expect(await errorCode(client.create('/modes/ephemeral/child'))).toBe(E.noChildrenForEphemerals);
    // The failed creates touched no cversion of /modes: the next sequence number follows on.
    expect(await client.create('/modes/seq-', undefined, CreateMode.PERSISTENT_SEQUENTIAL)).toBe('/modes/seq-0000000004');

    expect(await client.mkdirp('/deep/er/path', text('leaf'))).toBe('/deep/er/path');
    expect((await client.getData('/deep/er/path')).data?.toString()).toBe('leaf');
    for (const path of ['/deep/er/path', '/deep/er', '/deep']) await client.remove(path);
    expect(await client.exists('/deep')).toBeNull();
  });

  it('getData and setData with versions; remove with versions', async () => {
    const client = await connect();
    await client.create('/versioned', text('v0'));
    const first = await client.getData('/versioned');
    expect(first.data?.toString()).toBe('v0');
    expect(first.stat).toMatchObject({ version: 0, dataLength: 2, numChildren: 0 });
    expect(long(first.stat.mzxid)).toBe(long(first.stat.czxid));

    const second = await client.setData('/versioned', text('v1'), 0);
    expect(second.version).toBe(1);
    expect(long(second.mzxid)).toBeGreaterThan(long(first.stat.mzxid));
    expect(long(second.czxid)).toBe(long(first.stat.czxid));
    expect(await errorCode(client.setData('/versioned', text('stale'), 0))).toBe(E.badVersion);
    expect((await client.setData('/versioned', text('any'), -1)).version).toBe(2);
    expect((await client.setData('/versioned', Buffer.alloc(0), 2)).dataLength).toBe(0);
    const cleared = await client.getData('/versioned');
    expect(cleared.stat).toMatchObject({ version: 3, dataLength: 0 });
    expect(await errorCode(client.setData('/missing', text('x')))).toBe(E.noNode);

    await client.create('/versioned/child');
    expect(await errorCode(client.remove('/versioned'))).toBe(E.notEmpty);
    await client.remove('/versioned/child', 0);
    expect(await errorCode(client.remove('/versioned', 2))).toBe(E.badVersion);
    await client.remove('/versioned', 3);
    expect(await errorCode(client.remove('/versioned'))).toBe(E.noNode);
    expect(await errorCode(client.getData('/versioned'))).toBe(E.noNode);
  });

  it('watches: getChildren, exists on a missing node, getData; each fires once', async () => {
    const watcher = await connect();
    const writer = await connect();
    await writer.create('/watched', text('w'));

    const children = new EventLog();
    expect((await watcher.getChildren('/watched', children.watcher)).children).toEqual([]);
    const created = new EventLog();
    expect(await watcher.exists('/watched/later', created.watcher)).toBeNull();
    const data = new EventLog();
    await watcher.getData('/watched', data.watcher);
    const existing = new EventLog();
    expect(await watcher.exists('/watched', existing.watcher)).not.toBeNull();

    await writer.create('/watched/later', text('x'));
    await children.waitFor(1, 'NodeChildrenChanged on /watched');
    await created.waitFor(1, 'NodeCreated on /watched/later');
    expect(children.events).toEqual([{ type: Event.NODE_CHILDREN_CHANGED, path: '/watched' }]);
    expect(created.events).toEqual([{ type: Event.NODE_CREATED, path: '/watched/later' }]);

    await writer.setData('/watched', text('changed'));
    await data.waitFor(1, 'NodeDataChanged on /watched (getData watch)');
    await existing.waitFor(1, 'NodeDataChanged on /watched (exists watch)');
    expect(data.events).toEqual([{ type: Event.NODE_DATA_CHANGED, path: '/watched' }]);
    expect(existing.events).toEqual([{ type: Event.NODE_DATA_CHANGED, path: '/watched' }]);
    // After its watch fired, the watcher reads what fired it.
    expect((await watcher.getData('/watched')).data?.toString()).toBe('changed');

    // Re-armed watches see the deletes; the fired ones stay quiet.
    const deleted = new EventLog();
    await watcher.getData('/watched/later', deleted.watcher);
    const childrenAgain = new EventLog();
    await watcher.getChildren('/watched', childrenAgain.watcher);
    await writer.remove('/watched/later');
    await deleted.waitFor(1, 'NodeDeleted on /watched/later');
    await childrenAgain.waitFor(1, 'NodeChildrenChanged on /watched after the delete');
    expect(deleted.events).toEqual([{ type: Event.NODE_DELETED, path: '/watched/later' }]);
    expect(childrenAgain.events).toEqual([{ type: Event.NODE_CHILDREN_CHANGED, path: '/watched' }]);

    // A barrier: a fresh watch fired after everything above, so anything else would be here by now.
    const barrier = new EventLog();
    await watcher.exists('/watched/barrier', barrier.watcher);
    await writer.create('/watched/barrier');
    await barrier.waitFor(1, 'barrier NodeCreated');
    expect(children.events).toHaveLength(1);
    expect(created.events).toHaveLength(1);
    expect(data.events).toHaveLength(1);
    expect(existing.events).toHaveLength(1);
    await writer.removeRecursive('/watched');
  });

  it('transactions: all ops commit together, or none does and the results say which failed', async () => {
    const client = await connect();
    const ok = await client.commit(
      client.handle
        .transaction()
        .create('/txn', text('root'))
        .create('/txn/a', text('a'))
        .setData('/txn', text('root2'), 0)
        .check('/txn', 1)
        .create('/txn/b')
        .remove('/txn/b', 0),
    );
    expect(ok.code).toBe(E.ok);
    expect(ok.results?.map((result) => ({ type: result.type, path: result.path }))).toEqual([
      { type: 1, path: '/txn' },
      { type: 1, path: '/txn/a' },
      { type: 5, path: undefined },
      { type: 13, path: undefined },
      { type: 1, path: '/txn/b' },
      { type: 2, path: undefined },
    ]);
    expect(ok.results?.[2]?.stat?.version).toBe(1);
    expect((await client.getData('/txn')).data?.toString()).toBe('root2');

    const failed = await client.commit(
      // (The library turns a version of 0 into -1, "any": use a wrong non-zero one.)
      client.handle.transaction().create('/txn/c', text('c')).setData('/txn', text('nope'), 7).create('/txn/d'),
    );
    expect(failed.code).toBe(E.badVersion);
    // Ops before the failed one report ok (rolled back), the ones after RuntimeInconsistency.
    expect(failed.results).toEqual([
      { type: OP_ERROR, err: E.ok },
      { type: OP_ERROR, err: E.badVersion },
      { type: OP_ERROR, err: E.runtimeInconsistency },
    ]);
    expect(await client.exists('/txn/c')).toBeNull();
    expect(await client.exists('/txn/d')).toBeNull();
    expect((await client.getData('/txn')).stat.version).toBe(1);

    const duplicate = await client.commit(client.handle.transaction().create('/txn/e').create('/txn/e'));
    expect(duplicate.code).toBe(E.nodeExists);
    expect(duplicate.results).toEqual([
      { type: OP_ERROR, err: E.ok },
      { type: OP_ERROR, err: E.nodeExists },
    ]);
    expect(await client.exists('/txn/e')).toBeNull();
    await client.removeRecursive('/txn');
  });

  it('ACLs with digest auth: addAuthInfo grants what the ACL names, nothing else', async () => {
    const owner = await connect();
    owner.handle.addAuthInfo('digest', text('user1:pass1'));
    // CREATOR_ALL_ACL: the "auth" scheme becomes the creator's digest identity.
    await owner.create('/secret', text('s3cret'), CreateMode.PERSISTENT, ACL.CREATOR_ALL_ACL);
    const { acls, stat } = await owner.getACL('/secret');
    expect(acls.map((acl) => ({ permission: acl.permission, scheme: acl.id.scheme, id: acl.id.id }))).toEqual([
      { permission: Permission.ALL, scheme: 'digest', id: USER1_DIGEST_ID },
    ]);
    expect(stat.aversion).toBe(0);
    expect((await owner.getData('/secret')).data?.toString()).toBe('s3cret');

    const stranger = await connect();
    expect(await errorCode(stranger.getData('/secret'))).toBe(E.noAuth);
    expect(await errorCode(stranger.setData('/secret', text('x')))).toBe(E.noAuth);
    expect(await errorCode(stranger.create('/secret/child'))).toBe(E.noAuth);
    // exists is not checked against the ACL; getACL needs READ or ADMIN (ZooKeeper 3.8).
    expect(await stranger.exists('/secret')).not.toBeNull();
    expect(await errorCode(stranger.getACL('/secret'))).toBe(E.noAuth);

    const wrong = await connect();
    wrong.handle.addAuthInfo('digest', text('user1:wrong'));
    expect(await errorCode(wrong.getData('/secret'))).toBe(E.noAuth);

    const friend = await connect();
    friend.handle.addAuthInfo('digest', text('user1:pass1'));
    expect((await friend.getData('/secret')).data?.toString()).toBe('s3cret');

    // setACL with versions: read-only for everyone, writes still for user1.
    const readOnlyForAll = [
      new ACL(Permission.READ, new Id('world', 'anyone')),
      new ACL(Permission.ALL, new Id('digest', USER1_DIGEST_ID)),
    ];
    expect(await errorCode(owner.setACL('/secret', readOnlyForAll, 5))).toBe(E.badVersion);
    expect((await owner.setACL('/secret', readOnlyForAll, 0)).aversion).toBe(1);
    expect((await stranger.getData('/secret')).data?.toString()).toBe('s3cret');
    expect(await errorCode(stranger.setData('/secret', text('x')))).toBe(E.noAuth);
    await friend.setData('/secret', text('updated'));
    expect((await stranger.getData('/secret')).data?.toString()).toBe('updated');
    // Deleting is governed by the parent's ACL (world:anyone on /), not the node's own.
    await stranger.remove('/secret');
    expect(await owner.exists('/secret')).toBeNull();
  });

  it('ephemerals go when their session closes, and the closed session cannot be resumed', async () => {
    const owner = await connect();
    const observer = await connect();
    await owner.create('/ephemeral-close', text('e'), CreateMode.EPHEMERAL);
    await owner.create('/ephemeral-close-seq-', text('e'), CreateMode.EPHEMERAL_SEQUENTIAL);
    const gone = new EventLog();
    expect(await observer.exists('/ephemeral-close', gone.watcher)).not.toBeNull();
    const sessionId = owner.handle.getSessionId();
    const password = owner.handle.getSessionPassword();

    open.splice(open.indexOf(owner), 1);
    await owner.close();
    await gone.waitFor(1, 'NodeDeleted after the owner closed its session');
    expect(gone.events).toEqual([{ type: Event.NODE_DELETED, path: '/ephemeral-close' }]);
    expect((await observer.getChildren('/')).children.filter((name) => name.startsWith('ephemeral-close'))).toEqual([]);

    // The server refuses the closed session with a zero timeout: the client reports it expired.
    await expect(connect({ sessionId, sessionPassword: password })).rejects.toMatchObject({ expired: true });
  });

  it('ephemerals of a client that vanished without closing go when its session expires', async () => {
    const observer = await connect();
    // A separate process holds the session and is killed, so nothing ever closes the session.
    const script = [
      `const zk = require(${JSON.stringify(NODE_ZK_PATH)});`,
      `const client = zk.createClient(${JSON.stringify(live().connectString)}, { sessionTimeout: 4000, retries: 0 });`,
      `client.once('connected', () => client.create('/vanished', Buffer.from('v'), zk.CreateMode.EPHEMERAL, (error) => {`,
      `  if (error) { console.error(String(error)); process.exit(2); }`,
      `  console.log('created ' + client.getSessionId().toString('hex') + ' ' + client.getSessionTimeout());`,
      `}));`,
      `client.connect();`,
    ].join('\n');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const line = await waitFor(() => /^created ([0-9a-f]{16}) (\d+)$/m.exec(output), {
        timeoutMs: DEADLINE_MS,
        what: 'the child process to create /vanished',
        detail: () => output,
      });
      expect(line[2]).toBe('4000');
      const stat = await observer.exists('/vanished');
      expect(stat?.ephemeralOwner.toString('hex')).toBe(line[1]);
      const gone = new EventLog();
      await observer.exists('/vanished', gone.watcher);
      child.kill('SIGKILL');
      // Expiry takes the 4 s timeout plus up to one tick of bucket rounding.
      await gone.waitFor(1, 'NodeDeleted when the vanished session expires');
      expect(gone.events).toEqual([{ type: Event.NODE_DELETED, path: '/vanished' }]);
      expect(await observer.exists('/vanished')).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a session the server never issued is reported expired', async () => {
    const sessionId = Buffer.from('0badc0ffee000001', 'hex');
    await expect(connect({ sessionId, sessionPassword: Buffer.alloc(16, 7) })).rejects.toMatchObject({ expired: true });
  });
});
