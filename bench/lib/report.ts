// Markdown pieces the benches share: the header, and tables of tszk beside ZooKeeper with a ratio column.
import type { PhaseResult } from './load-client.js';
import { fmt, machineLine, type Machine } from './machine.js';
import { summarizeProblems, type MeasuredPhase } from './measure.js';
import type { LogLine } from './servers.js';

/** The title, then which script wrote the report, when, and on what machine. */
export function reportHeader(title: string, script: string, machine: Machine): string[] {
  return [`# ${title}`, '', `Written by \`${script}\` on ${machine.date}. Machine: ${machineLine(machine)} Shared machine: compare within this run, not across runs.`, ''];
}

/** a ÷ b as "1.23×", or n/a. */
export const ratio = (a: number | undefined, b: number | undefined, digits = 2): string =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${fmt(a / b, digits)}×` : 'n/a';

export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function errorsText(r: PhaseResult): string {
  if (r.errorTotal === 0 && r.unanswered === 0) return '0';
  const parts = Object.entries(r.errors).map(([k, v]) => `${k} ${fmt(v)}`);
  if (r.unanswered > 0) parts.push(`unanswered ${fmt(r.unanswered)}`);
  return parts.join(', ');
}

const names = (t: readonly MeasuredPhase[], z: readonly MeasuredPhase[]): string[] => [...new Set([...t, ...z].map((p) => p.name))];
const find = (ps: readonly MeasuredPhase[], name: string): PhaseResult | undefined => ps.find((p) => p.name === name)?.result;

/** " (tszk died)" when a phase was cut short because its servers were gone. */
function diedNote(t: readonly MeasuredPhase[], z: readonly MeasuredPhase[], name: string): string {
  const died = [...t, ...z].filter((p) => p.name === name && p.serversDied).map((p) => p.kind);
  return died.length === 0 ? '' : ` (${died.join(', ')} died)`;
}

/** ops/s and p50/p99/p99.9 of each phase. */
export function throughputTable(t: readonly MeasuredPhase[], z: readonly MeasuredPhase[], label: (name: string) => string = (n) => n): string[] {
  const L: string[] = [];
  L.push('| phase | tszk ops/s | ZooKeeper ops/s | ratio | tszk p50 ms | ZK p50 ms | tszk p99 ms | ZK p99 ms | p99 ratio | tszk p99.9 ms | ZK p99.9 ms | tszk errors | ZK errors |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const name of names(t, z)) {
    const a = find(t, name);
    const b = find(z, name);
    L.push(`| ${label(name)}${diedNote(t, z, name)} | **${fmt(a?.opsPerSec)}** | **${fmt(b?.opsPerSec)}** | ${ratio(a?.opsPerSec, b?.opsPerSec)} | ` +
      `${fmt(a?.latency.p50, 2)} | ${fmt(b?.latency.p50, 2)} | ${fmt(a?.latency.p99, 1)} | ${fmt(b?.latency.p99, 1)} | ${ratio(a?.latency.p99, b?.latency.p99)} | ` +
      `${fmt(a?.latency.p999, 1)} | ${fmt(b?.latency.p999, 1)} | ${a === undefined ? '' : errorsText(a)} | ${b === undefined ? '' : errorsText(b)} |`);
  }
  return L;
}

/** Latency first, for one-request-at-a-time phases. */
export function latencyTable(t: readonly MeasuredPhase[], z: readonly MeasuredPhase[], label: (name: string) => string = (n) => n): string[] {
  const L: string[] = [];
  L.push('| op | tszk p50 ms | ZK p50 ms | ratio | tszk p99 ms | ZK p99 ms | ratio | tszk p99.9 ms | ZK p99.9 ms | tszk ops/s | ZK ops/s |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of names(t, z)) {
    const a = find(t, name);
    const b = find(z, name);
    L.push(`| ${label(name)}${diedNote(t, z, name)} | **${fmt(a?.latency.p50, 3)}** | **${fmt(b?.latency.p50, 3)}** | ${ratio(a?.latency.p50, b?.latency.p50)} | ` +
      `${fmt(a?.latency.p99, 2)} | ${fmt(b?.latency.p99, 2)} | ${ratio(a?.latency.p99, b?.latency.p99)} | ${fmt(a?.latency.p999, 2)} | ${fmt(b?.latency.p999, 2)} | ` +
      `${fmt(a?.opsPerSec)} | ${fmt(b?.opsPerSec)} |`);
  }
  return L;
}

/** Server CPU and peak RSS per phase, and the load generator's CPU. */
export function resourcesTable(t: readonly MeasuredPhase[], z: readonly MeasuredPhase[], servers: number): string[] {
  const L: string[] = [];
  const them = servers === 1 ? 'the server process' : `the ${servers} server processes together`;
  L.push(`CPU is user+system time of ${them} during the phase (all threads; a JVM's include JIT and GC); ` +
    `peak RSS is ${servers === 1 ? 'its' : 'the sum of each one\'s'} highest VmRSS sampled every 100 ms in the phase. ` +
    'CPU per 1k ops divides by the requests the phase completed (warm-up included). Client CPU is the load generator\'s process, all its threads.', '');
  L.push('| phase | tszk CPU s | ZK CPU s | ratio | tszk CPU ms / 1k ops | ZK CPU ms / 1k ops | tszk peak RSS MiB | ZK peak RSS MiB | client CPU s (tszk / ZK run) |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  const perK = (p: MeasuredPhase | undefined): number => {
    if (p === undefined) return NaN;
    const ops = p.result.opsPerSec * ((p.result.windowMs + p.result.warmupMs) / 1000);
    return ops > 0 ? p.serverCpuMs / (ops / 1000) : NaN;
  };
  for (const name of names(t, z)) {
    const a = t.find((p) => p.name === name);
    const b = z.find((p) => p.name === name);
    L.push(`| ${name} | ${fmt((a?.serverCpuMs ?? NaN) / 1000, 1)} | ${fmt((b?.serverCpuMs ?? NaN) / 1000, 1)} | ${ratio(a?.serverCpuMs, b?.serverCpuMs)} | ` +
      `${fmt(perK(a), 1)} | ${fmt(perK(b), 1)} | ${fmt(a?.serverPeakRssMiB)} | ${fmt(b?.serverPeakRssMiB)} | ` +
      `${fmt((a?.result.clientCpuMs ?? NaN) / 1000, 1)} / ${fmt((b?.result.clientCpuMs ?? NaN) / 1000, 1)} |`);
  }
  return L;
}

/** WARN-and-worse lines per kind and phase, grouped by message. */
export function problemsSection(byKind: ReadonlyArray<{ kind: string; sections: ReadonlyArray<readonly [string, readonly LogLine[]]> }>): string[] {
  const L: string[] = [];
  for (const { kind, sections } of byKind) {
    const total = sections.reduce((n, [, lines]) => n + lines.length, 0);
    L.push(`### ${kind}: ${fmt(total)} line${total === 1 ? '' : 's'}`, '');
    for (const [name, lines] of sections) {
      if (lines.length === 0) continue;
      L.push(`- ${name}: ${lines.length} line${lines.length === 1 ? '' : 's'}; most frequent:`);
      for (const g of summarizeProblems(lines, 5)) L.push(`  - ${g.count} × (server ${g.sid}) \`${g.example.replace(/`/g, "'").slice(0, 400)}\``);
    }
    L.push('');
  }
  return L;
}
