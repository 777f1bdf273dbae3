// Fast Leader Election as a pure state machine: the vote order, and scenarios driven by hand
// (which message arrives when is chosen by the test; time only moves when the test says so).
import { describe, expect, it } from 'vitest';
import {
  FastLeaderElection,
  replyWhenNotLooking,
  type Decision,
  type FleOutput,
  type FleTiming,
} from '../../src/quorum/election/fast-leader-election.js';
import { decodeNotification, encodeNotification, type Notification } from '../../src/quorum/election/notification.js';
import { QuorumVerifier } from '../../src/quorum/election/quorum-verifier.js';
import {
  compareCandidates,
  LONG_MIN,
  lookingVote,
  makeZxid,
  ServerState,
  totalOrderPredicate,
  votesEqual,
  zxidCounter,
  zxidEpoch,
  type Vote,
} from '../../src/quorum/election/vote.js';

describe('vote order', () => {
  const c = (leader: bigint, zxid: bigint, peerEpoch: bigint) => ({ leader, zxid, peerEpoch });

  it('epoch first, then zxid, then server id', () => {
    expect(totalOrderPredicate(c(1n, 0n, 2n), c(3n, makeZxid(1n, 99n), 1n))).toBe(true);
    expect(totalOrderPredicate(c(1n, makeZxid(1n, 5n), 1n), c(3n, makeZxid(1n, 4n), 1n))).toBe(true);
    expect(totalOrderPredicate(c(3n, makeZxid(1n, 4n), 1n), c(1n, makeZxid(1n, 4n), 1n))).toBe(true);
    expect(totalOrderPredicate(c(1n, makeZxid(1n, 4n), 1n), c(3n, makeZxid(1n, 4n), 1n))).toBe(false);
  });

  it('a vote never beats itself, and weight 0 never wins', () => {
    expect(totalOrderPredicate(c(2n, 7n, 1n), c(2n, 7n, 1n))).toBe(false);
    expect(totalOrderPredicate(c(9n, 99n, 9n), c(1n, 0n, 0n), 0)).toBe(false);
  });

  it('anything beats an observer proposal (Long.MIN_VALUE everywhere)', () => {
    expect(totalOrderPredicate(c(1n, 0n, 0n), c(LONG_MIN, LONG_MIN, LONG_MIN))).toBe(true);
  });

  it('sorts candidates best last', () => {
    const list = [c(3n, 5n, 1n), c(1n, 9n, 1n), c(2n, 0n, 2n), c(4n, 5n, 1n)];
    expect(list.sort(compareCandidates).map((x) => x.leader)).toEqual([3n, 4n, 1n, 2n]);
  });

  it('zxid halves', () => {
    const z = makeZxid(0x12n, 0xabcdn);
    expect(z).toBe(0x12_0000_abcdn);
    expect(zxidEpoch(z)).toBe(0x12n);
    expect(zxidCounter(z)).toBe(0xabcdn);
    expect(zxidEpoch(-1n)).toBe(-1n);
    expect(makeZxid(0x7fff_ffffn, 0xffff_ffffn)).toBe(2n ** 63n - 1n);
    expect(makeZxid(0xffff_ffffn, 0xffff_ffffn)).toBe(-1n);
  });

  it('equality of votes: LOOKING compares everything, out-of-election only leader and epoch', () => {
    const base: Vote = { leader: 3n, zxid: 10n, electionEpoch: 2n, peerEpoch: 1n, state: ServerState.FOLLOWING, version: 2 };
    expect(votesEqual(base, { ...base, zxid: 11n, electionEpoch: 9n, state: ServerState.LEADING })).toBe(true);
    expect(votesEqual(base, { ...base, peerEpoch: 2n })).toBe(false);
    // One side from a pre-3.4.6 server: only the leader counts.
    expect(votesEqual(base, { ...base, peerEpoch: 2n, version: 0 })).toBe(true);
    // Either side LOOKING: all four numbers.
    expect(votesEqual(base, { ...base, state: ServerState.LOOKING })).toBe(true);
    expect(votesEqual(base, { ...base, zxid: 11n, state: ServerState.LOOKING })).toBe(false);
    expect(votesEqual(lookingVote(3n, 10n, 2n, 1n), lookingVote(3n, 10n, 3n, 1n))).toBe(false);
  });
});

describe('quorum verifier', () => {
  it('strict majority of voters, observers ignored', () => {
    const q = new QuorumVerifier([1n, 2n, 3n, 4n], [5n]);
    expect(q.containsQuorum([1n, 2n])).toBe(false);
    expect(q.containsQuorum([1n, 2n, 5n])).toBe(false);
    expect(q.containsQuorum([1n, 2n, 3n])).toBe(true);
    expect(q.isVoter(5n)).toBe(false);
    expect(q.isObserver(5n)).toBe(true);
  });

  it('weights: a majority of the total weight', () => {
    const q = new QuorumVerifier([
      { sid: 1n, weight: 3 },
      { sid: 2n, weight: 1 },
      { sid: 3n, weight: 1 },
    ]);
    expect(q.containsQuorum([1n])).toBe(true);
    expect(q.containsQuorum([2n, 3n])).toBe(false);
  });
});

// --- a hand-driven cluster -------------------------------------------------------------------

interface PeerSpec {
  id: bigint;
  zxid?: bigint;
  epoch?: bigint;
  logicalclock?: bigint;
}

interface InFlight {
  from: bigint;
  to: bigint;
  n: Notification;
}

class Cluster {
  nowMs = 0;
  readonly peers = new Map<bigint, FastLeaderElection>();
  readonly started = new Set<bigint>();
  pending: InFlight[] = [];
  readonly decisions = new Map<bigint, Decision>();
  /** Every message sent, in order, for tests that look at what went out. */
  readonly sent: InFlight[] = [];

  constructor(
    specs: PeerSpec[],
    readonly quorum: QuorumVerifier,
    timing?: Partial<FleTiming>,
  ) {
    for (const s of specs) {
      this.peers.set(
        s.id,
        new FastLeaderElection({
          myId: s.id,
          quorum,
          lastLoggedZxid: s.zxid ?? 0n,
          currentEpoch: s.epoch ?? 0n,
          logicalclock: s.logicalclock ?? 0n,
          ...(timing ? { timing } : {}),
        }),
      );
    }
  }

  peer(id: bigint): FastLeaderElection {
    const p = this.peers.get(id);
    if (!p) throw new Error(`no peer ${id}`);
    return p;
  }

  start(...ids: bigint[]): void {
    for (const id of ids) {
      this.started.add(id);
      this.decisions.delete(id);
      this.absorb(id, this.peer(id).start(this.nowMs));
    }
  }

  absorb(from: bigint, out: FleOutput): void {
    for (const m of out.messages) {
      const f = { from, to: m.to, n: m.notification };
      this.pending.push(f);
      this.sent.push(f);
    }
    if (out.decision) this.decisions.set(from, out.decision);
  }

  /** Delivers one message (through the real codec), or drops it if the receiver is down. */
  deliverOne(m: InFlight): void {
    if (!this.started.has(m.to)) return;
    const n = decodeNotification(encodeNotification(m.n));
    this.absorb(m.to, this.peer(m.to).receive(m.from, n, this.nowMs));
  }

  /** Delivers pending messages in FIFO order until none is left; `drop` discards some instead. */
  deliverAll(drop: (m: InFlight) => boolean = () => false): void {
    for (let guard = 0; this.pending.length > 0; guard++) {
      if (guard > 100_000) throw new Error('messages do not settle');
      const m = this.pending.shift() as InFlight;
      if (!drop(m)) this.deliverOne(m);
    }
  }

  /** Delivers (in FIFO order) only the pending messages matching `pick`; the rest stay. */
  deliverWhere(pick: (m: InFlight) => boolean): void {
    for (let guard = 0; ; guard++) {
      if (guard > 100_000) throw new Error('messages do not settle');
      const i = this.pending.findIndex(pick);
      if (i < 0) return;
      const [m] = this.pending.splice(i, 1);
      this.deliverOne(m as InFlight);
    }
  }

  dropWhere(pick: (m: InFlight) => boolean): void {
    this.pending = this.pending.filter((m) => !pick(m));
  }

  advance(ms: number): void {
    this.nowMs += ms;
    for (const id of this.started) this.absorb(id, this.peer(id).tick(this.nowMs));
  }

  /** Delivers everything and lets time run until the started peers have all decided. */
  settle(maxMs = 10 * 60_000): void {
    const until = this.nowMs + maxMs;
    for (;;) {
      this.deliverAll();
      if ([...this.started].every((id) => this.decisions.has(id))) return;
      const deadlines = [...this.started].map((id) => this.peer(id).nextDeadlineMs()).filter((d): d is number => d !== null);
      if (deadlines.length === 0 || this.nowMs > until) throw new Error('cluster does not settle');
      this.advance(Math.max(0, Math.min(...deadlines) - this.nowMs));
    }
  }

  leaders(): bigint[] {
    return [...this.decisions.values()].map((d) => d.leader);
  }
}

const majority = (...ids: bigint[]) => new QuorumVerifier(ids);

describe('elections between fresh peers', () => {
  it('three fresh peers elect the highest id, after finalizeWait', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.deliverAll();
    expect(c.decisions.size).toBe(0);
    c.advance(199);
    expect(c.decisions.size).toBe(0);
    c.advance(1);
    expect(c.decisions.get(3n)).toEqual({ leader: 3n, role: 'leading', electionEpoch: 1n, zxid: 0n, peerEpoch: 0n });
    expect(c.decisions.get(1n)?.role).toBe('following');
    expect(c.decisions.get(2n)?.role).toBe('following');
    expect(c.leaders()).toEqual([3n, 3n, 3n]);
    expect(c.peer(3n).state).toBe(ServerState.LEADING);
    expect(c.peer(1n).currentVote).toMatchObject({ leader: 3n, electionEpoch: 1n });
  });

  it('the first notification is what 3.8 sends: LOOKING, self, lastLoggedZxid, round 1, currentEpoch', () => {
    const c = new Cluster([{ id: 2n, zxid: 0x2_0000_0004n, epoch: 2n }], majority(1n, 2n, 3n));
    c.start(2n);
    expect(c.sent.map((m) => [m.to, m.n.state, m.n.leader, m.n.zxid, m.n.electionEpoch, m.n.peerEpoch])).toEqual([
      [1n, 0, 2n, 0x2_0000_0004n, 1n, 2n],
      [3n, 0, 2n, 0x2_0000_0004n, 1n, 2n],
    ]);
  });

  it('a higher zxid wins over a higher id', () => {
    const z = (n: bigint) => makeZxid(1n, n);
    const c = new Cluster([{ id: 1n, zxid: z(5n), epoch: 1n }, { id: 2n, zxid: z(3n), epoch: 1n }, { id: 3n, zxid: z(3n), epoch: 1n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.settle();
    expect(c.leaders()).toEqual([1n, 1n, 1n]);
    expect(c.decisions.get(1n)).toMatchObject({ role: 'leading', zxid: z(5n), peerEpoch: 1n });
  });

  it('a higher epoch wins over a higher zxid', () => {
    const c = new Cluster(
      [
        { id: 1n, zxid: makeZxid(2n, 9n), epoch: 3n },
        { id: 2n, zxid: makeZxid(2n, 10n), epoch: 2n },
        { id: 3n, zxid: makeZxid(2n, 10n), epoch: 2n },
      ],
      majority(1n, 2n, 3n),
    );
    c.start(1n, 2n, 3n);
    c.settle();
    expect(c.leaders()).toEqual([1n, 1n, 1n]);
  });

  it('ties on epoch and zxid go to the higher id', () => {
    const c = new Cluster([{ id: 4n, zxid: 7n }, { id: 9n, zxid: 7n }, { id: 6n, zxid: 7n }], majority(4n, 6n, 9n));
    c.start(4n, 6n, 9n);
    c.settle();
    expect(c.leaders()).toEqual([9n, 9n, 9n]);
  });

  it('a single voter elects itself after finalizeWait (its own vote is a quorum)', () => {
    const c = new Cluster([{ id: 1n }], majority(1n));
    c.start(1n);
    expect(c.sent).toEqual([]);
    c.advance(200);
    expect(c.decisions.get(1n)?.role).toBe('leading');
  });

  it('two of three peers are enough', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n);
    c.settle();
    expect(c.decisions.get(2n)?.role).toBe('leading');
    expect(c.decisions.get(1n)?.leader).toBe(2n);
  });

  it('one of three never decides, however long it waits, and backs off to 60 s between re-sends', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n);
    const sendTimes: number[] = [];
    for (let t = 0; t < 600_000; t += 100) {
      const before = c.pending.length;
      c.advance(100);
      if (c.pending.length > before) sendTimes.push(c.nowMs);
      c.pending = [];
    }
    expect(c.decisions.size).toBe(0);
    const gaps = sendTimes.slice(1).map((t, i) => t - (sendTimes[i] as number));
    expect(sendTimes[0]).toBe(200);
    expect(gaps.slice(0, 8)).toEqual([400, 800, 1600, 3200, 6400, 12800, 25600, 51200]);
    expect(gaps.slice(8).every((g) => g === 60_000)).toBe(true);
  });
});

describe('rounds (logical clocks)', () => {
  it('a peer with a higher logical clock pulls everyone into its round', () => {
    const c = new Cluster([{ id: 1n, logicalclock: 5n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.settle();
    expect([...c.decisions.values()].map((d) => d.electionEpoch)).toEqual([6n, 6n, 6n]);
    expect(c.leaders()).toEqual([3n, 3n, 3n]);
  });

  it('a LOOKING voter in an older round is answered with our proposal and round', () => {
    const c = new Cluster([{ id: 1n, logicalclock: 5n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n);
    c.pending = [];
    const out = c.peer(1n).receive(
      2n,
      { state: ServerState.LOOKING, leader: 2n, zxid: 0n, electionEpoch: 1n, peerEpoch: 0n, version: 2, config: null },
      0,
    );
    expect(out.messages).toEqual([
      { to: 2n, notification: expect.objectContaining({ state: ServerState.LOOKING, leader: 1n, electionEpoch: 6n }) },
    ]);
  });

  it('notifications of an older round do not count towards a quorum', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(3n);
    c.start(3n); // round 2
    c.deliverAll();
    // Peer 3 hears round-1 votes for itself from 1 and 2: stale, ignored.
    for (const from of [1n, 2n]) {
      c.absorb(3n, c.peer(3n).receive(from, { state: 0, leader: 3n, zxid: 0n, electionEpoch: 1n, peerEpoch: 0n, version: 2, config: null }, 0));
    }
    c.pending = [];
    c.advance(200);
    expect(c.decisions.size).toBe(0);
  });

  it('a peer whose lastLoggedZxid is -1 ignores LOOKING votes, and votes with zxid -1 are ignored', () => {
    const c = new Cluster([{ id: 1n, zxid: -1n }, { id: 2n }, { id: 3n, zxid: -1n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.deliverAll();
    c.advance(200);
    c.deliverAll();
    expect(c.decisions.size).toBe(0);
  });
});

describe('the finalize window', () => {
  it('a better vote inside finalizeWait changes the outcome', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n);
    c.deliverAll();
    c.advance(150); // 1 and 2 agree on 2 and wait
    expect(c.decisions.size).toBe(0);
    c.start(3n);
    c.deliverAll();
    c.advance(199);
    expect(c.decisions.size).toBe(0);
    c.settle();
    expect(c.leaders()).toEqual([3n, 3n, 3n]);
  });

  it('worse votes inside the window restart it', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(2n, 3n);
    c.deliverAll();
    // Both wait; a worse vote reaches 3 every 150 ms and keeps pushing its decision out.
    for (let i = 0; i < 5; i++) {
      c.advance(150);
      c.absorb(3n, c.peer(3n).receive(1n, { state: 0, leader: 1n, zxid: 0n, electionEpoch: 1n, peerEpoch: 0n, version: 2, config: null }, c.nowMs));
      c.pending = [];
    }
    expect(c.decisions.has(3n)).toBe(false);
    expect(c.decisions.get(2n)?.leader).toBe(3n);
    c.advance(200);
    expect(c.decisions.get(3n)?.role).toBe('leading');
  });

  it('FLE alone can name two leaders in one round when a message is lost (ZAB must settle it)', () => {
    // 1 and 2 agree on 2; 3's vote reaches 1 but neither 3's nor 1's updated vote reaches 2.
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.dropWhere((m) => m.from === 3n && m.to === 2n);
    c.deliverWhere((m) => m.n.leader !== 3n);
    expect(c.peer(2n).nextDeadlineMs()).toBe(200); // 2 has a quorum for itself and waits
    c.deliverAll((m) => m.to === 2n);
    c.advance(200);
    expect(c.decisions.get(2n)).toMatchObject({ role: 'leading', electionEpoch: 1n });
    expect(c.decisions.get(3n)).toMatchObject({ role: 'leading', electionEpoch: 1n });
    expect(c.decisions.get(1n)).toMatchObject({ role: 'following', leader: 3n });
  });
});

describe('joining an ensemble that already has a leader', () => {
  function establish(specs: PeerSpec[], ids: bigint[], all: bigint[]): Cluster {
    const c = new Cluster(specs, majority(...all));
    c.start(...ids);
    c.settle();
    return c;
  }

  it('a late peer learns the leader from FOLLOWING and LEADING answers', () => {
    const c = establish([{ id: 1n }, { id: 2n }, { id: 3n }], [2n, 3n], [1n, 2n, 3n]);
    expect(c.leaders()).toEqual([3n, 3n]);
    c.start(1n);
    c.deliverAll();
    expect(c.decisions.get(1n)).toEqual({ leader: 3n, role: 'following', electionEpoch: 1n, zxid: 0n, peerEpoch: 0n });
    // The answers came from the established servers, in the state they are in.
    const answers = c.sent.filter((m) => m.to === 1n && m.n.state !== ServerState.LOOKING);
    expect(answers.map((m) => [m.from, m.n.state])).toEqual([
      [2n, ServerState.FOLLOWING],
      [3n, ServerState.LEADING],
    ]);
  });

  it('even with a better log than the leader, and in a later round (out-of-election votes)', () => {
    const c = establish([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }, { id: 5n }], [1n, 2n, 3n], [1n, 2n, 3n, 4n, 5n]);
    const joiner = new FastLeaderElection({
      myId: 5n,
      quorum: c.quorum,
      lastLoggedZxid: makeZxid(1n, 50n),
      currentEpoch: 1n,
      logicalclock: 41n,
    });
    c.peers.set(5n, joiner);
    c.start(5n);
    c.deliverAll();
    expect(c.decisions.get(5n)).toMatchObject({ leader: 3n, role: 'following', electionEpoch: 1n });
    expect(joiner.logicalclock).toBe(1n);
  });

  it('needs the leader itself to say LEADING (checkLeader)', () => {
    const c = establish([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }, { id: 5n }], [2n, 3n, 4n], [1n, 2n, 3n, 4n, 5n]);
    expect(c.decisions.get(4n)?.role).toBe('leading');
    // 4 (the leader) hears nothing from the newcomers, so it never says LEADING to them.
    const toLeader = (m: InFlight) => m.to === 4n;
    c.start(1n);
    c.deliverAll(toLeader);
    // 2 and 3 say FOLLOWING 4: two of five.
    expect(c.decisions.has(1n)).toBe(false);
    c.start(5n);
    c.deliverAll(toLeader);
    expect(c.peer(5n).proposedVote.leader).toBe(5n);
    // 1 and 5 now both propose 5 (two of five); still only 2 and 3 follow 4, and 4 is silent.
    c.advance(200);
    c.deliverAll(toLeader);
    expect(c.decisions.has(1n)).toBe(false);
    expect(c.decisions.has(5n)).toBe(false);
    // Once 4 answers, both join it.
    c.advance(400);
    c.deliverAll();
    expect(c.decisions.get(1n)).toMatchObject({ leader: 4n, role: 'following' });
    expect(c.decisions.get(5n)).toMatchObject({ leader: 4n, role: 'following' });
  });

  it('the peer epoch of answers follows updateElectionVote (the epoch ZAB agreed on)', () => {
    const c = establish([{ id: 1n }, { id: 2n }, { id: 3n }], [2n, 3n], [1n, 2n, 3n]);
    c.peer(2n).updateElectionVote(1n);
    c.peer(3n).updateElectionVote(1n);
    c.start(1n);
    c.deliverAll();
    expect(c.decisions.get(1n)).toMatchObject({ leader: 3n, peerEpoch: 1n });
    expect(c.sent.filter((m) => m.to === 1n && m.n.state !== 0).every((m) => m.n.peerEpoch === 1n)).toBe(true);
  });

  it('followers that disagree on the epoch do not make a quorum out of election', () => {
    const c = establish([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }, { id: 5n }], [2n, 3n, 4n], [1n, 2n, 3n, 4n, 5n]);
    c.peer(4n).updateElectionVote(1n);
    c.peer(3n).updateElectionVote(1n);
    // 2 lags behind with epoch 0: 4 (LEADING, 1) + 3 (1) are only two of five.
    const joiner = new FastLeaderElection({ myId: 1n, quorum: c.quorum, lastLoggedZxid: 0n, currentEpoch: 0n, logicalclock: 7n });
    c.peers.set(1n, joiner);
    c.start(1n);
    c.deliverAll();
    expect(c.decisions.has(1n)).toBe(false);
    c.peer(2n).updateElectionVote(1n);
    c.advance(200); // 1 re-sends; 2 now answers with epoch 1
    c.deliverAll();
    expect(c.decisions.get(1n)).toMatchObject({ leader: 4n, role: 'following' });
  });
});

describe('observers', () => {
  const quorum = new QuorumVerifier([1n, 2n, 3n], [4n]);

  it('never vote: a voter and an observer are no quorum', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }], quorum);
    c.start(1n, 4n);
    for (let i = 0; i < 20; i++) {
      c.deliverAll();
      c.advance(1000);
    }
    expect(c.decisions.size).toBe(0);
  });

  it('propose nobody, send only to voters, and are answered at once', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }], quorum);
    c.start(1n);
    c.pending = [];
    c.start(4n);
    expect(c.pending.map((m) => [m.to, m.n.leader, m.n.zxid, m.n.peerEpoch])).toEqual([
      [1n, LONG_MIN, LONG_MIN, LONG_MIN],
      [2n, LONG_MIN, LONG_MIN, LONG_MIN],
      [3n, LONG_MIN, LONG_MIN, LONG_MIN],
    ]);
    c.deliverWhere((m) => m.to === 1n);
    // Voter 1, itself LOOKING, answers with its current vote and its round, and does not count 4.
    const answer = c.sent.find((m) => m.from === 1n && m.to === 4n);
    expect(answer?.n).toMatchObject({ state: ServerState.LOOKING, leader: 1n, electionEpoch: 1n });
  });

  it('learn the leader and observe', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }], quorum);
    c.start(1n, 2n, 3n, 4n);
    c.settle();
    expect(c.decisions.get(4n)).toMatchObject({ leader: 3n, role: 'observing' });
    expect(c.peer(4n).state).toBe(ServerState.OBSERVING);
    expect(c.decisions.get(3n)?.role).toBe('leading');
  });

  it('a late observer joins the established leader', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }], quorum);
    c.start(1n, 2n);
    c.settle();
    c.start(4n);
    c.deliverAll();
    expect(c.decisions.get(4n)).toMatchObject({ leader: 2n, role: 'observing' });
  });

  it("a voter's notification naming an observer as leader is ignored", () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }], quorum);
    c.start(1n);
    c.pending = [];
    c.absorb(1n, c.peer(1n).receive(2n, { state: 0, leader: 4n, zxid: 99n, electionEpoch: 1n, peerEpoch: 9n, version: 2, config: null }, 0));
    expect(c.peer(1n).proposedVote.leader).toBe(1n);
  });
});

describe('after the election', () => {
  it('replyWhenNotLooking: LOOKING voters get the current vote with its round; others nothing', () => {
    const currentVote: Vote = { leader: 3n, zxid: 0x1_0000_0002n, electionEpoch: 4n, peerEpoch: 2n, state: ServerState.LOOKING, version: 0 };
    const ctx = { state: ServerState.FOLLOWING, currentVote, logicalclock: 9n, configData: Buffer.from('version=0') };
    expect(replyWhenNotLooking(ctx, 5n, true, { state: ServerState.LOOKING })).toEqual({
      to: 5n,
      notification: { state: ServerState.FOLLOWING, leader: 3n, zxid: 0x1_0000_0002n, electionEpoch: 4n, peerEpoch: 2n, version: 2, config: ctx.configData },
    });
    expect(replyWhenNotLooking(ctx, 5n, true, { state: ServerState.FOLLOWING })).toBeNull();
    // A non-voter is always answered, with the logical clock as round.
    expect(replyWhenNotLooking(ctx, 7n, false, { state: ServerState.OBSERVING })?.notification.electionEpoch).toBe(9n);
    expect(replyWhenNotLooking({ ...ctx, state: ServerState.LOOKING }, 5n, true, { state: ServerState.LOOKING })).toBeNull();
  });

  it('a decided peer keeps answering and looks again on start()', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.settle();
    expect(c.peer(1n).nextDeadlineMs()).toBeNull();
    // The leader goes away; 1 and 2 look again (round 2) and elect 2.
    c.started.delete(3n);
    c.start(1n, 2n);
    c.settle();
    expect(c.decisions.get(2n)).toMatchObject({ role: 'leading', electionEpoch: 2n });
    expect(c.decisions.get(1n)).toMatchObject({ leader: 2n, electionEpoch: 2n });
  });

  it('start() can update what the peer knows of its own log', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(2n, 3n);
    c.settle();
    c.started.delete(3n);
    c.started.add(1n);
    c.absorb(1n, c.peer(1n).start(c.nowMs, { lastLoggedZxid: makeZxid(1n, 3n), currentEpoch: 1n }));
    c.absorb(2n, c.peer(2n).start(c.nowMs, { lastLoggedZxid: makeZxid(1n, 2n), currentEpoch: 1n }));
    c.settle();
    expect(c.decisions.get(1n)?.role).toBe('leading');
  });
});

describe('determinism', () => {
  function run(): string {
    const c = new Cluster([{ id: 1n, zxid: 5n }, { id: 2n, zxid: 5n }, { id: 3n, zxid: 4n }, { id: 4n }, { id: 5n }], majority(1n, 2n, 3n, 4n, 5n));
    c.start(5n, 1n, 3n, 2n, 4n);
    c.settle();
    return JSON.stringify(c.sent.map((m) => [m.from, m.to, m.n.state, m.n.leader, m.n.electionEpoch]), (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
  }

  it('the same inputs give the same outputs', () => {
    expect(run()).toBe(run());
  });
});

describe('re-sends after loss', () => {
  it('peers whose first notifications were all lost still elect, through re-sends', () => {
    const c = new Cluster([{ id: 1n }, { id: 2n }, { id: 3n }], majority(1n, 2n, 3n));
    c.start(1n, 2n, 3n);
    c.pending = [];
    c.advance(200);
    c.pending = [];
    c.advance(400);
    c.settle();
    expect(c.leaders()).toEqual([3n, 3n, 3n]);
    expect(c.nowMs).toBeGreaterThanOrEqual(600);
  });
});
