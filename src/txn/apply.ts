import type { Stat } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { OpCode } from '../proto/opcodes.js';
import type { TxnHeader } from '../proto/txn-records.js';
import type { DataTree } from '../tree/data-tree.js';
import { CONTAINER_EPHEMERAL_OWNER, ttlOwner } from '../tree/ephemeral-type.js';
import { parentOf } from '../tree/paths.js';
import type { SubTxn, TxnBody } from './txn.js';

export interface TxnResult {
  /** The txn's type; for ops of a failed multi, OpCode.error. */
  type: number;
  err: number;
  path: string | null;
  stat: Stat | null;
  /** Per-op results of a multi. */
  multi: TxnResult[] | null;
}

function result(type: number, err: number, path: string | null = null, stat: Stat | null = null): TxnResult {
  return { type, err, path, stat, multi: null };
}

function statOf(tree: DataTree, path: string): Stat | null {
  const node = tree.get(path);
  return node === undefined ? null : tree.statOf(node);
}

function applySub(tree: DataTree, hdr: TxnHeader, txn: SubTxn): TxnResult {
  const { zxid, time } = hdr;
  switch (txn.type) {
    case OpCode.create:
    case OpCode.create2: {
      const r = txn.record;
      const owner = r.ephemeral ? hdr.clientId : 0n;
      const err = tree.createNode(r.path, r.data, r.acl, owner, r.parentCVersion, zxid, time);
      return result(txn.type, err, r.path, txn.type === OpCode.create2 && err === Err.ok ? statOf(tree, r.path) : null);
    }
    case OpCode.createTTL: {
      const r = txn.record;
      const err = tree.createNode(r.path, r.data, r.acl, ttlOwner(r.ttl) ?? 0n, r.parentCVersion, zxid, time);
      return result(txn.type, err, r.path, err === Err.ok ? statOf(tree, r.path) : null);
    }
    case OpCode.createContainer: {
      const r = txn.record;
      const err = tree.createNode(r.path, r.data, r.acl, CONTAINER_EPHEMERAL_OWNER, r.parentCVersion, zxid, time);
      return result(txn.type, err, r.path, err === Err.ok ? statOf(tree, r.path) : null);
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return result(txn.type, tree.deleteNode(txn.record.path, zxid), txn.record.path);
    case OpCode.setData:
    case OpCode.reconfig: {
      const r = txn.record;
      const err = tree.setData(r.path, r.data, r.version, zxid, time);
      return result(txn.type, err, r.path, err === Err.ok ? statOf(tree, r.path) : null);
    }
    case OpCode.setACL: {
      const r = txn.record;
      const err = tree.setACL(r.path, r.acl, r.version);
      return result(txn.type, err, r.path, err === Err.ok ? statOf(tree, r.path) : null);
    }
    case OpCode.check:
      return result(txn.type, Err.ok, txn.record.path);
    case OpCode.error:
      return result(txn.type, txn.record.err);
  }
}

/**
 * In a multi that failed, ops before the failing one answer Ok and ops after it
 * RuntimeInconsistency, all as error results; nothing is applied.
 */
function applyMulti(tree: DataTree, hdr: TxnHeader, txns: readonly SubTxn[]): TxnResult {
  const failed = txns.some((t) => t.type === OpCode.error);
  const results: TxnResult[] = [];
  let err: number = Err.ok;
  let afterFailure = false;
  for (const txn of txns) {
    let r: TxnResult;
    if (!failed) {
      r = applySub(tree, hdr, txn);
    } else if (txn.type === OpCode.error) {
      afterFailure = true;
      r = result(OpCode.error, txn.record.err);
    } else {
      r = result(OpCode.error, afterFailure ? Err.runtimeInconsistency : Err.ok);
    }
    results.push(r);
    if (r.err !== Err.ok && err === Err.ok) err = r.err;
  }
  return { type: OpCode.multi, err, path: null, stat: null, multi: results };
}

/**
 * The one deterministic state transition: live requests, log replay and learners all apply
 * txns through here. Session bookkeeping outside the tree is the caller's.
 */
export function applyTxn(tree: DataTree, hdr: TxnHeader, body: TxnBody): TxnResult {
  let r: TxnResult;
  switch (body.type) {
    case OpCode.createSession:
      r = result(body.type, Err.ok);
      break;
    case OpCode.closeSession:
      tree.killSession(hdr.clientId, hdr.zxid, body.record?.paths2Delete);
      r = result(body.type, Err.ok);
      break;
    case OpCode.multi:
      r = applyMulti(tree, hdr, body.record);
      break;
    default:
      r = applySub(tree, hdr, body);
      // Replaying a create that a fuzzy snapshot already holds: still advance the parent.
      if (body.type === OpCode.create && r.err === Err.nodeExists) {
        tree.setCversionPzxid(parentOf(body.record.path), body.record.parentCVersion, hdr.zxid);
      }
  }
  if (hdr.zxid > tree.lastProcessedZxid) tree.lastProcessedZxid = hdr.zxid;
  return r;
}
