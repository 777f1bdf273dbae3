import { aclAllows, fixupACL } from '../auth/acl-check.js';
import type { ACL } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { OpCode } from '../proto/opcodes.js';
import { Perms } from '../proto/perms.js';
import { CONFIG_NODE, ZOOKEEPER_NODE } from '../tree/data-tree.js';
import { ephemeralKind } from '../tree/ephemeral-type.js';
import { invalidPathReason } from '../tree/paths.js';
import { QUOTA_ROOT } from '../tree/quota.js';
import type { PrepCaller, PrepEnv } from './prep-env.js';
import { quotaAllows } from './quota-check.js';
import type { SubTxn } from './txn.js';

/** expected -1 matches any version; the new version wraps like a Java int. */
function nextVersion(current: number, expected: number): number | null {
  if (expected !== -1 && expected !== current) return null;
  return (current + 1) | 0;
}

/** The system nodes cannot be deleted. */
function isSpecialPath(path: string): boolean {
  return path === '/' || path === ZOOKEEPER_NODE || path === QUOTA_ROOT || path === CONFIG_NODE;
}

/** Parent of a path to delete, or BadArguments (DeleteRequest paths are not fully validated). */
function parentForDelete(path: string): string | number {
  const lastSlash = path.lastIndexOf('/');
  if (lastSlash === -1 || path.includes('\0') || isSpecialPath(path)) return Err.badArguments;
  const parent = path.substring(0, lastSlash);
  return parent === '' ? '/' : parent;
}

export function prepDelete(env: PrepEnv, caller: PrepCaller, path: string, version: number): SubTxn | number {
  const session = env.checkSession(caller.sessionId);
  if (session !== Err.ok) return session;
  const parentPath = parentForDelete(path);
  if (typeof parentPath === 'number') return parentPath;
  const parent = env.overlay.get(parentPath);
  if (parent === null) return Err.noNode;
  if (!aclAllows(parent.acl, Perms.delete, caller.authInfo, env.skipACL)) return Err.noAuth;
  const node = env.overlay.get(path);
  if (node === null) return Err.noNode;
  if (nextVersion(node.version, version) === null) return Err.badVersion;
  if (node.childCount > 0) return Err.notEmpty;
  env.overlay.put(caller.zxid, parentPath, { ...parent, childCount: parent.childCount - 1 });
  env.overlay.put(caller.zxid, path, null);
  return { type: OpCode.delete, record: { path } };
}

/** Issued by the server itself for an emptied container or an expired TTL node. */
export function prepDeleteContainer(env: PrepEnv, caller: PrepCaller, path: string): SubTxn | number {
  const parentPath = parentForDelete(path);
  if (typeof parentPath === 'number') return parentPath;
  const node = env.overlay.get(path);
  if (node === null) return Err.noNode;
  if (node.childCount > 0) return Err.notEmpty;
  if (ephemeralKind(node.ephemeralOwner, env.extendedTypesEnabled) === 'normal') return Err.badVersion;
  const parent = env.overlay.get(parentPath);
  if (parent === null) return Err.noNode;
  env.overlay.put(caller.zxid, parentPath, { ...parent, childCount: parent.childCount - 1 });
  env.overlay.put(caller.zxid, path, null);
  return { type: OpCode.deleteContainer, record: { path } };
}

export function prepSetData(env: PrepEnv, caller: PrepCaller, path: string, data: Buffer | null, version: number): SubTxn | number {
  const session = env.checkSession(caller.sessionId);
  if (session !== Err.ok) return session;
  if (invalidPathReason(path) !== null) return Err.badArguments;
  const node = env.overlay.get(path);
  if (node === null) return Err.noNode;
  if (!aclAllows(node.acl, Perms.write, caller.authInfo, env.skipACL)) return Err.noAuth;
  if (env.enforceQuota) {
    const before = node.data === null ? 0 : node.data.length;
    const quota = quotaAllows(env.tree, path, (data === null ? 0 : data.length) - before, 0);
    if (quota !== Err.ok) return quota;
  }
  const newVersion = nextVersion(node.version, version);
  if (newVersion === null) return Err.badVersion;
  env.overlay.put(caller.zxid, path, { ...node, version: newVersion, data });
  return { type: OpCode.setData, record: { path, data, version: newVersion } };
}

export function prepSetACL(env: PrepEnv, caller: PrepCaller, path: string, acl: readonly ACL[], version: number): SubTxn | number {
  const session = env.checkSession(caller.sessionId);
  if (session !== Err.ok) return session;
  if (invalidPathReason(path) !== null) return Err.badArguments;
  const fixed = fixupACL(acl, caller.authInfo);
  if (typeof fixed === 'number') return fixed;
  const node = env.overlay.get(path);
  if (node === null) return Err.noNode;
  if (!aclAllows(node.acl, Perms.admin, caller.authInfo, env.skipACL)) return Err.noAuth;
  const newVersion = nextVersion(node.aversion, version);
  if (newVersion === null) return Err.badVersion;
  // As in ZooKeeper, the pending record keeps the old ACL: requests prepared before this txn
  // is applied are still checked against it.
  env.overlay.put(caller.zxid, path, { ...node, aversion: newVersion });
  return { type: OpCode.setACL, record: { path, acl: fixed, version: newVersion } };
}

/** check (only inside multi): version match, recorded as a CheckVersionTxn. */
export function prepCheck(env: PrepEnv, caller: PrepCaller, path: string, version: number): SubTxn | number {
  const session = env.checkSession(caller.sessionId);
  if (session !== Err.ok) return session;
  if (invalidPathReason(path) !== null) return Err.badArguments;
  const node = env.overlay.get(path);
  if (node === null) return Err.noNode;
  if (!aclAllows(node.acl, Perms.read, caller.authInfo, env.skipACL)) return Err.noAuth;
  const newVersion = nextVersion(node.version, version);
  if (newVersion === null) return Err.badVersion;
  return { type: OpCode.check, record: { path, version: newVersion } };
}
