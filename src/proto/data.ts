import type { JuteReader } from '../jute/reader.js';
import type { JuteWriter } from '../jute/writer.js';

/**
 * Records of the jute module org.apache.zookeeper.data. Conventions for every record codec:
 * - field names and order exactly as in the IDL;
 * - jute long -> bigint, except times in ms and TTLs -> number (readLongNumber);
 * - ustring -> string (a null string decodes as ''), buffer -> Buffer | null (null is kept:
 *   ZooKeeper distinguishes null data from empty data), vector -> array (null decodes as []);
 * - `writeX(w, r)` appends the record, `readX(r)` decodes one; straight-line code, no tables.
 */

export interface Id {
  scheme: string;
  id: string;
}

export interface ACL {
  perms: number;
  id: Id;
}

export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export interface StatPersisted {
  czxid: bigint;
  mzxid: bigint;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: bigint;
}

export interface ClientInfo {
  authScheme: string;
  user: string;
}

export function writeId(w: JuteWriter, r: Id): void {
  w.writeString(r.scheme);
  w.writeString(r.id);
}

export function readId(r: JuteReader): Id {
  const scheme = r.readString() ?? '';
  const id = r.readString() ?? '';
  return { scheme, id };
}

export function writeACL(w: JuteWriter, r: ACL): void {
  w.writeInt(r.perms);
  writeId(w, r.id);
}

export function readACL(r: JuteReader): ACL {
  const perms = r.readInt();
  const id = readId(r);
  return { perms, id };
}

export function writeACLVector(w: JuteWriter, v: readonly ACL[]): void {
  w.writeVectorLength(v.length);
  for (const acl of v) writeACL(w, acl);
}

export function readACLVector(r: JuteReader): ACL[] {
  const n = r.readVectorLength();
  const out: ACL[] = [];
  for (let i = 0; i < n; i++) out.push(readACL(r));
  return out;
}

export function writeStat(w: JuteWriter, s: Stat): void {
  w.writeLong(s.czxid);
  w.writeLong(s.mzxid);
  w.writeLongNumber(s.ctime);
  w.writeLongNumber(s.mtime);
  w.writeInt(s.version);
  w.writeInt(s.cversion);
  w.writeInt(s.aversion);
  w.writeLong(s.ephemeralOwner);
  w.writeInt(s.dataLength);
  w.writeInt(s.numChildren);
  w.writeLong(s.pzxid);
}

export function readStat(r: JuteReader): Stat {
  const czxid = r.readLong();
  const mzxid = r.readLong();
  const ctime = r.readLongNumber();
  const mtime = r.readLongNumber();
  const version = r.readInt();
  const cversion = r.readInt();
  const aversion = r.readInt();
  const ephemeralOwner = r.readLong();
  const dataLength = r.readInt();
  const numChildren = r.readInt();
  const pzxid = r.readLong();
  return { czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid };
}

export function writeStatPersisted(w: JuteWriter, s: StatPersisted): void {
  w.writeLong(s.czxid);
  w.writeLong(s.mzxid);
  w.writeLongNumber(s.ctime);
  w.writeLongNumber(s.mtime);
  w.writeInt(s.version);
  w.writeInt(s.cversion);
  w.writeInt(s.aversion);
  w.writeLong(s.ephemeralOwner);
  w.writeLong(s.pzxid);
}

export function readStatPersisted(r: JuteReader): StatPersisted {
  const czxid = r.readLong();
  const mzxid = r.readLong();
  const ctime = r.readLongNumber();
  const mtime = r.readLongNumber();
  const version = r.readInt();
  const cversion = r.readInt();
  const aversion = r.readInt();
  const ephemeralOwner = r.readLong();
  const pzxid = r.readLong();
  return { czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid };
}

export function writeClientInfo(w: JuteWriter, r: ClientInfo): void {
  w.writeString(r.authScheme);
  w.writeString(r.user);
}

export function readClientInfo(r: JuteReader): ClientInfo {
  const authScheme = r.readString() ?? '';
  const user = r.readString() ?? '';
  return { authScheme, user };
}
