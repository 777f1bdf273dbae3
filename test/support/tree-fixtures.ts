// A rich data tree for snapshot and SNAP stream tests, and plain views of trees for deep equality.
import { expect } from 'vitest';
import type { ACL } from '../../src/proto/data.js';
import { Err } from '../../src/proto/error-codes.js';
import { Perms } from '../../src/proto/perms.js';
import { DataTree, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import { CONTAINER_EPHEMERAL_OWNER, ttlOwner } from '../../src/tree/ephemeral-type.js';
import { limitPath, statPath } from '../../src/tree/quota.js';
import type { ZNode } from '../../src/tree/znode.js';

/** A digest ACL for `user`, unique to that user (and perms). */
export const digestAcl = (user: string, perms: number = Perms.all): ACL[] => [
  { perms, id: { scheme: 'digest', id: `${user}:${Buffer.from(user).toString('base64')}0000000000000000000=` } },
];
/** Two ip entries; the rich tree gives this list to two nodes, which share it once read back. */
export const IP_ACL: ACL[] = [
  { perms: Perms.read, id: { scheme: 'ip', id: '127.0.0.1' } },
  { perms: Perms.read | Perms.write, id: { scheme: 'ip', id: '10.0.0.0/8' } },
];
/** Owner of /eph-a in the rich tree. */
export const SESSION_A = 0x0100_001f_f8a0_0000n;
/** Owner of /app/eph-b in the rich tree. */
export const SESSION_B = 0x0100_001f_f8a0_0001n;
/** ctime and mtime of a node created at zxid z: TIME0 + z. */
export const TIME0 = 1_700_000_000_000;

/** Creates a node at `zxid` (asserting it worked) and makes that the tree's last processed zxid. */
export function create(tree: DataTree, path: string, data: Buffer | string | null, acl: readonly ACL[], owner: bigint, zxid: bigint): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  expect(tree.createNode(path, bytes, acl, owner, -1, zxid, TIME0 + Number(zxid))).toBe(Err.ok);
  tree.lastProcessedZxid = zxid;
}

export interface RichTreeOptions {
  /** zxids count up from this epoch's start; default 0, where the last zxid is 0x14 (0x17 with `large`). */
  epoch?: number;
  /** Adds /app/config/deep/deeper (a fourth level, sharing IP_ACL) and /big (100 kB, past any
   * small chunk or byte limit). Too big for tests that decode a file cut at every byte. */
  large?: boolean;
}

/** Every kind of node, nesting, empty and null data, shared and unique ACLs, a quota, a deleted child, changed data and ACL. */
export function richTree(opts: RichTreeOptions = {}): DataTree {
  const tree = new DataTree(true);
  let zxid = BigInt(opts.epoch ?? 0) << 32n;
  const next = (): bigint => ++zxid;
  const large = opts.large ?? false;
  create(tree, '/app', 'hello', OPEN_ACL_UNSAFE, 0n, next());
  create(tree, '/app/config', Buffer.from([0, 1, 2, 255]), READ_ACL_UNSAFE, 0n, next());
  if (large) {
    create(tree, '/app/config/deep', 'd', READ_ACL_UNSAFE, 0n, next());
    create(tree, '/app/config/deep/deeper', '', IP_ACL, 0n, next());
  }
  create(tree, '/app/empty', Buffer.alloc(0), READ_ACL_UNSAFE, 0n, next());
  create(tree, '/app/null', null, READ_ACL_UNSAFE, 0n, next());
  create(tree, '/app/seq-0000000004', 'q', OPEN_ACL_UNSAFE, 0n, next());
  create(tree, '/app/gone', 'x', OPEN_ACL_UNSAFE, 0n, next());
  expect(tree.deleteNode('/app/gone', next())).toBe(Err.ok);
  create(tree, '/eph-a', 'a', OPEN_ACL_UNSAFE, SESSION_A, next());
  create(tree, '/app/eph-b', 'b', digestAcl('bob'), SESSION_B, next());
  create(tree, '/cont', null, OPEN_ACL_UNSAFE, CONTAINER_EPHEMERAL_OWNER, next());
  create(tree, '/cont/child', 'c', OPEN_ACL_UNSAFE, 0n, next());
  create(tree, '/ttl', 't', OPEN_ACL_UNSAFE, ttlOwner(60_000) ?? 0n, next());
  create(tree, '/secret', 's', digestAcl('alice', Perms.read | Perms.admin), 0n, next());
  create(tree, '/ip', 'i', IP_ACL, 0n, next());
  create(tree, '/ip/shared', 'i2', IP_ACL, 0n, next());
  if (large) create(tree, '/big', Buffer.alloc(100_000, 7), OPEN_ACL_UNSAFE, 0n, next());
  create(tree, '/unicode-\u00e9\u4e2d', '\u00e9', OPEN_ACL_UNSAFE, 0n, next());
  expect(tree.setData('/app', Buffer.from('world'), 1, next(), TIME0 + 99)).toBe(Err.ok);
  expect(tree.setACL('/app/config', digestAcl('carol'), 1)).toBe(Err.ok);
  create(tree, '/zookeeper/quota/app', null, OPEN_ACL_UNSAFE, 0n, next());
  create(tree, limitPath('/app'), 'count=10,bytes=-1', OPEN_ACL_UNSAFE, 0n, next());
  create(tree, statPath('/app'), 'count=0,bytes=0', OPEN_ACL_UNSAFE, 0n, next());
  return tree;
}

/** Sessions to go with the rich tree: the owners of its ephemerals and one without any. */
export function richSessions(): Map<bigint, number> {
  return new Map([
    [SESSION_A, 30_000],
    [SESSION_B, 4_000],
    [0x7fff_ffff_ffff_fff0n, 40_000],
  ]);
}

/** A node as plain data, children sorted, for deep equality. */
export function nodeView(node: ZNode): Record<string, unknown> {
  return {
    data: node.data === null ? null : node.data.toString('hex'),
    acl: node.acl.map((a) => ({ perms: a.perms, scheme: a.id.scheme, id: a.id.id })),
    czxid: node.czxid,
    mzxid: node.mzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: node.cversion,
    aversion: node.aversion,
    ephemeralOwner: node.ephemeralOwner,
    pzxid: node.pzxid,
    children: [...node.children.keys()].sort(),
  };
}

/** A whole tree as plain data (nodes, ephemerals, containers, ttls, quotas, digest), for deep equality. */
export function treeView(tree: DataTree): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const path of [...tree.nodes.keys()].sort()) nodes[path] = nodeView(tree.nodes.get(path) as ZNode);
  const ephemerals: Record<string, string[]> = {};
  for (const [owner, paths] of tree.ephemerals) if (paths.size > 0) ephemerals[owner.toString(16)] = [...paths].sort();
  return {
    nodes,
    ephemerals,
    containers: [...tree.containers].sort(),
    ttls: [...tree.ttls].sort(),
    quotas: [...tree.quotas.all()].sort(),
    digest: tree.digest,
  };
}
