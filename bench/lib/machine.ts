// The machine a bench ran on, for its report: CPU, memory, Node, Java, ZooKeeper, tszk commit.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { ZK_JAVA_DIR } from './servers.js';

export interface Machine {
  date: string;
  nproc: number;
  cpuModel: string;
  memTotalMiB: number;
  memFreeMiB: number;
  loadAvgStart: number[];
  loadAvgEnd: number[];
  node: string;
  java: string;
  zookeeper: string;
  tszkCommit: string;
  kernel: string;
}

function text(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const e = error as { stderr?: string };
    return e.stderr?.trim() ?? 'unknown';
  }
}

export function machineInfo(repo: string): Machine {
  // java -version writes to stderr.
  let java = 'unknown';
  try {
    const r = execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' });
    java = (r.split('\n').find((l) => l.includes('version')) ?? r).trim();
  } catch {
    // no java
  }
  let commit = text('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  const dirty = text('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no', 'src']);
  if (dirty !== '' && dirty !== 'unknown') commit += ' (src modified)';
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) cpuModel = m[1].trim();
  } catch {
    // not Linux
  }
  const zkJar = existsSync(ZK_JAVA_DIR) ? readdirSync(ZK_JAVA_DIR).find((n) => /^zookeeper-\d[\d.]*\.jar$/.test(n)) : undefined;
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpuModel,
    memTotalMiB: Math.round(totalmem() / 1024 / 1024),
    memFreeMiB: Math.round(freemem() / 1024 / 1024),
    loadAvgStart: loadAverage(),
    loadAvgEnd: [],
    node: process.version,
    java,
    zookeeper: zkJar?.replace(/\.jar$/, '') ?? 'not installed',
    tszkCommit: commit,
    kernel: text('uname', ['-r']),
  };
}

/** 1-, 5- and 15-minute load averages, two decimals: other jobs on a shared machine show here. */
export function loadAverage(): number[] {
  return loadavg().map((v) => Math.round(v * 100) / 100);
}

/** The machine on stderr, as a bench starts. */
export function logMachine(m: Machine): void {
  log(`machine: ${m.nproc} × ${m.cpuModel}, ${m.memTotalMiB} MiB, node ${m.node}, ${m.java}, ${m.zookeeper}, load ${m.loadAvgStart.join(' ')}`);
}

export function machineLine(m: Machine): string {
  return `${m.nproc} × ${m.cpuModel}, ${fmt(m.memTotalMiB)} MiB RAM, Linux ${m.kernel}; Node ${m.node}; ${m.java}; ` +
    `${m.zookeeper} (Debian); tszk ${m.tszkCommit}. Load average at start ${m.loadAvgStart.join(' / ')}, at end ${m.loadAvgEnd.join(' / ')}.`;
}

export const fmt = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || Number.isNaN(v) || !Number.isFinite(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const log = (line: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
