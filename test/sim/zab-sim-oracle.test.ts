/**
 * The simulator over many seeds with the oracle election (fast, and sloppy on purpose: servers
 * decide from stale views of the cluster, which ZAB's discovery must survive). Every seed runs a
 * faulty safety phase and a healed liveness phase; any broken invariant fails the seed.
 * SIM_SEEDS=n runs n seeds instead of the default.
 */
import { describe, expect, test } from 'vitest';
import { runSimulation } from './simulator.js';
import { chunks, formatFailure, runSeeds, seedCount } from './seeds.js';

const SEEDS = seedCount(2500);

describe(`ZAB simulation, oracle election, ${SEEDS} seeds`, () => {
  test.each(chunks(SEEDS, 100))('seeds %i.. (%i seeds)', (from, count) => {
    const failures = runSeeds(from, count, { election: 'oracle' });
    for (const f of failures.slice(0, 3)) console.error(formatFailure(f, 'oracle'));
    expect(failures.map((f) => `${f.seed}: [${f.checker}] ${f.failure}`)).toEqual([]);
  });

  test('a seed replays exactly: same trace hash; another seed differs', () => {
    const a = runSimulation({ seed: 4242 });
    const b = runSimulation({ seed: 4242 });
    const c = runSimulation({ seed: 4243 });
    expect(a.ok).toBe(true);
    expect([b.traceHash, b.events, b.simTimeMs, b.stats]).toEqual([a.traceHash, a.events, a.simTimeMs, a.stats]);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  test('putting every packet on the wire (encode, decode) does not change a run', () => {
    const plain = runSimulation({ seed: 77, wireRoundTrip: false });
    const wire = runSimulation({ seed: 77, wireRoundTrip: true });
    expect(wire.ok).toBe(true);
    // The hashes differ only by the config line, which names the wire mode.
    expect([wire.events, wire.stats, wire.trace]).toEqual([plain.events, plain.stats, plain.trace]);
  });
});
