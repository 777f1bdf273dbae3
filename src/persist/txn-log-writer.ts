import { join } from 'node:path';
import { JuteWriter } from '../jute/writer.js';
import type { TxnPersister } from '../server/persister.js';
import type { TxnEntry } from '../txn/txn.js';
import { assert } from '../util/assert.js';
import { TszkError } from '../util/errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { TxnLogCorruptError, TxnLogVersionError, encodeEntry, encodeFileHeader, listLogFiles, logFileName } from './txn-log-format.js';
import { TxnLogTruncateError, discardLogDir, truncateLogDir } from './txn-log-truncate.js';

/** A write, preallocation, fsync or open of the txn log failed, or cutting it back did (the ops
 * from `read` on): nothing after it is durable. */
export class TxnLogWriteError extends TszkError {
  constructor(
    readonly file: string,
    readonly op: 'open' | 'preallocate' | 'write' | 'datasync' | 'syncDir' | 'close' | 'read' | 'truncate' | 'fsync' | 'unlink',
    cause: unknown,
  ) {
    super('ERR_TXNLOG_WRITE', `txn log ${op} failed for ${file}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TxnLogWriteError';
    this.cause = cause;
  }
}

export interface TxnLogWriterOptions {
  /** Grow the file in blocks of this many bytes ahead of the writes (zoo.cfg preAllocSize * 1024);
   * 0 writes without preallocating. */
  preAllocSizeBytes: number;
  /** zookeeper.forceSync: false skips fdatasync (and the directory sync), as ZooKeeper does. */
  forceSync: boolean;
  /** FileHeader.dbid; ZooKeeper always writes 0. */
  dbId?: bigint;
  fs?: FileSystem;
  /** `full` turns true once the batch not yet being written holds this many txns. Default 1000
   * (ZooKeeper's zookeeper.maxBatchSize). */
  maxBatchTxns?: number;
  /** ... or this many bytes. Default 16 MiB. */
  maxBatchBytes?: number;
  /** Start a new file before a txn once the current one holds more than this many bytes of
   * header and entries (zookeeper.txnLogSizeLimitInKb * 1024); unset or <= 0: no limit. */
  txnLogSizeLimitBytes?: number;
}

/** A run of the batch buffer that goes to one file. */
interface Segment {
  /** Offset in the batch buffer where it starts (it ends where the next starts). */
  start: number;
  /** Zxid of a file this segment creates, or -1n to continue the current file. */
  newFileZxid: bigint;
}

/** Txns appended between two flushes, encoded back to back, possibly across a log roll. */
class Batch {
  readonly w = new JuteWriter(64 * 1024);
  readonly segments: Segment[] = [];
  txns = 0;

  reset(): void {
    // A rare huge batch should not pin its buffer for the life of the server.
    if (this.w.buf.length > 4 * 1024 * 1024) this.w.buf = Buffer.allocUnsafe(64 * 1024);
    this.w.reset();
    this.segments.length = 0;
    this.txns = 0;
  }
}

type Done = (err: Error | null) => void;

/**
 * The txn log writer: group commit in ZooKeeper's on-disk format (txn-log-format.ts).
 *
 * append() only encodes into the open batch (no I/O). flush(done) hands that batch to the disk:
 * one write per file it touches (one, unless a roll falls inside it), then one fdatasync per such
 * file, then done(null). Meanwhile appends fill the next batch (double buffering).
 *
 * Flush ordering, precisely:
 * - At most one flush does I/O at a time. `done` is always called asynchronously, in the order
 *   the flushes were requested, and only once every txn appended before that flush() call is
 *   durable (or with an error).
 * - flush() while another is running queues the request. All requests queued behind a running
 *   flush are coalesced: when it ends, one flush writes everything appended up to then and calls
 *   all of their callbacks. A queued request that finds nothing new to write completes without
 *   I/O, as does a flush() with nothing appended and nothing running.
 * - After a failure every pending and later flush fails with the same TxnLogWriteError: an fsync
 *   that failed may have dropped dirty pages, so the file is never trusted again. append() keeps
 *   accepting (it cannot fail), but nothing more reaches the disk.
 *
 * Files: each file is created (exclusively: an existing log is never overwritten) when the first
 * batch with txns for it is flushed, named after its first txn's zxid, and starts with the
 * FileHeader. A writer always starts a new file with its first txn, so a restarted server never
 * appends into an old file; rollLog() and txnLogSizeLimitBytes start further files. Creating a
 * file also fsyncs the directory so its name survives a crash (ZooKeeper does not).
 *
 * Cutting the log back (quorum sync, txn-log-truncate.ts): truncateAfter(zxid) for a TRUNC,
 * discardAll() for a SNAP. Each first makes every appended txn durable (a failed log is not cut:
 * it rejects with the failure), then changes the files; the next append starts a new file, as
 * after a roll. Appending while one runs is a bug (asserted). A failure while cutting fails the
 * writer like a failed write: the files may be cut part way.
 */
export class TxnLogWriter implements TxnPersister {
  private readonly fs: FileSystem;
  private readonly preAllocSizeBytes: number;
  private readonly forceSync: boolean;
  private readonly dbId: bigint;
  private readonly maxBatchTxns: number;
  private readonly maxBatchBytes: number;
  private readonly sizeLimitBytes: number;

  private filling: Batch = new Batch();
  private spare: Batch = new Batch();

  // Append side: the file the next txn goes to, as if every batch were already written.
  private rollPending = true;
  /** Bytes of header and entries in the current file, including batches not yet written. */
  private appendFileBytes = 0;
  private lastZxid: bigint | null = null;
  /** The newest log file that existed when the writer was opened (or was left by a cut): new
   * files must sort after it. */
  private floorZxid: bigint | null;

  // I/O side: the file the next write goes to.
  private fd = -1;
  private fileName = '';
  private writePos = 0;
  private allocatedBytes = 0;

  /** Files a roll has finished, until the batch that finished them is durable. */
  private readonly retired: { fd: number; name: string; dirty: boolean }[] = [];

  private running = false;
  /** Callbacks of flushes requested while one was running; served together by the next one. */
  private queued: Done[] = [];
  private failure: TxnLogWriteError | null = null;
  private closed = false;
  /** close() has been called (it may still be waiting for a flush). */
  private closing = false;
  private idle: (() => void) | null = null;
  /** The truncateAfter or discardAll under way, if any. */
  private cutting: { op: string; done: Promise<void> } | null = null;

  /** Counters for tests and metrics. */
  readonly stats = { batches: 0, writes: 0, datasyncs: 0, filesCreated: 0, filesRemoved: 0, filesCut: 0 };

  constructor(
    readonly dir: string,
    opts: TxnLogWriterOptions,
    floorZxid: bigint | null = null,
  ) {
    assert(Number.isSafeInteger(opts.preAllocSizeBytes) && opts.preAllocSizeBytes >= 0, 'preAllocSizeBytes must be a non-negative integer');
    this.fs = opts.fs ?? nodeFileSystem;
    this.preAllocSizeBytes = opts.preAllocSizeBytes;
    this.forceSync = opts.forceSync;
    this.dbId = opts.dbId ?? 0n;
    this.maxBatchTxns = opts.maxBatchTxns ?? 1000;
    this.maxBatchBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
    this.sizeLimitBytes = opts.txnLogSizeLimitBytes !== undefined && opts.txnLogSizeLimitBytes > 0 ? opts.txnLogSizeLimitBytes : Infinity;
    this.floorZxid = floorZxid;
  }

  /**
   * A writer for `dir` of a server that may have run before: creates the directory if needed and
   * remembers the newest existing log, so that the first txn (which starts a new file) must sort
   * after it. Restore must have cut any torn tail first (txn-log-reader.ts).
   */
  static async open(dir: string, opts: TxnLogWriterOptions): Promise<TxnLogWriter> {
    const fs = opts.fs ?? nodeFileSystem;
    await fs.mkdir(dir);
    const files = await listLogFiles(fs, dir);
    return new TxnLogWriter(dir, opts, files.length > 0 ? files[files.length - 1]!.zxid : null);
  }

  /** Txns appended and not yet part of a running or finished flush. */
  get unflushed(): number {
    return this.filling.txns;
  }

  /** Bytes waiting in the open batch. */
  get unflushedBytes(): number {
    return this.filling.w.pos;
  }

  /** The open batch has reached maxBatchTxns or maxBatchBytes: the caller should stop preparing
   * txns until a flush completes (appends still work; this is backpressure, not a limit). */
  get full(): boolean {
    return this.filling.txns >= this.maxBatchTxns || this.filling.w.pos >= this.maxBatchBytes;
  }

  /** The name of the file the last write went to ('' before the first and after a cut). */
  get currentFile(): string {
    return this.fileName;
  }

  /** The next append starts a new file (the snapshotter calls this as it starts a snapshot). */
  rollLog(): void {
    this.rollPending = true;
  }

  append(entry: TxnEntry): void {
    assert(!this.closed, 'append after close');
    assert(this.cutting === null, `append while ${this.cutting?.op ?? ''} runs`);
    const zxid = entry.hdr.zxid;
    assert(this.lastZxid === null || zxid > this.lastZxid, `txn zxid 0x${zxid.toString(16)} not above 0x${(this.lastZxid ?? 0n).toString(16)}`);
    const batch = this.filling;
    const w = batch.w;
    if (this.rollPending || this.appendFileBytes > this.sizeLimitBytes) {
      assert(this.floorZxid === null || zxid > this.floorZxid, `new log file for zxid 0x${zxid.toString(16)} would sort before existing log 0x${(this.floorZxid ?? 0n).toString(16)}`);
      batch.segments.push({ start: w.pos, newFileZxid: zxid });
      encodeFileHeader(w, this.dbId);
      this.appendFileBytes = w.pos - batch.segments[batch.segments.length - 1]!.start;
      this.rollPending = false;
    } else if (batch.segments.length === 0) {
      batch.segments.push({ start: 0, newFileZxid: -1n });
    }
    const before = w.pos;
    encodeEntry(w, entry);
    this.appendFileBytes += w.pos - before;
    batch.txns++;
    this.lastZxid = zxid;
  }

  flush(done: Done): void {
    if (this.running) {
      this.queued.push(done);
      return;
    }
    if (this.failure !== null) {
      const failure = this.failure;
      queueMicrotask(() => done(failure));
      return;
    }
    if (this.filling.txns === 0) {
      queueMicrotask(() => done(null));
      return;
    }
    this.start([done]);
  }

  /** Waits for running and queued flushes, writes what is still unflushed (unless the log has
   * already failed), and closes the files. Rejects with the error of that last flush or of a
   * close, unless the log had failed before (that error has been reported already). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    // Its outcome went to its own caller.
    if (this.cutting !== null) await this.cutting.done.catch(() => undefined);
    if (this.closed) return;
    const failedBefore = this.failure !== null;
    let lastError: Error | null = null;
    if (this.failure === null && (this.running || this.filling.txns > 0)) {
      await new Promise<void>((resolve) =>
        this.flush((err) => {
          lastError = err;
          resolve();
        }),
      );
    }
    while (this.running) await new Promise<void>((resolve) => (this.idle = resolve));
    this.closed = true;
    for (const f of this.retired.splice(0)) {
      try {
        await this.fs.close(f.fd);
      } catch (err) {
        lastError ??= new TxnLogWriteError(join(this.dir, f.name), 'close', err);
      }
    }
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      try {
        await this.fs.close(fd);
      } catch (err) {
        lastError ??= new TxnLogWriteError(join(this.dir, this.fileName), 'close', err);
      }
    }
    if (lastError !== null && !failedBefore) throw lastError;
  }

  /**
   * TRUNC: removes every logged txn with zxid > `zxid` (txn-log-truncate.ts truncateLogDir), after
   * making every appended txn durable. The next append must be above `zxid` and starts a new file
   * named after it. A zxid at or beyond the last txn appended changes nothing (the current file
   * stays open). Rejects with the flush's TxnLogWriteError if the log had failed or fails now
   * (then nothing is cut); with a TxnLogWriteError if a file operation of the cut fails, or with
   * the TxnLogCorruptError or TxnLogVersionError of a log file that cannot be cut safely (then
   * nothing is cut, but the writer is failed all the same: appending above `zxid` to a log that
   * still holds the txns after it would make it unreadable).
   */
  truncateAfter(zxid: bigint): Promise<void> {
    return this.cut('truncateAfter', async () => {
      // Files from before open() start below the first txn appended since, and end below it too.
      if (this.lastZxid !== null && zxid >= this.lastZxid) return;
      await this.closeCurrentFile();
      const result = await this.changeFiles(() => truncateLogDir(this.fs, this.dir, zxid, { sync: this.forceSync }));
      this.stats.filesRemoved += result.removedFiles.length;
      if (result.cut !== null) this.stats.filesCut++;
      this.floorZxid = result.newestFileZxid;
      // Past the fast path a lastZxid is above zxid; nothing above zxid is left on disk.
      if (this.lastZxid !== null || result.changed) this.lastZxid = zxid;
    });
  }

  /**
   * SNAP: removes every log file of the directory once the caller has made the snapshot that
   * replaces their history durable, after making every appended txn durable (so no write races
   * the removal). The next append, of any zxid, starts a new file. Rejects like truncateAfter.
   */
  discardAll(): Promise<void> {
    return this.cut('discardAll', async () => {
      await this.closeCurrentFile();
      const removed = await this.changeFiles(() => discardLogDir(this.fs, this.dir, { sync: this.forceSync }));
      this.stats.filesRemoved += removed.length;
      this.floorZxid = null;
      this.lastZxid = null;
    });
  }

  // -------------------------------------------------------------------------------------------

  private cut(op: string, body: () => Promise<void>): Promise<void> {
    assert(!this.closed && !this.closing, `${op} after close`);
    assert(this.cutting === null, `${op} while ${this.cutting?.op ?? ''} runs`);
    const run = async (): Promise<void> => {
      try {
        await this.quiesce();
        await body();
      } finally {
        this.cutting = null;
      }
    };
    const cutting = { op, done: Promise.resolve() };
    this.cutting = cutting;
    cutting.done = run();
    return cutting.done;
  }

  /** Waits until every txn appended so far is durable and no flush runs; throws the log's failure. */
  private async quiesce(): Promise<void> {
    if (this.failure === null && (this.running || this.filling.txns > 0)) {
      await new Promise<void>((resolve) => this.flush(() => resolve()));
    }
    while (this.running) await new Promise<void>((resolve) => (this.idle = resolve));
    if (this.failure !== null) throw this.failure;
    assert(this.filling.txns === 0 && this.retired.length === 0, 'txn log not idle after a flush');
  }

  /** Closes the file the writes went to; the next append starts a new one. */
  private async closeCurrentFile(): Promise<void> {
    this.rollPending = true;
    this.appendFileBytes = 0;
    if (this.fd < 0) return;
    const fd = this.fd;
    const name = this.fileName;
    this.fd = -1;
    this.fileName = '';
    this.writePos = 0;
    this.allocatedBytes = 0;
    try {
      await this.fs.close(fd);
    } catch (err) {
      throw this.fail(new TxnLogWriteError(join(this.dir, name), 'close', err));
    }
  }

  /** Runs a change of the log files; any failure fails the writer. A file operation that failed
   * is reported as a TxnLogWriteError, anything else (a damaged log, a bug) as itself. */
  private async changeFiles<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (err instanceof TxnLogTruncateError) throw this.fail(new TxnLogWriteError(err.file, err.op, err.cause));
      const file = err instanceof TxnLogCorruptError || err instanceof TxnLogVersionError ? err.file : this.dir;
      this.fail(new TxnLogWriteError(file, 'truncate', err));
      throw err;
    }
  }

  private fail(err: TxnLogWriteError): TxnLogWriteError {
    this.failure ??= err;
    return err;
  }

  private start(dones: Done[]): void {
    const batch = this.filling;
    this.filling = this.spare;
    this.spare = batch;
    this.running = true;
    void this.write(batch).then((err) => this.finish(batch, dones, err));
  }

  private finish(batch: Batch, dones: Done[], err: TxnLogWriteError | null): void {
    batch.reset();
    if (err !== null) this.failure ??= err;
    this.running = false;
    // Start the coalesced follow-up before calling back, so a callback that flushes again
    // queues behind it instead of racing it.
    const queued = this.queued;
    this.queued = [];
    let settledWithoutIo: Done[] | null = null;
    if (queued.length > 0) {
      if (this.failure !== null || this.filling.txns === 0) settledWithoutIo = queued;
      else this.start(queued);
    }
    for (const done of dones) done(err);
    if (settledWithoutIo !== null) for (const done of settledWithoutIo) done(this.failure);
    if (!this.running && this.idle !== null) {
      const idle = this.idle;
      this.idle = null;
      idle();
    }
  }

  /** Writes one batch: every segment with one write each, then fdatasync of every file touched. */
  private async write(batch: Batch): Promise<TxnLogWriteError | null> {
    this.stats.batches++;
    const segments = batch.segments;
    const buf = batch.w.buf;
    let newDirEntry = false;
    let wroteCurrent = false;
    let op: TxnLogWriteError['op'] = 'open';
    try {
      for (let i = 0; i < segments.length; i++) {
        const seg = segments[i]!;
        const end = i + 1 < segments.length ? segments[i + 1]!.start : batch.w.pos;
        if (seg.newFileZxid !== -1n) {
          // The finished file is synced with this batch (if it got any of it) and closed after.
          if (this.fd >= 0) this.retired.push({ fd: this.fd, name: this.fileName, dirty: wroteCurrent });
          this.fd = -1;
          this.fileName = logFileName(seg.newFileZxid);
          op = 'open';
          this.fd = await this.fs.open(join(this.dir, this.fileName), 'wx');
          this.stats.filesCreated++;
          this.writePos = 0;
          this.allocatedBytes = 0;
          newDirEntry = true;
          wroteCurrent = false;
        }
        assert(this.fd >= 0, 'txn log segment without a file');
        const length = end - seg.start;
        if (this.preAllocSizeBytes > 0 && this.writePos + length > this.allocatedBytes) {
          op = 'preallocate';
          await this.preallocate(this.writePos + length);
        }
        op = 'write';
        await this.fs.write(this.fd, buf, seg.start, length, this.writePos);
        this.stats.writes++;
        this.writePos += length;
        wroteCurrent = true;
      }
      if (this.forceSync) {
        op = 'datasync';
        for (const f of this.retired) if (f.dirty) await this.datasync(f.fd);
        await this.datasync(this.fd);
        if (newDirEntry) {
          op = 'syncDir';
          await this.fs.syncDir(this.dir);
        }
      }
      op = 'close';
      while (this.retired.length > 0) {
        const f = this.retired[this.retired.length - 1]!;
        await this.fs.close(f.fd);
        this.retired.pop();
      }
      return null;
    } catch (err) {
      return new TxnLogWriteError(join(this.dir, this.fileName), op, err);
    }
  }

  private async datasync(fd: number): Promise<void> {
    await this.fs.datasync(fd);
    this.stats.datasyncs++;
  }

  /** Grows the file with zeros (ftruncate, as ZooKeeper's FilePadding writes its last byte) to
   * the next multiple of the block that holds `needed` bytes. */
  private async preallocate(needed: number): Promise<void> {
    const block = this.preAllocSizeBytes;
    const size = Math.ceil(needed / block) * block;
    await this.fs.truncate(this.fd, size);
    this.allocatedBytes = size;
  }
}
