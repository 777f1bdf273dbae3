import type { JuteReader } from '../jute/reader.js';
import { Err } from '../proto/error-codes.js';
import { isReadOp, readMultiRequest } from '../proto/multi.js';
import { OpCode } from '../proto/opcodes.js';
import {
  readAddWatchRequest, readCheckVersionRequest, readCheckWatchesRequest, readCreateRequest, readCreateTTLRequest,
  readDeleteRequest, readExistsRequest, readGetACLRequest, readGetAllChildrenNumberRequest, readGetChildren2Request,
  readGetChildrenRequest, readGetDataRequest, readGetEphemeralsRequest, readReconfigRequest, readRemoveWatchesRequest,
  readSetACLRequest, readSetDataRequest, readSetWatches, readSetWatches2, readSyncRequest,
} from '../proto/records.js';
import type { WriteRequest } from '../txn/write-request.js';
import { DecodeError } from '../util/errors.js';
import type { ReadRequest } from './read-request.js';

export type DecodedRequest =
  | { kind: 'write'; req: WriteRequest }
  | { kind: 'read'; req: ReadRequest }
  | { kind: 'unimplemented' };

function decodeWrite(type: number, r: JuteReader): WriteRequest | null {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { type, record: readCreateRequest(r) };
    case OpCode.createTTL:
      return { type, record: readCreateTTLRequest(r) };
    case OpCode.delete:
      return { type, record: readDeleteRequest(r) };
    case OpCode.setData:
      return { type, record: readSetDataRequest(r) };
    case OpCode.setACL:
      return { type, record: readSetACLRequest(r) };
    case OpCode.check:
      return { type, record: readCheckVersionRequest(r) };
    case OpCode.reconfig:
      return { type, record: readReconfigRequest(r) };
    case OpCode.multi: {
      const record = readMultiRequest(r);
      if (record.ops.some((op) => isReadOp(op.type))) throw new DecodeError('read op in multi');
      return { type, record };
    }
    case OpCode.closeSession:
      return { type };
    case OpCode.deleteContainer:
      // ZooKeeper reads a client's deleteContainer packet, header and all, as the path: it is
      // never a valid one, so the txn always fails with BadArguments.
      return { type: OpCode.error, err: Err.badArguments, originalType: type };
    default:
      return null;
  }
}

function decodeRead(type: number, r: JuteReader): ReadRequest | null {
  switch (type) {
    case OpCode.exists:
      return { type, record: readExistsRequest(r) };
    case OpCode.getData:
      return { type, record: readGetDataRequest(r) };
    case OpCode.getChildren:
      return { type, record: readGetChildrenRequest(r) };
    case OpCode.getChildren2:
      return { type, record: readGetChildren2Request(r) };
    case OpCode.getACL:
      return { type, record: readGetACLRequest(r) };
    case OpCode.getAllChildrenNumber:
      return { type, record: readGetAllChildrenNumberRequest(r) };
    case OpCode.getEphemerals:
      return { type, record: readGetEphemeralsRequest(r) };
    case OpCode.sync:
      return { type, record: readSyncRequest(r) };
    case OpCode.ping:
      return { type };
    case OpCode.setWatches:
      return { type, record: { ...readSetWatches(r), persistentWatches: [], persistentRecursiveWatches: [] } };
    case OpCode.setWatches2:
      return { type, record: readSetWatches2(r) };
    case OpCode.addWatch:
      return { type, record: readAddWatchRequest(r) };
    case OpCode.checkWatches:
      return { type, record: readCheckWatchesRequest(r) };
    case OpCode.removeWatches:
      return { type, record: readRemoveWatchesRequest(r) };
    case OpCode.whoAmI:
      return { type };
    case OpCode.multiRead: {
      const record = readMultiRequest(r);
      if (record.ops.some((op) => !isReadOp(op.type))) throw new DecodeError('write op in multiRead');
      return { type, record };
    }
    default:
      return null;
  }
}

/**
 * A path sent as a null string (length -1). ZooKeeper's Java code then fails in different ways
 * per opcode: validatePath refuses it (BadArguments) for setData, setACL and check; most other
 * handlers hit a NullPointerException, which answers MarshallingError. Writes still use a zxid.
 */
function nullPathResult(type: number, r: JuteReader): DecodedRequest | null {
  if (r.remaining < 4 || r.buf.readInt32BE(r.pos) !== -1) return null;
  switch (type) {
    case OpCode.setData:
    case OpCode.setACL:
    case OpCode.check:
      return { kind: 'write', req: { type: OpCode.error, err: Err.badArguments, originalType: type } };
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
    case OpCode.delete:
      return { kind: 'write', req: { type: OpCode.error, err: Err.marshallingError, originalType: type } };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
    case OpCode.getACL:
    case OpCode.getAllChildrenNumber:
      return { kind: 'read', req: { type: OpCode.error, err: Err.marshallingError } };
    default:
      return null;
  }
}

const WRITE_TYPES: ReadonlySet<number> = new Set([
  OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete, OpCode.setData,
  OpCode.setACL, OpCode.check, OpCode.reconfig, OpCode.multi, OpCode.closeSession,
]);

/**
 * Decode a request body after its RequestHeader. A body that does not decode is not fatal, as in
 * ZooKeeper: a write becomes an ErrorTxn and a read an error reply, both MarshallingError.
 */
export function decodeRequest(type: number, r: JuteReader): DecodedRequest {
  const nullPath = nullPathResult(type, r);
  if (nullPath !== null) return nullPath;
  try {
    const write = decodeWrite(type, r);
    if (write !== null) return { kind: 'write', req: write };
    const read = decodeRead(type, r);
    if (read !== null) return { kind: 'read', req: read };
    return { kind: 'unimplemented' };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    if (WRITE_TYPES.has(type)) {
      return { kind: 'write', req: { type: OpCode.error, err: Err.marshallingError, originalType: type } };
    }
    return { kind: 'read', req: { type: OpCode.error, err: Err.marshallingError } };
  }
}
