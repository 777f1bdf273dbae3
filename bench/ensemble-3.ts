// A 3-server tszk ensemble beside a 3-server ZooKeeper 3.8 ensemble, one after the other on this
// machine, under the same workload (bench/lib/load-client.ts speaking the wire protocol):
//   1. throughput and latency, 16 sessions x 64 requests in flight spread over all 3 servers, 100-byte
//      data: create, setData, getData, exists, a 90/10 getData/setData mix, delete;
//   2. single-session latency (one request in flight) against a follower: create, setData, getData;
//   3. failover: with setData running from every session, kill -9 the leader and time the first
//      successful write sent after the kill (sessions reconnect to the next server with their
//      session id and password), plus how long until srvr names a new leader and the write rate is
//      back to half of what it was;
//   4. per phase: CPU seconds and peak RSS of the servers, and the WARN/ERROR lines they logged.
//
// Run from the repository root (see bench/README.md): npm run bench:ensemble, or
//   npm run bench:build && node bench/out/bench/ensemble-3.js [options]
// Writes bench/results/ensemble-3.md, .jsonl and .svg (--results DIR elsewhere); progress on
// stderr, the Markdown report on stdout.
import { commonDefaults, commonOptions, numberOption, parseOptions, textOption, type CommonArgs, type Option } from './lib/cli.js';
import { runComparison } from './lib/comparison.js';
import type { Histogram } from './lib/histogram.js';
import { LoadGenerator, type PhaseResult } from './lib/load-client.js';
import { wallNow, type PhaseEvents } from './lib/load-protocol.js';
import { fmt, log, type Machine } from './lib/machine.js';
import { measure, problemsOutside, summarizeProblems, type MeasuredPhase } from './lib/measure.js';
import { phaseLabel, runLoadPhases, singleSessionPhases } from './lib/phases.js';
import { latencyTable, median, problemsSection, ratio, reportHeader, resourcesTable, throughputTable } from './lib/report.js';
import { sleep, startCluster, tszkStartedFrom, type Cluster, type LogLine, type ServerKind } from './lib/servers.js';

// ---------------------------------------------------------------- options

interface Args extends CommonArgs {
  failoverRuns: number;
  failoverBeforeMs: number;
  failoverAfterMs: number;
  reconnect: 'resume' | 'fresh';
  tickTimeMs: number;
}

const OPTIONS: Option<Args>[] = [
  ...commonOptions<Args>(),
  numberOption('--failover-runs', 'leader kills per server kind (2; 0 skips failover)', (a, v) => { a.failoverRuns = v; }),
  numberOption('--failover-before-ms', 'write load before the kill (3000; at least 1500)', (a, v) => { a.failoverBeforeMs = Math.max(1500, v); }),
  numberOption('--failover-after-ms', 'write load after the kill (8000)', (a, v) => { a.failoverAfterMs = v; }),
  textOption('--reconnect', 'resume|fresh', 'after a connection loss: same session id on the next server, or a new session (resume)', (a, v) => {
    if (v !== 'resume' && v !== 'fresh') throw new Error('--reconnect takes resume or fresh');
    a.reconnect = v;
  }),
  numberOption('--tick-ms', 'tickTime of both ensembles (2000; initLimit 10, syncLimit 5)', (a, v) => { a.tickTimeMs = v; }),
];

function parseArgs(argv: readonly string[]): Args {
  const defaults: Args = { ...commonDefaults(), failoverRuns: 2, failoverBeforeMs: 3000, failoverAfterMs: 8000, reconnect: 'resume', tickTimeMs: 2000 };
  return parseOptions(argv, defaults, OPTIONS, 'node bench/out/bench/ensemble-3.js');
}

// ---------------------------------------------------------------- failover

interface FailoverRun {
  kind: ServerKind;
  run: number;
  killedSid: number;
  killWall: number;
  /** Kill -> first successful write among those sent after the kill, ms. */
  firstWriteMs: number;
  /** Kill -> srvr on a survivor names a new leader, ms (polled every 50 ms). */
  newLeaderMs: number;
  newLeaderSid: number | null;
  /** Kill -> the first 250 ms bucket whose write rate is at least half the rate before the kill, ms (bucket end). */
  halfRateMs: number;
  /** Kill -> the last session serving again, ms. */
  allReconnectedMs: number;
  preKillOpsPerSec: number;
  /** Write rate over the last 3 s of the run (two servers left). */
  postOpsPerSec: number;
  /** Writes sent before the kill whose reply came after it (successful). */
  straddling: number;
  connLosses: number;
  reconnects: PhaseResult['reconnects'];
  errors: Record<string, number>;
  unanswered: number;
  /** Successful writes per 100 ms from 1 s before the kill to the end. */
  timeline100ms: number[];
  problems: LogLine[];
}

function analyseFailover(ev: PhaseEvents, killWall: number, beforeMs: number, endWall: number): Omit<FailoverRun, 'kind' | 'run' | 'killedSid' | 'killWall' | 'newLeaderMs' | 'newLeaderSid' | 'connLosses' | 'reconnects' | 'errors' | 'unanswered' | 'problems'> {
  const preFrom = killWall - (beforeMs - 1000);
  let pre = 0;
  let firstDone = Infinity;
  let straddling = 0;
  let post = 0;
  const postFrom = endWall - 3000;
  const timelineStart = killWall - 1000;
  const timeline = new Array<number>(Math.max(0, Math.ceil((endWall - timelineStart) / 100))).fill(0);
  const buckets250 = new Array<number>(Math.max(0, Math.ceil((endWall - killWall) / 250))).fill(0);
  for (let i = 0; i < ev.okDone.length; i++) {
    const done = ev.okDone[i]!;
    const sent = ev.okSent[i]!;
    if (done >= preFrom && done < killWall) pre++;
    if (sent >= killWall && done < firstDone) firstDone = done;
    if (sent < killWall && done >= killWall) straddling++;
    if (done >= postFrom && done <= endWall) post++;
    const t = Math.floor((done - timelineStart) / 100);
    if (t >= 0 && t < timeline.length) timeline[t]!++;
    const b = Math.floor((done - killWall) / 250);
    if (b >= 0 && b < buckets250.length) buckets250[b]!++;
  }
  const preRate = (pre / (beforeMs - 1000)) * 1000;
  let halfRateMs = NaN;
  for (let b = 0; b < buckets250.length; b++) {
    // Skip buckets that only hold replies to writes sent before the kill.
    if ((b + 1) * 250 + killWall < firstDone) continue;
    if (buckets250[b]! * 4 >= preRate / 2) {
      halfRateMs = (b + 1) * 250;
      break;
    }
  }
  let lastReconnect = NaN;
  for (const w of ev.reconnectWall) if (w >= killWall && !(w <= lastReconnect)) lastReconnect = w;
  return {
    firstWriteMs: Number.isFinite(firstDone) ? firstDone - killWall : NaN,
    halfRateMs,
    allReconnectedMs: lastReconnect - killWall,
    preKillOpsPerSec: preRate,
    postOpsPerSec: (post / 3000) * 1000,
    straddling,
    timeline100ms: timeline,
  };
}

async function failoverRun(cluster: Cluster, args: Args, run: number): Promise<FailoverRun> {
  const leader = await cluster.waitServing();
  const load = await LoadGenerator.open({
    servers: cluster.addresses(), sessions: args.sessions, depth: args.depth, workers: args.workers,
    dataBytes: args.dataBytes, reconnect: args.reconnect, prefix: `/failover${run}`,
  });
  try {
    await load.setup();
    await load.run({ op: 'create', durationMs: 60_000, maxOpsPerSession: 100 });
    let killWall = NaN;
    let newLeaderMs = NaN;
    let newLeaderSid: number | null = null;
    const measured = await measure(
      cluster, load, `failover #${run}`,
      { op: 'setData', durationMs: args.failoverBeforeMs + args.failoverAfterMs, recordEvents: true, drainTimeoutMs: 10_000 },
      async () => {
        await sleep(50 + args.failoverBeforeMs);
        killWall = wallNow();
        await cluster.kill9(leader.sid);
        const deadline = performance.now() + args.failoverAfterMs;
        while (performance.now() < deadline) {
          const modes = await cluster.modes();
          const found = [...modes].find(([sid, mode]) => mode === 'leader' && sid !== leader.sid);
          if (found !== undefined) {
            newLeaderMs = wallNow() - killWall;
            newLeaderSid = found[0];
            break;
          }
          await sleep(50);
        }
      },
    );
    const r = measured.phase.result;
    const a = analyseFailover(measured.events ?? emptyEvents(), killWall, args.failoverBeforeMs, r.startWall + r.durationMs);
    const out: FailoverRun = {
      kind: cluster.kind, run, killedSid: leader.sid, killWall, newLeaderMs, newLeaderSid, ...a,
      connLosses: r.connLosses, reconnects: r.reconnects, errors: r.errors, unanswered: r.unanswered, problems: measured.phase.problems,
    };
    log(
      `${cluster.kind} failover #${run}: killed leader ${leader.sid}; first write ${fmt(out.firstWriteMs)} ms after the kill, ` +
        `new leader ${String(newLeaderSid)} in srvr after ${fmt(newLeaderMs)} ms, half rate after ${fmt(out.halfRateMs)} ms; ` +
        `${r.connLosses} connection losses, reconnects ${JSON.stringify(r.reconnects)}, errors ${JSON.stringify(r.errors)}`,
    );
    return out;
  } finally {
    await load.close();
    cluster.restart(leader.sid);
    await cluster.waitServing(90_000);
  }
}

function emptyEvents(): PhaseEvents {
  const e = new Float64Array(0);
  return { okSent: e, okDone: e, errDone: e, lossWall: e, reconnectWall: e };
}

// ---------------------------------------------------------------- one kind

interface KindResult {
  kind: ServerKind;
  startMs: number;
  phases: MeasuredPhase[];
  latency: MeasuredPhase[];
  failovers: FailoverRun[];
  /** Problems logged outside the measured phases (start-up, prewarm, heals). */
  otherProblems: LogLine[];
  /** Failover runs that could not finish (the ensemble did not heal, say). */
  failoverErrors: string[];
  logDir: string;
  /** Latency histograms of every phase, by phase name, for the SVG. */
  histograms: Map<string, Histogram>;
}

async function runKind(kind: ServerKind, args: Args): Promise<KindResult> {
  const t0 = performance.now();
  log(`${kind}: starting 3 servers`);
  const cluster = await startCluster({
    kind, size: 3, tickTimeMs: args.tickTimeMs, zkHeapMb: args.zkHeapMb, baseDir: args.baseDir, tszkCpuProfDir: args.tszkCpuProfDir, tszkNodeOptions: args.tszkNodeOptions,
  });
  const startMs = performance.now() - t0;
  const leader = await cluster.leader();
  log(`${kind}: serving after ${fmt(startMs)} ms, leader ${leader.sid}; logs in ${cluster.dir}`);
  const out: KindResult = { kind, startMs, phases: [], latency: [], failovers: [], otherProblems: [], failoverErrors: [], logDir: cluster.dir, histograms: new Map() };
  try {
    const set = await runLoadPhases(cluster, args);
    out.phases.push(...set.phases);
    for (const [name, h] of set.histograms) out.histograms.set(name, h);

    if (args.latencySeconds > 0) {
      const follower = [...(await cluster.modes())].find(([, mode]) => mode === 'follower')?.[0] ?? cluster.members[0]!.sid;
      const set = await singleSessionPhases(cluster, cluster.member(follower).address, {
        seconds: args.latencySeconds, dataBytes: args.dataBytes, ops: ['create', 'setData', 'getData'],
      });
      out.latency.push(...set.phases);
      for (const [name, h] of set.histograms) out.histograms.set(name, h);
    }

    for (let run = 1; run <= args.failoverRuns; run++) {
      try {
        out.failovers.push(await failoverRun(cluster, args, run));
      } catch (error) {
        // A server that does not come back is a finding, not a reason to lose the other figures.
        const text = String((error as Error)?.message ?? error).slice(0, 3000);
        out.failoverErrors.push(`run ${run}: ${text}`);
        log(`${kind} failover #${run} failed: ${text}`);
        break;
      }
    }
  } finally {
    out.otherProblems = problemsOutside(cluster, [...out.phases, ...out.latency, ...out.failovers].map((p) => p.problems));
    await cluster.stop(args.keep);
  }
  return out;
}

// ---------------------------------------------------------------- the report

function report(machine: Machine, args: Args, results: readonly KindResult[]): string {
  const t = results.find((r) => r.kind === 'tszk');
  const z = results.find((r) => r.kind === 'zookeeper');
  const L: string[] = reportHeader('3-server ensemble: tszk vs ZooKeeper 3.8', 'bench/ensemble-3.ts', machine);
  L.push(`Both ensembles: 3 servers on 127.0.0.1, tickTime=${args.tickTimeMs}, initLimit=10, syncLimit=5, forceSync=yes (default), fresh data dirs under ${args.baseDir ?? 'the temp dir'}, ` +
    `maxClientCnxns=0. ZooKeeper: ${args.zkHeapMb > 0 ? `-Xms/-Xmx ${args.zkHeapMb} MiB per server` : "the JVM's default heap"}, default GC. tszk: ${tszkStartedFrom(args)}. ` +
    `They run one after the other (${results.map((r) => r.kind).join(', then ')}), never together.`, '');
  L.push(`Load: ${args.sessions} sessions × ${args.depth} requests in flight, session i on server i mod 3, ${args.dataBytes}-byte data, ` +
    `${args.workers ?? machine.nproc} load threads speaking the wire protocol (bench/lib/load-client.ts) on the same machine. ` +
    `Each phase runs ${args.warmupSeconds} s unmeasured then ${args.seconds} s measured (delete: until its keys run out, at most ${args.seconds} s); ` +
    `${args.prewarmSeconds} s of create+mix ran first, unmeasured, so the JVM's JIT has compiled the hot paths. ` +
    'Latency is from encoding a request to reading its reply, on the client; ops/s counts replies inside the window. Ratio: tszk ÷ ZooKeeper ' +
    '(above 1 is better for ops/s, below 1 is better for latency).', '');

  L.push('## Throughput and latency', '');
  L.push(...throughputTable(t?.phases ?? [], z?.phases ?? [], phaseLabel));
  const mixA = t?.phases.find((p) => p.name === 'mix')?.result;
  const mixB = z?.phases.find((p) => p.name === 'mix')?.result;
  if (mixA !== undefined || mixB !== undefined) {
    const part = (r: PhaseResult | undefined, op: string): string => {
      const s = r?.perOp[op];
      return s === undefined ? 'n/a' : `p50 ${fmt(s.p50, 2)} / p99 ${fmt(s.p99, 1)} ms`;
    };
    L.push('', `In the mix, reads: tszk ${part(mixA, 'getData')}, ZooKeeper ${part(mixB, 'getData')}; writes: tszk ${part(mixA, 'setData')}, ZooKeeper ${part(mixB, 'setData')}.`);
  }
  L.push('');

  if ((t?.latency.length ?? 0) + (z?.latency.length ?? 0) > 0) {
    L.push('## One session, one request in flight (against a follower)', '');
    L.push(...latencyTable(t?.latency ?? [], z?.latency ?? [], (n) => n.replace('1 session: ', '')));
    L.push('');
  }

  if ((t?.failovers.length ?? 0) + (z?.failovers.length ?? 0) > 0) {
    L.push('## Failover: kill -9 of the leader under write load', '');
    L.push(`All ${args.sessions} sessions (fresh ones, spread over the 3 servers, ${args.depth} in flight each) run setData on 100 keys each; ` +
      `${fmt(args.failoverBeforeMs)} ms in, the leader's process group gets SIGKILL; the load runs ${fmt(args.failoverAfterMs)} ms more. ` +
      `A session that loses its connection fails its in-flight requests (connectionLoss) and ${args.reconnect === 'resume'
        ? 'reconnects to the next server in the list with the same session id and password (as the Java client does; lastZxidSeen included)'
        : 'opens a new session on the next server in the list'}; ` +
      'failed attempts back off 20 ms more each time, up to 100 ms. Then the killed server is restarted and the ensemble heals before the next run. ' +
      '"First write" is the first successful write among those sent after the kill; "new leader" is when `srvr` on a survivor first says leader (polled every 50 ms); ' +
      '"half rate" is the end of the first 250 ms after the kill in which writes completed at half the rate before the kill; "all back" is when the last session was serving again.', '');
    L.push('| server | run | killed | first write ms | new leader ms | half rate ms | all back ms | writes/s before | after (2 servers) | conn. losses | reconnects (resumed/new/expired/failed attempts) | errors |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
    for (const r of [...(t?.failovers ?? []), ...(z?.failovers ?? [])]) {
      const rc = r.reconnects;
      const errs = Object.entries(r.errors).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') || '0';
      L.push(`| ${r.kind} | ${r.run} | ${r.killedSid} | **${fmt(r.firstWriteMs)}** | ${fmt(r.newLeaderMs)} | ${fmt(r.halfRateMs)} | ${fmt(r.allReconnectedMs)} | ` +
        `${fmt(r.preKillOpsPerSec)} | ${fmt(r.postOpsPerSec)} | ${r.connLosses} | ${rc.resumed}/${rc.fresh}/${rc.expired}/${rc.failedAttempts} | ${errs}${r.unanswered > 0 ? `, unanswered ${r.unanswered}` : ''} |`);
    }
    for (const r of results) for (const e of r.failoverErrors) L.push('', `**${r.kind} failover ${e.split('\n')[0]}** (details in ensemble-3.jsonl)`);
    const ft = median((t?.failovers ?? []).map((r) => r.firstWriteMs));
    const fz = median((z?.failovers ?? []).map((r) => r.firstWriteMs));
    L.push('', `Median kill → first successful write: tszk **${fmt(ft)} ms**, ZooKeeper **${fmt(fz)} ms** (ratio ${ratio(ft, fz)}).`, '');
  }

  L.push('## Server resources per phase', '');
  L.push(...resourcesTable([...(t?.phases ?? []), ...(t?.latency ?? [])], [...(z?.phases ?? []), ...(z?.latency ?? [])], 3));
  L.push('');
  for (const r of results) L.push(`- ${r.kind}: start to all three serving ${fmt(r.startMs)} ms.`);
  L.push('');

  L.push('## What the servers logged (WARN and worse)', '');
  L.push(...problemsSection(results.map((r) => {
    const sections: Array<readonly [string, readonly LogLine[]]> = [...r.phases, ...r.latency].map((p) => [p.name, p.problems] as const);
    for (const f of r.failovers) sections.push([`failover #${f.run}`, f.problems] as const);
    sections.push(['outside the phases (start-up, prewarm, heal, stop)', r.otherProblems] as const);
    return { kind: r.kind, sections };
  })));
  L.push('Raw figures: `ensemble-3.jsonl` beside this file (one line per phase and per failover run, with per-server usage and the write timeline around each kill). ' +
    'Latency distributions: `ensemble-3.svg`.', '');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

function records(results: readonly KindResult[], args: Args): object[] {
  const lines: object[] = [];
  for (const r of results) {
    lines.push({ type: 'start', kind: r.kind, startMs: r.startMs, logDir: args.keep ? r.logDir : null });
    for (const p of [...r.phases, ...r.latency]) lines.push({ type: 'phase', ...p, problems: p.problems.length, problemSummary: summarizeProblems(p.problems) });
    for (const f of r.failovers) lines.push({ type: 'failover', ...f, problems: f.problems.length, problemSummary: summarizeProblems(f.problems) });
    lines.push({ type: 'otherProblems', kind: r.kind, count: r.otherProblems.length, summary: summarizeProblems(r.otherProblems, 20) });
    for (const e of r.failoverErrors) lines.push({ type: 'failoverError', kind: r.kind, error: e });
  }
  return lines;
}

await runComparison({
  name: 'ensemble-3',
  args: parseArgs(process.argv.slice(2)),
  runKind,
  report,
  records,
  svgTitle: '3-server ensemble: request latency, tszk vs ZooKeeper 3.8',
  svgNote: (args) =>
    `${args.sessions} sessions x ${args.depth} in flight over 3 servers (1 session x 1 for the "1 session" panels); ${args.dataBytes}-byte data. Percentile spectrum: lower is better.`,
});
