import { FastLeaderElection } from '../../src/quorum/election/fast-leader-election.js';
import type { Notification } from '../../src/quorum/election/notification.js';
import { QuorumVerifier } from '../../src/quorum/election/quorum-verifier.js';
import type { Prng } from '../../src/util/prng.js';

export interface ElectionOutput {
  messages: { to: number; msg: Notification }[];
  /** The leader's sid once this server decided. */
  decision: number | null;
}

/**
 * What the simulator needs from a leader election, per server. The ZAB cores do not care how the
 * leader was found: ZAB's discovery phase keeps safety whatever the election says.
 */
export interface SimElection {
  /** The server became LOOKING; its log may have changed since the last round. */
  start(nowMs: number, lastLoggedZxid: bigint, currentEpoch: bigint): ElectionOutput;
  receive(from: number, msg: Notification, nowMs: number): ElectionOutput;
  tick(nowMs: number): ElectionOutput;
  nextDeadlineMs(): number | null;
  /** The server's ZAB role established this epoch (QuorumPeer.updateElectionVote). */
  established(epoch: bigint): void;
}

const NOTHING: ElectionOutput = { messages: [], decision: null };

/** The cluster as an all-seeing oracle may look at it. */
export interface OracleView {
  /** The leader `sid` should follow (itself to lead), or null to try again later. */
  oracleLeader(sid: number): number | null;
}

/**
 * A stand-in election: some time after a server starts looking it asks the oracle, which answers
 * from the cluster's state at that moment. Servers ask at different moments, so they can act on
 * stale pictures, as real elections do.
 */
export class OracleElection implements SimElection {
  private deadlineMs: number | null = null;

  constructor(
    private readonly sid: number,
    private readonly view: OracleView,
    private readonly rng: Prng,
  ) {}

  start(nowMs: number): ElectionOutput {
    this.deadlineMs = nowMs + this.rng.nextIntBetween(10, 150);
    return NOTHING;
  }

  receive(): ElectionOutput {
    return NOTHING;
  }

  tick(nowMs: number): ElectionOutput {
    if (this.deadlineMs === null || nowMs < this.deadlineMs) return NOTHING;
    const leader = this.view.oracleLeader(this.sid);
    if (leader === null) {
      this.deadlineMs = nowMs + this.rng.nextIntBetween(50, 250);
      return NOTHING;
    }
    this.deadlineMs = null;
    return { messages: [], decision: leader };
  }

  nextDeadlineMs(): number | null {
    return this.deadlineMs;
  }

  established(): void {}
}

/** src/quorum/election's Fast Leader Election, with sids as numbers. */
export class FleElection implements SimElection {
  private readonly fle: FastLeaderElection;

  constructor(sid: number, voters: readonly number[], observers: readonly number[], lastLoggedZxid: bigint, currentEpoch: bigint) {
    this.fle = new FastLeaderElection({
      myId: BigInt(sid),
      quorum: new QuorumVerifier(voters.map(BigInt), observers.map(BigInt)),
      lastLoggedZxid,
      currentEpoch,
      // zookeeper.fastleader.maxNotificationInterval, 60 s by default: a server that looked in
      // vain for a while would poll too rarely for the liveness phase's bound.
      timing: { maxNotificationIntervalMs: 1600 },
    });
  }

  start(nowMs: number, lastLoggedZxid: bigint, currentEpoch: bigint): ElectionOutput {
    return convert(this.fle.start(nowMs, { lastLoggedZxid, currentEpoch }));
  }

  receive(from: number, msg: Notification, nowMs: number): ElectionOutput {
    return convert(this.fle.receive(BigInt(from), msg, nowMs));
  }

  tick(nowMs: number): ElectionOutput {
    return convert(this.fle.tick(nowMs));
  }

  nextDeadlineMs(): number | null {
    return this.fle.nextDeadlineMs();
  }

  established(epoch: bigint): void {
    this.fle.updateElectionVote(epoch);
  }
}

function convert(out: ReturnType<FastLeaderElection['tick']>): ElectionOutput {
  return {
    messages: out.messages.map((m) => ({ to: Number(m.to), msg: m.notification })),
    decision: out.decision === undefined ? null : Number(out.decision.leader),
  };
}
