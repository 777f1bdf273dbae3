import { aclAllows, fixupACL } from '../auth/acl-check.js';
import type { ACL } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { CreateMode, OpCode } from '../proto/opcodes.js';
import { Perms } from '../proto/perms.js';
import { CONTAINER_EPHEMERAL_OWNER, ephemeralKind, ttlOwner } from '../tree/ephemeral-type.js';
import { invalidPathReason, parentOf } from '../tree/paths.js';
import type { PrepCaller, PrepEnv } from './prep-env.js';
import { quotaAllows } from './quota-check.js';
import type { SubTxn } from './txn.js';

export interface CreateArgs {
  path: string;
  data: Buffer | null;
  acl: readonly ACL[];
  flags: number;
  /** -1 unless the request was a createTTL. */
  ttl: number;
}

const isSequential = (flags: number): boolean =>
  flags === CreateMode.persistentSequential ||
  flags === CreateMode.ephemeralSequential ||
  flags === CreateMode.persistentSequentialWithTtl;
const isTtl = (flags: number): boolean =>
  flags === CreateMode.persistentWithTtl || flags === CreateMode.persistentSequentialWithTtl;
const isEphemeral = (flags: number): boolean =>
  flags === CreateMode.ephemeral || flags === CreateMode.ephemeralSequential;

/** Sequence suffix: the parent's cversion, zero-padded to 10 digits (negative once it wraps). */
export function sequenceSuffix(cversion: number): string {
  return cversion < 0 ? `-${String(-cversion).padStart(9, '0')}` : String(cversion).padStart(10, '0');
}

/**
 * create, create2, createContainer, createTTL -> CreateTxn / CreateContainerTxn / CreateTTLTxn,
 * with ZooKeeper's checks in ZooKeeper's order (the first failing one decides the error code).
 */
export function prepCreate(env: PrepEnv, caller: PrepCaller, type: number, args: CreateArgs): SubTxn | number {
  const { flags, ttl } = args;
  if (flags < 0 || flags > CreateMode.persistentSequentialWithTtl) return Err.badArguments;
  if (isTtl(flags) && !env.extendedTypesEnabled) return Err.unimplemented;
  if (isTtl(flags) ? ttlOwner(ttl) === null : ttl >= 0) return Err.badArguments;
  const session = env.checkSession(caller.sessionId);
  // Ephemerals need a global session (checkGlobalSession): an unknown one is "expired".
  if (session !== Err.ok) return session === Err.unknownSession && isEphemeral(flags) ? Err.sessionExpired : session;
  let path = args.path;
  const lastSlash = path.lastIndexOf('/');
  if (lastSlash === -1 || path.includes('\0')) return Err.badArguments;
  const parentPath = path.substring(0, lastSlash);
  const acl = fixupACL(args.acl, caller.authInfo);
  if (typeof acl === 'number') return acl;
  const parent = env.overlay.get(parentPath === '' ? '/' : parentPath);
  if (parent === null) return Err.noNode;
  if (!aclAllows(parent.acl, Perms.create, caller.authInfo, env.skipACL)) return Err.noAuth;
  if (isSequential(flags)) path += sequenceSuffix(parent.cversion);
  if (invalidPathReason(path) !== null) return Err.badArguments;
  if (env.overlay.get(path) !== null) return Err.nodeExists;
  if (ephemeralKind(parent.ephemeralOwner, env.extendedTypesEnabled) === 'normal') return Err.noChildrenForEphemerals;
  const newCversion = (parent.cversion + 1) | 0;
  if (env.enforceQuota) {
    const quota = quotaAllows(env.tree, path, args.data === null ? 0 : args.data.length, 1);
    if (quota !== Err.ok) return quota;
  }
  let ephemeralOwner = 0n;
  if (flags === CreateMode.container) ephemeralOwner = CONTAINER_EPHEMERAL_OWNER;
  else if (isTtl(flags)) ephemeralOwner = ttlOwner(ttl) ?? 0n;
  else if (isEphemeral(flags)) ephemeralOwner = caller.sessionId;

  env.overlay.put(caller.zxid, parentPath === '' ? '/' : parentPath, {
    ...parent,
    childCount: parent.childCount + 1,
    cversion: newCversion,
  });
  env.overlay.put(caller.zxid, path, {
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner,
    childCount: 0,
    acl,
    data: args.data,
  });
  const data = args.data;
  if (type === OpCode.createContainer) {
    return { type, record: { path, data, acl, parentCVersion: newCversion } };
  }
  if (type === OpCode.createTTL) {
    return { type, record: { path, data, acl, parentCVersion: newCversion, ttl } };
  }
  const createType = type === OpCode.create2 ? OpCode.create2 : OpCode.create;
  return { type: createType, record: { path, data, acl, ephemeral: isEphemeral(flags), parentCVersion: newCversion } };
}
