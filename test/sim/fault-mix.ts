import type { Prng } from '../../src/util/prng.js';

/** Per-seed fault intensities (swarm testing: each seed draws its own mix). */
export interface FaultMix {
  crashPerSec: number;
  /** Chance that a crash takes down several servers at once (a rack losing power). */
  correlatedCrashChance: number;
  /**
   * Chance of a crash while an epoch, truncate or snapshot write is in flight (a twentieth of it
   * for log appends): crash points at persistence boundaries, where ordering bugs live.
   */
  crashOnPersistChance: number;
  partitionPerSec: number;
  linkBreakPerSec: number;
  rstChance: number;
  netDelayMaxMs: number;
  netSpikeChance: number;
  /** The log and the epoch files may sit on devices of different speeds (dataLogDir). */
  logDiskMaxMs: number;
  epochDiskMaxMs: number;
  diskSpikeChance: number;
  electionDropChance: number;
  clientGapMaxMs: number;
}

/** Each knob is drawn from a few levels, zero included, so some seeds stress one thing only. */
export function drawFaultMix(r: Prng): FaultMix {
  return {
    crashPerSec: r.pick([0, 0.3, 0.8, 2]),
    correlatedCrashChance: r.pick([0, 0.3]),
    crashOnPersistChance: r.pick([0, 0.02, 0.1]),
    partitionPerSec: r.pick([0, 0.2, 0.6]),
    linkBreakPerSec: r.pick([0, 0.5, 2]),
    rstChance: r.pick([0.2, 0.8]),
    netDelayMaxMs: r.pick([2, 10, 40]),
    netSpikeChance: r.pick([0, 0.01, 0.05]),
    logDiskMaxMs: r.pick([2, 10, 50, 200]),
    epochDiskMaxMs: r.pick([2, 10, 50]),
    diskSpikeChance: r.pick([0, 0.02, 0.1]),
    electionDropChance: r.pick([0, 0.05]),
    clientGapMaxMs: r.pick([10, 40, 120]),
  };
}

export function describeFaultMix(m: FaultMix): string {
  return (
    `crash/s=${m.crashPerSec} correlated=${m.correlatedCrashChance} crash@persist=${m.crashOnPersistChance} ` +
    `partition/s=${m.partitionPerSec} break/s=${m.linkBreakPerSec} rst=${m.rstChance} net<=${m.netDelayMaxMs}ms ` +
    `spike=${m.netSpikeChance} log<=${m.logDiskMaxMs}ms epoch<=${m.epochDiskMaxMs}ms spike=${m.diskSpikeChance} ` +
    `eldrop=${m.electionDropChance} client<=${m.clientGapMaxMs}ms`
  );
}
