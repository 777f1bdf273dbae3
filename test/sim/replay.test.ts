/**
 * Replays one seed and prints its whole trace tail:
 *   SIM_SEED=123 [SIM_ELECTION=fle] [SIM_FAULTS='{"ackBeforePersist":true}'] [SIM_TRACE_LINES=5000] \
 *     npx vitest run test/sim/replay.test.ts
 */
import { expect, test } from 'vitest';
import type { ZabFaults } from '../../src/quorum/zab/ready.js';
import { runSimulation } from './simulator.js';
import { formatFailure } from './seeds.js';

const seed = process.env.SIM_SEED;

test.runIf(seed !== undefined)(`replay seed ${seed ?? '(set SIM_SEED)'}`, () => {
  const election = process.env.SIM_ELECTION === 'fle' ? 'fle' : 'oracle';
  const faults = process.env.SIM_FAULTS ? (JSON.parse(process.env.SIM_FAULTS) as ZabFaults) : undefined;
  const r = runSimulation({ seed: Number(seed), election, traceLines: Number(process.env.SIM_TRACE_LINES ?? 2000), ...(faults ? { faults } : {}) });
  console.log(r.ok ? `seed ${r.seed} ok: ${r.config}\n  trace hash ${r.traceHash}, ${r.events} events, ${JSON.stringify(r.stats)}` : formatFailure(r, election));
  if (r.ok) console.log(r.trace.join('\n'));
  expect(r.failure).toBeNull();
});
