import type { JuteReader } from '../jute/reader.js';
import type { JuteWriter } from '../jute/writer.js';
import {
  readACLVector,
  readClientInfo,
  readStat,
  writeACLVector,
  writeClientInfo,
  writeStat,
  type ACL,
  type ClientInfo,
  type Stat,
} from './data.js';

/**
 * Records of the jute module org.apache.zookeeper.proto: the client wire protocol.
 * Same conventions as data.ts (field names and order as in the IDL; long -> bigint except times
 * and TTLs; ustring -> string with null as ''; buffer -> Buffer | null; vector -> array).
 * Decoded buffers are right-sized copies, never views into the frame, so a record can outlive
 * the socket chunk it came from.
 */

// ---------------------------------------------------------------- shared vectors

export function writeStringVector(w: JuteWriter, v: readonly string[]): void {
  w.writeVectorLength(v.length);
  for (const s of v) w.writeString(s);
}

export function readStringVector(r: JuteReader): string[] {
  const n = r.readVectorLength();
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.readString() ?? '');
  return out;
}

// ---------------------------------------------------------------- session handshake

/**
 * `readOnlyPresent` is not an IDL field. Clients up to 3.3 end the frame after `passwd`; the
 * Java server then reports readOnly=false and answers with a ConnectResponse that also omits
 * the flag. Decoding records whether the byte was there so the server can mirror the client.
 */
export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  readOnly: boolean;
  readOnlyPresent: boolean;
}

/** `readOnlyPresent` as in ConnectRequest: when false, the trailing boolean is not written. */
export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  readOnly: boolean;
  readOnlyPresent: boolean;
}

export function writeConnectRequest(w: JuteWriter, r: ConnectRequest): void {
  w.writeInt(r.protocolVersion);
  w.writeLong(r.lastZxidSeen);
  w.writeInt(r.timeOut);
  w.writeLong(r.sessionId);
  w.writeBuffer(r.passwd);
  if (r.readOnlyPresent) w.writeBool(r.readOnly);
}

/** The trailing boolean is optional: a frame that ends after `passwd` decodes with readOnly=false. */
export function readConnectRequest(r: JuteReader): ConnectRequest {
  const protocolVersion = r.readInt();
  const lastZxidSeen = r.readLong();
  const timeOut = r.readInt();
  const sessionId = r.readLong();
  const passwd = r.readBuffer();
  const readOnlyPresent = r.remaining > 0;
  const readOnly = readOnlyPresent ? r.readBool() : false;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly, readOnlyPresent };
}

export function writeConnectResponse(w: JuteWriter, r: ConnectResponse): void {
  w.writeInt(r.protocolVersion);
  w.writeInt(r.timeOut);
  w.writeLong(r.sessionId);
  w.writeBuffer(r.passwd);
  if (r.readOnlyPresent) w.writeBool(r.readOnly);
}

export function readConnectResponse(r: JuteReader): ConnectResponse {
  const protocolVersion = r.readInt();
  const timeOut = r.readInt();
  const sessionId = r.readLong();
  const passwd = r.readBuffer();
  const readOnlyPresent = r.remaining > 0;
  const readOnly = readOnlyPresent ? r.readBool() : false;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly, readOnlyPresent };
}

// ---------------------------------------------------------------- watches re-registration

export interface SetWatches {
  relativeZxid: bigint;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}

export function writeSetWatches(w: JuteWriter, r: SetWatches): void {
  w.writeLong(r.relativeZxid);
  writeStringVector(w, r.dataWatches);
  writeStringVector(w, r.existWatches);
  writeStringVector(w, r.childWatches);
}

export function readSetWatches(r: JuteReader): SetWatches {
  const relativeZxid = r.readLong();
  const dataWatches = readStringVector(r);
  const existWatches = readStringVector(r);
  const childWatches = readStringVector(r);
  return { relativeZxid, dataWatches, existWatches, childWatches };
}

export interface SetWatches2 {
  relativeZxid: bigint;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

export function writeSetWatches2(w: JuteWriter, r: SetWatches2): void {
  w.writeLong(r.relativeZxid);
  writeStringVector(w, r.dataWatches);
  writeStringVector(w, r.existWatches);
  writeStringVector(w, r.childWatches);
  writeStringVector(w, r.persistentWatches);
  writeStringVector(w, r.persistentRecursiveWatches);
}

export function readSetWatches2(r: JuteReader): SetWatches2 {
  const relativeZxid = r.readLong();
  const dataWatches = readStringVector(r);
  const existWatches = readStringVector(r);
  const childWatches = readStringVector(r);
  const persistentWatches = readStringVector(r);
  const persistentRecursiveWatches = readStringVector(r);
  return { relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches };
}

// ---------------------------------------------------------------- headers

export interface RequestHeader {
  xid: number;
  type: number;
}

export function writeRequestHeader(w: JuteWriter, r: RequestHeader): void {
  w.writeInt(r.xid);
  w.writeInt(r.type);
}

export function readRequestHeader(r: JuteReader): RequestHeader {
  const xid = r.readInt();
  const type = r.readInt();
  return { xid, type };
}

export interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}

export function writeMultiHeader(w: JuteWriter, r: MultiHeader): void {
  w.writeInt(r.type);
  w.writeBool(r.done);
  w.writeInt(r.err);
}

export function readMultiHeader(r: JuteReader): MultiHeader {
  const type = r.readInt();
  const done = r.readBool();
  const err = r.readInt();
  return { type, done, err };
}

export interface AuthPacket {
  type: number;
  scheme: string;
  auth: Buffer | null;
}

export function writeAuthPacket(w: JuteWriter, r: AuthPacket): void {
  w.writeInt(r.type);
  w.writeString(r.scheme);
  w.writeBuffer(r.auth);
}

export function readAuthPacket(r: JuteReader): AuthPacket {
  const type = r.readInt();
  const scheme = r.readString() ?? '';
  const auth = r.readBuffer();
  return { type, scheme, auth };
}

export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  err: number;
}

export function writeReplyHeader(w: JuteWriter, r: ReplyHeader): void {
  w.writeInt(r.xid);
  w.writeLong(r.zxid);
  w.writeInt(r.err);
}

export function readReplyHeader(r: JuteReader): ReplyHeader {
  const xid = r.readInt();
  const zxid = r.readLong();
  const err = r.readInt();
  return { xid, zxid, err };
}

// ---------------------------------------------------------------- data and writes

export interface GetDataRequest {
  path: string;
  watch: boolean;
}

export function writeGetDataRequest(w: JuteWriter, r: GetDataRequest): void {
  w.writeString(r.path);
  w.writeBool(r.watch);
}

export function readGetDataRequest(r: JuteReader): GetDataRequest {
  const path = r.readString() ?? '';
  const watch = r.readBool();
  return { path, watch };
}

export interface SetDataRequest {
  path: string;
  data: Buffer | null;
  version: number;
}

export function writeSetDataRequest(w: JuteWriter, r: SetDataRequest): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  w.writeInt(r.version);
}

export function readSetDataRequest(r: JuteReader): SetDataRequest {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const version = r.readInt();
  return { path, data, version };
}

export interface ReconfigRequest {
  joiningServers: string;
  leavingServers: string;
  newMembers: string;
  curConfigId: bigint;
}

export function writeReconfigRequest(w: JuteWriter, r: ReconfigRequest): void {
  w.writeString(r.joiningServers);
  w.writeString(r.leavingServers);
  w.writeString(r.newMembers);
  w.writeLong(r.curConfigId);
}

export function readReconfigRequest(r: JuteReader): ReconfigRequest {
  const joiningServers = r.readString() ?? '';
  const leavingServers = r.readString() ?? '';
  const newMembers = r.readString() ?? '';
  const curConfigId = r.readLong();
  return { joiningServers, leavingServers, newMembers, curConfigId };
}

export interface SetDataResponse {
  stat: Stat;
}

export function writeSetDataResponse(w: JuteWriter, r: SetDataResponse): void {
  writeStat(w, r.stat);
}

export function readSetDataResponse(r: JuteReader): SetDataResponse {
  const stat = readStat(r);
  return { stat };
}

// ---------------------------------------------------------------- SASL

export interface GetSASLRequest {
  token: Buffer | null;
}

export function writeGetSASLRequest(w: JuteWriter, r: GetSASLRequest): void {
  w.writeBuffer(r.token);
}

export function readGetSASLRequest(r: JuteReader): GetSASLRequest {
  const token = r.readBuffer();
  return { token };
}

export interface SetSASLRequest {
  token: Buffer | null;
}

export function writeSetSASLRequest(w: JuteWriter, r: SetSASLRequest): void {
  w.writeBuffer(r.token);
}

export function readSetSASLRequest(r: JuteReader): SetSASLRequest {
  const token = r.readBuffer();
  return { token };
}

export interface SetSASLResponse {
  token: Buffer | null;
}

export function writeSetSASLResponse(w: JuteWriter, r: SetSASLResponse): void {
  w.writeBuffer(r.token);
}

export function readSetSASLResponse(r: JuteReader): SetSASLResponse {
  const token = r.readBuffer();
  return { token };
}

// ---------------------------------------------------------------- create, delete, children

export interface CreateRequest {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  flags: number;
}

export function writeCreateRequest(w: JuteWriter, r: CreateRequest): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  writeACLVector(w, r.acl);
  w.writeInt(r.flags);
}

export function readCreateRequest(r: JuteReader): CreateRequest {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const acl = readACLVector(r);
  const flags = r.readInt();
  return { path, data, acl, flags };
}

export interface CreateTTLRequest {
  path: string;
  data: Buffer | null;
  acl: ACL[];
  flags: number;
  ttl: number;
}

export function writeCreateTTLRequest(w: JuteWriter, r: CreateTTLRequest): void {
  w.writeString(r.path);
  w.writeBuffer(r.data);
  writeACLVector(w, r.acl);
  w.writeInt(r.flags);
  w.writeLongNumber(r.ttl);
}

export function readCreateTTLRequest(r: JuteReader): CreateTTLRequest {
  const path = r.readString() ?? '';
  const data = r.readBuffer();
  const acl = readACLVector(r);
  const flags = r.readInt();
  const ttl = r.readLongNumber();
  return { path, data, acl, flags, ttl };
}

export interface DeleteRequest {
  path: string;
  version: number;
}

export function writeDeleteRequest(w: JuteWriter, r: DeleteRequest): void {
  w.writeString(r.path);
  w.writeInt(r.version);
}

export function readDeleteRequest(r: JuteReader): DeleteRequest {
  const path = r.readString() ?? '';
  const version = r.readInt();
  return { path, version };
}

export interface GetChildrenRequest {
  path: string;
  watch: boolean;
}

export function writeGetChildrenRequest(w: JuteWriter, r: GetChildrenRequest): void {
  w.writeString(r.path);
  w.writeBool(r.watch);
}

export function readGetChildrenRequest(r: JuteReader): GetChildrenRequest {
  const path = r.readString() ?? '';
  const watch = r.readBool();
  return { path, watch };
}

export interface GetAllChildrenNumberRequest {
  path: string;
}

export function writeGetAllChildrenNumberRequest(w: JuteWriter, r: GetAllChildrenNumberRequest): void {
  w.writeString(r.path);
}

export function readGetAllChildrenNumberRequest(r: JuteReader): GetAllChildrenNumberRequest {
  const path = r.readString() ?? '';
  return { path };
}

export interface GetChildren2Request {
  path: string;
  watch: boolean;
}

export function writeGetChildren2Request(w: JuteWriter, r: GetChildren2Request): void {
  w.writeString(r.path);
  w.writeBool(r.watch);
}

export function readGetChildren2Request(r: JuteReader): GetChildren2Request {
  const path = r.readString() ?? '';
  const watch = r.readBool();
  return { path, watch };
}

export interface CheckVersionRequest {
  path: string;
  version: number;
}

export function writeCheckVersionRequest(w: JuteWriter, r: CheckVersionRequest): void {
  w.writeString(r.path);
  w.writeInt(r.version);
}

export function readCheckVersionRequest(r: JuteReader): CheckVersionRequest {
  const path = r.readString() ?? '';
  const version = r.readInt();
  return { path, version };
}

export interface GetMaxChildrenRequest {
  path: string;
}

export function writeGetMaxChildrenRequest(w: JuteWriter, r: GetMaxChildrenRequest): void {
  w.writeString(r.path);
}

export function readGetMaxChildrenRequest(r: JuteReader): GetMaxChildrenRequest {
  const path = r.readString() ?? '';
  return { path };
}

export interface GetMaxChildrenResponse {
  max: number;
}

export function writeGetMaxChildrenResponse(w: JuteWriter, r: GetMaxChildrenResponse): void {
  w.writeInt(r.max);
}

export function readGetMaxChildrenResponse(r: JuteReader): GetMaxChildrenResponse {
  const max = r.readInt();
  return { max };
}

export interface SetMaxChildrenRequest {
  path: string;
  max: number;
}

export function writeSetMaxChildrenRequest(w: JuteWriter, r: SetMaxChildrenRequest): void {
  w.writeString(r.path);
  w.writeInt(r.max);
}

export function readSetMaxChildrenRequest(r: JuteReader): SetMaxChildrenRequest {
  const path = r.readString() ?? '';
  const max = r.readInt();
  return { path, max };
}

export interface SyncRequest {
  path: string;
}

export function writeSyncRequest(w: JuteWriter, r: SyncRequest): void {
  w.writeString(r.path);
}

export function readSyncRequest(r: JuteReader): SyncRequest {
  const path = r.readString() ?? '';
  return { path };
}

export interface SyncResponse {
  path: string;
}

export function writeSyncResponse(w: JuteWriter, r: SyncResponse): void {
  w.writeString(r.path);
}

export function readSyncResponse(r: JuteReader): SyncResponse {
  const path = r.readString() ?? '';
  return { path };
}

// ---------------------------------------------------------------- ACLs

export interface GetACLRequest {
  path: string;
}

export function writeGetACLRequest(w: JuteWriter, r: GetACLRequest): void {
  w.writeString(r.path);
}

export function readGetACLRequest(r: JuteReader): GetACLRequest {
  const path = r.readString() ?? '';
  return { path };
}

export interface SetACLRequest {
  path: string;
  acl: ACL[];
  version: number;
}

export function writeSetACLRequest(w: JuteWriter, r: SetACLRequest): void {
  w.writeString(r.path);
  writeACLVector(w, r.acl);
  w.writeInt(r.version);
}

export function readSetACLRequest(r: JuteReader): SetACLRequest {
  const path = r.readString() ?? '';
  const acl = readACLVector(r);
  const version = r.readInt();
  return { path, acl, version };
}

export interface SetACLResponse {
  stat: Stat;
}

export function writeSetACLResponse(w: JuteWriter, r: SetACLResponse): void {
  writeStat(w, r.stat);
}

export function readSetACLResponse(r: JuteReader): SetACLResponse {
  const stat = readStat(r);
  return { stat };
}

// ---------------------------------------------------------------- watches and events

export interface AddWatchRequest {
  path: string;
  mode: number;
}

export function writeAddWatchRequest(w: JuteWriter, r: AddWatchRequest): void {
  w.writeString(r.path);
  w.writeInt(r.mode);
}

export function readAddWatchRequest(r: JuteReader): AddWatchRequest {
  const path = r.readString() ?? '';
  const mode = r.readInt();
  return { path, mode };
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}

export function writeWatcherEvent(w: JuteWriter, r: WatcherEvent): void {
  w.writeInt(r.type);
  w.writeInt(r.state);
  w.writeString(r.path);
}

export function readWatcherEvent(r: JuteReader): WatcherEvent {
  const type = r.readInt();
  const state = r.readInt();
  const path = r.readString() ?? '';
  return { type, state, path };
}

// ---------------------------------------------------------------- responses

export interface ErrorResponse {
  err: number;
}

export function writeErrorResponse(w: JuteWriter, r: ErrorResponse): void {
  w.writeInt(r.err);
}

export function readErrorResponse(r: JuteReader): ErrorResponse {
  const err = r.readInt();
  return { err };
}

export interface CreateResponse {
  path: string;
}

export function writeCreateResponse(w: JuteWriter, r: CreateResponse): void {
  w.writeString(r.path);
}

export function readCreateResponse(r: JuteReader): CreateResponse {
  const path = r.readString() ?? '';
  return { path };
}

export interface Create2Response {
  path: string;
  stat: Stat;
}

export function writeCreate2Response(w: JuteWriter, r: Create2Response): void {
  w.writeString(r.path);
  writeStat(w, r.stat);
}

export function readCreate2Response(r: JuteReader): Create2Response {
  const path = r.readString() ?? '';
  const stat = readStat(r);
  return { path, stat };
}

export interface ExistsRequest {
  path: string;
  watch: boolean;
}

export function writeExistsRequest(w: JuteWriter, r: ExistsRequest): void {
  w.writeString(r.path);
  w.writeBool(r.watch);
}

export function readExistsRequest(r: JuteReader): ExistsRequest {
  const path = r.readString() ?? '';
  const watch = r.readBool();
  return { path, watch };
}

export interface ExistsResponse {
  stat: Stat;
}

export function writeExistsResponse(w: JuteWriter, r: ExistsResponse): void {
  writeStat(w, r.stat);
}

export function readExistsResponse(r: JuteReader): ExistsResponse {
  const stat = readStat(r);
  return { stat };
}

export interface GetDataResponse {
  data: Buffer | null;
  stat: Stat;
}

export function writeGetDataResponse(w: JuteWriter, r: GetDataResponse): void {
  w.writeBuffer(r.data);
  writeStat(w, r.stat);
}

export function readGetDataResponse(r: JuteReader): GetDataResponse {
  const data = r.readBuffer();
  const stat = readStat(r);
  return { data, stat };
}

export interface GetChildrenResponse {
  children: string[];
}

export function writeGetChildrenResponse(w: JuteWriter, r: GetChildrenResponse): void {
  writeStringVector(w, r.children);
}

export function readGetChildrenResponse(r: JuteReader): GetChildrenResponse {
  const children = readStringVector(r);
  return { children };
}

export interface GetAllChildrenNumberResponse {
  totalNumber: number;
}

export function writeGetAllChildrenNumberResponse(w: JuteWriter, r: GetAllChildrenNumberResponse): void {
  w.writeInt(r.totalNumber);
}

export function readGetAllChildrenNumberResponse(r: JuteReader): GetAllChildrenNumberResponse {
  const totalNumber = r.readInt();
  return { totalNumber };
}

export interface GetChildren2Response {
  children: string[];
  stat: Stat;
}

export function writeGetChildren2Response(w: JuteWriter, r: GetChildren2Response): void {
  writeStringVector(w, r.children);
  writeStat(w, r.stat);
}

export function readGetChildren2Response(r: JuteReader): GetChildren2Response {
  const children = readStringVector(r);
  const stat = readStat(r);
  return { children, stat };
}

export interface GetACLResponse {
  acl: ACL[];
  stat: Stat;
}

export function writeGetACLResponse(w: JuteWriter, r: GetACLResponse): void {
  writeACLVector(w, r.acl);
  writeStat(w, r.stat);
}

export function readGetACLResponse(r: JuteReader): GetACLResponse {
  const acl = readACLVector(r);
  const stat = readStat(r);
  return { acl, stat };
}

export interface CheckWatchesRequest {
  path: string;
  type: number;
}

export function writeCheckWatchesRequest(w: JuteWriter, r: CheckWatchesRequest): void {
  w.writeString(r.path);
  w.writeInt(r.type);
}

export function readCheckWatchesRequest(r: JuteReader): CheckWatchesRequest {
  const path = r.readString() ?? '';
  const type = r.readInt();
  return { path, type };
}

export interface RemoveWatchesRequest {
  path: string;
  type: number;
}

export function writeRemoveWatchesRequest(w: JuteWriter, r: RemoveWatchesRequest): void {
  w.writeString(r.path);
  w.writeInt(r.type);
}

export function readRemoveWatchesRequest(r: JuteReader): RemoveWatchesRequest {
  const path = r.readString() ?? '';
  const type = r.readInt();
  return { path, type };
}

export interface GetEphemeralsRequest {
  prefixPath: string;
}

export function writeGetEphemeralsRequest(w: JuteWriter, r: GetEphemeralsRequest): void {
  w.writeString(r.prefixPath);
}

export function readGetEphemeralsRequest(r: JuteReader): GetEphemeralsRequest {
  const prefixPath = r.readString() ?? '';
  return { prefixPath };
}

export interface GetEphemeralsResponse {
  ephemerals: string[];
}

export function writeGetEphemeralsResponse(w: JuteWriter, r: GetEphemeralsResponse): void {
  writeStringVector(w, r.ephemerals);
}

export function readGetEphemeralsResponse(r: JuteReader): GetEphemeralsResponse {
  const ephemerals = readStringVector(r);
  return { ephemerals };
}

export interface WhoAmIResponse {
  clientInfo: ClientInfo[];
}

export function writeWhoAmIResponse(w: JuteWriter, r: WhoAmIResponse): void {
  w.writeVectorLength(r.clientInfo.length);
  for (const info of r.clientInfo) writeClientInfo(w, info);
}

export function readWhoAmIResponse(r: JuteReader): WhoAmIResponse {
  const n = r.readVectorLength();
  const clientInfo: ClientInfo[] = [];
  for (let i = 0; i < n; i++) clientInfo.push(readClientInfo(r));
  return { clientInfo };
}
