// Command-line options of the comparison benches (standalone.ts, ensemble-3.ts): the ones both take,
// a bench's own beside them, and the --help text, all from one table of options.
import { resolve } from 'node:path';
import { LOAD_PHASES } from './phases.js';
import type { ServerKind } from './servers.js';

/** What both comparison benches are told on the command line. */
export interface CommonArgs {
  seconds: number;
  warmupSeconds: number;
  prewarmSeconds: number;
  latencySeconds: number;
  sessions: number;
  depth: number;
  dataBytes: number;
  workers: number | undefined;
  zkHeapMb: number;
  only: ServerKind | null;
  phases: string[];
  /** null: bench/results in the checkout. */
  resultsDir: string | null;
  baseDir: string | undefined;
  tszkCpuProfDir: string | undefined;
  tszkNodeOptions: string | undefined;
  keep: boolean;
}

export function commonDefaults(): CommonArgs {
  return {
    seconds: 8, warmupSeconds: 1, prewarmSeconds: 4, latencySeconds: 4, sessions: 16, depth: 64, dataBytes: 100, workers: undefined,
    zkHeapMb: 1024, only: null, phases: [...LOAD_PHASES], resultsDir: null, baseDir: undefined, tszkCpuProfDir: undefined,
    tszkNodeOptions: undefined, keep: false,
  };
}

/** One option: its flag, the value it takes, a line of help (default in brackets), and what it sets. */
export type Option<A> =
  | { type: 'number'; flag: string; help: string; set: (args: A, value: number) => void }
  | { type: 'text'; flag: string; value: string; help: string; set: (args: A, value: string) => void }
  | { type: 'switch'; flag: string; help: string; set: (args: A) => void };

/** An option taking a number, 0 or more. */
export const numberOption = <A>(flag: string, help: string, set: (args: A, value: number) => void): Option<A> => ({ type: 'number', flag, help, set });
/** An option taking text; `value` names it in the help. */
export const textOption = <A>(flag: string, value: string, help: string, set: (args: A, value: string) => void): Option<A> =>
  ({ type: 'text', flag, value, help, set });
export const switchOption = <A>(flag: string, help: string, set: (args: A) => void): Option<A> => ({ type: 'switch', flag, help, set });

/** The options both comparison benches take. */
export function commonOptions<A extends CommonArgs>(): Option<A>[] {
  return [
    numberOption('--seconds', 'measured seconds per phase (8)', (a, v) => { a.seconds = v; }),
    numberOption('--warmup-seconds', 'unmeasured seconds at the start of each phase (1)', (a, v) => { a.warmupSeconds = v; }),
    numberOption('--prewarm-seconds', "unmeasured create+mix load before the load phases, so the JVM's JIT has run (4)", (a, v) => { a.prewarmSeconds = v; }),
    numberOption('--latency-seconds', 'seconds per single-session phase (4; 0 skips them)', (a, v) => { a.latencySeconds = v; }),
    numberOption('--sessions', 'load phases: sessions (16)', (a, v) => { a.sessions = Math.max(1, v); }),
    numberOption('--depth', 'load phases: requests in flight per session (64)', (a, v) => { a.depth = Math.max(1, v); }),
    numberOption('--data-bytes', 'create/setData payload (100)', (a, v) => { a.dataBytes = v; }),
    numberOption('--workers', 'load generator threads (number of CPUs)', (a, v) => { a.workers = Math.max(1, v); }),
    numberOption('--zk-heap-mb', 'ZooKeeper -Xms/-Xmx per server (1024; 0 = the JVM default)', (a, v) => { a.zkHeapMb = v; }),
    textOption('--only', 'tszk|zookeeper', 'run one kind (both)', (a, v) => {
      if (v !== 'tszk' && v !== 'zookeeper') throw new Error('--only takes tszk or zookeeper');
      a.only = v;
    }),
    textOption('--phases', 'a,b,...', `load phases (${LOAD_PHASES.join(',')})`, (a, v) => {
      const list = v.split(',').filter((p) => p !== '');
      for (const p of list) if (!(LOAD_PHASES as readonly string[]).includes(p)) throw new Error(`unknown phase ${p}`);
      a.phases = list;
    }),
    textOption('--results', 'DIR', 'where the .md, .jsonl and .svg go (bench/results)', (a, v) => { a.resultsDir = resolve(v); }),
    textOption('--base-dir', 'DIR', "where the servers' temp dirs go (os.tmpdir())", (a, v) => { a.baseDir = resolve(v); }),
    textOption('--tszk-cpu-prof', 'DIR', 'run tszk under node --cpu-prof into DIR', (a, v) => { a.tszkCpuProfDir = resolve(v); }),
    textOption('--tszk-node-options', 'S', 'node options for tszk, e.g. "--max-semi-space-size=64 --trace-gc"', (a, v) => { a.tszkNodeOptions = v; }),
    switchOption('--keep', "keep the servers' dirs (logs) after the run", (a) => { a.keep = true; }),
  ];
}

export function usage<A>(command: string, options: readonly Option<A>[]): string {
  const lines = options.map((o) => {
    const head = o.type === 'switch' ? o.flag : `${o.flag} ${o.type === 'number' ? 'N' : o.value}`;
    return `  ${head.padEnd(28)} ${o.help}`;
  });
  return [`usage: ${command} [options]`, ...lines, `  ${'--help'.padEnd(28)} this text`].join('\n');
}

/** Applies argv to `args` (the defaults) and returns it; --help prints the usage and exits. */
export function parseOptions<A>(argv: readonly string[], args: A, options: readonly Option<A>[], command: string): A {
  const byFlag = new Map(options.map((o) => [o.flag, o]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage(command, options)}\n`);
      process.exit(0);
    }
    const o = byFlag.get(arg);
    if (o === undefined) throw new Error(`unknown argument ${arg}\n${usage(command, options)}`);
    if (o.type === 'switch') {
      o.set(args);
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} wants a value`);
    if (o.type === 'text') {
      o.set(args, value);
      continue;
    }
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || v < 0) throw new Error(`${arg} wants a number, got ${value}`);
    o.set(args, v);
  }
  return args;
}
