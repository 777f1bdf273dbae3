import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { generateDigest } from '../../src/auth/providers.js';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import type { ACL, Id, Stat } from '../../src/proto/data.js';
import { Err } from '../../src/proto/error-codes.js';
import type { MultiOp } from '../../src/proto/multi.js';
import { CreateMode, OpCode } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { SessionTracker } from '../../src/session/session-tracker.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import { CONTAINER_EPHEMERAL_OWNER, TTL_MAX_MS, ephemeralKind, ttlOf, ttlOwner } from '../../src/tree/ephemeral-type.js';
import { limitPath, statPath } from '../../src/tree/quota.js';
import { reapCandidates } from '../../src/tree/reap-candidates.js';
import { applyTxn, type TxnResult } from '../../src/txn/apply.js';
import { ChangeOverlay } from '../../src/txn/overlay.js';
import { sequenceSuffix } from '../../src/txn/prep-create.js';
import type { PrepEnv } from '../../src/txn/prep-env.js';
import { prepRequest } from '../../src/txn/prep.js';
import { readTxnBody, writeTxnBody, type SubTxn, type TxnBody, type TxnEntry } from '../../src/txn/txn.js';
import type { WriteRequest } from '../../src/txn/write-request.js';

// ---------------------------------------------------------------- harness

const OPEN: ACL[] = [{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }];
const worldAcl = (perms: number): ACL[] => [{ perms, id: { scheme: 'world', id: 'anyone' } }];
const TIME0 = 1_700_000_000_000;
const INT_MAX = 0x7fff_ffff;
const INT_MIN = -0x8000_0000;

interface Options {
  skipACL?: boolean;
  extendedTypesEnabled?: boolean;
  enforceQuota?: boolean;
  reconfigEnabled?: boolean;
}

/**
 * The pure part of src/server/zk-server.ts: prep each write against the overlay (assigning the
 * next zxid), queue it, and apply queued txns in order; session bookkeeping as the server does it.
 */
class Pipeline {
  readonly tree: DataTree;
  readonly overlay: ChangeOverlay;
  readonly sessions = new SessionTracker(2000, 1, 0, 0);
  readonly env: PrepEnv;
  zxid = 0n;
  private queue: TxnEntry[] = [];

  constructor(opts: Options = {}) {
    this.tree = new DataTree(opts.extendedTypesEnabled ?? false);
    this.overlay = new ChangeOverlay(this.tree);
    const sessions = this.sessions;
    this.env = {
      tree: this.tree,
      overlay: this.overlay,
      skipACL: opts.skipACL ?? false,
      extendedTypesEnabled: opts.extendedTypesEnabled ?? false,
      enforceQuota: opts.enforceQuota ?? false,
      reconfigEnabled: opts.reconfigEnabled ?? false,
      checkSession: (id) => sessions.check(id),
    };
  }

  /** Prepare one request; it waits in the queue until `flush`. */
  prep(req: WriteRequest, sessionId: bigint, authInfo: readonly Id[] = []): TxnEntry {
    const zxid = ++this.zxid;
    const time = TIME0 + Number(zxid);
    const body = prepRequest(this.env, { sessionId, authInfo, zxid, timeMs: time }, req);
    if (body.type === OpCode.closeSession) this.sessions.setClosing(sessionId);
    const entry: TxnEntry = { hdr: { clientId: sessionId, cxid: Number(zxid), zxid, time, type: body.type }, body, digest: null };
    this.queue.push(entry);
    return entry;
  }

  /** Apply every queued txn in order. */
  flush(): TxnResult[] {
    const out: TxnResult[] = [];
    for (const entry of this.queue) {
      out.push(applyTxn(this.tree, entry.hdr, entry.body));
      this.overlay.applied(entry.hdr.zxid);
      if (entry.body.type === OpCode.closeSession) this.sessions.remove(entry.hdr.clientId);
    }
    this.queue = [];
    return out;
  }

  /** Prepare and apply one request at once. */
  run(req: WriteRequest, sessionId: bigint, authInfo: readonly Id[] = []): { entry: TxnEntry; result: TxnResult } {
    const entry = this.prep(req, sessionId, authInfo);
    const results = this.flush();
    return { entry, result: results[results.length - 1]! };
  }

  newSession(): bigint {
    const id = this.sessions.newSessionId();
    this.sessions.add(id, 30_000, 0);
    this.run({ type: OpCode.createSession, timeOut: 30_000 }, id);
    return id;
  }

  /** The Stat a client sees (DataNode.copyStat: reported cversion, hidden container/TTL owner). */
  stat(path: string): Stat | undefined {
    const node = this.tree.get(path);
    return node === undefined ? undefined : this.tree.statOf(node);
  }

  /** The cversion as stored: the number of child creates (what sequence numbers come from). */
  storedCversion(path: string): number {
    return this.tree.get(path)!.cversion;
  }
}

// request builders
const create = (path: string, data: string | null = null, flags: number = CreateMode.persistent, acl: ACL[] = OPEN): WriteRequest => ({
  type: OpCode.create,
  record: { path, data: data === null ? null : Buffer.from(data), acl, flags },
});
const create2 = (path: string, data: string | null = null, flags: number = CreateMode.persistent): WriteRequest => ({
  type: OpCode.create2,
  record: { path, data: data === null ? null : Buffer.from(data), acl: OPEN, flags },
});
const createContainer = (path: string): WriteRequest => ({
  type: OpCode.createContainer,
  record: { path, data: null, acl: OPEN, flags: CreateMode.container },
});
const createTTL = (path: string, ttl: number, flags: number = CreateMode.persistentWithTtl): WriteRequest => ({
  type: OpCode.createTTL,
  record: { path, data: null, acl: OPEN, flags, ttl },
});
const del = (path: string, version = -1): WriteRequest => ({ type: OpCode.delete, record: { path, version } });
const setData = (path: string, data: string | null, version = -1): WriteRequest => ({
  type: OpCode.setData,
  record: { path, data: data === null ? null : Buffer.from(data), version },
});
const setACL = (path: string, acl: ACL[], version = -1): WriteRequest => ({ type: OpCode.setACL, record: { path, acl, version } });
const check = (path: string, version: number): WriteRequest => ({ type: OpCode.check, record: { path, version } });
const multi = (...ops: MultiOp[]): WriteRequest => ({ type: OpCode.multi, record: { ops } });
const closeSession: WriteRequest = { type: OpCode.closeSession };
const deleteContainer = (path: string): WriteRequest => ({ type: OpCode.deleteContainer, path });

const opCreate = (path: string, flags: number = CreateMode.persistent, data: string | null = null): MultiOp => ({
  type: OpCode.create,
  request: { path, data: data === null ? null : Buffer.from(data), acl: OPEN, flags },
});
const opDelete = (path: string, version = -1): MultiOp => ({ type: OpCode.delete, request: { path, version } });
const opSetData = (path: string, data: string, version = -1): MultiOp => ({
  type: OpCode.setData,
  request: { path, data: Buffer.from(data), version },
});
const opCheck = (path: string, version: number): MultiOp => ({ type: OpCode.check, request: { path, version } });

/** The error code of a prepared body: Ok for a real txn, the ErrorTxn code otherwise. */
function prepErr(body: TxnBody): number {
  return body.type === OpCode.error ? body.record.err : Err.ok;
}

function subErrs(body: TxnBody): number[] {
  if (body.type !== OpCode.multi) throw new Error('not a multi');
  return body.record.map((t) => (t.type === OpCode.error ? t.record.err : Err.ok));
}

/** Children of a path, sorted. */
function childrenOf(p: Pipeline, path: string): string[] {
  return [...(p.tree.get(path)?.children.keys() ?? [])].sort();
}

// ---------------------------------------------------------------- the Stat clients see

describe('reported Stat (DataNode.copyStat)', () => {
  test('a fresh tree reports what a fresh ZooKeeper reports', () => {
    const p = new Pipeline();
    // System nodes are linked without a create, so cversion = 0 * 2 - numChildren.
    expect(p.stat('/')).toMatchObject({ cversion: -1, numChildren: 1, czxid: 0n, pzxid: 0n, dataLength: 0 });
    expect(p.stat('/zookeeper')).toMatchObject({ cversion: -2, numChildren: 2 });
    expect(p.stat('/zookeeper/quota')).toMatchObject({ cversion: 0, numChildren: 0 });
    expect(p.stat('/zookeeper/config')).toMatchObject({ cversion: 0, aversion: -1, version: 0 });
  });

  test('reported cversion counts child creates and deletes: 2 * creates - children', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    const seen: number[] = [p.stat('/a')!.cversion];
    for (const req of [create('/a/1'), create('/a/2'), del('/a/1'), create('/a/3'), del('/a/2'), del('/a/3')]) {
      p.run(req, s);
      seen.push(p.stat('/a')!.cversion);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(p.storedCversion('/a')).toBe(3);
  });
});

// ---------------------------------------------------------------- create

describe('create', () => {
  test('a persistent node: Stat from the txn header, the parent gains a child', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const before = p.stat('/')!;
    const storedBefore = p.storedCversion('/');
    const { entry, result } = p.run(create('/a', 'hello'), s);
    const z = entry.hdr.zxid;
    expect(result).toEqual({ type: OpCode.create, err: Err.ok, path: '/a', stat: null, multi: null });
    expect(entry.body).toEqual({
      type: OpCode.create,
      record: { path: '/a', data: Buffer.from('hello'), acl: OPEN, ephemeral: false, parentCVersion: storedBefore + 1 },
    });
    expect(p.storedCversion('/')).toBe(storedBefore + 1);
    expect(p.stat('/a')).toEqual({
      czxid: z, mzxid: z, ctime: entry.hdr.time, mtime: entry.hdr.time,
      version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 5, numChildren: 0, pzxid: z,
    });
    const root = p.stat('/')!;
    expect(root.cversion).toBe(before.cversion + 1);
    expect(root.pzxid).toBe(z);
    expect(root.numChildren).toBe(before.numChildren + 1);
    expect(root.mzxid).toBe(before.mzxid);
    expect(root.version).toBe(before.version);
    expect(p.tree.lastProcessedZxid).toBe(z);
  });

  test('create2 answers with the new Stat', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const { entry, result } = p.run(create2('/a', 'xy'), s);
    expect(entry.body.type).toBe(OpCode.create2);
    expect(result.type).toBe(OpCode.create2);
    expect(result.stat).toEqual(p.stat('/a'));
    expect(result.stat?.dataLength).toBe(2);
  });

  test('null data stays null; empty data stays empty', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/n', null), s);
    p.run(create('/e', ''), s);
    expect(p.tree.get('/n')!.data).toBeNull();
    expect(p.tree.get('/e')!.data).toEqual(Buffer.alloc(0));
    expect(p.stat('/n')!.dataLength).toBe(0);
    expect(p.stat('/e')!.dataLength).toBe(0);
  });

  test('an ephemeral node is owned by the session and listed under it', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const { entry } = p.run(create('/e', null, CreateMode.ephemeral), s);
    expect(entry.body.type === OpCode.create && entry.body.record.ephemeral).toBe(true);
    expect(p.stat('/e')!.ephemeralOwner).toBe(s);
    expect(p.tree.ephemeralsOf(s)).toEqual(['/e']);
  });

  test('a child of an ephemeral is NoChildrenForEphemerals', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/e', null, CreateMode.ephemeral), s);
    expect(prepErr(p.run(create('/e/c'), s).entry.body)).toBe(Err.noChildrenForEphemerals);
    expect(prepErr(p.run(create('/e/c', null, CreateMode.ephemeralSequential), s).entry.body)).toBe(Err.noChildrenForEphemerals);
  });

  test('a sequential node gets the parent cversion, %010d, as its suffix', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/q'), s);
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push(p.run(create('/q/job-', null, CreateMode.persistentSequential), s).result.path!);
    expect(names).toEqual(['/q/job-0000000000', '/q/job-0000000001', '/q/job-0000000002']);
    // deletes do not move cversion, creates of any kind do
    p.run(del('/q/job-0000000001'), s);
    p.run(create('/q/plain'), s);
    expect(p.run(create('/q/e-', null, CreateMode.ephemeralSequential), s).result.path).toBe('/q/e-0000000004');
    expect(p.stat('/q/e-0000000004')!.ephemeralOwner).toBe(s);
  });

  test('a sequential name may end in "/": the suffix becomes the whole child name', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/q'), s);
    expect(p.run(create('/q/', null, CreateMode.persistentSequential), s).result.path).toBe('/q/0000000000');
  });

  test('a container is owned by Long.MIN_VALUE and tracked as a container', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const { entry, result } = p.run(createContainer('/c'), s);
    expect(entry.body).toEqual({ type: OpCode.createContainer, record: { path: '/c', data: null, acl: OPEN, parentCVersion: 1 } });
    // stored as Long.MIN_VALUE, shown to clients as 0 (DataNode.getClientEphemeralOwner)
    expect(p.tree.get('/c')!.ephemeralOwner).toBe(CONTAINER_EPHEMERAL_OWNER);
    expect(result.stat?.ephemeralOwner).toBe(0n);
    expect(p.tree.containers.has('/c')).toBe(true);
    expect(p.tree.ephemeralsOf(CONTAINER_EPHEMERAL_OWNER)).toEqual([]);
  });

  test('the ACL stored is the fixed-up one (auth expanded)', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const digest = generateDigest('u:p');
    const auth: Id[] = [{ scheme: 'digest', id: digest }];
    const { entry } = p.run(create('/a', null, CreateMode.persistent, [{ perms: Perms.all, id: { scheme: 'auth', id: '' } }]), s, auth);
    const expected: ACL[] = [{ perms: Perms.all, id: { scheme: 'digest', id: digest } }];
    expect(entry.body.type === OpCode.create && entry.body.record.acl).toEqual(expected);
    expect(p.tree.get('/a')!.acl).toEqual(expected);
  });

  describe('error codes in PrepRequestProcessor order', () => {
    function setup(opts: Options = {}): { p: Pipeline; s: bigint } {
      const p = new Pipeline(opts);
      const s = p.newSession();
      p.run(create('/a'), s);
      p.run(create('/locked', null, CreateMode.persistent, worldAcl(Perms.read)), s);
      p.run(create('/locked/x'), s, [{ scheme: 'super', id: '' }]);
      return { p, s };
    }
    const err = (p: Pipeline, req: WriteRequest, s: bigint, auth: Id[] = []): number => prepErr(p.run(req, s, auth).entry.body);

    test('bad flags come first, even before the session check', () => {
      const { p } = setup();
      expect(err(p, create('/a/x', null, 7), 999n)).toBe(Err.badArguments);
      expect(err(p, create('/a/x', null, -1), 999n)).toBe(Err.badArguments);
    });

    test('TTL flags: Unimplemented without extended types, then the TTL range', () => {
      const off = setup().p;
      expect(err(off, createTTL('/a/t', 1000), 999n)).toBe(Err.unimplemented);
      expect(err(off, create('/a/t', null, CreateMode.persistentSequentialWithTtl), 999n)).toBe(Err.unimplemented);
      const on = setup({ extendedTypesEnabled: true }).p;
      expect(err(on, createTTL('/a/t', 0), 999n)).toBe(Err.badArguments);
      expect(err(on, createTTL('/a/t', -1), 999n)).toBe(Err.badArguments);
      expect(err(on, createTTL('/a/t', Number(TTL_MAX_MS) + 1), 999n)).toBe(Err.badArguments);
      // a TTL flag through plain create carries ttl -1
      expect(err(on, create('/a/t', null, CreateMode.persistentWithTtl), 999n)).toBe(Err.badArguments);
      // a ttl with a mode that has none
      expect(err(on, createTTL('/a/t', 1000, CreateMode.persistent), 999n)).toBe(Err.badArguments);
    });

    test('then the session: unknown, or closing', () => {
      const { p, s } = setup();
      expect(err(p, create('a'), 999n)).toBe(Err.unknownSession);
      const closing = p.newSession();
      p.sessions.setClosing(closing);
      expect(err(p, create('a'), closing)).toBe(Err.sessionExpired);
      expect(err(p, create('/a/x'), s)).toBe(Err.ok);
    });

    // ZooKeeper checks an ephemeral create with checkGlobalSession, which turns UnknownSession
    // into SessionExpired (SessionTrackerImpl.checkGlobalSession).
    test('an ephemeral create from an unknown session is SessionExpired', () => {
      const { p } = setup();
      expect(err(p, create('/a/e', null, CreateMode.ephemeral), 999n)).toBe(Err.sessionExpired);
    });

    test('then the path shape: no slash or a NUL is BadArguments, before the ACL is looked at', () => {
      const { p, s } = setup();
      expect(err(p, create('a', null, CreateMode.persistent, []), s)).toBe(Err.badArguments);
      expect(err(p, create('', null, CreateMode.persistent, []), s)).toBe(Err.badArguments);
      expect(err(p, create('/a\u0000b', null, CreateMode.persistent, []), s)).toBe(Err.badArguments);
    });

    test('then the ACL: InvalidACL even when the parent is missing', () => {
      const { p, s } = setup();
      expect(err(p, create('/missing/x', null, CreateMode.persistent, []), s)).toBe(Err.invalidACL);
      expect(err(p, create('/a/x', null, CreateMode.persistent, [{ perms: 1, id: { scheme: 'digest', id: 'bad' } }]), s)).toBe(Err.invalidACL);
    });

    test('then the parent: NoNode, before the full path validation', () => {
      const { p, s } = setup();
      expect(err(p, create('/missing/x'), s)).toBe(Err.noNode);
      expect(err(p, create('/missing/x/'), s)).toBe(Err.noNode);
      expect(err(p, create('/a/../x'), s)).toBe(Err.noNode); // parent "/a/.." does not exist
    });

    test('then CREATE permission on the parent, before the path and existence checks', () => {
      const { p, s } = setup();
      expect(err(p, create('/locked/y'), s)).toBe(Err.noAuth);
      expect(err(p, create('/locked/x'), s)).toBe(Err.noAuth); // exists, but NoAuth first
      expect(err(p, create('/locked/.'), s)).toBe(Err.noAuth); // invalid, but NoAuth first
      expect(err(p, create('/locked/y'), s, [{ scheme: 'super', id: '' }])).toBe(Err.ok);
    });

    test('then the full path: BadArguments', () => {
      const { p, s } = setup();
      expect(err(p, create('/a/'), s)).toBe(Err.badArguments);
      expect(err(p, create('/a/.'), s)).toBe(Err.badArguments);
      expect(err(p, create('/a/\u0001'), s)).toBe(Err.badArguments);
    });

    test('then existence: NodeExists (also for "/")', () => {
      const { p, s } = setup();
      expect(err(p, create('/a'), s)).toBe(Err.nodeExists);
      expect(err(p, create('/'), s)).toBe(Err.nodeExists);
      expect(err(p, create('/zookeeper'), s)).toBe(Err.nodeExists);
    });

    test('quota comes last: QuotaExceeded only for an otherwise valid create', () => {
      const p = new Pipeline({ enforceQuota: true });
      const s = p.newSession();
      p.run(create('/app'), s);
      p.run(create('/zookeeper/quota/app'), s);
      p.run(create(limitPath('/app'), 'count=-1,bytes=-1=;countHardLimit=1'), s);
      p.run(create(statPath('/app'), ''), s);
      expect(err(p, create('/app/x'), s)).toBe(Err.quotaExceeded);
      expect(err(p, create('/app'), s)).toBe(Err.nodeExists);
      p.run(create('/app/e', null, CreateMode.ephemeral), s);
      expect(p.tree.get('/app/e')).toBeUndefined();
    });

    test('a failed create changes nothing but lastProcessedZxid', () => {
      const { p, s } = setup();
      const rootBefore = p.stat('/');
      const { entry, result } = p.run(create('/a'), s);
      expect(entry.hdr.type).toBe(OpCode.error);
      expect(entry.body).toEqual({ type: OpCode.error, record: { err: Err.nodeExists } });
      expect(result).toEqual({ type: OpCode.error, err: Err.nodeExists, path: null, stat: null, multi: null });
      expect(p.stat('/')).toEqual(rootBefore);
      expect(p.tree.lastProcessedZxid).toBe(entry.hdr.zxid);
      expect(p.overlay.size).toBe(0);
    });
  });
});

// ---------------------------------------------------------------- sequence numbers

describe('sequence suffix (String.format("%010d", parentCVersion))', () => {
  test.each([
    [0, '0000000000'],
    [7, '0000000007'],
    [1234567890, '1234567890'],
    [INT_MAX, '2147483647'],
    [-1, '-000000001'],
    [-5, '-000000005'],
    [-123456789, '-123456789'],
    [-1234567890, '-1234567890'],
    [INT_MIN, '-2147483648'],
  ])('%d -> %s', (cversion, suffix) => {
    expect(sequenceSuffix(cversion)).toBe(suffix);
  });

  test('is ten characters wide for every int that fits, and parses back', () => {
    fc.assert(
      fc.property(fc.integer({ min: INT_MIN, max: INT_MAX }), (v) => {
        const s = sequenceSuffix(v);
        expect(s.length).toBe(Math.max(10, String(v).length));
        expect(Number(s)).toBe(v);
      }),
    );
  });

  test('a negative parent cversion (e.g. from a snapshot) formats with a sign', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/q'), s);
    p.tree.get('/q')!.cversion = -5;
    const { entry, result } = p.run(create('/q/n', null, CreateMode.persistentSequential), s);
    expect(result.path).toBe('/q/n-000000005');
    expect(entry.body.type === OpCode.create && entry.body.record.parentCVersion).toBe(-4);
    expect(p.storedCversion('/q')).toBe(-4);
    expect(p.stat('/q')!.cversion).toBe(-4 * 2 - 1);
  });

  test('at Integer.MAX_VALUE the cversion wraps in prep; apply never moves it backwards', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/q'), s);
    const q = p.tree.get('/q')!;
    q.cversion = INT_MAX;
    const pzxidBefore = q.pzxid;
    // Prepared together, the second sees the wrapped cversion of the first in the overlay.
    const e1 = p.prep(create('/q/n', null, CreateMode.persistentSequential), s);
    const e2 = p.prep(create('/q/n', null, CreateMode.persistentSequential), s);
    expect(e1.body.type === OpCode.create && e1.body.record).toMatchObject({ path: '/q/n2147483647', parentCVersion: INT_MIN });
    expect(e2.body.type === OpCode.create && e2.body.record).toMatchObject({ path: '/q/n-2147483648', parentCVersion: INT_MIN + 1 });
    p.flush();
    expect(childrenOf(p, '/q')).toEqual(['n-2147483648', 'n2147483647']);
    // DataTree.createNode only moves cversion/pzxid forward, so they stay put, as in ZooKeeper.
    expect(q.cversion).toBe(INT_MAX);
    expect(q.pzxid).toBe(pzxidBefore);
    // and the next sequential create collides with the first
    expect(prepErr(p.run(create('/q/n', null, CreateMode.persistentSequential), s).entry.body)).toBe(Err.nodeExists);
  });
});

// ---------------------------------------------------------------- delete

describe('delete', () => {
  test('removes the node; the parent loses a child and gets pzxid; stored cversion stays, reported goes up', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    p.run(create('/a/b', 'x'), s);
    const before = p.stat('/a')!;
    expect(p.storedCversion('/a')).toBe(1);
    const { entry, result } = p.run(del('/a/b', 0), s);
    expect(entry.body).toEqual({ type: OpCode.delete, record: { path: '/a/b' } });
    expect(result).toEqual({ type: OpCode.delete, err: Err.ok, path: '/a/b', stat: null, multi: null });
    expect(p.tree.get('/a/b')).toBeUndefined();
    expect(p.storedCversion('/a')).toBe(1);
    // reported cversion = 2 * creates - children: one create and one delete make two changes
    expect(p.stat('/a')).toEqual({ ...before, numChildren: 0, cversion: 2, pzxid: entry.hdr.zxid });
  });

  test('deleting an ephemeral forgets it for its session', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/e', null, CreateMode.ephemeral), s);
    p.run(del('/e'), s);
    expect(p.tree.ephemeralsOf(s)).toEqual([]);
  });

  describe('error codes in PrepRequestProcessor order', () => {
    function setup(): { p: Pipeline; s: bigint } {
      const p = new Pipeline();
      const s = p.newSession();
      p.run(create('/a'), s);
      p.run(create('/a/b'), s);
      p.run(create('/leaf', 'v'), s);
      p.run(setData('/leaf', 'w'), s);
      p.run(create('/nodel', null, CreateMode.persistent, worldAcl(Perms.all & ~Perms.delete)), s);
      p.run(create('/nodel/c'), s);
      return { p, s };
    }
    const err = (p: Pipeline, req: WriteRequest, s: bigint): number => prepErr(p.run(req, s).entry.body);

    test('session first', () => {
      const { p } = setup();
      expect(err(p, del('/'), 999n)).toBe(Err.unknownSession);
    });

    test('no slash, a NUL, or a system node: BadArguments', () => {
      const { p, s } = setup();
      for (const path of ['', 'a', '/a\u0000', '/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
        expect(err(p, del(path), s)).toBe(Err.badArguments);
      }
    });

    test('then the parent: NoNode', () => {
      const { p, s } = setup();
      expect(err(p, del('/missing/x'), s)).toBe(Err.noNode);
    });

    test('then DELETE permission on the parent, before the node is looked up', () => {
      const { p, s } = setup();
      expect(err(p, del('/nodel/c'), s)).toBe(Err.noAuth);
      expect(err(p, del('/nodel/missing'), s)).toBe(Err.noAuth);
    });

    test('then the node: NoNode (paths are not validated further)', () => {
      const { p, s } = setup();
      expect(err(p, del('/a/missing'), s)).toBe(Err.noNode);
      expect(err(p, del('/a/'), s)).toBe(Err.noNode);
      expect(err(p, del('/a//b'), s)).toBe(Err.noNode);
    });

    test('then the version, before NotEmpty', () => {
      const { p, s } = setup();
      expect(err(p, del('/leaf', 0), s)).toBe(Err.badVersion);
      expect(err(p, del('/a', 5), s)).toBe(Err.badVersion);
      expect(err(p, del('/a', 0), s)).toBe(Err.notEmpty);
      expect(err(p, del('/a', -1), s)).toBe(Err.notEmpty);
      expect(err(p, del('/leaf', 1), s)).toBe(Err.ok);
    });
  });
});

// ---------------------------------------------------------------- setData

describe('setData', () => {
  test('bumps version, sets mzxid and mtime, keeps the rest', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a', 'one'), s);
    const before = p.stat('/a')!;
    const { entry, result } = p.run(setData('/a', 'three', 0), s);
    expect(entry.body).toEqual({ type: OpCode.setData, record: { path: '/a', data: Buffer.from('three'), version: 1 } });
    const after = p.stat('/a')!;
    expect(after).toEqual({ ...before, version: 1, mzxid: entry.hdr.zxid, mtime: entry.hdr.time, dataLength: 5 });
    expect(result.stat).toEqual(after);
    expect(p.tree.get('/a')!.data).toEqual(Buffer.from('three'));
  });

  test('version -1 matches any version; another version must equal the current one', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    expect(prepErr(p.run(setData('/a', 'x', -1), s).entry.body)).toBe(Err.ok);
    expect(prepErr(p.run(setData('/a', 'x', 0), s).entry.body)).toBe(Err.badVersion);
    expect(prepErr(p.run(setData('/a', 'x', 1), s).entry.body)).toBe(Err.ok);
    expect(prepErr(p.run(setData('/a', 'x', -2), s).entry.body)).toBe(Err.badVersion);
    expect(p.stat('/a')!.version).toBe(2);
  });

  test('the version wraps like a Java int', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    p.tree.get('/a')!.version = INT_MAX;
    p.run(setData('/a', 'x', INT_MAX), s);
    expect(p.stat('/a')!.version).toBe(INT_MIN);
    p.run(setData('/a', 'y', INT_MIN), s);
    expect(p.stat('/a')!.version).toBe(INT_MIN + 1);
  });

  test('error codes in order: session, path, NoNode, NoAuth, quota, version', () => {
    const p = new Pipeline({ enforceQuota: true });
    const s = p.newSession();
    const err = (req: WriteRequest, sid = s): number => prepErr(p.run(req, sid).entry.body);
    p.run(create('/ro', null, CreateMode.persistent, worldAcl(Perms.read)), s);
    p.run(create('/app', '12'), s);
    p.run(create('/zookeeper/quota/app'), s);
    p.run(create(limitPath('/app'), 'count=-1,bytes=-1=;byteHardLimit=3'), s);
    p.run(create(statPath('/app'), ''), s);
    expect(err(setData('/x/', 'v'), 999n)).toBe(Err.unknownSession);
    expect(err(setData('/x/', 'v'))).toBe(Err.badArguments);
    expect(err(setData('x', 'v'))).toBe(Err.badArguments);
    expect(err(setData('/missing', 'v', 7))).toBe(Err.noNode);
    expect(err(setData('/ro', 'v', 7))).toBe(Err.noAuth);
    expect(err(setData('/app', 'abcd', 7))).toBe(Err.quotaExceeded);
    expect(err(setData('/app', 'abc', 7))).toBe(Err.badVersion);
    expect(err(setData('/app', 'abc', 0))).toBe(Err.ok);
  });
});

// ---------------------------------------------------------------- setACL

describe('setACL', () => {
  test('bumps aversion and replaces the ACL; data version and mzxid untouched', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a', 'd'), s);
    const before = p.stat('/a')!;
    const acl = worldAcl(Perms.read | Perms.admin);
    const { entry, result } = p.run(setACL('/a', acl, 0), s);
    expect(entry.body).toEqual({ type: OpCode.setACL, record: { path: '/a', acl, version: 1 } });
    expect(p.stat('/a')).toEqual({ ...before, aversion: 1 });
    expect(result.stat).toEqual(p.stat('/a'));
    expect(p.tree.get('/a')!.acl).toEqual(acl);
  });

  test('nodes with equal ACLs share one interned list', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a', null, CreateMode.persistent, worldAcl(Perms.read | Perms.admin)), s);
    p.run(create('/b'), s);
    p.run(setACL('/b', worldAcl(Perms.read | Perms.admin)), s);
    expect(p.tree.get('/a')!.acl).toBe(p.tree.get('/b')!.acl);
  });

  test('error codes in order: session, path, InvalidACL (before NoNode), NoNode, NoAuth, version', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const err = (req: WriteRequest, sid = s): number => prepErr(p.run(req, sid).entry.body);
    p.run(create('/noadmin', null, CreateMode.persistent, worldAcl(Perms.all & ~Perms.admin)), s);
    p.run(create('/a'), s);
    expect(err(setACL('/a/', []), 999n)).toBe(Err.unknownSession);
    expect(err(setACL('/a/', []))).toBe(Err.badArguments);
    expect(err(setACL('/missing', []))).toBe(Err.invalidACL);
    expect(err(setACL('/missing', OPEN))).toBe(Err.noNode);
    expect(err(setACL('/noadmin', OPEN, 9))).toBe(Err.noAuth);
    expect(err(setACL('/a', OPEN, 9))).toBe(Err.badVersion);
    expect(err(setACL('/a', OPEN, 0))).toBe(Err.ok);
  });

  test('the config node starts at aversion -1, so the first setACL makes it 0', () => {
    const p = new Pipeline();
    const s = p.newSession();
    expect(p.stat('/zookeeper/config')!.aversion).toBe(-1);
    const superAuth: Id[] = [{ scheme: 'super', id: '' }];
    expect(prepErr(p.run(setACL('/zookeeper/config', OPEN), s).entry.body)).toBe(Err.noAuth);
    p.run(setACL('/zookeeper/config', OPEN, -1), s, superAuth);
    expect(p.stat('/zookeeper/config')!.aversion).toBe(0);
  });
});

// ---------------------------------------------------------------- check, reconfig, error

describe('check, reconfig and undecodable requests', () => {
  test('check records the version it checked, +1, and changes nothing', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    const before = p.stat('/a');
    const { entry, result } = p.run(check('/a', 0), s);
    expect(entry.body).toEqual({ type: OpCode.check, record: { path: '/a', version: 1 } });
    expect(result).toMatchObject({ type: OpCode.check, err: Err.ok, path: '/a' });
    expect(p.stat('/a')).toEqual(before);
  });

  test('check errors: path, NoNode, NoAuth (READ), version', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const err = (req: WriteRequest): number => prepErr(p.run(req, s).entry.body);
    p.run(create('/noread', null, CreateMode.persistent, worldAcl(Perms.all & ~Perms.read)), s);
    p.run(create('/a'), s);
    expect(err(check('/a/', 3))).toBe(Err.badArguments);
    expect(err(check('/missing', 3))).toBe(Err.noNode);
    expect(err(check('/noread', 3))).toBe(Err.noAuth);
    expect(err(check('/a', 3))).toBe(Err.badVersion);
    expect(err(check('/a', -1))).toBe(Err.ok);
  });

  test('reconfig in standalone: ReconfigDisabled, or Unimplemented when enabled', () => {
    const req: WriteRequest = { type: OpCode.reconfig, record: { joiningServers: '', leavingServers: '', newMembers: '', curConfigId: -1n } };
    const off = new Pipeline();
    expect(prepErr(off.run(req, off.newSession()).entry.body)).toBe(Err.reconfigDisabled);
    const on = new Pipeline({ reconfigEnabled: true });
    expect(prepErr(on.run(req, on.newSession()).entry.body)).toBe(Err.unimplemented);
  });

  test('an undecodable write becomes an ErrorTxn with its code', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const { entry, result } = p.run({ type: OpCode.error, err: Err.marshallingError, originalType: OpCode.create }, s);
    expect(entry.body).toEqual({ type: OpCode.error, record: { err: Err.marshallingError } });
    expect(result.err).toBe(Err.marshallingError);
    expect(p.tree.lastProcessedZxid).toBe(entry.hdr.zxid);
  });

  test('createSession logs its timeout and leaves the tree alone', () => {
    const p = new Pipeline();
    const nodes = p.tree.nodeCount;
    const id = p.sessions.newSessionId();
    p.sessions.add(id, 4000, 0);
    const { entry, result } = p.run({ type: OpCode.createSession, timeOut: 4000 }, id);
    expect(entry.body).toEqual({ type: OpCode.createSession, record: { timeOut: 4000 } });
    expect(result).toMatchObject({ type: OpCode.createSession, err: Err.ok });
    expect(p.tree.nodeCount).toBe(nodes);
    expect(p.tree.lastProcessedZxid).toBe(entry.hdr.zxid);
  });
});

// ---------------------------------------------------------------- multi

describe('multi', () => {
  test('all ops share one zxid and see each other', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/q'), s);
    const { entry, result } = p.run(
      multi(
        opCreate('/m'),
        opCreate('/m/child', CreateMode.persistent, 'v'),
        opSetData('/m/child', 'vv', 0),
        opCreate('/q/s-', CreateMode.persistentSequential),
        opCreate('/q/s-', CreateMode.persistentSequential),
        opCheck('/m/child', 1),
        opDelete('/q/s-0000000000'),
      ),
      s,
    );
    const z = entry.hdr.zxid;
    expect(result.err).toBe(Err.ok);
    expect(result.multi!.map((r) => [r.type, r.err, r.path])).toEqual([
      [OpCode.create, Err.ok, '/m'],
      [OpCode.create, Err.ok, '/m/child'],
      [OpCode.setData, Err.ok, '/m/child'],
      [OpCode.create, Err.ok, '/q/s-0000000000'],
      [OpCode.create, Err.ok, '/q/s-0000000001'],
      [OpCode.check, Err.ok, '/m/child'],
      [OpCode.delete, Err.ok, '/q/s-0000000000'],
    ]);
    expect(p.stat('/m/child')).toMatchObject({ czxid: z, mzxid: z, version: 1, dataLength: 2 });
    expect(p.stat('/m')).toMatchObject({ czxid: z, pzxid: z, cversion: 1, numChildren: 1 });
    expect(p.storedCversion('/q')).toBe(2);
    expect(p.stat('/q')).toMatchObject({ cversion: 3, pzxid: z, numChildren: 1 });
    expect(p.tree.lastProcessedZxid).toBe(z);
  });

  test('the first failing op fails the whole multi: earlier ops Ok, later RuntimeInconsistency, nothing applied', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a', 'x'), s);
    const rootBefore = p.stat('/');
    const aBefore = p.stat('/a');
    const { entry, result } = p.run(multi(opCreate('/x'), opSetData('/a', 'y'), opCreate('/x'), opDelete('/a'), opCreate('/z')), s);
    expect(entry.hdr.type).toBe(OpCode.multi);
    expect(subErrs(entry.body)).toEqual([Err.ok, Err.ok, Err.nodeExists, Err.runtimeInconsistency, Err.runtimeInconsistency]);
    // The log keeps the real txns of the ops before the failure, as ZooKeeper writes them.
    expect(entry.body.type === OpCode.multi && entry.body.record.map((t) => t.type)).toEqual([
      OpCode.create, OpCode.setData, OpCode.error, OpCode.error, OpCode.error,
    ]);
    expect(result.err).toBe(Err.nodeExists);
    expect(result.multi!.map((r) => [r.type, r.err])).toEqual([
      [OpCode.error, Err.ok],
      [OpCode.error, Err.ok],
      [OpCode.error, Err.nodeExists],
      [OpCode.error, Err.runtimeInconsistency],
      [OpCode.error, Err.runtimeInconsistency],
    ]);
    expect(p.tree.get('/x')).toBeUndefined();
    expect(p.stat('/')).toEqual(rootBefore);
    expect(p.stat('/a')).toEqual(aBefore);
    expect(p.tree.lastProcessedZxid).toBe(entry.hdr.zxid);
  });

  test('a failing check fails the multi with BadVersion', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    const { result } = p.run(multi(opCheck('/a', 5), opCreate('/b')), s);
    expect(result.err).toBe(Err.badVersion);
    expect(p.tree.get('/b')).toBeUndefined();
  });

  test('an empty multi succeeds with no results', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const { entry, result } = p.run(multi(), s);
    expect(entry.body).toEqual({ type: OpCode.multi, record: [] });
    expect(result).toEqual({ type: OpCode.multi, err: Err.ok, path: null, stat: null, multi: [] });
  });

  test('a closing session fails the first op with SessionExpired', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.sessions.setClosing(s);
    const { entry } = p.run(multi(opCreate('/a'), opCreate('/b')), s);
    expect(subErrs(entry.body)).toEqual([Err.sessionExpired, Err.runtimeInconsistency]);
  });

  // MultiOperationRecord rebuilds every create op with Op.create(path, data, acl, flags): the
  // opcode comes from the flags, not from the op header. Checked with the zookeeper-3.8.0 jar.
  test.each([
    [OpCode.create2, CreateMode.persistent, OpCode.create, 0n],
    [OpCode.create, CreateMode.container, OpCode.createContainer, CONTAINER_EPHEMERAL_OWNER],
    [OpCode.create2, CreateMode.container, OpCode.createContainer, CONTAINER_EPHEMERAL_OWNER],
    [OpCode.createContainer, CreateMode.persistent, OpCode.create, 0n],
  ])('a create op with header type %d and flags %d is prepared as type %d', (header, flags, txnType, owner) => {
    const p = new Pipeline();
    const s = p.newSession();
    const op = { type: header, request: { path: '/x', data: null, acl: OPEN, flags } } as MultiOp;
    const { entry, result } = p.run(multi(op), s);
    expect(entry.body.type === OpCode.multi && entry.body.record.map((t) => t.type)).toEqual([txnType]);
    expect(result.multi?.[0]?.type).toBe(txnType);
    expect(p.tree.get('/x')?.ephemeralOwner).toBe(owner);
  });

  // The same rebuild for a createTTL op header (Op.create(path, data, acl, flags, ttl)) gives a
  // plain Create, TTL dropped, unless the flags are a TTL mode. tszk prepares such an op as a
  // createTTL: BadArguments for a ttl >= 0, else a CreateTTLTxn. Checked with the 3.8.0 jar.
  test('a createTTL op in a multi with non-TTL flags is a plain create', () => {
    const p = new Pipeline({ extendedTypesEnabled: true });
    const s = p.newSession();
    const op: MultiOp = { type: OpCode.createTTL, request: { path: '/t', data: null, acl: OPEN, flags: CreateMode.persistent, ttl: 1000 } };
    const { entry } = p.run(multi(op), s);
    expect(entry.body.type === OpCode.multi && entry.body.record.map((t) => t.type)).toEqual([OpCode.create]);
    expect(p.tree.get('/t')?.ephemeralOwner).toBe(0n);
  });

  test('a read op inside a write multi is MarshallingError', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const read: MultiOp = { type: OpCode.getData, request: { path: '/', watch: false } };
    const { entry } = p.run(multi(opCreate('/a'), read), s);
    expect(subErrs(entry.body)).toEqual([Err.ok, Err.marshallingError]);
    expect(p.tree.get('/a')).toBeUndefined();
  });

  describe('rollback of the overlay (prepared but not yet applied)', () => {
    test('a failed multi leaves no trace for the next request', () => {
      const p = new Pipeline();
      const s = p.newSession();
      p.prep(multi(opCreate('/m'), opCreate('/m/c'), opSetData('/missing', 'x')), s);
      expect(p.overlay.size).toBe(0);
      expect(prepErr(p.prep(create('/m'), s).body)).toBe(Err.ok);
      p.flush();
      expect(childrenOf(p, '/m')).toEqual([]);
    });

    test('the parent cversion is restored, so sequence numbers are not skipped (ZOOKEEPER-1624)', () => {
      const p = new Pipeline();
      const s = p.newSession();
      p.run(create('/q'), s);
      p.prep(multi(opCreate('/q/s-', CreateMode.persistentSequential), opCheck('/q', 9)), s);
      const e = p.prep(create('/q/s-', null, CreateMode.persistentSequential), s);
      expect(e.body.type === OpCode.create && e.body.record.path).toBe('/q/s-0000000000');
      p.flush();
      expect(childrenOf(p, '/q')).toEqual(['s-0000000000']);
    });

    test('earlier pending changes to the same paths come back', () => {
      const p = new Pipeline();
      const s = p.newSession();
      p.run(create('/a'), s);
      p.prep(setData('/a', 'v1', 0), s); // pending: version 1
      p.prep(multi(opSetData('/a', 'v2', 1), opDelete('/a', 2), opCheck('/nope', 0)), s);
      expect(prepErr(p.prep(setData('/a', 'v2', 1), s).body)).toBe(Err.ok);
      expect(prepErr(p.prep(setData('/a', 'v3', 1), s).body)).toBe(Err.badVersion);
      p.flush();
      expect(p.stat('/a')!.version).toBe(2);
      expect(p.tree.get('/a')!.data).toEqual(Buffer.from('v2'));
    });

    test('a pending create of the same path stays visible after rollback', () => {
      const p = new Pipeline();
      const s = p.newSession();
      p.prep(create('/a', 'first'), s);
      p.prep(multi(opDelete('/a'), opCreate('/a', CreateMode.persistent, 'second'), opCheck('/nope', 0)), s);
      expect(prepErr(p.prep(create('/a'), s).body)).toBe(Err.nodeExists);
      expect(prepErr(p.prep(create('/a/child'), s).body)).toBe(Err.ok);
      p.flush();
      expect(p.tree.get('/a')!.data).toEqual(Buffer.from('first'));
      expect(childrenOf(p, '/a')).toEqual(['child']);
    });
  });
});

// ---------------------------------------------------------------- the overlay

describe('prep against unapplied changes (the overlay)', () => {
  test('a second create of the same path is NodeExists before either is applied', () => {
    const p = new Pipeline();
    const s = p.newSession();
    expect(prepErr(p.prep(create('/a'), s).body)).toBe(Err.ok);
    expect(prepErr(p.prep(create('/a'), s).body)).toBe(Err.nodeExists);
    expect(prepErr(p.prep(create('/a/b'), s).body)).toBe(Err.ok);
    expect(p.overlay.size).toBe(4);
    const results = p.flush();
    expect(results.map((r) => r.err)).toEqual([Err.ok, Err.nodeExists, Err.ok]);
    expect(p.overlay.size).toBe(0);
  });

  test('versions chain through pending setData', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    for (let v = 0; v < 5; v++) expect(prepErr(p.prep(setData('/a', `v${v}`, v), s).body)).toBe(Err.ok);
    expect(prepErr(p.prep(setData('/a', 'x', 2), s).body)).toBe(Err.badVersion);
    p.flush();
    expect(p.stat('/a')!.version).toBe(5);
  });

  test('a pending delete hides the node; a pending create unhides it', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a', 'old'), s);
    p.prep(del('/a'), s);
    expect(prepErr(p.prep(setData('/a', 'x'), s).body)).toBe(Err.noNode);
    expect(prepErr(p.prep(create('/a', 'new'), s).body)).toBe(Err.ok);
    expect(prepErr(p.prep(setData('/a', 'newer', 0), s).body)).toBe(Err.ok);
    p.flush();
    expect(p.stat('/a')).toMatchObject({ version: 1, czxid: p.zxid - 1n, mzxid: p.zxid });
  });

  test('pending children make a delete NotEmpty; pending deletes of them make it Ok', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    p.prep(create('/a/b'), s);
    expect(prepErr(p.prep(del('/a'), s).body)).toBe(Err.notEmpty);
    p.prep(del('/a/b'), s);
    expect(prepErr(p.prep(del('/a'), s).body)).toBe(Err.ok);
    p.flush();
    expect(p.tree.get('/a')).toBeUndefined();
  });

  test('an applied ACL change applies to later prep', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    p.run(setACL('/a', worldAcl(Perms.read)), s);
    expect(prepErr(p.prep(create('/a/b'), s).body)).toBe(Err.noAuth);
    expect(prepErr(p.prep(setData('/a', 'x'), s).body)).toBe(Err.noAuth);
    p.flush();
  });

  // In ZooKeeper 3.8 the change record of a prepared setACL keeps the node's old ACL (only the
  // aversion changes), so requests prepared before the setACL is applied are checked against the
  // old ACL. Checked with Debian's zookeeper-3.8.0 jar driving PrepRequestProcessor directly.
  // Visible to a client that pipelines setACL and then a write without waiting for the reply.
  test('a prepared but unapplied setACL does not change the ACL later requests are checked against', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    p.prep(setACL('/a', worldAcl(Perms.read)), s);
    expect(prepErr(p.prep(setData('/a', 'x'), s).body)).toBe(Err.ok);
    expect(prepErr(p.prep(create('/a/b'), s).body)).toBe(Err.ok);
    p.flush();
  });

  test('a pending closeSession does not lower the parent child count: deleting the parent is NotEmpty until it is applied (as ZooKeeper)', () => {
    const p = new Pipeline();
    const s1 = p.newSession();
    const s2 = p.newSession();
    p.run(create('/q'), s1);
    p.run(create('/q/e', null, CreateMode.ephemeral), s2);
    p.prep(closeSession, s2);
    expect(prepErr(p.prep(del('/q'), s1).body)).toBe(Err.notEmpty);
    p.flush();
    expect(prepErr(p.run(del('/q'), s1).entry.body)).toBe(Err.ok);
  });

  test('applying a change forgets it but keeps a newer pending change to the same path', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/a'), s);
    const first = p.prep(setData('/a', 'v1', 0), s);
    p.prep(setData('/a', 'v2', 1), s);
    applyTxn(p.tree, first.hdr, first.body);
    p.overlay.applied(first.hdr.zxid);
    // the tree says version 1, the pending second change says 2
    expect(prepErr(p.prep(setData('/a', 'v3', 1), s).body)).toBe(Err.badVersion);
    expect(prepErr(p.prep(setData('/a', 'v3', 2), s).body)).toBe(Err.ok);
  });

  test('applied() forgets only what the tree now reflects', () => {
    const p = new Pipeline();
    const s = p.newSession();
    const e1 = p.prep(create('/a'), s);
    p.prep(create('/b'), s);
    applyTxn(p.tree, e1.hdr, e1.body);
    p.overlay.applied(e1.hdr.zxid);
    expect(p.overlay.size).toBe(2); // /b and the root record of /b
    expect(prepErr(p.prep(create('/b'), s).body)).toBe(Err.nodeExists);
    expect(prepErr(p.prep(create('/a'), s).body)).toBe(Err.nodeExists);
  });
});

// ---------------------------------------------------------------- closeSession

describe('closeSession', () => {
  test("deletes the session's ephemerals and only those", () => {
    const p = new Pipeline();
    const s1 = p.newSession();
    const s2 = p.newSession();
    p.run(create('/app'), s1);
    p.run(create('/app/e1', null, CreateMode.ephemeral), s1);
    p.run(create('/app/e2-', null, CreateMode.ephemeralSequential), s1);
    p.run(create('/app/other', null, CreateMode.ephemeral), s2);
    p.run(create('/app/persistent'), s1);
    const before = p.stat('/app')!;
    const { entry, result } = p.run(closeSession, s1);
    expect(entry.body.type).toBe(OpCode.closeSession);
    const paths = entry.body.type === OpCode.closeSession ? entry.body.record!.paths2Delete : [];
    expect([...paths].sort()).toEqual(['/app/e1', '/app/e2-0000000001']);
    expect(result).toMatchObject({ type: OpCode.closeSession, err: Err.ok });
    expect(childrenOf(p, '/app')).toEqual(['other', 'persistent']);
    expect(p.stat('/app')).toEqual({ ...before, numChildren: 2, cversion: before.cversion + 2, pzxid: entry.hdr.zxid });
    expect(p.storedCversion('/app')).toBe(4);
    expect(p.tree.ephemeralsOf(s1)).toEqual([]);
    expect(p.tree.ephemeralsOf(s2)).toEqual(['/app/other']);
  });

  test('includes ephemerals created by txns prepared but not yet applied', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/e0', null, CreateMode.ephemeral), s);
    p.prep(create('/e1', null, CreateMode.ephemeral), s);
    p.prep(multi(opCreate('/e2', CreateMode.ephemeral), opCreate('/p')), s);
    p.prep(create('/e3-', null, CreateMode.ephemeralSequential), s);
    const close = p.prep(closeSession, s);
    const paths = close.body.type === OpCode.closeSession ? close.body.record!.paths2Delete : [];
    expect([...paths].sort()).toEqual(['/e0', '/e1', '/e2', '/e3-0000000004']);
    p.flush();
    for (const path of paths) expect(p.tree.get(path)).toBeUndefined();
    expect(p.tree.get('/p')).toBeDefined();
    expect(p.tree.ephemerals.has(s)).toBe(false);
  });

  test('excludes ephemerals deleted by txns prepared but not yet applied', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/e1', null, CreateMode.ephemeral), s);
    p.run(create('/e2', null, CreateMode.ephemeral), s);
    p.prep(del('/e1'), s);
    const close = p.prep(closeSession, s);
    expect(close.body.type === OpCode.closeSession && close.body.record!.paths2Delete).toEqual(['/e2']);
    p.flush();
    expect(p.tree.get('/e1')).toBeUndefined();
    expect(p.tree.get('/e2')).toBeUndefined();
  });

  test('the session is closing once prepared (SessionExpired) and unknown once applied', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.prep(closeSession, s);
    expect(prepErr(p.prep(create('/a'), s).body)).toBe(Err.sessionExpired);
    p.flush();
    expect(prepErr(p.prep(create('/a'), s).body)).toBe(Err.unknownSession);
    p.flush();
  });

  test('another session may re-create a path whose deletion is pending', () => {
    const p = new Pipeline();
    const s1 = p.newSession();
    const s2 = p.newSession();
    p.run(create('/lock', null, CreateMode.ephemeral), s1);
    p.prep(closeSession, s1);
    expect(prepErr(p.prep(create('/lock', null, CreateMode.ephemeral), s2).body)).toBe(Err.ok);
    p.flush();
    expect(p.stat('/lock')!.ephemeralOwner).toBe(s2);
  });

  test('a CloseSessionTxn without a record (closeSessionTxn disabled) deletes what the session owns', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/e', null, CreateMode.ephemeral), s);
    const result = applyTxn(p.tree, { clientId: s, cxid: 0, zxid: 100n, time: 0, type: OpCode.closeSession }, { type: OpCode.closeSession, record: null });
    expect(result.err).toBe(Err.ok);
    expect(p.tree.get('/e')).toBeUndefined();
    expect(p.stat('/')!.pzxid).toBe(100n);
  });

  test('paths named in the txn that are gone, and owned paths it missed, are both handled', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/e1', null, CreateMode.ephemeral), s);
    p.run(create('/e2', null, CreateMode.ephemeral), s);
    const result = applyTxn(p.tree, { clientId: s, cxid: 0, zxid: 100n, time: 0, type: OpCode.closeSession }, {
      type: OpCode.closeSession,
      record: { paths2Delete: ['/e1', '/gone'] },
    });
    expect(result.err).toBe(Err.ok);
    expect(p.tree.get('/e1')).toBeUndefined();
    expect(p.tree.get('/e2')).toBeUndefined(); // not in the txn, but owned: deleted too (with a warning in ZooKeeper)
  });

  // DataTree.deleteNodes calls deleteNode for every path of the txn; deleteNode moves the parent's
  // pzxid forward before it finds the child missing and throws NoNode (ignored). tszk skips
  // paths that no longer exist, so the parent's pzxid differs after replaying such a txn.
  test("a path in paths2Delete that is already gone still moves its parent's pzxid", () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(create('/dir'), s);
    applyTxn(p.tree, { clientId: s, cxid: 0, zxid: 100n, time: 0, type: OpCode.closeSession }, {
      type: OpCode.closeSession,
      record: { paths2Delete: ['/dir/gone'] },
    });
    expect(p.stat('/dir')!.pzxid).toBe(100n);
  });
});

// ---------------------------------------------------------------- containers and TTL

describe('deleteContainer (issued by the reaper)', () => {
  function setup(): { p: Pipeline; s: bigint } {
    const p = new Pipeline({ extendedTypesEnabled: true });
    const s = p.newSession();
    p.run(createContainer('/c'), s);
    p.run(create('/c/child'), s);
    p.run(create('/plain'), s);
    p.run(create('/eph', null, CreateMode.ephemeral), s);
    p.run(createTTL('/ttl', 1000), s);
    return { p, s };
  }
  const err = (p: Pipeline, req: WriteRequest): number => prepErr(p.run(req, 0n).entry.body);

  test('needs no session, deletes an empty container, and moves the parent pzxid', () => {
    const { p, s } = setup();
    p.run(del('/c/child'), s);
    expect(reapCandidates(p.tree, TIME0)).toContain('/c');
    const { entry, result } = p.run(deleteContainer('/c'), 0n);
    expect(entry.body).toEqual({ type: OpCode.deleteContainer, record: { path: '/c' } });
    expect(result).toMatchObject({ type: OpCode.deleteContainer, err: Err.ok, path: '/c' });
    expect(p.tree.get('/c')).toBeUndefined();
    expect(p.tree.containers.has('/c')).toBe(false);
    expect(p.stat('/')!.pzxid).toBe(entry.hdr.zxid);
  });

  test('NotEmpty when it has children, BadVersion for a session ephemeral, NoNode when gone', () => {
    const { p } = setup();
    expect(err(p, deleteContainer('/c'))).toBe(Err.notEmpty);
    expect(err(p, deleteContainer('/eph'))).toBe(Err.badVersion);
    expect(err(p, deleteContainer('/none'))).toBe(Err.noNode);
    expect(err(p, deleteContainer('/'))).toBe(Err.badArguments);
    expect(err(p, deleteContainer('/zookeeper'))).toBe(Err.badArguments);
    expect(err(p, deleteContainer('nope'))).toBe(Err.badArguments);
  });

  test('persistent and TTL nodes may be deleted this way too (only NORMAL ephemerals are refused)', () => {
    const { p } = setup();
    expect(err(p, deleteContainer('/plain'))).toBe(Err.ok);
    expect(err(p, deleteContainer('/ttl'))).toBe(Err.ok);
    expect(p.tree.ttls.has('/ttl')).toBe(false);
  });
});

describe('reap candidates (ContainerManager.getCandidates)', () => {
  test('a container qualifies once it had a child (cversion > 0) and has none now', () => {
    const p = new Pipeline();
    const s = p.newSession();
    p.run(createContainer('/c'), s);
    expect(reapCandidates(p.tree, TIME0)).toEqual([]);
    p.run(create('/c/x'), s);
    expect(reapCandidates(p.tree, TIME0)).toEqual([]);
    p.run(del('/c/x'), s);
    expect(reapCandidates(p.tree, TIME0)).toEqual(['/c']);
  });

  test('a TTL node qualifies when childless and unmodified for longer than its TTL', () => {
    const p = new Pipeline({ extendedTypesEnabled: true });
    const s = p.newSession();
    const { entry } = p.run(createTTL('/t', 1000), s);
    const mtime = entry.hdr.time;
    expect(reapCandidates(p.tree, mtime + 1000)).toEqual([]);
    expect(reapCandidates(p.tree, mtime + 1001)).toEqual(['/t']);
    p.run(create('/t/c'), s);
    expect(reapCandidates(p.tree, mtime + 5000)).toEqual([]);
  });

  test('without extended types a TTL-looking owner is an ordinary session id', () => {
    const tree = new DataTree(false);
    tree.createNode('/t', null, OPEN_ACL_UNSAFE, ttlOwner(5)!, -1, 1n, 0);
    expect(tree.ttls.size).toBe(0);
    expect(tree.ephemeralsOf(ttlOwner(5)!)).toEqual(['/t']);
    expect(reapCandidates(tree, 1_000_000)).toEqual([]);
  });
});

describe('TTL owner encoding (EphemeralType.TTL)', () => {
  test('0xff in the top byte, the TTL in the low 40 bits', () => {
    expect(ttlOwner(1)).toBe(BigInt.asIntN(64, 0xff00_0000_0000_0001n));
    expect(ttlOwner(1000)).toBe(BigInt.asIntN(64, 0xff00_0000_0000_03e8n));
    expect(ttlOwner(Number(TTL_MAX_MS))).toBe(BigInt.asIntN(64, 0xff00_00ff_ffff_ffffn));
    expect(TTL_MAX_MS).toBe(0xff_ffff_ffffn);
  });

  test('out of range is null (BadArguments in prep)', () => {
    for (const ttl of [0, -1, Number(TTL_MAX_MS) + 1, 1.5, Number.NaN]) expect(ttlOwner(ttl)).toBeNull();
  });

  test('ttlOf reads it back and ephemeralKind classifies it only with extended types on', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number(TTL_MAX_MS) }), (ttl) => {
        const owner = ttlOwner(ttl)!;
        expect(ttlOf(owner)).toBe(ttl);
        expect(ephemeralKind(owner, true)).toBe('ttl');
        expect(ephemeralKind(owner, false)).toBe('normal');
      }),
    );
  });

  test('other owners', () => {
    expect(ephemeralKind(0n, true)).toBe('void');
    expect(ephemeralKind(CONTAINER_EPHEMERAL_OWNER, true)).toBe('container');
    expect(ephemeralKind(CONTAINER_EPHEMERAL_OWNER, false)).toBe('container');
    expect(ephemeralKind(0x0100_0000_0001_0000n, true)).toBe('normal');
    expect(ephemeralKind(-5n, false)).toBe('normal');
  });

  test('a created TTL node carries the owner in its Stat and its txn carries the ttl', () => {
    const p = new Pipeline({ extendedTypesEnabled: true });
    const s = p.newSession();
    p.run(create('/d'), s);
    const { entry, result } = p.run(createTTL('/d/t-', 60_000, CreateMode.persistentSequentialWithTtl), s);
    expect(entry.body).toEqual({
      type: OpCode.createTTL,
      record: { path: '/d/t-0000000000', data: null, acl: OPEN, parentCVersion: 1, ttl: 60_000 },
    });
    expect(p.tree.get('/d/t-0000000000')!.ephemeralOwner).toBe(ttlOwner(60_000));
    expect(result.stat?.ephemeralOwner).toBe(0n); // hidden from clients, like a container's
    expect(p.tree.ttls.has('/d/t-0000000000')).toBe(true);
  });

  test('a TTL node may have children (it is not a session ephemeral)', () => {
    const p = new Pipeline({ extendedTypesEnabled: true });
    const s = p.newSession();
    p.run(createTTL('/t', 60_000), s);
    expect(prepErr(p.run(create('/t/c'), s).entry.body)).toBe(Err.ok);
  });
});

// ---------------------------------------------------------------- replay

describe('replaying txns the tree already reflects (fuzzy snapshots)', () => {
  test('a create that hits NodeExists still moves the parent cversion and pzxid forward', () => {
    const tree = new DataTree();
    tree.createNode('/a', null, OPEN_ACL_UNSAFE, 0n, -1, 5n, 0);
    const hdr = { clientId: 1n, cxid: 1, zxid: 9n, time: 0, type: OpCode.create };
    const body: TxnBody = { type: OpCode.create, record: { path: '/a', data: null, acl: OPEN, ephemeral: false, parentCVersion: 7 } };
    const before = tree.get('/')!.cversion;
    expect(applyTxn(tree, hdr, body).err).toBe(Err.nodeExists);
    expect(tree.get('/')!.cversion).toBe(Math.max(before, 7));
    expect(tree.get('/')!.pzxid).toBe(9n);
    // a lower parentCVersion moves nothing
    expect(applyTxn(tree, { ...hdr, zxid: 10n }, { ...body, record: { ...body.record, parentCVersion: 2 } } as TxnBody).err).toBe(Err.nodeExists);
    expect(tree.get('/')!.pzxid).toBe(9n);
  });

  test('a delete of a missing child still moves the parent pzxid, then answers NoNode', () => {
    const tree = new DataTree();
    tree.createNode('/a', null, OPEN_ACL_UNSAFE, 0n, -1, 5n, 0);
    const r = applyTxn(tree, { clientId: 1n, cxid: 1, zxid: 12n, time: 0, type: OpCode.delete }, { type: OpCode.delete, record: { path: '/a/x' } });
    expect(r.err).toBe(Err.noNode);
    expect(tree.get('/a')!.pzxid).toBe(12n);
  });

  test('a delete never moves pzxid backwards', () => {
    const tree = new DataTree();
    tree.createNode('/a', null, OPEN_ACL_UNSAFE, 0n, -1, 5n, 0);
    tree.createNode('/a/b', null, OPEN_ACL_UNSAFE, 0n, -1, 20n, 0);
    tree.deleteNode('/a/b', 15n);
    expect(tree.get('/a')!.pzxid).toBe(20n);
  });

  test('lastProcessedZxid never goes backwards', () => {
    const tree = new DataTree();
    applyTxn(tree, { clientId: 1n, cxid: 1, zxid: 50n, time: 0, type: OpCode.createSession }, { type: OpCode.createSession, record: { timeOut: 1 } });
    applyTxn(tree, { clientId: 1n, cxid: 1, zxid: 40n, time: 0, type: OpCode.createSession }, { type: OpCode.createSession, record: { timeOut: 1 } });
    expect(tree.lastProcessedZxid).toBe(50n);
  });
});

// ---------------------------------------------------------------- codec

function roundTrip(body: TxnBody): TxnBody {
  const w = new JuteWriter(16);
  writeTxnBody(w, body);
  const bytes = w.toBuffer();
  const r = new JuteReader(bytes);
  const back = readTxnBody(body.type, r);
  expect(r.remaining).toBe(0);
  return back;
}

function encode(body: TxnBody): string {
  const w = new JuteWriter(16);
  writeTxnBody(w, body);
  return w.toBuffer().toString('hex');
}

describe('txn body codec', () => {
  const acl: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
  const samples: TxnBody[] = [
    { type: OpCode.create, record: { path: '/a', data: Buffer.from('x'), acl, ephemeral: true, parentCVersion: 3 } },
    { type: OpCode.create2, record: { path: '/a', data: null, acl, ephemeral: false, parentCVersion: -1 } },
    { type: OpCode.createTTL, record: { path: '/t', data: Buffer.alloc(0), acl, parentCVersion: 1, ttl: 1000 } },
    { type: OpCode.createContainer, record: { path: '/c', data: null, acl, parentCVersion: INT_MIN } },
    { type: OpCode.delete, record: { path: '/a' } },
    { type: OpCode.deleteContainer, record: { path: '/c' } },
    { type: OpCode.setData, record: { path: '/a', data: Buffer.from([0, 255]), version: INT_MAX } },
    { type: OpCode.setACL, record: { path: '/a', acl: [...acl, { perms: 1, id: { scheme: 'ip', id: '10.0.0.0/8' } }], version: 2 } },
    { type: OpCode.check, record: { path: '/a', version: 4 } },
    { type: OpCode.error, record: { err: Err.noNode } },
    { type: OpCode.createSession, record: { timeOut: 30_000 } },
    { type: OpCode.closeSession, record: { paths2Delete: ['/e1', '/e2'] } },
    { type: OpCode.closeSession, record: { paths2Delete: [] } },
    { type: OpCode.closeSession, record: null },
    {
      type: OpCode.multi,
      record: [
        { type: OpCode.create, record: { path: '/m', data: null, acl, ephemeral: false, parentCVersion: 1 } },
        { type: OpCode.setData, record: { path: '/m', data: Buffer.from('d'), version: 1 } },
        { type: OpCode.error, record: { err: Err.badVersion } },
        { type: OpCode.error, record: { err: Err.runtimeInconsistency } },
      ],
    },
    { type: OpCode.multi, record: [] },
  ];

  test.each(samples.map((s) => [s.type, s] as const))('type %d round-trips', (_type, body) => {
    expect(roundTrip(body)).toEqual(body);
  });

  test('byte layouts match the jute IDL', () => {
    expect(encode({ type: OpCode.delete, record: { path: '/a' } })).toBe('00000002' + '2f61');
    expect(encode({ type: OpCode.error, record: { err: Err.noNode } })).toBe('ffffff9b');
    expect(encode({ type: OpCode.createSession, record: { timeOut: 30_000 } })).toBe('00007530');
    expect(encode({ type: OpCode.closeSession, record: null })).toBe('');
    expect(encode({ type: OpCode.closeSession, record: { paths2Delete: ['/e'] } })).toBe('00000001' + '00000002' + '2f65');
    expect(encode({ type: OpCode.check, record: { path: '/a', version: 1 } })).toBe('00000002' + '2f61' + '00000001');
    // CreateTxn: path, data (null = -1), acl vector, ephemeral, parentCVersion
    expect(encode({ type: OpCode.create, record: { path: '/a', data: null, acl, ephemeral: true, parentCVersion: 2 } })).toBe(
      '00000002' + '2f61' + 'ffffffff' + '00000001' + '0000001f' + '00000005' + '776f726c64' + '00000006' + '616e796f6e65' + '01' + '00000002',
    );
    // CreateTTLTxn ends with parentCVersion (int) then ttl (long)
    expect(encode({ type: OpCode.createTTL, record: { path: '/t', data: Buffer.alloc(0), acl: [], parentCVersion: 1, ttl: 1000 } })).toBe(
      '00000002' + '2f74' + '00000000' + '00000000' + '00000001' + '00000000000003e8',
    );
    // MultiTxn: vector of Txn { int type; buffer data }, each sub-record serialized into data
    expect(encode({ type: OpCode.multi, record: [{ type: OpCode.delete, record: { path: '/a' } }, { type: OpCode.error, record: { err: -2 } }] })).toBe(
      '00000002' + '00000002' + '00000006' + '000000022f61' + 'ffffffff' + '00000004' + 'fffffffe',
    );
  });

  test('every prepared txn round-trips', () => {
    const p = new Pipeline({ extendedTypesEnabled: true });
    const s = p.newSession();
    const reqs: WriteRequest[] = [
      create('/a', 'x'),
      create('/a/e', null, CreateMode.ephemeralSequential),
      create2('/b'),
      createContainer('/c'),
      createTTL('/t', 5000),
      setData('/a', 'yy', 0),
      setACL('/b', worldAcl(Perms.read)),
      check('/a', 1),
      del('/c'),
      multi(opCreate('/m'), opSetData('/m', 'z'), opCheck('/m', 1), opDelete('/m')),
      multi(opCreate('/m'), opCreate('/m')),
      create('/a'),
      closeSession,
    ];
    for (const req of reqs) {
      const entry = p.prep(req, s);
      expect(roundTrip(entry.body)).toEqual(entry.body);
    }
    p.flush();
  });
});

describe('a multi sub-txn list survives decode into a form apply accepts', () => {
  test('decoding then applying gives the same tree as applying the original', () => {
    const p1 = new Pipeline();
    const s = p1.newSession();
    p1.run(create('/a'), s);
    const entry = p1.prep(multi(opCreate('/a/b', CreateMode.persistent, 'x'), opSetData('/a', 'y')), s);
    const decoded = roundTrip(entry.body);
    const t2 = new DataTree();
    t2.createNode('/a', null, OPEN_ACL_UNSAFE, 0n, -1, p1.tree.get('/a')!.czxid, p1.tree.get('/a')!.ctime);
    applyTxn(t2, entry.hdr, decoded as TxnBody);
    p1.flush();
    expect(t2.statOf(t2.get('/a')!)).toEqual(p1.stat('/a'));
    expect(t2.statOf(t2.get('/a/b')!)).toEqual(p1.stat('/a/b'));
  });

  test('sub-txn records decode to the right record shapes', () => {
    const body: TxnBody = {
      type: OpCode.multi,
      record: [{ type: OpCode.createTTL, record: { path: '/t', data: null, acl: OPEN, parentCVersion: 1, ttl: 9 } } satisfies SubTxn],
    };
    expect(roundTrip(body)).toEqual(body);
  });
});
