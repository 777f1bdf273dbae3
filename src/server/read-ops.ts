import { aclAllows } from '../auth/acl-check.js';
import { authProvider } from '../auth/providers.js';
import type { ACL, Id } from '../proto/data.js';
import { writeACLVector, writeClientInfo, writeStat } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { EventType } from '../proto/events.js';
import { writeMultiResponse, type MultiResult } from '../proto/multi.js';
import { AddWatchMode, OpCode, WatcherType } from '../proto/opcodes.js';
import { Perms } from '../proto/perms.js';
import { writeStringVector, type SetWatches2 } from '../proto/records.js';
import type { JuteWriter } from '../jute/writer.js';
import type { DataTree } from '../tree/data-tree.js';
import { WatchMode, type Watcher } from '../tree/watch-manager.js';
import type { ReadRequest } from './read-request.js';

/** Who is reading: the connection (as the watcher) and its identity. */
export interface ReadCaller {
  readonly watcher: Watcher;
  readonly sessionId: bigint;
  readonly authInfo: readonly Id[];
}

export interface ReadEnv {
  readonly tree: DataTree;
  readonly skipACL: boolean;
}

function canRead(env: ReadEnv, caller: ReadCaller, acl: readonly ACL[], perm: number): boolean {
  return aclAllows(acl, perm, caller.authInfo, env.skipACL);
}

function getData(env: ReadEnv, caller: ReadCaller, path: string, watch: boolean, w: JuteWriter): number {
  const node = env.tree.get(path);
  if (node === undefined) return Err.noNode;
  if (!canRead(env, caller, node.acl, Perms.read)) return Err.noAuth;
  if (watch) env.tree.dataWatches.add(path, caller.watcher);
  w.writeBufferShared(node.data);
  writeStat(w, env.tree.statOf(node));
  return Err.ok;
}

function getChildren(env: ReadEnv, caller: ReadCaller, path: string, watch: boolean, withStat: boolean, w: JuteWriter): number {
  const node = env.tree.get(path);
  if (node === undefined) return Err.noNode;
  if (!canRead(env, caller, node.acl, Perms.read)) return Err.noAuth;
  if (watch) env.tree.childWatches.add(path, caller.watcher);
  writeStringVector(w, [...node.children.keys()]);
  if (withStat) writeStat(w, env.tree.statOf(node));
  return Err.ok;
}

/** Without ADMIN, digest ids are shown as "user:x" (the hash is a password equivalent). */
function maskDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) => (a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } } : a));
}

/**
 * What setWatches does on reconnect: fire what changed since relativeZxid, re-arm the rest. It
 * emits notifications, so the pipeline runs it before opening the reply frame (the events
 * precede the reply on the wire, as in ZooKeeper).
 */
export function setWatches(env: ReadEnv, caller: ReadCaller, sw: SetWatches2): void {
  const { tree } = env;
  const w = caller.watcher;
  for (const path of sw.dataWatches) {
    const node = tree.get(path);
    if (node === undefined) w.notifyWatch(EventType.nodeDeleted, path);
    else if (node.mzxid > sw.relativeZxid) w.notifyWatch(EventType.nodeDataChanged, path);
    else tree.dataWatches.add(path, w);
  }
  for (const path of sw.existWatches) {
    if (tree.get(path) !== undefined) w.notifyWatch(EventType.nodeCreated, path);
    else tree.dataWatches.add(path, w);
  }
  for (const path of sw.childWatches) {
    const node = tree.get(path);
    if (node === undefined) w.notifyWatch(EventType.nodeDeleted, path);
    else if (node.pzxid > sw.relativeZxid) w.notifyWatch(EventType.nodeChildrenChanged, path);
    else tree.childWatches.add(path, w);
  }
  for (const path of sw.persistentWatches) addWatch(env, caller, path, AddWatchMode.persistent);
  for (const path of sw.persistentRecursiveWatches) addWatch(env, caller, path, AddWatchMode.persistentRecursive);
}

function addWatch(env: ReadEnv, caller: ReadCaller, path: string, mode: number): void {
  const m = mode === AddWatchMode.persistentRecursive ? WatchMode.persistentRecursive : WatchMode.persistent;
  env.tree.childWatches.add(path, caller.watcher, m);
  env.tree.dataWatches.add(path, caller.watcher, m);
}

function checkOrRemoveWatches(env: ReadEnv, caller: ReadCaller, path: string, type: number, remove: boolean): number {
  const { dataWatches, childWatches } = env.tree;
  const test = remove
    ? (table: typeof dataWatches) => table.remove(path, caller.watcher)
    : (table: typeof dataWatches) => table.hasWatchers(path);
  let found = false;
  switch (type) {
    case WatcherType.children:
      found = test(childWatches);
      break;
    case WatcherType.data:
      found = test(dataWatches);
      break;
    case WatcherType.any: {
      const inChild = test(childWatches);
      const inData = test(dataWatches);
      found = inChild || inData;
      break;
    }
    default:
      // 3.8 knows only Children, Data and Any; other values fail its enum conversion.
      return Err.marshallingError;
  }
  return found ? Err.ok : Err.noWatcher;
}

function whoAmI(caller: ReadCaller, w: JuteWriter): void {
  w.writeVectorLength(caller.authInfo.length);
  for (const id of caller.authInfo) {
    const user = authProvider(id.scheme)?.userName(id.id) ?? '';
    writeClientInfo(w, { authScheme: id.scheme, user });
  }
}

function multiRead(env: ReadEnv, caller: ReadCaller, req: Extract<ReadRequest, { type: 22 }>, w: JuteWriter): void {
  const results: MultiResult[] = [];
  for (const op of req.record.ops) {
    const node = env.tree.get(op.type === OpCode.getData || op.type === OpCode.getChildren ? op.request.path : '');
    if (node === undefined) {
      results.push({ type: OpCode.error, err: Err.noNode });
    } else if (!canRead(env, caller, node.acl, Perms.read)) {
      results.push({ type: OpCode.error, err: Err.noAuth });
    } else if (op.type === OpCode.getData) {
      if (op.request.watch) env.tree.dataWatches.add(op.request.path, caller.watcher);
      results.push({ type: OpCode.getData, data: node.data, stat: env.tree.statOf(node) });
    } else if (op.type === OpCode.getChildren) {
      if (op.request.watch) env.tree.childWatches.add(op.request.path, caller.watcher);
      results.push({ type: OpCode.getChildren, children: [...node.children.keys()] });
    }
  }
  writeMultiResponse(w, { results });
}

/**
 * Answer a read: append its response body to `w` and return the result code. On an error the
 * caller drops whatever was appended: ZooKeeper sends the header alone.
 */
export function executeRead(env: ReadEnv, caller: ReadCaller, req: ReadRequest, w: JuteWriter): number {
  const { tree } = env;
  switch (req.type) {
    case OpCode.exists: {
      const { path, watch } = req.record;
      if (path.includes('\0')) return Err.badArguments;
      if (watch) tree.dataWatches.add(path, caller.watcher);
      const node = tree.get(path);
      if (node === undefined) return Err.noNode;
      writeStat(w, env.tree.statOf(node));
      return Err.ok;
    }
    case OpCode.getData:
      return getData(env, caller, req.record.path, req.record.watch, w);
    case OpCode.getChildren:
      return getChildren(env, caller, req.record.path, req.record.watch, false, w);
    case OpCode.getChildren2:
      return getChildren(env, caller, req.record.path, req.record.watch, true, w);
    case OpCode.getACL: {
      const node = tree.get(req.record.path);
      if (node === undefined) return Err.noNode;
      if (!canRead(env, caller, node.acl, Perms.read | Perms.admin)) return Err.noAuth;
      const admin = canRead(env, caller, node.acl, Perms.admin);
      writeACLVector(w, admin ? node.acl : maskDigests(node.acl));
      writeStat(w, env.tree.statOf(node));
      return Err.ok;
    }
    case OpCode.getAllChildrenNumber: {
      const node = tree.get(req.record.path);
      if (node === undefined) return Err.noNode;
      if (!canRead(env, caller, node.acl, Perms.read)) return Err.noAuth;
      w.writeInt(tree.allChildrenNumber(req.record.path));
      return Err.ok;
    }
    case OpCode.getEphemerals: {
      const prefix = req.record.prefixPath.trim();
      const all = tree.ephemeralsOf(caller.sessionId);
      const matching = prefix === '' || prefix === '/' ? all : all.filter((p) => p.startsWith(req.record.prefixPath));
      writeStringVector(w, matching);
      return Err.ok;
    }
    case OpCode.sync:
      w.writeString(req.record.path);
      return Err.ok;
    case OpCode.ping:
      return Err.ok;
    case OpCode.setWatches:
    case OpCode.setWatches2:
      // Done by the pipeline before the reply frame: see setWatches.
      return Err.ok;
    case OpCode.addWatch:
      // 3.8 converts the mode with an enum lookup that fails for anything but 0 and 1.
      if (req.record.mode !== AddWatchMode.persistent && req.record.mode !== AddWatchMode.persistentRecursive) {
        return Err.marshallingError;
      }
      addWatch(env, caller, req.record.path, req.record.mode);
      w.writeInt(Err.ok); // ErrorResponse(0)
      return Err.ok;
    case OpCode.checkWatches:
      return checkOrRemoveWatches(env, caller, req.record.path, req.record.type, false);
    case OpCode.removeWatches:
      return checkOrRemoveWatches(env, caller, req.record.path, req.record.type, true);
    case OpCode.whoAmI:
      whoAmI(caller, w);
      return Err.ok;
    case OpCode.multiRead:
      multiRead(env, caller, req, w);
      return Err.ok;
    case OpCode.error:
      return req.err;
  }
}
