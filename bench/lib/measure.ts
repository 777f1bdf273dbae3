// One measured phase: the load generator's figures plus what the servers used meanwhile (CPU,
// peak RSS) and the WARN/ERROR lines they logged during it.
import type { Histogram } from './histogram.js';
import type { LoadGenerator, PhaseResult, RunOptions } from './load-client.js';
import type { PhaseEvents } from './load-protocol.js';
import { logSize, problemLines, ResourceSampler, type Cluster, type LogLine, type MemberUsage } from './servers.js';

export interface MeasuredPhase {
  kind: string;
  /** The name in the report, e.g. "create" or "latency getData". */
  name: string;
  result: PhaseResult;
  usage: MemberUsage[];
  /** Sum over members. */
  serverCpuMs: number;
  serverPeakRssMiB: number;
  problems: LogLine[];
  /** Every server process was gone before the phase ended (it was cut short). */
  serversDied: boolean;
}

export interface MeasuredRun {
  phase: MeasuredPhase;
  histograms: Map<string, Histogram>;
  events: PhaseEvents | null;
}

/** Log positions of every member, to read only what a phase adds. */
export function logMarks(cluster: Cluster): Map<number, number> {
  return new Map(cluster.members.map((m) => [m.sid, logSize(m)]));
}

export function problemsSince(cluster: Cluster, marks: Map<number, number>): LogLine[] {
  return cluster.members.flatMap((m) => problemLines(m, marks.get(m.sid) ?? 0));
}

/** Every problem line the cluster logged that is not among `attributed` (those of the phases). */
export function problemsOutside(cluster: Cluster, attributed: ReadonlyArray<readonly LogLine[]>): LogLine[] {
  const seen = new Set<string>();
  for (const lines of attributed) for (const l of lines) seen.add(`${l.sid} ${l.text}`);
  return cluster.members.flatMap((m) => problemLines(m, 0)).filter((l) => !seen.has(`${l.sid} ${l.text}`));
}

export async function measure(
  cluster: Cluster,
  load: LoadGenerator,
  name: string,
  run: RunOptions,
  during?: (startedAt: number) => Promise<void>,
): Promise<MeasuredRun> {
  const marks = logMarks(cluster);
  const sampler = new ResourceSampler(cluster.running());
  const started = performance.now();
  const phase = load.run(run);
  // A cluster with no server left running cannot answer: end the phase instead of waiting it out.
  let aborted = false;
  const watchdog = setInterval(() => {
    if (!aborted && cluster.members.every((m) => !m.running)) {
      aborted = true;
      load.abort();
    }
  }, 200);
  try {
    if (during !== undefined) await during(started);
  } finally {
    void phase.finally(() => clearInterval(watchdog));
  }
  const { result, histograms, events } = await phase;
  const usage = sampler.stop();
  const problems = problemsSince(cluster, marks);
  return {
    phase: {
      kind: cluster.kind,
      name,
      result,
      usage,
      serverCpuMs: usage.reduce((a, u) => a + (Number.isNaN(u.cpuMs) ? 0 : u.cpuMs), 0),
      serverPeakRssMiB: usage.reduce((a, u) => a + (Number.isNaN(u.peakRssMiB) ? 0 : u.peakRssMiB), 0),
      problems,
      serversDied: aborted,
    },
    histograms,
    events,
  };
}

/** Distinct problem lines (messages without times and ids), most frequent first, with counts. */
export function summarizeProblems(lines: readonly LogLine[], max = 8): Array<{ count: number; level: string; sid: number; example: string }> {
  const groups = new Map<string, { count: number; level: string; sid: number; example: string }>();
  for (const line of lines) {
    const key = `${line.level} ${normalize(line.text)}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { count: 1, level: line.level, sid: line.sid, example: line.text });
    else g.count++;
  }
  return [...groups.values()].sort((a, b) => b.count - a.count).slice(0, max);
}

function normalize(text: string): string {
  if (text.startsWith('{')) {
    try {
      const rec = JSON.parse(text) as Record<string, unknown>;
      return String(rec['msg'] ?? text);
    } catch {
      // fall through
    }
  }
  return text
    .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} /, '')
    .replace(/0x[0-9a-f]+/gi, '0x…')
    .replace(/\d+/g, 'N');
}
