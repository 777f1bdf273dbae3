/**
 * Offline tools over a data directory, after ZooKeeper's zkCleanup.sh, TxnLogToolkit and
 * SnapshotFormatter: `tszk purge`, `tszk txnlog`, `tszk snapshot`. They read the same files the
 * server writes and never need a running server.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { opName } from '../proto/opcodes.js';
import { purge } from '../persist/purge.js';
import { dataDirs } from '../persist/restore.js';
import { readSnapshot } from '../persist/snapshot-reader.js';
import { parseSnapshotFileName } from '../persist/snapshot-format.js';
import { checkFileHeader, decodeEntry, FILE_HEADER_BYTES } from '../persist/txn-log-format.js';
import type { TxnEntry } from '../txn/txn.js';
import { childPath } from '../tree/paths.js';
import { EXIT_FAILED, EXIT_OK, loadCliConfig, resolveConfigPath, type CliContext } from './daemon.js';

const hex = (v: bigint | number): string => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `tszk purge [config] [-n count]`: keep the newest `count` snapshots and the logs they need. */
export async function runPurge(arg: string | undefined, count: number | undefined, ctx: CliContext): Promise<number> {
  const configPath = resolveConfigPath(arg, ctx);
  const { config } = loadCliConfig(configPath, ctx, { writeMyid: false });
  const retain = count ?? config.autopurgeSnapRetainCount;
  if (retain < 3) {
    process.stderr.write('tszk: purge must keep at least 3 snapshots (-n 3 or more)\n');
    return EXIT_FAILED;
  }
  const dirs = dataDirs(config.dataDir, config.dataLogDir);
  const removed = await purge(dirs.snapDir, dirs.logDir, retain);
  for (const path of [...removed.removedSnapshots, ...removed.removedLogs]) say(`Removing file: ${path}`);
  say(`Kept the ${retain} newest snapshots; removed ${removed.removedSnapshots.length} snapshots and ${removed.removedLogs.length} log files.`);
  return EXIT_OK;
}

function describeTxn(e: TxnEntry): string {
  const { hdr, body } = e;
  const head = `${new Date(hdr.time).toISOString()} session ${hex(hdr.clientId)} cxid ${hex(hdr.cxid)} zxid ${hex(hdr.zxid)} ${opName(hdr.type)}`;
  const record = body.record === null ? '' : JSON.stringify(body.record, (_k, v: unknown) => {
    if (typeof v === 'bigint') return hex(v);
    if (v instanceof Uint8Array || (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer')) {
      return `#${Buffer.from(v as Uint8Array).toString('hex')}`;
    }
    return v;
  });
  return record === '' ? head : `${head} ${record}`;
}

/**
 * `tszk txnlog <file>`: one txn per line (time, session, cxid, zxid, type, record), checking
 * every entry's checksum; the last line says where and why reading stopped.
 */
export async function runTxnLog(file: string): Promise<number> {
  const buf = await readFile(file);
  const header = checkFileHeader(buf, Math.min(buf.length, FILE_HEADER_BYTES), file);
  if (header.type === 'torn') {
    say(`${file}: no complete file header`);
    return EXIT_FAILED;
  }
  say(`ZooKeeper Transactional Log File with dbid ${header.dbId} txnlog format version 2`);
  let pos = FILE_HEADER_BYTES;
  let count = 0;
  for (;;) {
    const d = decodeEntry(buf, pos, buf.length, buf.length);
    if (d.type === 'entry') {
      say(describeTxn(d.entry));
      count++;
      pos = d.next;
      continue;
    }
    if (d.type === 'zero' || (d.type === 'short' && buf.subarray(pos).every((b) => b === 0))) {
      say(`EOF reached after ${count} txns.`);
      return EXIT_OK;
    }
    const reason = d.type === 'short' ? 'a partial entry' : d.reason;
    say(`Stopped after ${count} txns at offset ${pos}: ${reason}`);
    return EXIT_FAILED;
  }
}

/**
 * `tszk snapshot <file> [--json]`: the snapshot's nodes (path, Stat, data length), sessions and
 * digest, after verifying its checksums; --json prints one JSON document instead.
 */
export async function runSnapshot(file: string, json: boolean): Promise<number> {
  const zxid = parseSnapshotFileName(basename(file)) ?? 0n;
  const snap = await readSnapshot(file, { extendedTypesEnabled: true, zxid });
  const { tree } = snap;
  const nodes: Array<{ path: string; stat: ReturnType<typeof tree.statOf>; acl: unknown }> = [];
  const walk = (path: string): void => {
    const node = tree.get(path);
    if (node === undefined) return;
    nodes.push({ path, stat: tree.statOf(node), acl: node.acl });
    for (const child of [...node.children.keys()].sort()) walk(childPath(path, child));
  };
  walk('/');
  if (json) {
    const replacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? hex(v) : v);
    const sessions = [...snap.sessions].map(([id, timeout]) => ({ id: hex(id), timeout, ephemerals: tree.ephemeralsOf(id).length }));
    const digest = snap.digest === null ? null : { zxid: hex(snap.digest.zxid), version: snap.digest.version, digest: hex(snap.digest.digest) };
    say(JSON.stringify({ zxid: hex(snap.zxid), nodes, sessions, digest }, replacer));
    return EXIT_OK;
  }
  say(`ZNode Details (count=${nodes.length}):`);
  for (const { path, stat } of nodes) {
    say('----');
    say(path);
    say(`  cZxid = ${hex(stat.czxid)}`);
    say(`  ctime = ${new Date(stat.ctime).toISOString()}`);
    say(`  mZxid = ${hex(stat.mzxid)}`);
    say(`  mtime = ${new Date(stat.mtime).toISOString()}`);
    say(`  pZxid = ${hex(stat.pzxid)}`);
    say(`  cversion = ${stat.cversion}`);
    say(`  dataVersion = ${stat.version}`);
    say(`  aclVersion = ${stat.aversion}`);
    say(`  ephemeralOwner = ${hex(stat.ephemeralOwner)}`);
    say(`  dataLength = ${stat.dataLength}`);
  }
  say('----');
  say('Session Details (sid, timeout, ephemeralCount):');
  for (const [id, timeout] of snap.sessions) say(`${hex(id)}, ${timeout}, ${tree.ephemeralsOf(id).length}`);
  say('----');
  say(`Last zxid: ${hex(snap.zxid)}`);
  if (snap.digest !== null) say(`Digest: zxid ${hex(snap.digest.zxid)} version ${snap.digest.version} value ${snap.digest.digest}`);
  return EXIT_OK;
}
