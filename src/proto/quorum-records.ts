import type { JuteReader } from '../jute/reader.js';
import type { JuteWriter } from '../jute/writer.js';
import { readId, writeId, type Id } from './data.js';

/**
 * Records of the jute module org.apache.zookeeper.server.quorum. Conventions as in data.ts.
 *
 * Note for the peer layer: the Java leader reads LearnerInfo leniently from QuorumPacket.data
 * (serverid if >= 8 bytes, protocolVersion if >= 12, configVersion if >= 20); readLearnerInfo
 * here is the strict IDL form.
 */

export interface LearnerInfo {
  serverid: bigint;
  protocolVersion: number;
  configVersion: bigint;
}

export function writeLearnerInfo(w: JuteWriter, r: LearnerInfo): void {
  w.writeLong(r.serverid);
  w.writeInt(r.protocolVersion);
  w.writeLong(r.configVersion);
}

export function readLearnerInfo(r: JuteReader): LearnerInfo {
  const serverid = r.readLong();
  const protocolVersion = r.readInt();
  const configVersion = r.readLong();
  return { serverid, protocolVersion, configVersion };
}

/**
 * authinfo is kept null when absent, unlike other vectors: Java builds most packets with a null
 * list and writes it as -1, and a byte-exact peer must do the same.
 */
export interface QuorumPacket {
  type: number;
  zxid: bigint;
  data: Buffer | null;
  authinfo: Id[] | null;
}

export function writeQuorumPacket(w: JuteWriter, r: QuorumPacket): void {
  w.writeInt(r.type);
  w.writeLong(r.zxid);
  w.writeBuffer(r.data);
  if (r.authinfo === null) {
    w.writeVectorLength(-1);
    return;
  }
  w.writeVectorLength(r.authinfo.length);
  for (const id of r.authinfo) writeId(w, id);
}

export function readQuorumPacket(r: JuteReader): QuorumPacket {
  const type = r.readInt();
  const zxid = r.readLong();
  const data = r.readBuffer();
  const n = r.readVectorLength();
  if (n === -1) return { type, zxid, data, authinfo: null };
  const authinfo: Id[] = [];
  for (let i = 0; i < n; i++) authinfo.push(readId(r));
  return { type, zxid, data, authinfo };
}

export interface QuorumAuthPacket {
  magic: bigint;
  status: number;
  token: Buffer | null;
}

export function writeQuorumAuthPacket(w: JuteWriter, r: QuorumAuthPacket): void {
  w.writeLong(r.magic);
  w.writeInt(r.status);
  w.writeBuffer(r.token);
}

export function readQuorumAuthPacket(r: JuteReader): QuorumAuthPacket {
  const magic = r.readLong();
  const status = r.readInt();
  const token = r.readBuffer();
  return { magic, status, token };
}
