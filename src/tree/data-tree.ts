import type { ACL, Stat } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { EventType } from '../proto/events.js';
import { Perms } from '../proto/perms.js';
import { nodeDigest } from './digest.js';
import { ephemeralKind } from './ephemeral-type.js';
import { childPath, nameOf, parentOf } from './paths.js';
import { LIMIT_NODE, QUOTA_ROOT, QuotaPaths, STAT_NODE, StatsTrack, statPath } from './quota.js';
import { WatchManager, type Watcher } from './watch-manager.js';
import { ZNode } from './znode.js';

export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.all, id: { scheme: 'world', id: 'anyone' } }]);
/** Is `acl` exactly OPEN_ACL_UNSAFE (world:anyone with every permission)? */
export function isOpenAclUnsafe(acl: readonly ACL[]): boolean {
  if (acl.length !== 1) return false;
  const only = acl[0];
  return only !== undefined && only.perms === Perms.all && only.id.scheme === 'world' && only.id.id === 'anyone';
}
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.read, id: { scheme: 'world', id: 'anyone' } }]);

export const ZOOKEEPER_NODE = '/zookeeper';
export const CONFIG_NODE = '/zookeeper/config';

/** Node digests are below 2^32: a number this size still takes 2^20 more without losing a bit. */
const DIGEST_FOLD_AT = 2 ** 52;

/**
 * The znode tree: nodes by full path, the ephemerals of each session, containers and TTL nodes,
 * quotas, and the two watch tables. It is mutated only by txn application (src/txn/apply.ts)
 * through the primitives below, which return ZooKeeper result codes as values.
 */
export class DataTree {
  readonly nodes = new Map<string, ZNode>();
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  readonly dataWatches = new WatchManager();
  readonly childWatches = new WatchManager();
  readonly quotas = new QuotaPaths();
  lastProcessedZxid = 0n;
  /**
   * Sum of nodeDigest over all nodes, modulo 2^64 (ZooKeeper's tree digest), kept in two parts:
   * a number that takes every change (exact while below 2^53 in size) and a BigInt it is folded
   * into now and then. A BigInt per change was a visible share of a write's cost.
   */
  private digestSmall = 0;
  private digestBig = 0n;
  /** Interned ACL lists: nodes with equal ACLs share one array (ZooKeeper's ACL cache). */
  private readonly aclCache = new Map<string, readonly ACL[]>();
  /** The same array interned before: loading a snapshot hands one array to every node sharing it. */
  private readonly aclByIdentity = new WeakMap<readonly ACL[], readonly ACL[]>();

  constructor(readonly extendedTypesEnabled = false, empty = false) {
    if (empty) return;
    const root = ZNode.create(Buffer.alloc(0), OPEN_ACL_UNSAFE, 0n, 0, 0n);
    this.nodes.set('/', root);
    this.addSystemNode('/', 'zookeeper', OPEN_ACL_UNSAFE);
    this.addSystemNode(ZOOKEEPER_NODE, 'quota', OPEN_ACL_UNSAFE);
    const config = this.addSystemNode(ZOOKEEPER_NODE, 'config', READ_ACL_UNSAFE);
    // ZooKeeper sets the config node's ACL with version -1, so its aversion reads -1.
    config.aversion = -1;
    for (const [path, node] of this.nodes) this.digestAfter(path, node);
  }

  /**
   * A tree loaded from a snapshot: nodes in pre-order (every parent before its children, the
   * root first), as ZooKeeper writes them. Children, ephemerals, containers, TTL nodes, quota
   * paths and the digest are rebuilt here. Throws when a node's parent is missing.
   */
  static fromNodes(extendedTypesEnabled: boolean, nodes: Iterable<readonly [string, ZNode]>): DataTree {
    const tree = new DataTree(extendedTypesEnabled, true);
    // Siblings come one after another: their parent is found once, not looked up per child.
    let lastParentPath = '';
    let lastParent: ZNode | undefined;
    for (const [rawPath, node] of nodes) {
      const path = rawPath === '' ? '/' : rawPath;
      node.acl = tree.internAcl(node.acl);
      if (path !== '/') {
        const parentPath = parentOf(path);
        if (parentPath !== lastParentPath || lastParent === undefined) {
          lastParent = tree.get(parentPath);
          lastParentPath = parentPath;
        }
        const parent = lastParent;
        if (parent === undefined) throw new Error(`snapshot node ${path} has no parent`);
        parent.addChild(nameOf(path), node);
        tree.trackOwner(path, node.ephemeralOwner);
      }
      tree.nodes.set(path, node);
      tree.digestAfter(path, node);
      if (path.startsWith(QUOTA_ROOT) && nameOf(path) === LIMIT_NODE) {
        tree.quotas.add(parentOf(path).substring(QUOTA_ROOT.length));
      }
    }
    if (!tree.nodes.has('/')) throw new Error('snapshot has no root node');
    // As ZooKeeper does on load: recount the usage of every quota'd subtree.
    for (const quotaPath of tree.quotas.all()) tree.recountQuota(quotaPath);
    return tree;
  }

  /** The tree digest as a signed 64-bit value, as ZooKeeper writes it. */
  get digest(): bigint {
    return BigInt.asIntN(64, this.digestBig + BigInt(this.digestSmall));
  }

  /** Take a node's contribution out before changing it; `digestAfter` puts it back. */
  private digestBefore(node: ZNode): void {
    this.digestSmall -= node.digest >>> 0;
    if (this.digestSmall < -DIGEST_FOLD_AT) this.foldDigest();
  }

  private digestAfter(path: string, node: ZNode): void {
    const digest = nodeDigest(path, node);
    node.digest = digest | 0;
    this.digestSmall += digest;
    if (this.digestSmall > DIGEST_FOLD_AT) this.foldDigest();
  }

  private foldDigest(): void {
    this.digestBig = BigInt.asUintN(64, this.digestBig + BigInt(this.digestSmall));
    this.digestSmall = 0;
  }

  private addSystemNode(parent: string, name: string, acl: readonly ACL[]): ZNode {
    const node = ZNode.create(Buffer.alloc(0), this.internAcl(acl), 0n, 0, 0n);
    this.mustGet(parent).addChild(name, node);
    this.nodes.set(childPath(parent, name), node);
    return node;
  }

  /** The Stat clients see for a node. */
  statOf(node: ZNode): Stat {
    return node.stat(this.extendedTypesEnabled);
  }

  /** ZooKeeper aliases the root as "" too. */
  get(path: string): ZNode | undefined {
    return this.nodes.get(path === '' ? '/' : path);
  }

  private mustGet(path: string): ZNode {
    const node = this.get(path);
    if (node === undefined) throw new Error(`missing node ${path}`);
    return node;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  internAcl(acl: readonly ACL[]): readonly ACL[] {
    // Nearly every node has this list: one check spares the lookups below.
    if (acl === OPEN_ACL_UNSAFE || isOpenAclUnsafe(acl)) return OPEN_ACL_UNSAFE;
    const known = this.aclByIdentity.get(acl);
    if (known !== undefined) return known;
    let key = '';
    for (const a of acl) key += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
    let interned = this.aclCache.get(key);
    if (interned === undefined) {
      interned = Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ ...a.id }) })));
      this.aclCache.set(key, interned);
      this.aclByIdentity.set(interned, interned);
    }
    // A request's freshly decoded list is not remembered by identity: it is never seen again, and
    // a WeakMap entry per create costs more (insertion, and ephemeron work in every GC) than the
    // key it saves building.
    return interned;
  }

  /** Apply a create. parentCVersion -1 means "one more than now". */
  createNode(
    path: string,
    data: Buffer | null,
    acl: readonly ACL[],
    ephemeralOwner: bigint,
    parentCVersion: number,
    zxid: bigint,
    timeMs: number,
  ): number {
    const parentPath = parentOf(path);
    const name = nameOf(path);
    const parent = this.get(parentPath);
    if (parent === undefined) return Err.noNode;
    if (parent.children.has(name)) return Err.nodeExists;
    const cversion = parentCVersion === -1 ? parent.cversion + 1 : parentCVersion;
    // Replaying a fuzzy snapshot may create a node again: never move cversion/pzxid backwards.
    if (cversion > parent.cversion) {
      this.digestBefore(parent);
      parent.cversion = cversion;
      parent.pzxid = zxid;
      this.digestAfter(parentPath, parent);
    }
    const node = ZNode.create(data, this.internAcl(acl), zxid, timeMs, ephemeralOwner);
    parent.addChild(name, node);
    this.nodes.set(path, node);
    this.digestAfter(path, node);
    this.trackOwner(path, ephemeralOwner);
    if (parentPath.startsWith(QUOTA_ROOT)) this.quotaNodeCreated(parentPath, name);
    this.updateQuotaUsage(path, data === null ? 0 : data.length, 1);
    this.dataWatches.trigger(path, EventType.nodeCreated, node.acl);
    this.childWatches.trigger(parentPath === '' ? '/' : parentPath, EventType.nodeChildrenChanged, parent.acl);
    return Err.ok;
  }

  private trackOwner(path: string, owner: bigint): void {
    const kind = ephemeralKind(owner, this.extendedTypesEnabled);
    if (kind === 'container') this.containers.add(path);
    else if (kind === 'ttl') this.ttls.add(path);
    else if (kind === 'normal') {
      let paths = this.ephemerals.get(owner);
      if (paths === undefined) {
        paths = new Set();
        this.ephemerals.set(owner, paths);
      }
      paths.add(path);
    }
  }

  private untrackOwner(path: string, owner: bigint): void {
    const kind = ephemeralKind(owner, this.extendedTypesEnabled);
    if (kind === 'container') this.containers.delete(path);
    else if (kind === 'ttl') this.ttls.delete(path);
    else if (kind === 'normal') this.ephemerals.get(owner)?.delete(path);
  }

  deleteNode(path: string, zxid: bigint): number {
    const parentPath = parentOf(path);
    const name = nameOf(path);
    const parent = this.get(parentPath);
    if (parent === undefined) return Err.noNode;
    parent.removeChild(name);
    // Only move pzxid forward: a replayed create may already have set a higher one.
    if (zxid > parent.pzxid) {
      this.digestBefore(parent);
      parent.pzxid = zxid;
      this.digestAfter(parentPath, parent);
    }
    const node = this.nodes.get(path);
    if (node === undefined) return Err.noNode;
    this.digestBefore(node);
    this.nodes.delete(path);
    this.untrackOwner(path, node.ephemeralOwner);
    if (parentPath.startsWith(ZOOKEEPER_NODE) && name === LIMIT_NODE) {
      this.quotas.delete(parentPath.substring(QUOTA_ROOT.length));
    }
    this.updateQuotaUsage(path, node.data === null ? 0 : -node.data.length, -1);
    const notified = this.dataWatches.trigger(path, EventType.nodeDeleted, node.acl);
    this.childWatches.trigger(path, EventType.nodeDeleted, node.acl, notified);
    this.childWatches.trigger(parentPath === '' ? '/' : parentPath, EventType.nodeChildrenChanged, parent.acl);
    return Err.ok;
  }

  setData(path: string, data: Buffer | null, version: number, zxid: bigint, timeMs: number): number {
    const node = this.get(path);
    if (node === undefined) return Err.noNode;
    const before = node.data === null ? 0 : node.data.length;
    this.digestBefore(node);
    node.data = data;
    node.mtime = timeMs;
    node.mzxid = zxid;
    node.version = version;
    this.digestAfter(path, node);
    this.updateQuotaUsage(path, (data === null ? 0 : data.length) - before, 0);
    this.dataWatches.trigger(path, EventType.nodeDataChanged, node.acl);
    return Err.ok;
  }

  setACL(path: string, acl: readonly ACL[], aversion: number): number {
    const node = this.get(path);
    if (node === undefined) return Err.noNode;
    this.digestBefore(node);
    node.aversion = aversion;
    node.acl = this.internAcl(acl);
    this.digestAfter(path, node);
    return Err.ok;
  }

  /** Only moves cversion forward (used when replaying a create that already happened). */
  setCversionPzxid(path: string, cversion: number, zxid: bigint): number {
    const key = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const node = this.get(key);
    if (node === undefined) return Err.noNode;
    const next = cversion === -1 ? node.cversion + 1 : cversion;
    if (next > node.cversion) {
      this.digestBefore(node);
      node.cversion = next;
      node.pzxid = zxid;
      this.digestAfter(key, node);
    }
    return Err.ok;
  }

  /** Paths of a session's ephemerals (a copy). */
  ephemeralsOf(sessionId: bigint): string[] {
    const paths = this.ephemerals.get(sessionId);
    return paths === undefined ? [] : [...paths];
  }

  /**
   * Delete a closed session's ephemerals: the paths named in its CloseSessionTxn, then any it
   * still owns (a txn written before the session created more, or none at all).
   */
  killSession(sessionId: bigint, zxid: bigint, paths?: readonly string[]): void {
    const owned = this.ephemerals.get(sessionId);
    this.ephemerals.delete(sessionId);
    if (paths !== undefined) {
      for (const path of paths) {
        owned?.delete(path);
        // Even for a node already gone: deleteNode still moves the parent's pzxid, as in ZooKeeper.
        this.deleteNode(path, zxid);
      }
    }
    if (owned === undefined) return;
    for (const path of owned) if (this.nodes.has(path)) this.deleteNode(path, zxid);
  }

  /** Number of descendants (not counting the node itself). */
  allChildrenNumber(path: string): number {
    if (path === '/') return this.nodes.size - 1;
    const prefix = `${path}/`;
    let n = 0;
    for (const key of this.nodes.keys()) if (key.startsWith(prefix)) n++;
    return n;
  }

  // --- quotas ---

  private quotaNodeCreated(parentPath: string, name: string): void {
    const quotaPath = parentPath.substring(QUOTA_ROOT.length);
    if (name === LIMIT_NODE) this.quotas.add(quotaPath);
    if (name === STAT_NODE) this.recountQuota(quotaPath);
  }

  private recountQuota(path: string): void {
    let count = 0;
    let bytes = 0;
    const walk = (p: string): void => {
      const node = this.nodes.get(p);
      if (node === undefined) return;
      count += 1;
      bytes += node.data === null ? 0 : node.data.length;
      for (const child of node.children.keys()) walk(childPath(p, child));
    };
    walk(path);
    const stats = this.nodes.get(statPath(path));
    if (stats === undefined) return;
    const track = new StatsTrack();
    track.set('count', count);
    track.set('bytes', bytes);
    stats.data = track.toBuffer();
  }

  private updateQuotaUsage(path: string, bytesDiff: number, countDiff: number): void {
    const prefix = this.quotas.maxPrefix(path);
    if (prefix === null) return;
    const stats = this.nodes.get(statPath(prefix));
    if (stats === undefined) return;
    const track = StatsTrack.parse(stats.data);
    track.set('count', track.get('count') + countDiff);
    track.set('bytes', track.get('bytes') + bytesDiff);
    stats.data = track.toBuffer();
  }

  // --- watches ---

  removeWatcher(watcher: Watcher): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }
}
