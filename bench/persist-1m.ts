// Durability at 1,000,000 znodes, tszk next to the real ZooKeeper 3.8 on the same machine:
//   1. restore: process start -> first session, and each server's own restore time, from a data
//      dir holding only a snapshot, and from one holding a snapshot plus a txn log tail to replay;
//   2. snapshot write time of the 1M-node tree (at start-up, and under load);
//   3. getData/setData latency (closed loop, one request in flight per session) while a snapshot
//      is written, against the same outside it;
//   4. peak resident memory (VmHWM) after restore.
// Both servers read one data dir built here without a client: tszk's snapshot writer and txn log
// writer produce ZooKeeper's on-disk formats, so the same files start either server.
//
// Run from the repository root (Node 20 cannot run TypeScript directly; bench/out/ is ignored):
//   npm run bench:build && node bench/out/bench/persist-1m.js
// Options: --nodes N (1,000,000) --parents N (1,000) --log-txns N (100,000) --runs N (3)
//   --snap-count N (10,000: zoo.cfg snapCount of the latency phase) --tail-ms N (4,000)
//   --only tszk|zookeeper --skip-restore --skip-latency --zk-heap-mb N (unset: the JVM's default,
//   as Debian's zkServer.sh runs it) --tszk-cpu-prof DIR (node --cpu-prof for every tszk run)
//   --tszk-node-options STR (node options for tszk, e.g. "--max-semi-space-size=64")
//   --results DIR (bench/results) --keep (keep the temp dir)
// Needs Debian's zookeeper package and a built dist/ (see bench/README.md); servers start through
// bench/lib/servers.ts.
// Writes <results>/persist-1m.md and <results>/persist-1m.jsonl.
import { closeSync, fsyncSync, openSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeGetDataRequest, writeSetDataRequest } from '../src/proto/records.js';
import { OpCode } from '../src/proto/opcodes.js';
import { writeSnapshot } from '../src/persist/snapshot-writer.js';
import { TxnLogWriter } from '../src/persist/txn-log-writer.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../src/tree/data-tree.js';
import { DIGEST_VERSION } from '../src/tree/digest.js';
import { applyTxn } from '../src/txn/apply.js';
import type { TxnEntry } from '../src/txn/txn.js';
import { RawClient } from '../test/support/raw-client.js';
import { fmt, loadAverage, log, logMachine, machineInfo, type Machine } from './lib/machine.js';
import { median, reportHeader } from './lib/report.js';
import { writeResults } from './lib/results.js';
import {
  cpuMsOf,
  exitUnlessServers,
  tszkStartedFrom,
  firstSessionMs,
  launchCluster,
  memoryOf,
  repoRoot,
  SERVER_KINDS,
  sleep,
  type Cluster,
  type Member,
  type ServerKind,
} from './lib/servers.js';

// ---------------------------------------------------------------- options

interface Args {
  nodes: number;
  parents: number;
  logTxns: number;
  runs: number;
  snapCount: number;
  tailMs: number;
  only: ServerKind | null;
  skipRestore: boolean;
  skipLatency: boolean;
  zkHeapMb: number | null;
  tszkCpuProfDir: string | null;
  tszkNodeOptions: string | null;
  resultsDir: string | null;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    nodes: 1_000_000, parents: 1_000, logTxns: 100_000, runs: 3, snapCount: 10_000, tailMs: 4_000,
    only: null, skipRestore: false, skipLatency: false, zkHeapMb: null, tszkCpuProfDir: null, tszkNodeOptions: null, resultsDir: null, keep: false,
  };
  const num = (i: number): number => {
    const v = Number(argv[i]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${argv[i - 1]} wants a number, got ${String(argv[i])}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--nodes') args.nodes = num(++i);
    else if (arg === '--parents') args.parents = num(++i);
    else if (arg === '--log-txns') args.logTxns = num(++i);
    else if (arg === '--runs') args.runs = Math.max(1, num(++i));
    else if (arg === '--snap-count') args.snapCount = num(++i);
    else if (arg === '--tail-ms') args.tailMs = num(++i);
    else if (arg === '--only') {
      const kind = argv[++i];
      if (kind !== 'tszk' && kind !== 'zookeeper') throw new Error('--only takes tszk or zookeeper');
      args.only = kind;
    } else if (arg === '--skip-restore') args.skipRestore = true;
    else if (arg === '--skip-latency') args.skipLatency = true;
    else if (arg === '--zk-heap-mb') args.zkHeapMb = num(++i);
    else if (arg === '--tszk-cpu-prof') args.tszkCpuProfDir = resolve(String(argv[++i]));
    else if (arg === '--tszk-node-options') args.tszkNodeOptions = String(argv[++i]);
    else if (arg === '--results') args.resultsDir = resolve(String(argv[++i]));
    else if (arg === '--keep') args.keep = true;
    else throw new Error(`unknown argument ${String(arg)}`);
  }
  if (args.nodes % args.parents !== 0) throw new Error('--nodes must be a multiple of --parents');
  return args;
}

// ---------------------------------------------------------------- small helpers

const nowMs = (): number => performance.now();
/** Wall-clock milliseconds with sub-millisecond precision, comparable with the servers' log times. */
const wallMs = (): number => performance.timeOrigin + performance.now();

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const mib = (bytes: number): number => bytes / 1024 / 1024;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- the data dirs

interface BuiltDirs {
  /** dataDir with version-2/snapshot.<zxid> only. */
  snapOnly: string;
  /** The same snapshot plus a txn log of `logTxns` setData txns after it. */
  snapAndLog: string;
  znodes: number;
  snapshotBytes: number;
  snapshotZxid: bigint;
  logBytes: number;
  buildMs: number;
  /** fsync of the freshly written snapshot file, for the cost of tszk's fsync (ZooKeeper's are not synced). */
  fsyncSnapshotMs: number;
}

const DATA_100 = Buffer.alloc(100, 0x61);
const parentPath = (p: number): string => `/p${String(p).padStart(4, '0')}`;
const childPath = (p: number, c: number): string => `${parentPath(p)}/c${String(c).padStart(4, '0')}`;

async function buildDataDirs(work: string, args: Args): Promise<BuiltDirs> {
  const started = nowMs();
  const childrenPerParent = args.nodes / args.parents - 1;
  let tree: DataTree | null = new DataTree();
  let zxid = 0n;
  const time = 1_700_000_000_000;
  for (let p = 0; p < args.parents; p++) {
    tree.createNode(parentPath(p), Buffer.from(DATA_100), OPEN_ACL_UNSAFE, 0n, -1, ++zxid, time);
    for (let c = 0; c < childrenPerParent; c++) {
      tree.createNode(childPath(p, c), Buffer.from(DATA_100), OPEN_ACL_UNSAFE, 0n, -1, ++zxid, time);
    }
  }
  tree.lastProcessedZxid = zxid;
  const snapshotZxid = zxid;
  const znodes = tree.nodeCount;
  log(`built a tree of ${znodes.toLocaleString()} nodes in ${fmt(nowMs() - started)} ms`);

  const snapOnly = join(work, 'base-snap');
  const snapDir = join(snapOnly, 'version-2');
  await mkdir(snapDir, { recursive: true });
  const written = await writeSnapshot(snapDir, tree, [], zxid, { fsync: false });
  let t0 = nowMs();
  fsyncPath(written.path);
  const fsyncSnapshotMs = nowMs() - t0;
  log(`snapshot ${written.path}: ${fmt(mib(written.bytes), 1)} MiB; fsync of it just written ${fmt(fsyncSnapshotMs)} ms`);

  const snapAndLog = join(work, 'base-snap-log');
  const logDir = join(snapAndLog, 'version-2');
  await mkdir(logDir, { recursive: true });
  await copyFile(written.path, join(logDir, `snapshot.${zxid.toString(16)}`));
  const writer = await TxnLogWriter.open(logDir, { preAllocSizeBytes: 64 * 1024 * 1024, forceSync: false });
  const flush = (): Promise<Error | null> => new Promise((r) => writer.flush(r));
  const clientId = 0x1000000000001n;
  t0 = nowMs();
  for (let i = 0; i < args.logTxns; i++) {
    // Spread over the tree: parent i mod P, then the next child, so no node is set twice before all are.
    const p = i % args.parents;
    const c = Math.floor(i / args.parents) % childrenPerParent;
    const path = childPath(p, c);
    const node = tree.get(path);
    if (node === undefined) throw new Error(`missing ${path}`);
    const data = Buffer.alloc(100, 0x62 + (i % 20));
    const hdr = { clientId, cxid: i + 1, zxid: ++zxid, time: time + i, type: OpCode.setData };
    const body = { type: OpCode.setData, record: { path, data, version: node.version + 1 } } as const;
    applyTxn(tree, hdr, body);
    const entry: TxnEntry = { hdr, body, digest: { version: DIGEST_VERSION, treeDigest: tree.digest } };
    writer.append(entry);
    if (writer.full) {
      const err = await flush();
      if (err !== null) throw err;
    }
  }
  const err = await flush();
  if (err !== null) throw err;
  await writer.close();
  let logBytes = 0;
  for (const name of readdirSync(logDir)) {
    if (name.startsWith('log.')) {
      logBytes += statSync(join(logDir, name)).size;
      fsyncPath(join(logDir, name));
    }
  }
  fsyncPath(join(logDir, `snapshot.${snapshotZxid.toString(16)}`));
  log(`txn log of ${args.logTxns.toLocaleString()} setData txns in ${fmt(nowMs() - t0)} ms (${fmt(mib(logBytes), 1)} MiB with preallocation)`);
  tree = null;
  return {
    snapOnly, snapAndLog, znodes, snapshotBytes: written.bytes, snapshotZxid,
    logBytes, buildMs: nowMs() - started, fsyncSnapshotMs,
  };
}

/** A private copy of a base data dir for one server run, synced so writeback does not leak into the run. */
async function copyDataDir(from: string, to: string): Promise<void> {
  const src = join(from, 'version-2');
  const dst = join(to, 'version-2');
  await mkdir(dst, { recursive: true });
  for (const name of await readdir(src)) {
    await copyFile(join(src, name), join(dst, name));
    fsyncPath(join(dst, name));
  }
}

// ---------------------------------------------------------------- running a server

/** A standalone server of `kind` on a private, fsynced copy of the data dir `base`; not waited for. */
function startServer(work: string, kind: ServerKind, base: string, snapCount: number, args: Args): Promise<Cluster> {
  return launchCluster({
    kind, size: 1, baseDir: work, zkHeapMb: args.zkHeapMb ?? 0, tszkCpuProfDir: args.tszkCpuProfDir ?? undefined,
    tszkNodeOptions: args.tszkNodeOptions ?? undefined, extraConfig: { snapCount: String(snapCount) },
    initDataDir: (dataDir) => copyDataDir(base, dataDir),
  });
}

/** Spawn to the first granted session, ms; up to 3 minutes, as a 1M-node restore can be slow. */
const firstSession = (member: Member): Promise<number> => firstSessionMs(member, { timeoutMs: 180_000, maxPending: 500 });

/** A 1M-node tszk may still be writing a snapshot when told to stop: give it time to finish. */
const STOP_GRACE_MS = 15_000;

// ---------------------------------------------------------------- what the servers log

interface SnapshotEvent {
  /** Wall-clock ms when the write finished (log time) and began (that minus its duration). */
  endWall: number;
  startWall: number;
  ms: number;
  nodes: number | null;
  bytes: number | null;
  /** False for a ZooKeeper snapshot that had begun ("Snapshotting:") but not ended when the log was read. */
  complete: boolean;
}

interface ServerLog {
  /** tszk: "database restored" ms. ZooKeeper: "Snapshot loaded in X ms" (snapshot and log replay). */
  restoreMs: number | null;
  /** ZooKeeper: "N txns loaded in X ms" (the replay part). */
  replayMs: number | null;
  replayedTxns: number | null;
  restoredNodes: number | null;
  snapshots: SnapshotEvent[];
  digestMismatches: number;
  errors: string[];
}

function parseTszkLog(text: string): ServerLog {
  const out: ServerLog = { restoreMs: null, replayMs: null, replayedTxns: null, restoredNodes: null, snapshots: [], digestMismatches: 0, errors: [] };
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (rec['msg'] === 'database restored') {
      out.restoreMs = Number(rec['ms']);
      out.replayedTxns = Number(rec['replayedTxns']);
      out.restoredNodes = Number(rec['nodes']);
    } else if (rec['msg'] === 'snapshot written') {
      const endWall = Date.parse(String(rec['time']));
      const ms = Number(rec['ms']);
      out.snapshots.push({ endWall, startWall: endWall - ms, ms, nodes: Number(rec['nodes']), bytes: Number(rec['bytes']), complete: true });
    } else if (typeof rec['level'] === 'number' && rec['level'] >= 50) {
      out.errors.push(String(rec['msg']));
    }
  }
  return out;
}

/** log4j ISO8601 in UTC (the JVM runs with -Duser.timezone=UTC): "2025-01-02 03:04:05,678". */
function zkTime(line: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(line);
  return m === null ? NaN : Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`);
}

function parseZkLog(text: string): ServerLog {
  const out: ServerLog = { restoreMs: null, replayMs: null, replayedTxns: null, restoredNodes: null, snapshots: [], digestMismatches: 0, errors: [] };
  let snapshotStart: number | null = null;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /Snapshot loaded in (\d+) ms/.exec(line)) !== null) out.restoreMs = Number(m[1]);
    else if ((m = /(\d+) txns loaded in (\d+) ms/.exec(line)) !== null) {
      out.replayedTxns = Number(m[1]);
      out.replayMs = Number(m[2]);
    } else if (/Snapshotting: 0x/.test(line)) snapshotStart = zkTime(line);
    else if ((m = /Snapshot taken in (\d+) ms/.exec(line)) !== null) {
      const endWall = zkTime(line);
      const ms = Number(m[1]);
      out.snapshots.push({ endWall, startWall: snapshotStart ?? endWall - ms, ms, nodes: null, bytes: null, complete: true });
      snapshotStart = null;
    } else if (/Digests are not matching/.test(line)) out.digestMismatches++;
    else if (/ (ERROR|FATAL) /.test(line)) out.errors.push(line.slice(0, 300));
  }
  if (snapshotStart !== null) out.snapshots.push({ endWall: Infinity, startWall: snapshotStart, ms: NaN, nodes: null, bytes: null, complete: false });
  return out;
}

const readLog = (member: Member): ServerLog => {
  const text = member.logText();
  return member.kind === 'tszk' ? parseTszkLog(text) : parseZkLog(text);
};

/** Sizes of the snapshot files a server wrote since `sinceWall` (ZooKeeper rewrites the base one in
 * place when it restored no txns: it names its start-up snapshot after the same zxid). */
function newSnapshotSizes(dataDir: string, sinceWall: number): number[] {
  const dir = join(dataDir, 'version-2');
  return readdirSync(dir)
    .filter((n) => n.startsWith('snapshot.') && !n.endsWith('.tmp'))
    .map((n) => statSync(join(dir, n)))
    .filter((st) => st.mtimeMs >= sinceWall)
    .map((st) => st.size);
}

// ---------------------------------------------------------------- phase 1: restore

interface RestoreRun {
  kind: ServerKind;
  variant: 'snapshot' | 'snapshot+log';
  run: number;
  firstSessionMs: number;
  /** CPU time the server process had used by its first session (all threads: JIT and GC included). */
  cpuMsToFirstSession: number;
  restoreMs: number | null;
  replayMs: number | null;
  replayedTxns: number | null;
  startupSnapshotMs: number | null;
  startupSnapshotBytes: number | null;
  hwmMiB: number;
  rssMiB: number;
  digestMismatches: number;
  errors: string[];
  /** 1-minute load average when the run ended: other jobs on a shared machine show here. */
  loadAvg1: number;
}

async function restoreRuns(work: string, built: BuiltDirs, args: Args, kinds: readonly ServerKind[]): Promise<RestoreRun[]> {
  const runs: RestoreRun[] = [];
  const variants = [
    ['snapshot', built.snapOnly],
    ['snapshot+log', built.snapAndLog],
  ] as const;
  for (const [variant, base] of variants) {
    if (variant === 'snapshot+log' && args.logTxns === 0) continue;
    for (let run = 1; run <= args.runs; run++) {
      // Alternate which server goes first, so neither always follows the other's writeback.
      const order = run % 2 === 1 ? kinds : [...kinds].reverse();
      for (const kind of order) {
        // A snapCount no start-up write reaches: only the start-up snapshot may run.
        const cluster = await startServer(work, kind, base, 10_000_000, args);
        const member = cluster.members[0]!;
        try {
          const firstSessionMs = await firstSession(member);
          const cpuMsToFirstSession = cpuMsOf(member.pid);
          const mem = memoryOf(member.pid);
          await sleep(200);
          const parsed = readLog(member);
          const startup = parsed.snapshots[0] ?? null;
          const sizes = newSnapshotSizes(member.spec.dataDir, performance.timeOrigin + member.spawnedAt);
          const r: RestoreRun = {
            kind, variant, run, firstSessionMs, cpuMsToFirstSession, restoreMs: parsed.restoreMs, replayMs: parsed.replayMs, replayedTxns: parsed.replayedTxns,
            startupSnapshotMs: startup?.ms ?? null, startupSnapshotBytes: startup?.bytes ?? sizes[0] ?? null,
            hwmMiB: mem.hwmMiB, rssMiB: mem.rssMiB, digestMismatches: parsed.digestMismatches, errors: parsed.errors,
            loadAvg1: loadAverage()[0] ?? NaN,
          };
          runs.push(r);
          log(
            `restore ${kind} ${variant} #${run}: first session ${fmt(firstSessionMs)} ms (CPU ${fmt(cpuMsToFirstSession)} ms), own restore ${fmt(r.restoreMs)} ms` +
              `${r.startupSnapshotMs === null ? '' : `, start-up snapshot ${fmt(r.startupSnapshotMs)} ms`}, VmHWM ${fmt(mem.hwmMiB)} MiB` +
              `${parsed.errors.length > 0 ? `, ${parsed.errors.length} error lines` : ''}; load ${r.loadAvg1}`,
          );
        } finally {
          await cluster.stop(args.keep, STOP_GRACE_MS);
        }
      }
    }
  }
  return runs;
}

// ---------------------------------------------------------------- phase 2: latency under a snapshot

interface Samples {
  /** Wall-clock send time, ms. */
  sentWall: number[];
  latencyMs: number[];
}

interface LatencyStats {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  opsPerSec: number;
}

interface LatencyRun {
  kind: ServerKind;
  snapCount: number;
  loadMs: number;
  warmupMs: number;
  /** Snapshots written while the load ran. */
  snapshots: SnapshotEvent[];
  snapshotBytes: number[];
  /** [op][window] */
  stats: Record<'getData' | 'setData', Record<'during' | 'outside', LatencyStats>>;
  hwmMiB: number;
  errors: string[];
}

const WARMUP_MS = 1_500;
const MAX_LOAD_MS = 120_000;

async function closedLoop(client: RawClient, op: 'getData' | 'setData', args: Args, stop: () => boolean, into: Samples): Promise<void> {
  const childrenPerParent = args.nodes / args.parents - 1;
  const data = Buffer.alloc(100, 0x63);
  while (!stop()) {
    const path = childPath(Math.floor(Math.random() * args.parents), Math.floor(Math.random() * childrenPerParent));
    const sent = wallMs();
    const t0 = nowMs();
    const reply =
      op === 'getData'
        ? await client.send(OpCode.getData, (w) => writeGetDataRequest(w, { path, watch: false }), { timeoutMs: 120_000 })
        : await client.send(OpCode.setData, (w) => writeSetDataRequest(w, { path, data, version: -1 }), { timeoutMs: 120_000 });
    const latency = nowMs() - t0;
    if (reply.err !== 0) throw new Error(`${op} ${path} failed with ${reply.err}`);
    into.sentWall.push(sent);
    into.latencyMs.push(latency);
    // The raw client keeps every reply for tests; this loop has no use for them.
    client.received.length = 0;
  }
}

function statsOf(latencies: number[], spanMs: number): LatencyStats {
  const sorted = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
    opsPerSec: spanMs > 0 ? (sorted.length / spanMs) * 1000 : NaN,
  };
}

async function latencyRun(work: string, built: BuiltDirs, args: Args, kind: ServerKind): Promise<LatencyRun> {
  const cluster = await startServer(work, kind, built.snapOnly, args.snapCount, args);
  const member = cluster.members[0]!;
  try {
    await firstSession(member);
    const reader = await RawClient.connect({ host: '127.0.0.1', port: member.clientPort, timeOutMs: 30_000 });
    const writer = await RawClient.connect({ host: '127.0.0.1', port: member.clientPort, timeOutMs: 30_000 });
    const loadStart = wallMs();
    let stopped = false;
    const gets: Samples = { sentWall: [], latencyMs: [] };
    const sets: Samples = { sentWall: [], latencyMs: [] };
    const loops = Promise.all([
      closedLoop(reader, 'getData', args, () => stopped, gets),
      closedLoop(writer, 'setData', args, () => stopped, sets),
    ]);
    let failure: unknown = null;
    void loops.catch((err: unknown) => {
      failure = err;
      stopped = true;
    });
    // Run until the first snapshot taken under load has ended and tailMs more have passed.
    let runtime: SnapshotEvent[] = [];
    while (!stopped) {
      await sleep(250);
      runtime = readLog(member).snapshots.filter((s) => s.endWall > loadStart);
      const first = runtime.find((s) => s.complete);
      const now = wallMs();
      if ((first !== undefined && now > first.endWall + args.tailMs) || now - loadStart > MAX_LOAD_MS) stopped = true;
    }
    await loops.catch(() => undefined);
    if (failure !== null) throw failure;
    const loadEnd = wallMs();
    const mem = memoryOf(member.pid);
    await reader.closeQuietly();
    await writer.closeQuietly();
    // Stopping lets tszk finish (and log) a snapshot still running; ZooKeeper's shows as begun, not ended.
    await member.stop(STOP_GRACE_MS);
    const parsed = readLog(member);
    runtime = parsed.snapshots
      .filter((s) => s.endWall > loadStart && s.startWall < loadEnd)
      .map((s) => (s.complete ? s : { ...s, endWall: loadEnd }));
    if (runtime.length === 0) log(`latency ${kind}: no snapshot within ${MAX_LOAD_MS} ms of load; raise the write count or lower --snap-count`);
    const during = (sent: number, latency: number): boolean => runtime.some((s) => sent <= s.endWall && sent + latency >= s.startWall);
    const duringMs = runtime.reduce((sum, s) => sum + (Math.min(s.endWall, loadEnd) - Math.max(s.startWall, loadStart)), 0);
    const outsideMs = loadEnd - loadStart - WARMUP_MS - duringMs;
    const stats = {} as LatencyRun['stats'];
    for (const [op, samples] of [['getData', gets], ['setData', sets]] as const) {
      const inWindow: number[] = [];
      const outWindow: number[] = [];
      for (let i = 0; i < samples.sentWall.length; i++) {
        const sent = samples.sentWall[i]!;
        const latency = samples.latencyMs[i]!;
        if (during(sent, latency)) inWindow.push(latency);
        else if (sent >= loadStart + WARMUP_MS) outWindow.push(latency);
      }
      stats[op] = { during: statsOf(inWindow, duringMs), outside: statsOf(outWindow, outsideMs) };
    }
    const r: LatencyRun = {
      kind, snapCount: args.snapCount, loadMs: loadEnd - loadStart, warmupMs: WARMUP_MS, snapshots: runtime,
      snapshotBytes: newSnapshotSizes(member.spec.dataDir, loadStart), stats, hwmMiB: mem.hwmMiB, errors: parsed.errors,
    };
    log(
      `latency ${kind}: ${runtime.length} snapshot(s) under load (${runtime.map((s) => `${fmt(s.ms)} ms`).join(', ')}); ` +
        `getData p99 ${fmt(stats.getData.during.p99, 2)} during vs ${fmt(stats.getData.outside.p99, 2)} ms outside; ` +
        `setData p99 ${fmt(stats.setData.during.p99, 2)} vs ${fmt(stats.setData.outside.p99, 2)} ms`,
    );
    return r;
  } finally {
    await cluster.stop(args.keep, STOP_GRACE_MS);
  }
}

// ---------------------------------------------------------------- the report

function report(machine: Machine, args: Args, built: BuiltDirs | null, restores: RestoreRun[], latencies: LatencyRun[]): string {
  const L: string[] = reportHeader('Persistence at 1M znodes: tszk vs ZooKeeper 3.8', 'bench/persist-1m.ts', machine);
  if (built !== null) {
    L.push(`Data: ${fmt(built.znodes)} znodes in all (${fmt(args.parents)} parents × ${fmt(args.nodes / args.parents - 1)} children, plus the root and /zookeeper's 3), ` +
      `100-byte data, written by tszk's snapshot writer: snapshot ${fmt(mib(built.snapshotBytes), 1)} MiB. ` +
      `The "snapshot+log" data dir adds a txn log of ${fmt(args.logTxns)} setData txns (with digests) after the snapshot. ` +
      `Each run starts on a fresh, fsynced copy; files are in the page cache for both servers. ` +
      `ZooKeeper runs with ${args.zkHeapMb === null ? "the JVM's default heap (no -Xmx, as Debian's zkServer.sh starts it)" : `-Xms/-Xmx ${args.zkHeapMb}m`}; tszk: ${tszkStartedFrom({ tszkCpuProfDir: args.tszkCpuProfDir ?? undefined, tszkNodeOptions: args.tszkNodeOptions ?? undefined })}.`);
    L.push('');
  }
  if (restores.length > 0) {
    L.push(`## Restore (median of ${args.runs})`, '');
    L.push('"First session" is process spawn to the first granted session, polled every 10 ms; it includes JVM or Node start-up, the restore and any snapshot the server writes before serving. ' +
      '"Own restore" is the server\'s log: tszk `database restored` ms; ZooKeeper `Snapshot loaded in X ms` (snapshot read plus txn replay; the replay alone is its `N txns loaded in X ms`). ' +
      '"Server CPU" is user+system time of the server process by then, all threads (a JVM spends some on JIT compilation and parallel GC): less disturbed than wall time by other jobs on a shared machine. ' +
      'ZooKeeper always writes a snapshot before serving (ZooKeeperServer.loadData → takeSnapshot); tszk writes one before serving only when it replayed txns.', '');
    L.push('| server | data dir | first session ms | server CPU ms by then | own restore ms | of which replay ms | start-up snapshot ms | VmHWM MiB after restore | VmRSS MiB |');
    L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const variant of ['snapshot', 'snapshot+log'] as const) {
      for (const kind of SERVER_KINDS) {
        const rs = restores.filter((r) => r.kind === kind && r.variant === variant);
        if (rs.length === 0) continue;
        const med = (f: (r: RestoreRun) => number | null): number | null => {
          const vs = rs.map(f).filter((v): v is number => v !== null && !Number.isNaN(v));
          return vs.length === 0 ? null : median(vs);
        };
        const all = (f: (r: RestoreRun) => number | null): string => rs.map((r) => fmt(f(r))).join(', ');
        L.push(`| ${kind} | ${variant} | **${fmt(med((r) => r.firstSessionMs))}** (${all((r) => r.firstSessionMs)}) | ${fmt(med((r) => r.cpuMsToFirstSession))} | ${fmt(med((r) => r.restoreMs))} (${all((r) => r.restoreMs)}) | ` +
          `${kind === 'zookeeper' ? fmt(med((r) => r.replayMs)) : '—'} | ${fmt(med((r) => r.startupSnapshotMs))} | ${fmt(med((r) => r.hwmMiB))} | ${fmt(med((r) => r.rssMiB))} |`);
      }
    }
    const mismatches = restores.reduce((s, r) => s + r.digestMismatches, 0);
    const errors = restores.flatMap((r) => r.errors.map((e) => `${r.kind}: ${e}`));
    L.push('');
    L.push(`ZooKeeper digest mismatches while replaying tszk's log: ${mismatches}.${errors.length > 0 ? ` Error lines: ${[...new Set(errors)].slice(0, 5).join(' | ')}` : ''}`);
    L.push('');
  }
  L.push('## Snapshot write of the 1M-node tree', '');
  L.push('Each server\'s own figure: tszk `snapshot written` ms (walk, serialize, write, fsync of the file and directory, as `forceSync=yes` does); ' +
    'ZooKeeper `Snapshot taken in X ms` (serialize and write; 3.8 does not fsync snapshots unless syncing a follower). ' +
    (built !== null ? `For scale: fsync of the base snapshot just after writing it took ${fmt(built.fsyncSnapshotMs)} ms here. ` : '') +
    'At start-up nothing else runs; under load it shares the machine with the latency clients below.', '');
  L.push('| server | when | runs | ms (median) | all ms | file MiB |');
  L.push('|---|---|---:|---:|---|---:|');
  for (const kind of SERVER_KINDS) {
    const startup = restores.filter((r) => r.kind === kind && r.startupSnapshotMs !== null);
    if (startup.length > 0) {
      L.push(`| ${kind} | start-up, after restore | ${startup.length} | **${fmt(median(startup.map((r) => r.startupSnapshotMs!)))}** | ${startup.map((r) => fmt(r.startupSnapshotMs)).join(', ')} | ` +
        `${fmt(mib(median(startup.map((r) => r.startupSnapshotBytes ?? NaN))), 1)} |`);
    }
    const under = latencies.filter((l) => l.kind === kind).flatMap((l) => l.snapshots);
    const bytes = latencies.filter((l) => l.kind === kind).flatMap((l) => l.snapshotBytes);
    if (under.length > 0) {
      L.push(`| ${kind} | under load (latency phase) | ${under.length} | **${fmt(median(under.map((s) => s.ms)))}** | ${under.map((s) => fmt(s.ms)).join(', ')} | ${bytes.length > 0 ? fmt(mib(median(bytes)), 1) : 'n/a'} |`);
    }
  }
  L.push('');
  if (latencies.length > 0) {
    L.push('## Request latency while a snapshot is written', '');
    L.push(`Each server starts on the snapshot-only data dir with snapCount=${args.snapCount}; two sessions then run closed loops, one request in flight each: ` +
      'getData of a random znode, and setData (100 bytes) of a random znode, until the first snapshot taken under load has ended plus ' +
      `${fmt(args.tailMs)} ms. A request is "during" when it overlaps a snapshot's interval from the server's log (end time minus its duration); ` +
      `"outside" is the rest, less the first ${fmt(WARMUP_MS)} ms (warm-up). Latency is measured in the bench process (Node), which shares the ${machine.nproc} cores.`, '');
    L.push('| server | op | window | requests | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | mean ms |');
    L.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const l of latencies) {
      for (const op of ['getData', 'setData'] as const) {
        for (const w of ['during', 'outside'] as const) {
          const s = l.stats[op][w];
          L.push(`| ${l.kind} | ${op} | ${w} | ${fmt(s.n)} | ${fmt(s.opsPerSec)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.p999, 2)} | ${fmt(s.max, 1)} | ${fmt(s.mean, 2)} |`);
        }
      }
    }
    L.push('');
    for (const l of latencies) {
      L.push(`- ${l.kind}: load ran ${fmt(l.loadMs)} ms; snapshots under load: ${l.snapshots.map((s) => `${fmt(s.ms)} ms`).join(', ') || 'none'}; VmHWM at the end ${fmt(l.hwmMiB)} MiB.`);
    }
    L.push('');
  }
  L.push('Raw figures: `persist-1m.jsonl` beside this file.', '');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const kinds = args.only === null ? SERVER_KINDS : [args.only];
  exitUnlessServers(kinds);
  const repo = repoRoot();
  const resultsDir = args.resultsDir ?? join(repo, 'bench', 'results');
  const machine = machineInfo(repo);
  logMachine(machine);
  const work = await mkdtemp(join(tmpdir(), 'tszk-persist-1m-'));
  const started = nowMs();
  let built: BuiltDirs | null = null;
  const restores: RestoreRun[] = [];
  const latencies: LatencyRun[] = [];
  try {
    built = await buildDataDirs(work, args);
    if (!args.skipRestore) restores.push(...(await restoreRuns(work, built, args, kinds)));
    if (!args.skipLatency) for (const kind of kinds) latencies.push(await latencyRun(work, built, args, kind));
  } finally {
    if (!args.keep) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  machine.loadAvgEnd = loadAverage();
  const md = report(machine, args, built, restores, latencies);
  const written = await writeResults(resultsDir, 'persist-1m', {
    md,
    jsonl: [
      { type: 'machine', ...machine, args },
      ...(built === null ? [] : [{ type: 'data', ...built, snapshotZxid: built.snapshotZxid.toString() }]),
      ...restores.map((r) => ({ type: 'restore', ...r })),
      ...latencies.map((l) => ({ type: 'latency', ...l })),
    ],
  });
  log(`done in ${fmt((nowMs() - started) / 1000, 1)} s; wrote ${written}`);
  process.stdout.write(md);
}

await main();
