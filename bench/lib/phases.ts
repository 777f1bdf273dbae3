// The phase sequences both comparison benches run: the pipelined load phases, and one session
// with one request in flight.
import type { Histogram } from './histogram.js';
import { LoadGenerator, type ReconnectMode } from './load-client.js';
import { fmt, log } from './machine.js';
import { measure, type MeasuredPhase } from './measure.js';
import type { Cluster } from './servers.js';

export const LOAD_PHASES = ['create', 'setData', 'getData', 'exists', 'mix', 'delete'] as const;
export type LoadPhase = (typeof LOAD_PHASES)[number];

/** A phase's name in tables and plots. */
export const phaseLabel = (name: string): string => (name === 'mix' ? '90/10 mix' : name);

export interface PhaseSet {
  phases: MeasuredPhase[];
  /** Latency of every request of a phase ('all'), by phase name. */
  histograms: Map<string, Histogram>;
}

export interface LoadPhaseOptions {
  phases: readonly string[];
  seconds: number;
  warmupSeconds: number;
  /** Unmeasured create then mix before the first phase (the JVM's JIT, tszk's V8 tiers). */
  prewarmSeconds: number;
  readPercent?: number;
}

export function logPhase(p: MeasuredPhase): void {
  const r = p.result;
  const notif = r.notifications > 0 ? `, ${fmt(r.notificationsPerSec)} notifications/s` : '';
  log(
    `${p.kind} ${p.name}: ${fmt(r.opsPerSec)} ops/s${notif}, p50 ${fmt(r.latency.p50, 2)} p99 ${fmt(r.latency.p99, 2)} p99.9 ${fmt(r.latency.p999, 2)} ms; ` +
      `errors ${r.errorTotal}${r.errorTotal > 0 ? ` ${JSON.stringify(r.errors)}` : ''}; servers CPU ${fmt(p.serverCpuMs / 1000, 1)} s, ` +
      `RSS ${fmt(p.serverPeakRssMiB)} MiB; client CPU ${fmt(r.clientCpuMs / 1000, 1)} s; ${p.problems.length} WARN+ lines`,
  );
}

/** How the load phases' generator connects: sessions spread over every server of the cluster. */
export interface LoadShape {
  sessions: number;
  depth: number;
  workers: number | undefined;
  dataBytes: number;
  reconnect?: ReconnectMode;
}

/** Opens a generator of that shape on the cluster, runs loadPhases on it, and closes it. */
export async function runLoadPhases(cluster: Cluster, o: LoadShape & LoadPhaseOptions): Promise<PhaseSet> {
  const load = await LoadGenerator.open({
    servers: cluster.addresses(), sessions: o.sessions, depth: o.depth, workers: o.workers, dataBytes: o.dataBytes, reconnect: o.reconnect, prefix: '/bench',
  });
  try {
    await load.setup();
    return await loadPhases(cluster, load, o);
  } finally {
    await load.close();
  }
}

/** create, setData, getData, exists, mix, delete (those in o.phases), on an open generator. */
export async function loadPhases(cluster: Cluster, load: LoadGenerator, o: LoadPhaseOptions): Promise<PhaseSet> {
  const out: PhaseSet = { phases: [], histograms: new Map() };
  const populate = async (): Promise<number> =>
    (await load.run({ op: 'create', durationMs: 120_000, maxOpsPerSession: 1000 })).result.keys;
  let keys = -1;
  if (o.prewarmSeconds > 0) {
    const half = (o.prewarmSeconds * 1000) / 2;
    await load.run({ op: 'create', durationMs: half });
    keys = (await load.run({ op: 'mix', durationMs: half, readPercent: o.readPercent ?? 90 })).result.keys;
    log(`${cluster.kind}: prewarm done`);
  }
  for (const op of LOAD_PHASES) {
    if (!o.phases.includes(op)) continue;
    // Phases that need keys, with no create phase or prewarm before them: 1,000 per session, unmeasured.
    if (op !== 'create' && keys <= 0) keys = await populate();
    const m = await measure(cluster, load, op, {
      op, durationMs: o.seconds * 1000, warmupMs: op === 'delete' ? 0 : o.warmupSeconds * 1000, readPercent: o.readPercent ?? 90,
    });
    keys = m.phase.result.keys;
    out.phases.push(m.phase);
    const all = m.histograms.get('all');
    if (all !== undefined) out.histograms.set(op, all);
    logPhase(m.phase);
  }
  return out;
}

/** One session with one request in flight against `address`: each op for `seconds` (creates first, so the others have keys). */
export async function singleSessionPhases(
  cluster: Cluster,
  address: string,
  o: { seconds: number; dataBytes: number; ops: readonly ('create' | 'setData' | 'getData' | 'exists')[] },
): Promise<PhaseSet> {
  const out: PhaseSet = { phases: [], histograms: new Map() };
  const single = await LoadGenerator.open({ servers: [address], sessions: 1, depth: 1, workers: 1, dataBytes: o.dataBytes, prefix: '/latency' });
  try {
    await single.setup();
    if (!o.ops.includes('create')) await single.run({ op: 'create', durationMs: 60_000, maxOpsPerSession: 1000 });
    for (const op of o.ops) {
      const m = await measure(cluster, single, `1 session: ${op}`, { op, durationMs: o.seconds * 1000, warmupMs: 500 });
      out.phases.push(m.phase);
      const all = m.histograms.get('all');
      if (all !== undefined) out.histograms.set(m.phase.name, all);
      logPhase(m.phase);
    }
  } finally {
    await single.close();
  }
  return out;
}
