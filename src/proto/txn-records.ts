import type { JuteReader } from '../jute/reader.js';
import type { JuteWriter } from '../jute/writer.js';
import { readACLVector, writeACLVector, type ACL } from './data.js';
import { readStringVector, writeStringVector } from './records.js';

/**
 * Records of the jute module org.apache.zookeeper.txn (what the txn log and the quorum carry),
 * plus org.apache.zookeeper.server.persistence.FileHeader. Conventions as in data.ts;
 * TxnHeader.time (ms) and CreateTTLTxn.ttl (ms) are numbers.
 */

export interface TxnDigest {
  version: number;
  treeDigest: bigint;
}

export function writeTxnDigest(w: JuteWriter, r: TxnDigest): void {
  w.writeInt(r.version);
  w.writeLong(r.treeDigest);
}

export function readTxnDigest(r: JuteReader): TxnDigest {
  const version = r.readInt();
  const treeDigest = r.readLong();
  return { version, treeDigest };
}

export interface TxnHeader {
  clientId: bigint;
  cxid: number;
  zxid: bigint;
  time: number;
  type: number;
}

export function writeTxnHeader(w: JuteWriter, r: TxnHeader): void {
  w.writeLong(r.clientId);
  w.writeInt(r.cxid);
  w.writeLong(r.zxid);
  w.writeLongNumber(r.time);
  w.writeInt(r.type);
}

export function readTxnHeader(r: JuteReader): TxnHeader {
  const clientId = r.readLong();
  const cxid = r.readInt();
  const zxid = r.readLong();
  const time = r.readLongNumber();
  const type = r.readInt();
  return { clientId, cxid, zxid, time, type };
}

export interface CreateTxnV0 {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  ephemeral: boolean;
}

export function writeCreateTxnV0(w: JuteWriter, r: CreateTxnV0): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  writeACLVector(w, r.acl);
  w.writeBool(r.ephemeral);
}

export function readCreateTxnV0(r: JuteReader): CreateTxnV0 {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const acl = readACLVector(r);
  const ephemeral = r.readBool();
  return { path, data, acl, ephemeral };
}

export interface CreateTxn {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  ephemeral: boolean;
  parentCVersion: number;
}

export function writeCreateTxn(w: JuteWriter, r: CreateTxn): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  writeACLVector(w, r.acl);
  w.writeBool(r.ephemeral);
  w.writeInt(r.parentCVersion);
}

export function readCreateTxn(r: JuteReader): CreateTxn {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const acl = readACLVector(r);
  const ephemeral = r.readBool();
  const parentCVersion = r.readInt();
  return { path, data, acl, ephemeral, parentCVersion };
}

export interface CreateTTLTxn {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  parentCVersion: number;
  ttl: number;
}

export function writeCreateTTLTxn(w: JuteWriter, r: CreateTTLTxn): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  writeACLVector(w, r.acl);
  w.writeInt(r.parentCVersion);
  w.writeLongNumber(r.ttl);
}

export function readCreateTTLTxn(r: JuteReader): CreateTTLTxn {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const acl = readACLVector(r);
  const parentCVersion = r.readInt();
  const ttl = r.readLongNumber();
  return { path, data, acl, parentCVersion, ttl };
}

export interface CreateContainerTxn {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  parentCVersion: number;
}

export function writeCreateContainerTxn(w: JuteWriter, r: CreateContainerTxn): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  writeACLVector(w, r.acl);
  w.writeInt(r.parentCVersion);
}

export function readCreateContainerTxn(r: JuteReader): CreateContainerTxn {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const acl = readACLVector(r);
  const parentCVersion = r.readInt();
  return { path, data, acl, parentCVersion };
}

export interface DeleteTxn {
  path: string;
}

export function writeDeleteTxn(w: JuteWriter, r: DeleteTxn): void {
  w.writeString(r.path);
}

export function readDeleteTxn(r: JuteReader): DeleteTxn {
  const path = r.readString() ?? '';
  return { path };
}

export interface SetDataTxn {
  path: string;
  data: Buffer | null;
  version: number;
}

export function writeSetDataTxn(w: JuteWriter, r: SetDataTxn): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  w.writeInt(r.version);
}

export function readSetDataTxn(r: JuteReader): SetDataTxn {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const version = r.readInt();
  return { path, data, version };
}

export interface CheckVersionTxn {
  path: string;
  version: number;
}

export function writeCheckVersionTxn(w: JuteWriter, r: CheckVersionTxn): void {
  w.writeString(r.path);
  w.writeInt(r.version);
}

export function readCheckVersionTxn(r: JuteReader): CheckVersionTxn {
  const path = r.readString() ?? '';
  const version = r.readInt();
  return { path, version };
}

export interface SetACLTxn {
  path: string;
  acl: ACL[];
  version: number;
}

export function writeSetACLTxn(w: JuteWriter, r: SetACLTxn): void {
  w.writeString(r.path);
  writeACLVector(w, r.acl);
  w.writeInt(r.version);
}

export function readSetACLTxn(r: JuteReader): SetACLTxn {
  const path = r.readString() ?? '';
  const acl = readACLVector(r);
  const version = r.readInt();
  return { path, acl, version };
}

export interface SetMaxChildrenTxn {
  path: string;
  max: number;
}

export function writeSetMaxChildrenTxn(w: JuteWriter, r: SetMaxChildrenTxn): void {
  w.writeString(r.path);
  w.writeInt(r.max);
}

export function readSetMaxChildrenTxn(r: JuteReader): SetMaxChildrenTxn {
  const path = r.readString() ?? '';
  const max = r.readInt();
  return { path, max };
}

export interface CreateSessionTxn {
  timeOut: number;
}

export function writeCreateSessionTxn(w: JuteWriter, r: CreateSessionTxn): void {
  w.writeInt(r.timeOut);
}

export function readCreateSessionTxn(r: JuteReader): CreateSessionTxn {
  const timeOut = r.readInt();
  return { timeOut };
}

export interface CloseSessionTxn {
  paths2Delete: string[];
}

export function writeCloseSessionTxn(w: JuteWriter, r: CloseSessionTxn): void {
  writeStringVector(w, r.paths2Delete);
}

export function readCloseSessionTxn(r: JuteReader): CloseSessionTxn {
  const paths2Delete = readStringVector(r);
  return { paths2Delete };
}

export interface ErrorTxn {
  err: number;
}

export function writeErrorTxn(w: JuteWriter, r: ErrorTxn): void {
  w.writeInt(r.err);
}

export function readErrorTxn(r: JuteReader): ErrorTxn {
  const err = r.readInt();
  return { err };
}

/** One sub-transaction of a MultiTxn: `data` holds the serialized record of opcode `type`. */
export interface Txn {
  type: number;
  data: Buffer | null;
}

export function writeTxn(w: JuteWriter, r: Txn): void {
  w.writeInt(r.type);
  w.writeBuffer(r.data);
}

export function readTxn(r: JuteReader): Txn {
  const type = r.readInt();
  const data = r.readBuffer();
  return { type, data };
}

export interface MultiTxn {
  txns: Txn[];
}

export function writeMultiTxn(w: JuteWriter, r: MultiTxn): void {
  w.writeVectorLength(r.txns.length);
  for (const txn of r.txns) writeTxn(w, txn);
}

export function readMultiTxn(r: JuteReader): MultiTxn {
  const n = r.readVectorLength();
  const txns: Txn[] = [];
  for (let i = 0; i < n; i++) txns.push(readTxn(r));
  return { txns };
}

/** First record of txn log and snapshot files (module org.apache.zookeeper.server.persistence). */
export interface FileHeader {
  magic: number;
  version: number;
  dbid: bigint;
}

export function writeFileHeader(w: JuteWriter, r: FileHeader): void {
  w.writeInt(r.magic);
  w.writeInt(r.version);
  w.writeLong(r.dbid);
}

export function readFileHeader(r: JuteReader): FileHeader {
  const magic = r.readInt();
  const version = r.readInt();
  const dbid = r.readLong();
  return { magic, version, dbid };
}
