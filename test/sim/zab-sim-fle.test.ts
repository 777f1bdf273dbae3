/**
 * The simulator with the real Fast Leader Election (src/quorum/election), and the deliberately
 * broken variants of the cores, which the checkers must catch.
 */
import { describe, expect, test } from 'vitest';
import type { ZabFaults } from '../../src/quorum/zab/ready.js';
import { chunks, firstFailingSeed, formatFailure, runSeeds, seedCount } from './seeds.js';

const SEEDS = seedCount(2000);

describe(`ZAB simulation, Fast Leader Election, ${SEEDS} seeds`, () => {
  test.each(chunks(SEEDS, 100, 100_001))('seeds %i.. (%i seeds)', (from, count) => {
    const failures = runSeeds(from, count, { election: 'fle' });
    for (const f of failures.slice(0, 3)) console.error(formatFailure(f, 'fle'));
    expect(failures.map((f) => `${f.seed}: [${f.checker}] ${f.failure}`)).toEqual([]);
  });
});

/**
 * Each variant must be caught within a bound on seeds (searched from seed 1, so the count is
 * deterministic). "All checkers" includes the white-box durability invariants; "end to end" only
 * what a client could see: acknowledged writes lost, histories diverging, protocol breakage.
 */
const VARIANTS: { name: string; faults: ZabFaults; allCheckers: number; endToEnd: number | null }[] = [
  { name: '(a) learner acks a proposal before it is durable', faults: { ackBeforePersist: true }, allCheckers: 10, endToEnd: 200 },
  { name: '(b) learner writes currentEpoch before the synced txns are durable', faults: { currentEpochBeforeTxns: true }, allCheckers: 10, endToEnd: null },
  { name: '(c) leader commits without a quorum', faults: { commitWithoutQuorum: true }, allCheckers: 10, endToEnd: 50 },
];

describe('deliberately broken variants are caught', () => {
  for (const v of VARIANTS) {
    for (const election of ['oracle', 'fle'] as const) {
      test(`${v.name}: all checkers, ${election} election, within ${v.allCheckers} seeds`, () => {
        const r = firstFailingSeed(v.allCheckers, { election, faults: v.faults });
        console.log(`${v.name} [${election}, all checkers]: caught at seed ${r?.seed ?? 'never'} by ${r?.checker ?? '-'}: ${r?.failure?.split('\n')[0] ?? ''}`);
        expect(r).not.toBeNull();
      });
    }
    const bound = v.endToEnd ?? (process.env.SIM_DEEP ? 3000 : null);
    test.runIf(bound !== null)(`${v.name}: end-to-end checkers only, within ${bound} seeds`, () => {
      const r = firstFailingSeed(bound!, { election: 'oracle', faults: v.faults, checkDurableQuorum: false });
      console.log(`${v.name} [oracle, end to end]: caught at seed ${r?.seed ?? 'never'} by ${r?.checker ?? '-'}: ${r?.failure?.split('\n')[0] ?? ''}`);
      expect(r).not.toBeNull();
    });
  }
});
