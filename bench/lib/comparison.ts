// The frame of a comparison bench (standalone.ts, ensemble-3.ts): check that both servers can start
// here (exiting with what to install if not), describe the machine, run each server kind in turn (never together), then write the report,
// the JSONL and the latency SVG (results.ts) and print the report on stdout. Progress goes to stderr.
import { join } from 'node:path';
import type { CommonArgs } from './cli.js';
import type { Histogram } from './histogram.js';
import { fmt, loadAverage, log, logMachine, machineInfo, type Machine } from './machine.js';
import { phaseLabel } from './phases.js';
import { writeResults } from './results.js';
import { exitUnlessServers, repoRoot, SERVER_KINDS, type ServerKind } from './servers.js';
import { comparisonPanels, latencySvg } from './svg.js';

/** What a bench measured of one server kind; each histogram is a panel of the SVG. */
export interface KindRun {
  kind: ServerKind;
  histograms: Map<string, Histogram>;
}

export interface Comparison<A extends CommonArgs, R extends KindRun> {
  /** Stem of the result files: <results>/<name>.md, .jsonl, .svg. */
  name: string;
  args: A;
  runKind: (kind: ServerKind, args: A) => Promise<R>;
  report: (machine: Machine, args: A, results: readonly R[]) => string;
  /** The JSONL records after the machine's. */
  records: (results: readonly R[], args: A) => object[];
  svgTitle: string;
  svgNote: (args: A) => string;
}

export async function runComparison<A extends CommonArgs, R extends KindRun>(c: Comparison<A, R>): Promise<void> {
  const { args } = c;
  const kinds = args.only === null ? SERVER_KINDS : [args.only];
  exitUnlessServers(kinds);
  const repo = repoRoot();
  const machine = machineInfo(repo);
  logMachine(machine);
  const started = performance.now();
  const results: R[] = [];
  for (const kind of kinds) results.push(await c.runKind(kind, args));
  machine.loadAvgEnd = loadAverage();
  const md = c.report(machine, args, results);
  const written = await writeResults(args.resultsDir ?? join(repo, 'bench', 'results'), c.name, {
    md,
    jsonl: [{ type: 'machine', ...machine, args }, ...c.records(results, args)],
    svg: latencySvg(c.svgTitle, comparisonPanels(results, phaseLabel), c.svgNote(args)),
  });
  log(`done in ${fmt((performance.now() - started) / 1000, 1)} s; wrote ${written}`);
  process.stdout.write(md);
}
