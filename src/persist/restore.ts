import { join } from 'node:path';
import type { Logger } from 'pino';
import { OpCode } from '../proto/opcodes.js';
import { DataTree } from '../tree/data-tree.js';
import { applyTxn } from '../txn/apply.js';
import { TszkError } from '../util/errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { digestToVerify, findLatestValidSnapshot } from './snapshot-reader.js';
import { TxnLogReader, truncateTornTail, type TornTail } from './txn-log-reader.js';

/** ZooKeeper keeps its files in a version-2 directory under dataDir and dataLogDir. */
export const VERSION_DIR = 'version-2';

export interface DataDirs {
  /** dataDir/version-2: snapshots and epoch files. */
  snapDir: string;
  /** dataLogDir/version-2: txn logs. */
  logDir: string;
}

export function dataDirs(dataDir: string, dataLogDir: string): DataDirs {
  return { snapDir: join(dataDir, VERSION_DIR), logDir: join(dataLogDir, VERSION_DIR) };
}

export class DataDirError extends TszkError {
  constructor(message: string) {
    super('ERR_DATADIR', message);
    this.name = 'DataDirError';
  }
}

/**
 * A tree that does not have the digest its snapshot recorded has diverged from what was written:
 * ZooKeeper logs it (and counts it) rather than refusing to start; so do we, loudly.
 */
function compareDigest(tree: DataTree, zxid: bigint, expected: bigint, log: Logger): void {
  if (tree.digest !== expected) {
    log.error({ zxid: `0x${zxid.toString(16)}`, expected: expected.toString(), actual: tree.digest.toString() }, 'tree digest mismatch after restore');
  }
}

/** snapshot.<zxid>.tmp files are snapshots a crash interrupted: never valid, only disk used. */
async function removeUnfinishedSnapshots(snapDir: string, fs: FileSystem, log: Logger): Promise<void> {
  for (const name of await fs.readdir(snapDir)) {
    if (!/^snapshot\.[0-9a-f]+\.tmp$/.test(name)) continue;
    await fs.unlink(join(snapDir, name));
    log.info({ file: join(snapDir, name) }, 'removed a snapshot a crash left unfinished');
  }
}

export interface RestoredDatabase {
  tree: DataTree;
  /** Open sessions: id -> timeout ms. */
  sessions: Map<bigint, number>;
  /** The last txn applied: the next zxid handed out is this + 1. */
  lastZxid: bigint;
  /** Zxid of the snapshot loaded, or null when the tree started empty. */
  snapshotZxid: bigint | null;
  replayedTxns: number;
  truncated: TornTail | null;
}

export interface RestoreOptions {
  extendedTypesEnabled: boolean;
  fs?: FileSystem;
  log: Logger;
}

/**
 * Rebuild the database as ZooKeeper does on start: the newest snapshot whose checksum holds
 * (older ones when newer are damaged), then every logged txn after it, through the same applyTxn
 * as the live path. A torn tail (a write no client was told succeeded) is cut off with a log line;
 * damage with valid txns after it, or a missing log segment, stops the start instead of serving a
 * tree that lost acknowledged writes.
 */
export async function restoreDatabase(dirs: DataDirs, opts: RestoreOptions): Promise<RestoredDatabase> {
  const fs = opts.fs ?? nodeFileSystem;
  for (const dir of [dirs.snapDir, dirs.logDir]) {
    try {
      await fs.mkdir(dir);
    } catch (err) {
      throw new DataDirError(`cannot create ${dir}: ${(err as Error).message}`);
    }
  }
  await removeUnfinishedSnapshots(dirs.snapDir, fs, opts.log);
  const latest = await findLatestValidSnapshot(dirs.snapDir, { fs, extendedTypesEnabled: opts.extendedTypesEnabled });
  for (const skipped of latest.skipped) {
    opts.log.warn({ snapshot: skipped.path, reason: skipped.message }, 'skipping a damaged snapshot; falling back to an older one');
  }
  const snapshot = latest.snapshot;
  const tree = snapshot?.tree ?? new DataTree(opts.extendedTypesEnabled);
  const sessions = snapshot?.sessions ?? new Map<bigint, number>();
  const snapshotZxid = snapshot?.zxid ?? null;
  let lastZxid = snapshotZxid ?? 0n;
  tree.lastProcessedZxid = lastZxid;

  // The snapshot's digest trailer names a zxid at which the tree must have that digest (the
  // snapshot is fuzzy, so possibly a later zxid than its name): compare when replay gets there.
  const digestCheck = snapshot === null ? null : digestToVerify(snapshot);
  if (digestCheck !== null && digestCheck.zxid === lastZxid) compareDigest(tree, digestCheck.zxid, digestCheck.digest, opts.log);
  const reader = new TxnLogReader(dirs.logDir, lastZxid + 1n, { fs });
  let replayed = 0;
  for await (const txn of reader) {
    if (txn.hdr.zxid <= lastZxid) continue;
    if (snapshotZxid !== null && replayed === 0 && txn.hdr.zxid !== lastZxid + 1n && (txn.hdr.zxid >> 32n) === (lastZxid >> 32n)) {
      throw new DataDirError(
        `txn log in ${dirs.logDir} starts at 0x${txn.hdr.zxid.toString(16)} but the snapshot ends at 0x${lastZxid.toString(16)}: a log segment is missing`,
      );
    }
    applyTxn(tree, txn.hdr, txn.body);
    if (txn.body.type === OpCode.createSession) sessions.set(txn.hdr.clientId, txn.body.record.timeOut);
    else if (txn.body.type === OpCode.closeSession) sessions.delete(txn.hdr.clientId);
    lastZxid = txn.hdr.zxid;
    replayed++;
    if (digestCheck !== null && digestCheck.zxid === lastZxid) compareDigest(tree, lastZxid, digestCheck.digest, opts.log);
  }
  // Ephemerals whose session is gone (closed by a txn the snapshot missed, or never logged):
  // removed without a txn, as ZooKeeper's loadData does.
  for (const owner of [...tree.ephemerals.keys()]) {
    if (!sessions.has(owner)) tree.killSession(owner, lastZxid);
  }
  const truncated = reader.result?.truncateAt ?? null;
  if (truncated !== null) {
    opts.log.warn(
      { file: truncated.file, offset: truncated.offset, droppedBytes: truncated.droppedBytes, reason: truncated.reason },
      'txn log ends in a torn write; truncating it to the last valid txn',
    );
    await truncateTornTail(truncated, { fs });
  }
  return { tree, sessions, lastZxid, snapshotZxid, replayedTxns: replayed, truncated };
}
