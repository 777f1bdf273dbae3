import type { JuteReader } from '../jute/reader.js';
import type { JuteWriter } from '../jute/writer.js';
import { DecodeError } from '../util/errors.js';
import { readStat, writeStat, type Stat } from './data.js';
import { OpCode } from './opcodes.js';
import {
  readCheckVersionRequest,
  readCreateRequest,
  readCreateTTLRequest,
  readDeleteRequest,
  readGetChildrenRequest,
  readGetDataRequest,
  readSetDataRequest,
  readStringVector,
  writeCheckVersionRequest,
  writeCreateRequest,
  writeCreateTTLRequest,
  writeDeleteRequest,
  writeGetChildrenRequest,
  writeGetDataRequest,
  writeSetDataRequest,
  writeStringVector,
  type CheckVersionRequest,
  type CreateRequest,
  type CreateTTLRequest,
  type DeleteRequest,
  type GetChildrenRequest,
  type GetDataRequest,
  type SetDataRequest,
} from './records.js';

/**
 * Bodies of multi (14) and multiRead (22) requests and their responses. They are not jute
 * IDL records: ZooKeeper writes them by hand as a list of MultiHeader-prefixed records.
 *
 *   multi-request  = *( op-header op-record ) end-header
 *   op-header      = MultiHeader(type = opcode, done = false, err = -1)
 *   op-record      = CreateRequest        ; type 1 create, 15 create2, 19 createContainer
 *                  | CreateTTLRequest     ; type 21 createTTL
 *                  | DeleteRequest        ; type 2
 *                  | SetDataRequest       ; type 5
 *                  | CheckVersionRequest  ; type 13 check
 *                  | GetChildrenRequest   ; type 8  (multiRead only)
 *                  | GetDataRequest       ; type 4  (multiRead only)
 *
 *   multi-response = *( result-header result-record ) end-header
 *   result-header  = MultiHeader(type, done = false, err = 0, or the error code when type = -1)
 *   result-record  = CreateResponse       ; type 1 create
 *                  | Create2Response      ; type 15 (also what createTTL/createContainer answer)
 *                  | (nothing)            ; type 2 delete, 13 check
 *                  | SetDataResponse      ; type 5
 *                  | GetDataResponse      ; type 4
 *                  | GetChildrenResponse  ; type 8
 *                  | ErrorResponse        ; type -1 error: err repeated in the body
 *
 *   end-header     = MultiHeader(type = -1, done = true, err = -1)
 *   MultiHeader    = int type, boolean done, int err
 *
 * Readers stop at the first header whose done flag is set, whatever its type and err, as the
 * Java readers do. A request may not mix read ops (4, 8) with write ops: the Java server
 * rejects that while decoding, and so does readMultiRequest. Every op or result consumes at
 * least its 9-byte header, so the number decoded is bounded by the bytes in the frame.
 */

type Code<K extends keyof typeof OpCode> = (typeof OpCode)[K];

export type MultiOp =
  | { type: Code<'create'> | Code<'create2'> | Code<'createContainer'>; request: CreateRequest }
  | { type: Code<'createTTL'>; request: CreateTTLRequest }
  | { type: Code<'delete'>; request: DeleteRequest }
  | { type: Code<'setData'>; request: SetDataRequest }
  | { type: Code<'check'>; request: CheckVersionRequest }
  | { type: Code<'getChildren'>; request: GetChildrenRequest }
  | { type: Code<'getData'>; request: GetDataRequest };

export interface MultiRequest {
  ops: MultiOp[];
}

export type MultiResult =
  | { type: Code<'create'>; path: string }
  | { type: Code<'create2'>; path: string; stat: Stat }
  | { type: Code<'delete'> }
  | { type: Code<'check'> }
  | { type: Code<'setData'>; stat: Stat }
  | { type: Code<'getData'>; data: Buffer | null; stat: Stat }
  | { type: Code<'getChildren'>; children: string[] }
  | { type: Code<'error'>; err: number };

export interface MultiResponse {
  results: MultiResult[];
}

/** MultiHeader.err of each op in a request; not read back. */
export const MULTI_OP_ERR = -1;

/** Whether an op belongs in a multiRead (true) or a multi (false). */
export function isReadOp(type: MultiOp['type']): boolean {
  return type === OpCode.getChildren || type === OpCode.getData;
}

function writeHeader(w: JuteWriter, type: number, done: boolean, err: number): void {
  w.writeInt(type);
  w.writeBool(done);
  w.writeInt(err);
}

function writeEnd(w: JuteWriter): void {
  writeHeader(w, -1, true, -1);
}

/** Reads one MultiHeader; returns its type, or null at the end marker. */
function readHeaderType(r: JuteReader): number | null {
  const type = r.readInt();
  const done = r.readBool();
  r.readInt();
  return done ? null : type;
}

// ---------------------------------------------------------------- request

export function writeMultiRequest(w: JuteWriter, m: MultiRequest): void {
  for (const op of m.ops) {
    writeHeader(w, op.type, false, MULTI_OP_ERR);
    writeMultiOp(w, op);
  }
  writeEnd(w);
}

function writeMultiOp(w: JuteWriter, op: MultiOp): void {
  switch (op.type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return writeCreateRequest(w, op.request);
    case OpCode.createTTL:
      return writeCreateTTLRequest(w, op.request);
    case OpCode.delete:
      return writeDeleteRequest(w, op.request);
    case OpCode.setData:
      return writeSetDataRequest(w, op.request);
    case OpCode.check:
      return writeCheckVersionRequest(w, op.request);
    case OpCode.getChildren:
      return writeGetChildrenRequest(w, op.request);
    case OpCode.getData:
      return writeGetDataRequest(w, op.request);
  }
}

export function readMultiRequest(r: JuteReader): MultiRequest {
  const ops: MultiOp[] = [];
  let reads = 0;
  for (let type = readHeaderType(r); type !== null; type = readHeaderType(r)) {
    const op = readMultiOp(r, type);
    if (isReadOp(op.type)) reads++;
    ops.push(op);
  }
  if (reads !== 0 && reads !== ops.length) {
    throw new DecodeError(`multi mixes ${reads} read ops with ${ops.length - reads} write ops`);
  }
  return { ops };
}

function readMultiOp(r: JuteReader, type: number): MultiOp {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { type, request: readCreateRequest(r) };
    case OpCode.createTTL:
      return { type, request: readCreateTTLRequest(r) };
    case OpCode.delete:
      return { type, request: readDeleteRequest(r) };
    case OpCode.setData:
      return { type, request: readSetDataRequest(r) };
    case OpCode.check:
      return { type, request: readCheckVersionRequest(r) };
    case OpCode.getChildren:
      return { type, request: readGetChildrenRequest(r) };
    case OpCode.getData:
      return { type, request: readGetDataRequest(r) };
    default:
      throw new DecodeError(`invalid op type ${type} in multi request`);
  }
}

// ---------------------------------------------------------------- response

export function writeMultiResponse(w: JuteWriter, m: MultiResponse): void {
  for (const res of m.results) {
    writeHeader(w, res.type, false, res.type === OpCode.error ? res.err : 0);
    writeMultiResult(w, res);
  }
  writeEnd(w);
}

function writeMultiResult(w: JuteWriter, res: MultiResult): void {
  switch (res.type) {
    case OpCode.create:
      return w.writeString(res.path);
    case OpCode.create2:
      w.writeString(res.path);
      return writeStat(w, res.stat);
    case OpCode.delete:
    case OpCode.check:
      return;
    case OpCode.setData:
      return writeStat(w, res.stat);
    case OpCode.getData:
      w.writeBuffer(res.data);
      return writeStat(w, res.stat);
    case OpCode.getChildren:
      return writeStringVector(w, res.children);
    case OpCode.error:
      return w.writeInt(res.err);
  }
}

export function readMultiResponse(r: JuteReader): MultiResponse {
  const results: MultiResult[] = [];
  for (let type = readHeaderType(r); type !== null; type = readHeaderType(r)) {
    results.push(readMultiResult(r, type));
  }
  return { results };
}

function readMultiResult(r: JuteReader, type: number): MultiResult {
  switch (type) {
    case OpCode.create:
      return { type, path: r.readString() ?? '' };
    case OpCode.create2:
      return { type, path: r.readString() ?? '', stat: readStat(r) };
    case OpCode.delete:
    case OpCode.check:
      return { type };
    case OpCode.setData:
      return { type, stat: readStat(r) };
    case OpCode.getData:
      return { type, data: r.readBuffer(), stat: readStat(r) };
    case OpCode.getChildren:
      return { type, children: readStringVector(r) };
    case OpCode.error:
      return { type, err: r.readInt() };
    default:
      throw new DecodeError(`invalid result type ${type} in multi response`);
  }
}
