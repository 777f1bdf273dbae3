// A standalone tszk beside a standalone ZooKeeper 3.8, one after the other on this machine, under
// the same workloads (bench/lib/load-client.ts speaking the wire protocol):
//   1. cold start: process spawn to the first granted session (fresh data dir), several runs;
//   2. throughput and latency, 16 sessions x 64 in flight, 100-byte data: create, setData, getData,
//      exists, a 90/10 getData/setData mix, delete;
//   3. one session with one request in flight: create, setData, getData, exists;
//   4. watch fan-out: many sessions watch one znode (getData with watch, re-armed after each
//      notification), one session writes it once every watcher is armed: notifications/s and the
//      delivery latency (write sent -> notification read);
//   5. connection storm: thousands of sessions opened and closed again: sessions/s;
//   6. 1 MB znodes (1,000,000 bytes: ZooKeeper's default jute.maxbuffer is 1 MiB - 1, and the
//      request around the data must fit too): getData and setData throughput (last: at a 1 GB heap
//      ZooKeeper can run out of memory here);
//   and per phase the server's CPU seconds and peak RSS, and the WARN/ERROR lines it logged.
//
// Run from the repository root (see bench/README.md): npm run bench:standalone, or
//   npm run bench:build && node bench/out/bench/standalone.js [options]
// Writes bench/results/standalone.md, .jsonl and .svg (--results DIR elsewhere); progress on
// stderr, the report on stdout.
import type { Histogram } from './lib/histogram.js';
import { commonDefaults, commonOptions, numberOption, parseOptions, textOption, type CommonArgs, type Option } from './lib/cli.js';
import { runComparison } from './lib/comparison.js';
import { LoadGenerator, type StormResult } from './lib/load-client.js';
import { fmt, log, type Machine } from './lib/machine.js';
import { logMarks, measure, problemsOutside, problemsSince, summarizeProblems, type MeasuredPhase } from './lib/measure.js';
import { logPhase, phaseLabel, runLoadPhases, singleSessionPhases } from './lib/phases.js';
import { latencyTable, median, problemsSection, ratio, reportHeader, resourcesTable, throughputTable } from './lib/report.js';
import {
  cpuMsOf,
  firstSessionMs,
  launchCluster,
  memoryOf,
  ResourceSampler,
  startCluster,
  type Cluster,
  type ClusterOptions,
  type LogLine,
  type MemberUsage,
  type ServerKind,
  tszkStartedFrom,
} from './lib/servers.js';

// ---------------------------------------------------------------- options

interface Args extends CommonArgs {
  coldStarts: number;
  watchers: number;
  bigBytes: number;
  bigSessions: number;
  bigDepth: number;
  bigNodes: number;
  stormSessions: number;
  stormConcurrency: number;
  skip: Set<string>;
}

const PARTS = ['cold', 'load', 'latency', 'watch', 'big', 'storm'] as const;

const OPTIONS: Option<Args>[] = [
  ...commonOptions<Args>(),
  numberOption('--cold-starts', 'cold start runs per server (3)', (a, v) => { a.coldStarts = v; }),
  numberOption('--watchers', 'watch fan-out: watching sessions (500)', (a, v) => { a.watchers = Math.max(1, v); }),
  numberOption('--big-bytes', 'large znode size (1000000)', (a, v) => { a.bigBytes = Math.max(1, v); }),
  numberOption('--big-sessions', 'large znodes: sessions (4)', (a, v) => { a.bigSessions = Math.max(1, v); }),
  numberOption('--big-depth', 'large znodes: requests in flight per session (4)', (a, v) => { a.bigDepth = Math.max(1, v); }),
  numberOption('--big-nodes', 'large znodes: how many (64)', (a, v) => { a.bigNodes = Math.max(1, v); }),
  numberOption('--storm-sessions', 'connection storm: sessions opened and closed (6000)', (a, v) => { a.stormSessions = Math.max(1, v); }),
  numberOption('--storm-concurrency', 'connection storm: ... at a time per load thread (32)', (a, v) => { a.stormConcurrency = Math.max(1, v); }),
  textOption('--skip', 'a,b', `parts to leave out: ${PARTS.join(',')}`, (a, v) => {
    for (const p of v.split(',').filter((x) => x !== '')) {
      if (!(PARTS as readonly string[]).includes(p)) throw new Error(`unknown part ${p}`);
      a.skip.add(p);
    }
  }),
];

function parseArgs(argv: readonly string[]): Args {
  const defaults: Args = {
    ...commonDefaults(), coldStarts: 3, watchers: 500, bigBytes: 1_000_000, bigSessions: 4, bigDepth: 4, bigNodes: 64,
    stormSessions: 6000, stormConcurrency: 32, skip: new Set(),
  };
  return parseOptions(argv, defaults, OPTIONS, 'node bench/out/bench/standalone.js');
}

// ---------------------------------------------------------------- parts

interface ColdStart {
  run: number;
  firstSessionMs: number;
  /** CPU the server had used by its first session. */
  cpuMs: number;
  rssMiB: number;
}

async function coldStarts(kind: ServerKind, args: Args, base: ClusterOptions): Promise<ColdStart[]> {
  const out: ColdStart[] = [];
  for (let run = 1; run <= args.coldStarts; run++) {
    const cluster = await launchCluster(base);
    const member = cluster.members[0]!;
    try {
      const ms = await firstSessionMs(member);
      const r: ColdStart = { run, firstSessionMs: ms, cpuMs: cpuMsOf(member.pid), rssMiB: memoryOf(member.pid).rssMiB };
      out.push(r);
      log(`${kind} cold start #${run}: first session after ${fmt(ms)} ms (CPU ${fmt(r.cpuMs)} ms, RSS ${fmt(r.rssMiB)} MiB)`);
    } finally {
      await cluster.stop(false);
    }
  }
  return out;
}

interface StormPhase {
  result: StormResult;
  usage: MemberUsage[];
  serverCpuMs: number;
  serverPeakRssMiB: number;
  problems: LogLine[];
}

async function stormPhase(cluster: Cluster, args: Args): Promise<StormPhase> {
  const workers = args.workers ?? 2;
  const gen = await LoadGenerator.open({ servers: cluster.addresses(), sessions: 0, depth: 1, workers, prefix: '/storm' });
  try {
    const marks = logMarks(cluster);
    const sampler = new ResourceSampler(cluster.running());
    const result = await gen.storm(Math.ceil(args.stormSessions / workers), args.stormConcurrency);
    const usage = sampler.stop();
    const p: StormPhase = {
      result, usage,
      serverCpuMs: usage.reduce((n, u) => n + u.cpuMs, 0),
      serverPeakRssMiB: usage.reduce((n, u) => n + u.peakRssMiB, 0),
      problems: problemsSince(cluster, marks),
    };
    log(`${cluster.kind} connection storm: ${fmt(result.ok)} sessions in ${fmt(result.elapsedMs)} ms = ${fmt(result.sessionsPerSec)} sessions/s, ` +
      `connect p50 ${fmt(result.connect.p50, 2)} p99 ${fmt(result.connect.p99, 2)} ms, ${result.failed} failed; server CPU ${fmt(p.serverCpuMs / 1000, 1)} s`);
    return p;
  } finally {
    await gen.close();
  }
}

// ---------------------------------------------------------------- one kind

interface KindResult {
  kind: ServerKind;
  cold: ColdStart[];
  load: MeasuredPhase[];
  latency: MeasuredPhase[];
  watch: MeasuredPhase | null;
  big: MeasuredPhase[];
  storm: StormPhase | null;
  histograms: Map<string, Histogram>;
  otherProblems: LogLine[];
  /** Parts not run because the server had died. */
  skipped: string[];
}

async function runKind(kind: ServerKind, args: Args): Promise<KindResult> {
  const base: ClusterOptions = { kind, size: 1, zkHeapMb: args.zkHeapMb, baseDir: args.baseDir, tszkCpuProfDir: args.tszkCpuProfDir, tszkNodeOptions: args.tszkNodeOptions };
  const out: KindResult = { kind, cold: [], load: [], latency: [], watch: null, big: [], storm: null, histograms: new Map(), otherProblems: [], skipped: [] };
  if (!args.skip.has('cold')) out.cold = await coldStarts(kind, args, base);

  const cluster = await startCluster(base);
  log(`${kind}: standalone serving; logs in ${cluster.dir}`);
  try {
    if (!args.skip.has('load')) {
      const set = await runLoadPhases(cluster, args);
      out.load = set.phases;
      for (const [n, h] of set.histograms) out.histograms.set(n, h);
    }

    if (!args.skip.has('latency') && args.latencySeconds > 0 && serving(cluster, out, 'single-session latency')) {
      const set = await singleSessionPhases(cluster, cluster.addresses()[0]!, { seconds: args.latencySeconds, dataBytes: args.dataBytes, ops: ['create', 'setData', 'getData', 'exists'] });
      out.latency = set.phases;
      for (const [n, h] of set.histograms) out.histograms.set(n, h);
    }

    if (!args.skip.has('watch') && serving(cluster, out, 'watch fan-out')) {
      const gen = await LoadGenerator.open({ servers: cluster.addresses(), sessions: args.watchers + 1, depth: 2, workers: args.workers, prefix: '/watch' });
      try {
        await gen.setup(['/watch/watched']);
        const m = await measure(cluster, gen, 'watch fan-out', { op: 'watch', durationMs: args.seconds * 1000, warmupMs: args.warmupSeconds * 1000 });
        out.watch = m.phase;
        const n = m.histograms.get('notification');
        if (n !== undefined) out.histograms.set('watch: notification delivery', n);
        logPhase(m.phase);
      } finally {
        await gen.close();
      }
    }

    if (!args.skip.has('storm') && serving(cluster, out, 'connection storm')) {
      out.storm = await stormPhase(cluster, args);
      out.histograms.set('connection storm: connect', out.storm.result.histograms.connect);
    }
    if (!args.skip.has('big') && serving(cluster, out, 'large znodes')) {
      const gen = await LoadGenerator.open({ servers: cluster.addresses(), sessions: args.bigSessions, depth: args.bigDepth, workers: args.workers, dataBytes: args.bigBytes, prefix: '/big' });
      try {
        await gen.setup();
        const perSession = Math.max(1, Math.ceil(args.bigNodes / args.bigSessions));
        const created = await measure(cluster, gen, `${mbName(args.bigBytes)} create`, { op: 'create', durationMs: 60_000, maxOpsPerSession: perSession });
        out.big.push(created.phase);
        logPhase(created.phase);
        // getData first: ZooKeeper with a 1 GB heap can run out of memory under 1 MB setData (its committed log keeps 500 proposals).
        for (const op of ['getData', 'setData'] as const) {
          const m = await measure(cluster, gen, `${mbName(args.bigBytes)} ${op}`, { op, durationMs: args.seconds * 1000, warmupMs: args.warmupSeconds * 1000 });
          out.big.push(m.phase);
          const all = m.histograms.get('all');
          if (all !== undefined) out.histograms.set(m.phase.name, all);
          logPhase(m.phase);
        }
        if (serving(cluster)) await gen.run({ op: 'delete', durationMs: 60_000 });
      } finally {
        await gen.close();
      }
    }
  } finally {
    out.otherProblems = problemsOutside(cluster, [...measuredPhases(out).map((p) => p.problems), out.storm?.problems ?? []]);
    await cluster.stop(args.keep);
  }
  return out;
}

/** The measured phases in report order; the connection storm is kept apart (it is no MeasuredPhase). */
function measuredPhases(r: KindResult): MeasuredPhase[] {
  return [...r.load, ...r.latency, ...(r.watch === null ? [] : [r.watch]), ...r.big];
}

/** True while the server runs; otherwise notes the part skipped because it had died. */
function serving(cluster: Cluster, out?: KindResult, part?: string): boolean {
  const up = cluster.members.every((m) => m.running);
  if (!up && out !== undefined && part !== undefined) {
    out.skipped.push(part);
    log(`${cluster.kind}: the server is gone; skipping ${part}`);
  }
  return up;
}

const mbName = (bytes: number): string => (bytes >= 1_000_000 ? `${fmt(bytes / 1_000_000, bytes % 1_000_000 === 0 ? 0 : 1)} MB` : `${fmt(bytes / 1000)} kB`);

// ---------------------------------------------------------------- the report

function report(machine: Machine, args: Args, results: readonly KindResult[]): string {
  const t = results.find((r) => r.kind === 'tszk');
  const z = results.find((r) => r.kind === 'zookeeper');
  const L: string[] = reportHeader('Standalone server: tszk vs ZooKeeper 3.8', 'bench/standalone.ts', machine);
  L.push(`Both servers standalone on 127.0.0.1, tickTime=2000, forceSync=yes (default), a fresh data dir under ${args.baseDir ?? 'the temp dir'}, maxClientCnxns=0. ` +
    `ZooKeeper: ${args.zkHeapMb > 0 ? `-Xms/-Xmx ${args.zkHeapMb} MiB` : "the JVM's default heap"}, default GC. tszk: ${tszkStartedFrom(args)}. ` +
    `They run one after the other (${results.map((r) => r.kind).join(', then ')}). The load generator (bench/lib/load-client.ts, ${args.workers ?? machine.nproc} threads) shares the machine. ` +
    'Latency is from encoding a request to reading its reply; ratio is tszk ÷ ZooKeeper (above 1 is better for rates, below 1 for latency and resources).', '');

  if ((t?.cold.length ?? 0) + (z?.cold.length ?? 0) > 0) {
    L.push('## Cold start', '');
    L.push(`Spawn of the process (node or java) to the first granted session, an empty data dir each time, probed every 10 ms; ${args.coldStarts} runs, median (all runs).`, '');
    L.push('| server | first session ms | CPU ms by then | RSS MiB then |');
    L.push('|---|---:|---:|---:|');
    for (const r of results) {
      if (r.cold.length === 0) continue;
      L.push(`| ${r.kind} | **${fmt(median(r.cold.map((c) => c.firstSessionMs)))}** (${r.cold.map((c) => fmt(c.firstSessionMs)).join(', ')}) | ` +
        `${fmt(median(r.cold.map((c) => c.cpuMs)))} | ${fmt(median(r.cold.map((c) => c.rssMiB)))} |`);
    }
    const ct = median((t?.cold ?? []).map((c) => c.firstSessionMs));
    const cz = median((z?.cold ?? []).map((c) => c.firstSessionMs));
    L.push('', `Ratio (tszk ÷ ZooKeeper): ${ratio(ct, cz)}.`, '');
  }

  if ((t?.load.length ?? 0) + (z?.load.length ?? 0) > 0) {
    L.push('## Throughput and latency', '');
    L.push(`${args.sessions} sessions × ${args.depth} requests in flight, ${args.dataBytes}-byte data; each phase ${args.warmupSeconds} s unmeasured then ${args.seconds} s measured ` +
      `(delete: until its keys run out); ${args.prewarmSeconds} s of unmeasured create+mix first.`, '');
    L.push(...throughputTable(t?.load ?? [], z?.load ?? [], phaseLabel));
    L.push('');
  }

  if ((t?.latency.length ?? 0) + (z?.latency.length ?? 0) > 0) {
    L.push('## One session, one request in flight', '');
    L.push(...latencyTable(t?.latency ?? [], z?.latency ?? [], (n) => n.replace('1 session: ', '')));
    L.push('');
  }

  if (t?.watch != null || z?.watch != null) {
    L.push('## Watch fan-out', '');
    L.push(`${fmt(args.watchers)} sessions each watch one znode (getData with watch=true, re-armed by another getData after each notification); one more session ` +
      'sets the znode once every watcher has re-armed (or 2 s passed), so each write fans out to every watcher. Delivery latency: the write sent → the notification read by a watcher.', '');
    L.push('| server | notifications/s | rounds/s | delivery p50 ms | p99 ms | p99.9 ms | write p50 ms | write p99 ms | errors | server CPU s | peak RSS MiB |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|');
    for (const r of results) {
      const w = r.watch;
      if (w === null) continue;
      const n = w.result.perOp['notification'];
      const s = w.result.perOp['setData'];
      const errs = Object.entries(w.result.errors).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') || '0';
      L.push(`| ${r.kind} | **${fmt(w.result.notificationsPerSec)}** | ${fmt(w.result.notificationsPerSec / args.watchers, 1)} | ${fmt(n?.p50, 2)} | ${fmt(n?.p99, 2)} | ${fmt(n?.p999, 2)} | ` +
        `${fmt(s?.p50, 2)} | ${fmt(s?.p99, 2)} | ${errs} | ${fmt(w.serverCpuMs / 1000, 1)} | ${fmt(w.serverPeakRssMiB)} |`);
    }
    L.push('', `Ratio of notifications/s (tszk ÷ ZooKeeper): ${ratio(t?.watch?.result.notificationsPerSec, z?.watch?.result.notificationsPerSec)}.`, '');
  }

  if ((t?.big.length ?? 0) + (z?.big.length ?? 0) > 0) {
    L.push(`## ${mbName(args.bigBytes)} znodes`, '');
    L.push(`${args.bigSessions} sessions × ${args.bigDepth} in flight; create makes ${args.bigNodes} znodes of ${fmt(args.bigBytes)} bytes (all of it measured), ` +
      'then getData and setData (in that order) pick among them. MB/s counts payload bytes (10^6).', '');
    L.push('| phase | tszk ops/s | ZK ops/s | ratio | tszk MB/s | ZK MB/s | tszk p50 ms | ZK p50 ms | tszk p99 ms | ZK p99 ms | tszk peak RSS MiB | ZK peak RSS MiB | errors tszk / ZK |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    const bigNames = [...new Set([...(t?.big ?? []), ...(z?.big ?? [])].map((p) => p.name))];
    for (const name of bigNames) {
      const a = t?.big.find((p) => p.name === name);
      const b = z?.big.find((p) => p.name === name);
      const mbs = (p: MeasuredPhase | undefined): number => ((p?.result.opsPerSec ?? NaN) * args.bigBytes) / 1e6;
      const died = a?.serversDied === true || b?.serversDied === true ? ` (${[a, b].filter((p) => p?.serversDied === true).map((p) => p!.kind).join(', ')} died)` : '';
      L.push(`| ${name}${died} | **${fmt(a?.result.opsPerSec, 1)}** | **${fmt(b?.result.opsPerSec, 1)}** | ${ratio(a?.result.opsPerSec, b?.result.opsPerSec)} | ${fmt(mbs(a))} | ${fmt(mbs(b))} | ` +
        `${fmt(a?.result.latency.p50, 1)} | ${fmt(b?.result.latency.p50, 1)} | ${fmt(a?.result.latency.p99, 1)} | ${fmt(b?.result.latency.p99, 1)} | ` +
        `${fmt(a?.serverPeakRssMiB)} | ${fmt(b?.serverPeakRssMiB)} | ${a?.result.errorTotal ?? 'n/a'} / ${b?.result.errorTotal ?? 'n/a'} |`);
    }
    L.push('');
  }

  if (t?.storm != null || z?.storm != null) {
    L.push('## Connection storm', '');
    L.push(`${fmt(args.stormSessions)} sessions, ${args.stormConcurrency} at a time per load thread: connect, ConnectRequest, ConnectResponse, closeSession, its reply, close. ` +
      '"Connect" is TCP connect to the session granted; "whole" adds the closeSession round trip.', '');
    L.push('| server | sessions/s | connect p50 ms | p99 ms | p99.9 ms | whole p50 ms | whole p99 ms | failed | server CPU s | CPU ms per session | peak RSS MiB |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const s = r.storm;
      if (s === null) continue;
      L.push(`| ${r.kind} | **${fmt(s.result.sessionsPerSec)}** | ${fmt(s.result.connect.p50, 2)} | ${fmt(s.result.connect.p99, 2)} | ${fmt(s.result.connect.p999, 2)} | ` +
        `${fmt(s.result.total.p50, 2)} | ${fmt(s.result.total.p99, 2)} | ${s.result.failed} | ${fmt(s.serverCpuMs / 1000, 1)} | ${fmt(s.serverCpuMs / Math.max(1, s.result.ok), 2)} | ${fmt(s.serverPeakRssMiB)} |`);
    }
    L.push('', `Ratio of sessions/s (tszk ÷ ZooKeeper): ${ratio(t?.storm?.result.sessionsPerSec, z?.storm?.result.sessionsPerSec)}.`, '');
  }

  for (const r of results) {
    const died = measuredPhases(r).filter((p) => p.serversDied).map((p) => p.name);
    if (died.length > 0 || r.skipped.length > 0) {
      const skipped = r.skipped.length > 0 ? `not run afterwards: ${r.skipped.join(', ')}` : 'that was the last part';
      L.push(`**${r.kind}: the server process died during ${died.join(', ') || 'a phase'}; ${skipped}.** Its last ERROR lines are quoted at the end.`, '');
    }
  }

  L.push('## Server resources per phase', '');
  L.push(...resourcesTable(t === undefined ? [] : measuredPhases(t), z === undefined ? [] : measuredPhases(z), 1));
  L.push('');

  L.push('## What the servers logged (WARN and worse)', '');
  L.push(...problemsSection(results.map((r) => {
    const sections: Array<readonly [string, readonly LogLine[]]> = measuredPhases(r).map((p) => [p.name, p.problems] as const);
    if (r.storm !== null) sections.push(['connection storm', r.storm.problems] as const);
    sections.push(['outside the phases (start-up, prewarm, stop)', r.otherProblems] as const);
    return { kind: r.kind, sections };
  })));
  L.push('Raw figures: `standalone.jsonl` beside this file; latency distributions: `standalone.svg`.', '');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

function records(results: readonly KindResult[]): object[] {
  const lines: object[] = [];
  for (const r of results) {
    for (const c of r.cold) lines.push({ type: 'coldStart', kind: r.kind, ...c });
    for (const p of measuredPhases(r)) lines.push({ type: 'phase', ...p, problems: p.problems.length, problemSummary: summarizeProblems(p.problems) });
    if (r.storm !== null) {
      const { histograms: _h, ...rest } = r.storm.result;
      lines.push({ type: 'storm', kind: r.kind, ...rest, usage: r.storm.usage, serverCpuMs: r.storm.serverCpuMs, serverPeakRssMiB: r.storm.serverPeakRssMiB, problems: r.storm.problems.length });
    }
    lines.push({ type: 'otherProblems', kind: r.kind, count: r.otherProblems.length, summary: summarizeProblems(r.otherProblems, 20) });
    if (r.skipped.length > 0) lines.push({ type: 'skipped', kind: r.kind, parts: r.skipped, reason: 'server died' });
  }
  return lines;
}

await runComparison({
  name: 'standalone',
  args: parseArgs(process.argv.slice(2)),
  runKind,
  report,
  records,
  svgTitle: 'Standalone server: latency, tszk vs ZooKeeper 3.8',
  svgNote: (args) =>
    `${args.sessions} sessions x ${args.depth} in flight, ${args.dataBytes}-byte data (load phases); 1 x 1 ("1 session"); ${args.watchers} watchers; ` +
    `${mbName(args.bigBytes)} znodes ${args.bigSessions} x ${args.bigDepth}. Percentile spectrum: lower is better.`,
});
