import { runSimulation, type SimOptions, type SimResult } from './simulator.js';

/** How many seeds a suite runs: the default, or SIM_SEEDS for longer (nightly) runs. */
export function seedCount(defaultCount: number): number {
  const env = process.env.SIM_SEEDS;
  return env !== undefined && env !== '' ? Number(env) : defaultCount;
}

/** The report of a failed seed: what broke, how to replay it, and the end of its trace. */
export function formatFailure(r: SimResult, election: string): string {
  return [
    `seed ${r.seed} failed [${r.checker}]: ${r.failure}`,
    `  ${r.config}`,
    `  replay: SIM_SEED=${r.seed} SIM_ELECTION=${election} npx vitest run test/sim/replay.test.ts`,
    `  trace hash ${r.traceHash}, ${r.events} events, last ${r.trace.length} trace lines:`,
    ...r.trace.map((l) => `    ${l}`),
  ].join('\n');
}

/** Runs seeds [from, from + count) and returns the failures. */
export function runSeeds(from: number, count: number, opts: Omit<SimOptions, 'seed'>): SimResult[] {
  const failures: SimResult[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r = runSimulation({ ...opts, seed });
    if (!r.ok) failures.push(r);
  }
  return failures;
}

/** The first seed from 1 whose run fails, or null within maxSeeds. */
export function firstFailingSeed(maxSeeds: number, opts: Omit<SimOptions, 'seed'>): SimResult | null {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runSimulation({ ...opts, seed });
    if (!r.ok) return r;
  }
  return null;
}

/** Seeds [from, from + total) cut into chunks, so each vitest test stays short. */
export function chunks(total: number, size: number, from = 1): [number, number][] {
  const out: [number, number][] = [];
  for (let start = from; start < from + total; start += size) out.push([start, Math.min(size, from + total - start)]);
  return out;
}
