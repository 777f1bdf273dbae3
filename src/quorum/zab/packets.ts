/*
 * ZAB packets on the quorum port, as ZooKeeper 3.8 puts them on the wire: each packet is one
 * jute QuorumPacket record, written back to back with no length prefix (a SNAP packet is followed
 * by a serialized snapshot and the string "BenWasHere", which are not packets).
 *
 *   QuorumPacket = type:int zxid:long data:buffer authinfo:vector<Id>
 *
 *   type  name               zxid                         data
 *   1     REQUEST            -1                           sessionId:long cxid:int type:int request-bytes
 *   2     PROPOSAL           txn zxid                     txn payload
 *   3     ACK                acked zxid                   null
 *   4     COMMIT             committed zxid               null
 *   5     PING               leader: last proposed zxid   leader: null; learner: *(sessionId:long timeout:int)
 *   6     REVALIDATE         (echoed)                     sessionId:long timeout:int / sessionId:long valid:bool
 *   7     SYNC               0                            null
 *   8     INFORM             txn zxid                     txn payload
 *   9     COMMITANDACTIVATE  committed zxid               designatedLeader:long
 *   10    NEWLEADER          newEpoch << 32               quorum verifier text, or null
 *   11    FOLLOWERINFO       acceptedEpoch << 32          LearnerInfo (read leniently: sid, then version, then configVersion)
 *   12    UPTODATE           -1                           null
 *   13    DIFF               leader's last committed      null
 *   14    TRUNC              zxid to truncate to          null
 *   15    SNAP               zxid of the snapshot         null
 *   16    OBSERVERINFO       as FOLLOWERINFO
 *   17    LEADERINFO         newEpoch << 32               protocolVersion:int (0x10000)
 *   18    ACKEPOCH           learner's last logged zxid   currentEpoch:int (-1: "already accepted this epoch")
 *   19    INFORMANDACTIVATE  txn zxid                     designatedLeader:long txn payload
 *
 *   txn payload = TxnHeader record [TxnDigest]   (Util.marshallTxnEntry: the same bytes as a log entry's payload)
 *
 * authinfo is carried by REQUEST (the client's auth ids) and echoed in PING replies; every
 * other packet sends an empty vector (Java writes a null vector, length -1; both read the same).
 */
import { readLongBE, writeLongBE } from '../../jute/long-bytes.js';
import type { Id } from '../../proto/data.js';
import {
  readLearnerInfo, readQuorumPacket, writeLearnerInfo, writeQuorumPacket, type QuorumPacket,
} from '../../proto/quorum-records.js';
import { writeTxnDigest, writeTxnHeader } from '../../proto/txn-records.js';
import { JuteReader } from '../../jute/reader.js';
import { JuteWriter } from '../../jute/writer.js';
import { decodeTxnPayload, type TxnDecodeOptions } from '../../txn/txn-payload.js';
import { writeTxnBody, type TxnEntry } from '../../txn/txn.js';
import { DecodeError } from '../../util/errors.js';

export const PacketType = {
  request: 1,
  proposal: 2,
  ack: 3,
  commit: 4,
  ping: 5,
  revalidate: 6,
  sync: 7,
  inform: 8,
  commitAndActivate: 9,
  newLeader: 10,
  followerInfo: 11,
  upToDate: 12,
  diff: 13,
  trunc: 14,
  snap: 15,
  observerInfo: 16,
  leaderInfo: 17,
  ackEpoch: 18,
  informAndActivate: 19,
} as const;

export type PacketName = keyof typeof PacketType;

/** ZAB 1.0, what LEADERINFO and LearnerInfo carry. */
export const ZAB_PROTOCOL_VERSION = 0x10000;

/** LearnerInfo as the Java leader reads it: each field only when the data is long enough. */
export interface LearnerInfoLenient {
  sid: bigint | null;
  protocolVersion: number | null;
  configVersion: bigint | null;
}

export type ZabPacket =
  | { type: 'request'; sessionId: bigint; cxid: number; opType: number; request: Buffer; authinfo: Id[] }
  | { type: 'proposal'; txn: TxnEntry }
  | { type: 'ack'; zxid: bigint }
  | { type: 'commit'; zxid: bigint }
  | { type: 'ping'; zxid: bigint; data: Buffer | null; authinfo: Id[] }
  | { type: 'revalidate'; zxid: bigint; data: Buffer | null }
  | { type: 'sync'; zxid: bigint }
  | { type: 'inform'; txn: TxnEntry }
  | { type: 'commitAndActivate'; zxid: bigint; designatedLeader: bigint }
  | { type: 'newLeader'; zxid: bigint; config: Buffer | null }
  | { type: 'followerInfo' | 'observerInfo'; zxid: bigint; info: LearnerInfoLenient }
  | { type: 'upToDate'; zxid: bigint }
  | { type: 'diff' | 'trunc' | 'snap'; zxid: bigint }
  | { type: 'leaderInfo'; zxid: bigint; protocolVersion: number }
  | { type: 'ackEpoch'; zxid: bigint; currentEpoch: number }
  | { type: 'informAndActivate'; designatedLeader: bigint; txn: TxnEntry };

const namesByType = new Map<number, PacketName>(
  (Object.entries(PacketType) as [PacketName, number][]).map(([name, code]) => [code, name]),
);

/** The zxid field of the QuorumPacket a ZabPacket becomes. */
export function packetZxid(p: ZabPacket): bigint {
  switch (p.type) {
    case 'proposal':
    case 'inform':
    case 'informAndActivate':
      return p.txn.hdr.zxid;
    case 'request':
      return -1n;
    default:
      return p.zxid;
  }
}

// ---------------------------------------------------------------------------------------------
// Txn payload

const scratch = new JuteWriter(4096);

export function encodeTxnPayload(txn: TxnEntry, w: JuteWriter = scratch.reset()): Buffer {
  if (txn.payload !== undefined) return txn.payload;
  writeTxnHeader(w, txn.hdr);
  writeTxnBody(w, txn.body);
  if (txn.digest !== null) writeTxnDigest(w, txn.digest);
  return w.toBuffer();
}

export function decodeTxnData(data: Buffer | null, start: number, opts: TxnDecodeOptions): TxnEntry {
  if (data === null) throw new DecodeError('txn packet without data');
  const entry = decodeTxnPayload(data, start, data.length, opts);
  // The packet's data is a copy of the stream's bytes: keep it as the payload the log writes.
  entry.payload = start === 0 ? data : data.subarray(start);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// ZabPacket <-> QuorumPacket

function longBytes(v: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeLongBE(b, 0, v);
  return b;
}

function intBytes(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(v | 0);
  return b;
}

function learnerInfoBytes(info: LearnerInfoLenient): Buffer | null {
  if (info.sid === null) return null;
  if (info.protocolVersion !== null && info.configVersion !== null) {
    const w = new JuteWriter(20);
    writeLearnerInfo(w, { serverid: info.sid, protocolVersion: info.protocolVersion, configVersion: info.configVersion });
    return w.toBuffer();
  }
  if (info.protocolVersion !== null) return Buffer.concat([longBytes(info.sid), intBytes(info.protocolVersion)]);
  return longBytes(info.sid);
}

function readLearnerInfoLenient(data: Buffer | null): LearnerInfoLenient {
  if (data === null || data.length < 8) return { sid: null, protocolVersion: null, configVersion: null };
  if (data.length >= 20) {
    const li = readLearnerInfo(new JuteReader(data));
    return { sid: li.serverid, protocolVersion: li.protocolVersion, configVersion: li.configVersion };
  }
  return {
    sid: data.readBigInt64BE(0),
    protocolVersion: data.length >= 12 ? data.readInt32BE(8) : null,
    configVersion: null,
  };
}

export function toQuorumPacket(p: ZabPacket): QuorumPacket {
  const type = PacketType[p.type];
  const zxid = packetZxid(p);
  const qp = (data: Buffer | null, authinfo: Id[] | null = null): QuorumPacket => ({ type, zxid, data, authinfo });
  switch (p.type) {
    case 'request': {
      const head = Buffer.allocUnsafe(16);
      writeLongBE(head, 0, p.sessionId);
      head.writeInt32BE(p.cxid, 8);
      head.writeInt32BE(p.opType, 12);
      return qp(Buffer.concat([head, p.request]), p.authinfo);
    }
    case 'proposal':
    case 'inform':
      return qp(encodeTxnPayload(p.txn));
    case 'informAndActivate':
      return qp(Buffer.concat([longBytes(p.designatedLeader), encodeTxnPayload(p.txn)]));
    case 'ping':
      return qp(p.data, p.authinfo);
    case 'revalidate':
      return qp(p.data);
    case 'commitAndActivate':
      return qp(longBytes(p.designatedLeader));
    case 'newLeader':
      return qp(p.config);
    case 'followerInfo':
    case 'observerInfo':
      return qp(learnerInfoBytes(p.info));
    case 'leaderInfo':
      return qp(intBytes(p.protocolVersion));
    case 'ackEpoch':
      return qp(intBytes(p.currentEpoch));
    case 'ack':
    case 'commit':
    case 'sync':
    case 'upToDate':
    case 'diff':
    case 'trunc':
    case 'snap':
      return qp(null);
  }
}

function need(data: Buffer | null, bytes: number, what: string): Buffer {
  if (data === null || data.length < bytes) throw new DecodeError(`${what} needs ${bytes} bytes of data, has ${data?.length ?? 'null'}`);
  return data;
}

function txnOf(qp: QuorumPacket, start: number, opts: TxnDecodeOptions): TxnEntry {
  const txn = decodeTxnData(qp.data, start, opts);
  if (txn.hdr.zxid !== qp.zxid) throw new DecodeError(`packet zxid ${qp.zxid} differs from its txn's zxid ${txn.hdr.zxid}`);
  return txn;
}

/** Throws DecodeError for an unknown type or data that does not fit the type. */
export function fromQuorumPacket(qp: QuorumPacket, opts: TxnDecodeOptions = {}): ZabPacket {
  const name = namesByType.get(qp.type);
  if (name === undefined) throw new DecodeError(`unknown quorum packet type ${qp.type}`);
  const zxid = qp.zxid;
  switch (name) {
    case 'request': {
      const data = need(qp.data, 16, 'REQUEST');
      return {
        type: name,
        sessionId: readLongBE(data, 0),
        cxid: data.readInt32BE(8),
        opType: data.readInt32BE(12),
        request: data.subarray(16),
        authinfo: qp.authinfo ?? [],
      };
    }
    case 'proposal':
    case 'inform':
      return { type: name, txn: txnOf(qp, 0, opts) };
    case 'informAndActivate':
      return { type: name, designatedLeader: need(qp.data, 8, name).readBigInt64BE(0), txn: txnOf(qp, 8, opts) };
    case 'ping':
      return { type: name, zxid, data: qp.data, authinfo: qp.authinfo ?? [] };
    case 'revalidate':
      return { type: name, zxid, data: qp.data };
    case 'commitAndActivate':
      return { type: name, zxid, designatedLeader: need(qp.data, 8, name).readBigInt64BE(0) };
    case 'newLeader':
      return { type: name, zxid, config: qp.data };
    case 'followerInfo':
    case 'observerInfo':
      return { type: name, zxid, info: readLearnerInfoLenient(qp.data) };
    case 'leaderInfo':
      return { type: name, zxid, protocolVersion: need(qp.data, 4, name).readInt32BE(0) };
    case 'ackEpoch':
      return { type: name, zxid, currentEpoch: need(qp.data, 4, name).readInt32BE(0) };
    case 'ack':
    case 'commit':
    case 'sync':
    case 'upToDate':
    case 'diff':
    case 'trunc':
    case 'snap':
      return { type: name, zxid };
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes

/** Appends the packet's QuorumPacket record to `w` (no framing: the quorum stream has none). */
export function writeZabPacket(w: JuteWriter, p: ZabPacket): void {
  writeQuorumPacket(w, toQuorumPacket(p));
}

/** Reads one QuorumPacket record at r.pos; throws DecodeError when it is incomplete or malformed. */
export function readZabPacket(r: JuteReader, opts: TxnDecodeOptions = {}): ZabPacket {
  return fromQuorumPacket(readQuorumPacket(r), opts);
}

export function encodeZabPacket(p: ZabPacket): Buffer {
  const w = new JuteWriter(256);
  writeZabPacket(w, p);
  return w.toBuffer();
}

export function decodeZabPacket(buf: Buffer, opts: TxnDecodeOptions = {}): ZabPacket {
  const r = new JuteReader(buf);
  const p = readZabPacket(r, opts);
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after the quorum packet`);
  return p;
}

/** Session touches in a learner's PING reply: sessionId:long timeout:int, repeated. */
export function readPingTouches(data: Buffer | null): { sessionId: bigint; timeoutMs: number }[] {
  const out: { sessionId: bigint; timeoutMs: number }[] = [];
  if (data === null) return out;
  if (data.length % 12 !== 0) throw new DecodeError(`PING data of ${data.length} bytes is not a touch table`);
  for (let pos = 0; pos < data.length; pos += 12) {
    out.push({ sessionId: data.readBigInt64BE(pos), timeoutMs: data.readInt32BE(pos + 8) });
  }
  return out;
}

export function packetName(type: number): string {
  return namesByType.get(type) ?? `unknown(${type})`;
}
