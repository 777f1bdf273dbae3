import { Err } from '../proto/error-codes.js';
import type { MultiOp } from '../proto/multi.js';
import { CreateMode, OpCode } from '../proto/opcodes.js';
import type { PrepCaller, PrepEnv } from './prep-env.js';
import { prepCreate } from './prep-create.js';
import { prepCheck, prepDelete, prepDeleteContainer, prepSetACL, prepSetData } from './prep-modify.js';
import type { SubTxn, TxnBody } from './txn.js';
import type { WriteRequest } from './write-request.js';

const errorTxn = (err: number): SubTxn => ({ type: OpCode.error, record: { err } });

function prepOp(env: PrepEnv, caller: PrepCaller, op: MultiOp): SubTxn | number {
  switch (op.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer: {
      // ZooKeeper rebuilds multi creates from their flags: create2 becomes create, and the
      // container flag (not the opcode) decides createContainer.
      const type = op.request.flags === CreateMode.container ? OpCode.createContainer : OpCode.create;
      return prepCreate(env, caller, type, { ...op.request, ttl: -1 });
    }
    case OpCode.createTTL: {
      const ttlFlags = op.request.flags === CreateMode.persistentWithTtl || op.request.flags === CreateMode.persistentSequentialWithTtl;
      if (ttlFlags) return prepCreate(env, caller, op.type, op.request);
      // Without TTL flags ZooKeeper rebuilds it as a plain create and drops the ttl.
      const type = op.request.flags === CreateMode.container ? OpCode.createContainer : OpCode.create;
      return prepCreate(env, caller, type, { ...op.request, ttl: -1 });
    }
    case OpCode.delete:
      return prepDelete(env, caller, op.request.path, op.request.version);
    case OpCode.setData:
      return prepSetData(env, caller, op.request.path, op.request.data, op.request.version);
    case OpCode.check:
      return prepCheck(env, caller, op.request.path, op.request.version);
    default:
      // Read ops never reach here: a multi that holds them fails to decode.
      return Err.marshallingError;
  }
}

/**
 * All ops of a multi share one zxid. The first failing op fails the whole multi: its changes and
 * those of the ops before it are taken back from the overlay, it records its error, and every op
 * after it records RuntimeInconsistency without being prepared.
 */
function prepMulti(env: PrepEnv, caller: PrepCaller, ops: readonly MultiOp[]): TxnBody {
  const txns: SubTxn[] = [];
  let failed = false;
  env.overlay.beginMulti();
  for (const op of ops) {
    if (failed) {
      txns.push(errorTxn(Err.runtimeInconsistency));
      continue;
    }
    const txn = prepOp(env, caller, op);
    if (typeof txn === 'number') {
      failed = true;
      txns.push(errorTxn(txn));
    } else {
      txns.push(txn);
    }
  }
  env.overlay.endMulti(!failed);
  return { type: OpCode.multi, record: txns };
}

/** The session's ephemerals once every prepared txn is applied (ZooKeeper's closeSession prep). */
function ephemeralsAfterPending(env: PrepEnv, caller: PrepCaller): string[] {
  const paths = new Set(env.tree.ephemeralsOf(caller.sessionId));
  for (const change of env.overlay.pending()) {
    if (change.node === null) paths.delete(change.path);
    else if (change.node.ephemeralOwner === caller.sessionId) paths.add(change.path);
  }
  for (const path of paths) env.overlay.put(caller.zxid, path, null);
  return [...paths];
}

/** Turn a write request into the txn to log, or an ErrorTxn carrying the result code. */
export function prepRequest(env: PrepEnv, caller: PrepCaller, req: WriteRequest): TxnBody {
  let txn: SubTxn | number;
  switch (req.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      txn = prepCreate(env, caller, req.type, { ...req.record, ttl: -1 });
      break;
    case OpCode.createTTL:
      txn = prepCreate(env, caller, req.type, req.record);
      break;
    case OpCode.delete:
      txn = prepDelete(env, caller, req.record.path, req.record.version);
      break;
    case OpCode.deleteContainer:
      txn = prepDeleteContainer(env, caller, req.path);
      break;
    case OpCode.setData:
      txn = prepSetData(env, caller, req.record.path, req.record.data, req.record.version);
      break;
    case OpCode.setACL:
      txn = prepSetACL(env, caller, req.record.path, req.record.acl, req.record.version);
      break;
    case OpCode.check:
      txn = prepCheck(env, caller, req.record.path, req.record.version);
      break;
    case OpCode.reconfig:
      // Standalone never reconfigures: disabled by default, and Unimplemented when enabled.
      txn = env.reconfigEnabled ? Err.unimplemented : Err.reconfigDisabled;
      break;
    case OpCode.multi:
      return prepMulti(env, caller, req.record.ops);
    case OpCode.createSession:
      return { type: OpCode.createSession, record: { timeOut: req.timeOut } };
    case OpCode.closeSession:
      return { type: OpCode.closeSession, record: { paths2Delete: ephemeralsAfterPending(env, caller) } };
    case OpCode.error:
      txn = req.err;
      break;
  }
  return typeof txn === 'number' ? errorTxn(txn) : txn;
}
