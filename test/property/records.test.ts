import { test, expect } from 'vitest';
import fc from 'fast-check';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { DecodeError } from '../../src/util/errors.js';
import { OpCode } from '../../src/proto/opcodes.js';
import * as D from '../../src/proto/data.js';
import * as P from '../../src/proto/records.js';
import * as T from '../../src/proto/txn-records.js';
import * as Q from '../../src/proto/quorum-records.js';
import * as M from '../../src/proto/multi.js';

// ---------------------------------------------------------------- arbitraries

const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const long = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const ms = fc.maxSafeInteger();
const bool = fc.boolean();
const ustring = fc.string({ unit: 'binary', maxLength: 16 });
const buffer = fc.option(
  fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)),
  { nil: null },
);
const strings = fc.array(ustring, { maxLength: 4 });

const id: fc.Arbitrary<D.Id> = fc.record({ scheme: ustring, id: ustring });
const acl: fc.Arbitrary<D.ACL> = fc.record({ perms: int32, id });
const acls = fc.array(acl, { maxLength: 3 });
const stat: fc.Arbitrary<D.Stat> = fc.record({
  czxid: long,
  mzxid: long,
  ctime: ms,
  mtime: ms,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: long,
  dataLength: int32,
  numChildren: int32,
  pzxid: long,
});
const statPersisted: fc.Arbitrary<D.StatPersisted> = fc.record({
  czxid: long,
  mzxid: long,
  ctime: ms,
  mtime: ms,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: long,
  pzxid: long,
});
const clientInfo: fc.Arbitrary<D.ClientInfo> = fc.record({ authScheme: ustring, user: ustring });

const pathOnly = fc.record({ path: ustring });
const pathWatch = fc.record({ path: ustring, watch: bool });
const pathVersion = fc.record({ path: ustring, version: int32 });
const pathType = fc.record({ path: ustring, type: int32 });
const pathMax = fc.record({ path: ustring, max: int32 });
const statOnly = fc.record({ stat });
const token = fc.record({ token: buffer });

/** readOnly is only meaningful when the optional trailing byte is on the wire. */
function withOptionalReadOnly<R extends { readOnly: boolean; readOnlyPresent: boolean }>(r: R): R {
  return r.readOnlyPresent ? r : { ...r, readOnly: false };
}

const connectRequest: fc.Arbitrary<P.ConnectRequest> = fc
  .record({
    protocolVersion: int32,
    lastZxidSeen: long,
    timeOut: int32,
    sessionId: long,
    passwd: buffer,
    readOnly: bool,
    readOnlyPresent: bool,
  })
  .map(withOptionalReadOnly);
const connectResponse: fc.Arbitrary<P.ConnectResponse> = fc
  .record({
    protocolVersion: int32,
    timeOut: int32,
    sessionId: long,
    passwd: buffer,
    readOnly: bool,
    readOnlyPresent: bool,
  })
  .map(withOptionalReadOnly);

const createRequest: fc.Arbitrary<P.CreateRequest> = fc.record({ path: ustring, data: buffer, acl: acls, flags: int32 });
const createTTLRequest: fc.Arbitrary<P.CreateTTLRequest> = fc.record({
  path: ustring,
  data: buffer,
  acl: acls,
  flags: int32,
  ttl: ms,
});
const setDataRequest: fc.Arbitrary<P.SetDataRequest> = fc.record({ path: ustring, data: buffer, version: int32 });

const writeOp: fc.Arbitrary<M.MultiOp> = fc.oneof(
  fc.record({ type: fc.constantFrom(OpCode.create, OpCode.create2, OpCode.createContainer), request: createRequest }),
  fc.record({ type: fc.constant(OpCode.createTTL), request: createTTLRequest }),
  fc.record({ type: fc.constant(OpCode.delete), request: pathVersion }),
  fc.record({ type: fc.constant(OpCode.setData), request: setDataRequest }),
  fc.record({ type: fc.constant(OpCode.check), request: pathVersion }),
);
const readOp: fc.Arbitrary<M.MultiOp> = fc.oneof(
  fc.record({ type: fc.constant(OpCode.getChildren), request: pathWatch }),
  fc.record({ type: fc.constant(OpCode.getData), request: pathWatch }),
);
const multiRequest: fc.Arbitrary<M.MultiRequest> = fc
  .oneof(fc.array(writeOp, { maxLength: 6 }), fc.array(readOp, { maxLength: 6 }))
  .map((ops) => ({ ops }));

const multiResult: fc.Arbitrary<M.MultiResult> = fc.oneof(
  fc.record({ type: fc.constant(OpCode.create), path: ustring }),
  fc.record({ type: fc.constant(OpCode.create2), path: ustring, stat }),
  fc.record({ type: fc.constant(OpCode.delete) }),
  fc.record({ type: fc.constant(OpCode.check) }),
  fc.record({ type: fc.constant(OpCode.setData), stat }),
  fc.record({ type: fc.constant(OpCode.getData), data: buffer, stat }),
  fc.record({ type: fc.constant(OpCode.getChildren), children: strings }),
  fc.record({ type: fc.constant(OpCode.error), err: int32 }),
);
const multiResponse: fc.Arbitrary<M.MultiResponse> = fc
  .array(multiResult, { maxLength: 6 })
  .map((results) => ({ results }));

// ---------------------------------------------------------------- the property

type Write<V> = (w: JuteWriter, v: V) => void;
type Read<V> = (r: JuteReader) => V;

function encode<V>(write: Write<V>, v: V): Buffer {
  const w = new JuteWriter(16);
  write(w, v);
  return w.toBuffer();
}

/** The one prefix that still decodes: a ConnectRequest/Response cut just before readOnly. */
function cutIsValid(v: unknown, cut: number, length: number): boolean {
  return typeof v === 'object' && v !== null && 'readOnlyPresent' in v && v.readOnlyPresent === true && cut === length - 1;
}

/**
 * decode(encode(v)) equals v and consumes exactly the encoded bytes; any strict prefix of the
 * encoding is rejected with DecodeError (every field is required).
 */
function roundTrips<V>(name: string, arb: fc.Arbitrary<V>, write: Write<V>, read: Read<V>): void {
  test(`${name}: decode(encode(r)) equals r, consumes every byte, rejects every prefix`, () => {
    fc.assert(
      fc.property(arb, fc.nat(), (v, cutSeed) => {
        const bytes = encode(write, v);
        const r = new JuteReader(bytes);
        expect(read(r)).toEqual(v);
        expect(r.pos).toBe(bytes.length);
        const cut = cutSeed % bytes.length;
        if (cutIsValid(v, cut, bytes.length)) return;
        expect(() => read(new JuteReader(bytes, 0, cut))).toThrow(DecodeError);
      }),
      { numRuns: 200 },
    );
  });
}

// org.apache.zookeeper.data
roundTrips('Id', id, D.writeId, D.readId);
roundTrips('ACL', acl, D.writeACL, D.readACL);
roundTrips('vector<ACL>', acls, D.writeACLVector, D.readACLVector);
roundTrips('Stat', stat, D.writeStat, D.readStat);
roundTrips('StatPersisted', statPersisted, D.writeStatPersisted, D.readStatPersisted);
roundTrips('ClientInfo', clientInfo, D.writeClientInfo, D.readClientInfo);

// org.apache.zookeeper.proto
roundTrips('ConnectRequest', connectRequest, P.writeConnectRequest, P.readConnectRequest);
roundTrips('ConnectResponse', connectResponse, P.writeConnectResponse, P.readConnectResponse);
roundTrips(
  'SetWatches',
  fc.record({ relativeZxid: long, dataWatches: strings, existWatches: strings, childWatches: strings }),
  P.writeSetWatches,
  P.readSetWatches,
);
roundTrips(
  'SetWatches2',
  fc.record({
    relativeZxid: long,
    dataWatches: strings,
    existWatches: strings,
    childWatches: strings,
    persistentWatches: strings,
    persistentRecursiveWatches: strings,
  }),
  P.writeSetWatches2,
  P.readSetWatches2,
);
roundTrips('RequestHeader', fc.record({ xid: int32, type: int32 }), P.writeRequestHeader, P.readRequestHeader);
roundTrips('MultiHeader', fc.record({ type: int32, done: bool, err: int32 }), P.writeMultiHeader, P.readMultiHeader);
roundTrips('AuthPacket', fc.record({ type: int32, scheme: ustring, auth: buffer }), P.writeAuthPacket, P.readAuthPacket);
roundTrips('ReplyHeader', fc.record({ xid: int32, zxid: long, err: int32 }), P.writeReplyHeader, P.readReplyHeader);
roundTrips('GetDataRequest', pathWatch, P.writeGetDataRequest, P.readGetDataRequest);
roundTrips('SetDataRequest', setDataRequest, P.writeSetDataRequest, P.readSetDataRequest);
roundTrips(
  'ReconfigRequest',
  fc.record({ joiningServers: ustring, leavingServers: ustring, newMembers: ustring, curConfigId: long }),
  P.writeReconfigRequest,
  P.readReconfigRequest,
);
roundTrips('SetDataResponse', statOnly, P.writeSetDataResponse, P.readSetDataResponse);
roundTrips('GetSASLRequest', token, P.writeGetSASLRequest, P.readGetSASLRequest);
roundTrips('SetSASLRequest', token, P.writeSetSASLRequest, P.readSetSASLRequest);
roundTrips('SetSASLResponse', token, P.writeSetSASLResponse, P.readSetSASLResponse);
roundTrips('CreateRequest', createRequest, P.writeCreateRequest, P.readCreateRequest);
roundTrips('CreateTTLRequest', createTTLRequest, P.writeCreateTTLRequest, P.readCreateTTLRequest);
roundTrips('DeleteRequest', pathVersion, P.writeDeleteRequest, P.readDeleteRequest);
roundTrips('GetChildrenRequest', pathWatch, P.writeGetChildrenRequest, P.readGetChildrenRequest);
roundTrips('GetAllChildrenNumberRequest', pathOnly, P.writeGetAllChildrenNumberRequest, P.readGetAllChildrenNumberRequest);
roundTrips('GetChildren2Request', pathWatch, P.writeGetChildren2Request, P.readGetChildren2Request);
roundTrips('CheckVersionRequest', pathVersion, P.writeCheckVersionRequest, P.readCheckVersionRequest);
roundTrips('GetMaxChildrenRequest', pathOnly, P.writeGetMaxChildrenRequest, P.readGetMaxChildrenRequest);
roundTrips('GetMaxChildrenResponse', fc.record({ max: int32 }), P.writeGetMaxChildrenResponse, P.readGetMaxChildrenResponse);
roundTrips('SetMaxChildrenRequest', pathMax, P.writeSetMaxChildrenRequest, P.readSetMaxChildrenRequest);
roundTrips('SyncRequest', pathOnly, P.writeSyncRequest, P.readSyncRequest);
roundTrips('SyncResponse', pathOnly, P.writeSyncResponse, P.readSyncResponse);
roundTrips('GetACLRequest', pathOnly, P.writeGetACLRequest, P.readGetACLRequest);
roundTrips('SetACLRequest', fc.record({ path: ustring, acl: acls, version: int32 }), P.writeSetACLRequest, P.readSetACLRequest);
roundTrips('SetACLResponse', statOnly, P.writeSetACLResponse, P.readSetACLResponse);
roundTrips('AddWatchRequest', fc.record({ path: ustring, mode: int32 }), P.writeAddWatchRequest, P.readAddWatchRequest);
roundTrips('WatcherEvent', fc.record({ type: int32, state: int32, path: ustring }), P.writeWatcherEvent, P.readWatcherEvent);
roundTrips('ErrorResponse', fc.record({ err: int32 }), P.writeErrorResponse, P.readErrorResponse);
roundTrips('CreateResponse', pathOnly, P.writeCreateResponse, P.readCreateResponse);
roundTrips('Create2Response', fc.record({ path: ustring, stat }), P.writeCreate2Response, P.readCreate2Response);
roundTrips('ExistsRequest', pathWatch, P.writeExistsRequest, P.readExistsRequest);
roundTrips('ExistsResponse', statOnly, P.writeExistsResponse, P.readExistsResponse);
roundTrips('GetDataResponse', fc.record({ data: buffer, stat }), P.writeGetDataResponse, P.readGetDataResponse);
roundTrips('GetChildrenResponse', fc.record({ children: strings }), P.writeGetChildrenResponse, P.readGetChildrenResponse);
roundTrips(
  'GetAllChildrenNumberResponse',
  fc.record({ totalNumber: int32 }),
  P.writeGetAllChildrenNumberResponse,
  P.readGetAllChildrenNumberResponse,
);
roundTrips('GetChildren2Response', fc.record({ children: strings, stat }), P.writeGetChildren2Response, P.readGetChildren2Response);
roundTrips('GetACLResponse', fc.record({ acl: acls, stat }), P.writeGetACLResponse, P.readGetACLResponse);
roundTrips('CheckWatchesRequest', pathType, P.writeCheckWatchesRequest, P.readCheckWatchesRequest);
roundTrips('RemoveWatchesRequest', pathType, P.writeRemoveWatchesRequest, P.readRemoveWatchesRequest);
roundTrips('GetEphemeralsRequest', fc.record({ prefixPath: ustring }), P.writeGetEphemeralsRequest, P.readGetEphemeralsRequest);
roundTrips('GetEphemeralsResponse', fc.record({ ephemerals: strings }), P.writeGetEphemeralsResponse, P.readGetEphemeralsResponse);
roundTrips(
  'WhoAmIResponse',
  fc.record({ clientInfo: fc.array(clientInfo, { maxLength: 3 }) }),
  P.writeWhoAmIResponse,
  P.readWhoAmIResponse,
);

// org.apache.zookeeper.txn and server.persistence
roundTrips('TxnDigest', fc.record({ version: int32, treeDigest: long }), T.writeTxnDigest, T.readTxnDigest);
roundTrips(
  'TxnHeader',
  fc.record({ clientId: long, cxid: int32, zxid: long, time: ms, type: int32 }),
  T.writeTxnHeader,
  T.readTxnHeader,
);
roundTrips(
  'CreateTxnV0',
  fc.record({ path: ustring, data: buffer, acl: acls, ephemeral: bool }),
  T.writeCreateTxnV0,
  T.readCreateTxnV0,
);
roundTrips(
  'CreateTxn',
  fc.record({ path: ustring, data: buffer, acl: acls, ephemeral: bool, parentCVersion: int32 }),
  T.writeCreateTxn,
  T.readCreateTxn,
);
roundTrips(
  'CreateTTLTxn',
  fc.record({ path: ustring, data: buffer, acl: acls, parentCVersion: int32, ttl: ms }),
  T.writeCreateTTLTxn,
  T.readCreateTTLTxn,
);
roundTrips(
  'CreateContainerTxn',
  fc.record({ path: ustring, data: buffer, acl: acls, parentCVersion: int32 }),
  T.writeCreateContainerTxn,
  T.readCreateContainerTxn,
);
roundTrips('DeleteTxn', pathOnly, T.writeDeleteTxn, T.readDeleteTxn);
roundTrips('SetDataTxn', setDataRequest, T.writeSetDataTxn, T.readSetDataTxn);
roundTrips('CheckVersionTxn', pathVersion, T.writeCheckVersionTxn, T.readCheckVersionTxn);
roundTrips('SetACLTxn', fc.record({ path: ustring, acl: acls, version: int32 }), T.writeSetACLTxn, T.readSetACLTxn);
roundTrips('SetMaxChildrenTxn', pathMax, T.writeSetMaxChildrenTxn, T.readSetMaxChildrenTxn);
roundTrips('CreateSessionTxn', fc.record({ timeOut: int32 }), T.writeCreateSessionTxn, T.readCreateSessionTxn);
roundTrips('CloseSessionTxn', fc.record({ paths2Delete: strings }), T.writeCloseSessionTxn, T.readCloseSessionTxn);
roundTrips('ErrorTxn', fc.record({ err: int32 }), T.writeErrorTxn, T.readErrorTxn);
const txn = fc.record({ type: int32, data: buffer });
roundTrips('Txn', txn, T.writeTxn, T.readTxn);
roundTrips('MultiTxn', fc.record({ txns: fc.array(txn, { maxLength: 4 }) }), T.writeMultiTxn, T.readMultiTxn);
roundTrips('FileHeader', fc.record({ magic: int32, version: int32, dbid: long }), T.writeFileHeader, T.readFileHeader);

// org.apache.zookeeper.server.quorum
roundTrips(
  'LearnerInfo',
  fc.record({ serverid: long, protocolVersion: int32, configVersion: long }),
  Q.writeLearnerInfo,
  Q.readLearnerInfo,
);
roundTrips(
  'QuorumPacket',
  fc.record({ type: int32, zxid: long, data: buffer, authinfo: fc.option(fc.array(id, { maxLength: 3 }), { nil: null }) }),
  Q.writeQuorumPacket,
  Q.readQuorumPacket,
);
roundTrips(
  'QuorumAuthPacket',
  fc.record({ magic: long, status: int32, token: buffer }),
  Q.writeQuorumAuthPacket,
  Q.readQuorumAuthPacket,
);

// multi
roundTrips('MultiRequest', multiRequest, M.writeMultiRequest, M.readMultiRequest);
roundTrips('MultiResponse', multiResponse, M.writeMultiResponse, M.readMultiResponse);

// ---------------------------------------------------------------- multi specifics

test('multi ops and results are MultiHeader-prefixed and end with (-1, true, -1)', () => {
  fc.assert(
    fc.property(multiRequest, (m) => {
      const bytes = encode(M.writeMultiRequest, m);
      expect(bytes.subarray(bytes.length - 9)).toEqual(Buffer.from('ffffffff01ffffffff', 'hex'));
      const r = new JuteReader(bytes);
      for (const op of m.ops) {
        expect(P.readMultiHeader(r)).toEqual({ type: op.type, done: false, err: -1 });
        r.pos += opRecordLength(op);
      }
    }),
  );
});

/** Bytes of an op's record: a one-op multi minus its op header and end marker. */
function opRecordLength(op: M.MultiOp): number {
  return encode(M.writeMultiRequest, { ops: [op] }).length - 9 - 9;
}

test('multi response headers carry err only for error results', () => {
  fc.assert(
    fc.property(multiResponse, (m) => {
      const bytes = encode(M.writeMultiResponse, m);
      const r = new JuteReader(bytes);
      for (const res of m.results) {
        const h = P.readMultiHeader(r);
        expect(h).toEqual({ type: res.type, done: false, err: res.type === OpCode.error ? res.err : 0 });
        skipResult(r, res);
      }
      expect(P.readMultiHeader(r)).toEqual({ type: -1, done: true, err: -1 });
    }),
  );
});

function skipResult(r: JuteReader, res: M.MultiResult): void {
  const one = encode(M.writeMultiResponse, { results: [res] });
  r.pos += one.length - 9 - 9;
}

test('an unknown op type in a multi request is a DecodeError naming the type', () => {
  const w = new JuteWriter(16);
  P.writeMultiHeader(w, { type: OpCode.exists, done: false, err: -1 });
  P.writeExistsRequest(w, { path: '/a', watch: false });
  P.writeMultiHeader(w, { type: -1, done: true, err: -1 });
  expect(() => M.readMultiRequest(new JuteReader(w.toBuffer()))).toThrow(/invalid op type 3 in multi request/);
  expect(() => M.readMultiRequest(new JuteReader(w.toBuffer()))).toThrow(DecodeError);
});

test('an unknown result type in a multi response is a DecodeError', () => {
  const w = new JuteWriter(16);
  P.writeMultiHeader(w, { type: 99, done: false, err: 0 });
  P.writeMultiHeader(w, { type: -1, done: true, err: -1 });
  expect(() => M.readMultiResponse(new JuteReader(w.toBuffer()))).toThrow(/invalid result type 99/);
});

test('a multi request mixing read and write ops is rejected', () => {
  fc.assert(
    fc.property(fc.array(writeOp, { minLength: 1, maxLength: 4 }), fc.array(readOp, { minLength: 1, maxLength: 4 }), (ws, rs) => {
      const bytes = encode(M.writeMultiRequest, { ops: [...ws, ...rs] });
      expect(() => M.readMultiRequest(new JuteReader(bytes))).toThrow(/mixes/);
    }),
    { numRuns: 50 },
  );
});

test('a multi without its end marker is rejected, and the op count is bounded by the bytes', () => {
  fc.assert(
    fc.property(multiRequest, (m) => {
      const bytes = encode(M.writeMultiRequest, m);
      expect(() => M.readMultiRequest(new JuteReader(bytes, 0, bytes.length - 9))).toThrow(DecodeError);
      expect(m.ops.length).toBeLessThanOrEqual((bytes.length - 9) / 9);
    }),
    { numRuns: 100 },
  );
});

test('readers stop at the first done header whatever its type and err, as Java does', () => {
  const w = new JuteWriter(16);
  P.writeMultiHeader(w, { type: OpCode.check, done: false, err: -1 });
  P.writeCheckVersionRequest(w, { path: '/x', version: 2 });
  P.writeMultiHeader(w, { type: OpCode.delete, done: true, err: 0 });
  const r = new JuteReader(w.toBuffer());
  expect(M.readMultiRequest(r)).toEqual({ ops: [{ type: OpCode.check, request: { path: '/x', version: 2 } }] });
  expect(r.remaining).toBe(0);
});

test('isReadOp splits multiRead ops from multi ops', () => {
  expect(M.isReadOp(OpCode.getData)).toBe(true);
  expect(M.isReadOp(OpCode.getChildren)).toBe(true);
  for (const t of [OpCode.create, OpCode.create2, OpCode.createTTL, OpCode.createContainer, OpCode.delete, OpCode.setData, OpCode.check] as const) {
    expect(M.isReadOp(t)).toBe(false);
  }
});
