/**
 * A deterministic cluster simulator in the style of TigerBeetle's VOPR: N ZAB peers (voters and
 * observers) over a simulated network, disks and clocks, driven from one seed. A safety phase
 * injects faults (crashes and restarts, partitions, broken connections, slow disks, delay
 * spikes, clock drift); a liveness phase then heals everything and demands that a new write be
 * acknowledged within a bound. Checkers run after every event. The same seed replays exactly.
 */
import { decodeZabPacket, encodeZabPacket, packetZxid, type ZabPacket } from '../../src/quorum/zab/packets.js';
import type { OutMessage, Ready, ZabConfig, ZabEvent, ZabFaults, ZabInput } from '../../src/quorum/zab/ready.js';
import { ZabPeer } from '../../src/quorum/zab/zab-peer.js';
import { zxidHex } from '../../src/quorum/zab/zxid.js';
import { DataTree } from '../../src/tree/data-tree.js';
import { applyTxn } from '../../src/txn/apply.js';
import type { TxnEntry } from '../../src/txn/txn.js';
import { AssertionError } from '../../src/util/assert.js';
import { Prng } from '../../src/util/prng.js';
import type { Notification } from '../../src/quorum/election/notification.js';
import { Checkers } from './checkers.js';
import { describeFaultMix, drawFaultMix, type FaultMix } from './fault-mix.js';
import { EventQueue } from './event-queue.js';
import { FleElection, OracleElection, type ElectionOutput, type SimElection } from './sim-election.js';
import { SimDisk } from './sim-disk.js';
import { SimFailure } from './sim-failure.js';
import { SimNetwork, type Conn, type Side } from './sim-network.js';
import { Trace } from './trace.js';
import { Workload } from './workload.js';

export interface SimOptions {
  seed: number;
  /** Default: 3 or 5, from the seed. */
  voters?: number;
  /** Default: 0 to 2, from the seed. */
  observers?: number;
  election?: 'oracle' | 'fle';
  safetyMs?: number;
  /** Bound on the liveness phase: a write must be acknowledged within it. */
  livenessMs?: number;
  tickMs?: number;
  initLimitTicks?: number;
  syncLimitTicks?: number;
  /** Test-only broken variants of the cores. */
  faults?: ZabFaults;
  /** The white-box "committed => durable on a quorum" checker. Default on. */
  checkDurableQuorum?: boolean;
  /** Encode every ZAB packet to bytes and decode it on delivery. Default: every 4th seed. */
  wireRoundTrip?: boolean;
  /** Ends the run after this many events (0: no limit), a guard against livelock. */
  maxEvents?: number;
  /** Trace lines kept for a failure report. Default 400. */
  traceLines?: number;
}

export interface SimStats {
  crashes: number;
  partitions: number;
  linkBreaks: number;
  epochs: number;
  committed: number;
  acked: number;
  snaps: number;
  truncs: number;
  diffs: number;
  /** Time from healing to the first acknowledged write, or -1. */
  livenessMs: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  checker: string | null;
  failure: string | null;
  traceHash: string;
  events: number;
  simTimeMs: number;
  stats: SimStats;
  /** The last trace lines (all on failure, up to the trace buffer). */
  trace: string[];
  config: string;
}

type Ev =
  | { type: 'tick'; sid: number; inc: number }
  | { type: 'zab'; conn: Conn; from: number; to: number; packet: ZabPacket | Buffer; snapshot: readonly TxnEntry[] | null }
  /** The end `sid` (on `side`) of conn learns that it broke. */
  | { type: 'rst'; conn: Conn; sid: number; peer: number; side: Side }
  | { type: 'elmsg'; from: number; to: number; msg: Notification }
  | { type: 'eltimer'; sid: number; inc: number; gen: number }
  | { type: 'logSync'; sid: number; inc: number }
  | { type: 'epochSync'; sid: number; inc: number; token: number }
  | { type: 'client' }
  | { type: 'fault' }
  | { type: 'crash'; sid: number; inc: number }
  | { type: 'restart'; sid: number }
  | { type: 'healPartition'; gen: number }
  | { type: 'heal' };

interface Server {
  sid: number;
  voter: boolean;
  up: boolean;
  /** Bumped at each crash: events of an earlier life are ignored. */
  inc: number;
  disk: SimDisk;
  core: ZabPeer;
  election: SimElection;
  elTimerGen: number;
  tree: DataTree;
  /** How many txns of the global sequence the tree holds. */
  appliedIndex: number;
  /** The txns of core.history's snapshot. */
  baseEntries: readonly TxnEntry[];
  receivedSnapshot: readonly TxnEntry[] | null;
  logSyncPending: boolean;
  tickMs: number;
  diskFactor: number;
}

const FAULT_STEP_MS = 100;
/** After the liveness write, how long every server gets to serve the same leader and catch up. */
const CONVERGE_MS = 5000;

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulator(opts).run();
}

class Simulator {
  private readonly rng: Prng;
  private readonly faultRng: Prng;
  private readonly netRng: Prng;
  private readonly diskRng: Prng;
  private readonly electionRng: Prng;
  private readonly queue = new EventQueue<Ev>();
  private readonly trace: Trace;
  private readonly servers: Server[] = [];
  private readonly network: SimNetwork;
  private readonly checkers: Checkers;
  private readonly workload: Workload;
  private readonly mix: FaultMix;
  private readonly voterSids: number[] = [];
  private readonly observerSids: number[] = [];
  private readonly safetyMs: number;
  private readonly livenessMs: number;
  private readonly tickMs: number;
  private readonly initLimitTicks: number;
  private readonly syncLimitTicks: number;
  private readonly electionKind: 'oracle' | 'fle';
  private readonly wireRoundTrip: boolean;
  private readonly maxEvents: number;
  private nowMs = 0;
  private events = 0;
  private faultsOn = true;
  private healedAtMs = -1;
  private finishAtMs = Infinity;
  private partitionGen = 0;
  /** Proposals in flight: `${leaderSid}:${zxid}` -> cxid and time proposed. */
  private readonly inflight = new Map<string, { cxid: number; atMs: number }>();
  private readonly stats: SimStats = {
    crashes: 0, partitions: 0, linkBreaks: 0, epochs: 0, committed: 0, acked: 0, snaps: 0, truncs: 0, diffs: 0, livenessMs: -1,
  };

  constructor(private readonly opts: SimOptions) {
    this.rng = Prng.fromSeed(opts.seed);
    this.trace = new Trace(opts.traceLines ?? 400);
    const shape = this.rng.fork();
    this.faultRng = this.rng.fork();
    this.netRng = this.rng.fork();
    this.diskRng = this.rng.fork();
    this.electionRng = this.rng.fork();
    this.workload = new Workload(this.rng.fork());
    const voters = opts.voters ?? (shape.chance(0.5) ? 3 : 5);
    const observers = opts.observers ?? shape.nextInt(3);
    for (let sid = 1; sid <= voters; sid++) this.voterSids.push(sid);
    for (let sid = voters + 1; sid <= voters + observers; sid++) this.observerSids.push(sid);
    this.safetyMs = opts.safetyMs ?? 5000;
    this.livenessMs = opts.livenessMs ?? 30_000;
    this.tickMs = opts.tickMs ?? 100;
    this.initLimitTicks = opts.initLimitTicks ?? 10;
    this.syncLimitTicks = opts.syncLimitTicks ?? 5;
    this.electionKind = opts.election ?? 'oracle';
    this.wireRoundTrip = opts.wireRoundTrip ?? opts.seed % 4 === 0;
    this.maxEvents = opts.maxEvents ?? 400_000;
    this.mix = drawFaultMix(shape);
    this.network = new SimNetwork(voters + observers);
    this.checkers = new Checkers(() => this.servers.filter((s) => s.voter).map((s) => s.disk), opts.checkDurableQuorum ?? true);
  }

  private get configLine(): string {
    return (
      `seed=${this.opts.seed} voters=${this.voterSids.length} observers=${this.observerSids.length} election=${this.electionKind} ` +
      `wire=${this.wireRoundTrip} ${describeFaultMix(this.mix)}` +
      (this.opts.faults !== undefined ? ` faults=${JSON.stringify(this.opts.faults)}` : '')
    );
  }

  run(): SimResult {
    let failure: string | null = null;
    let checker: string | null = null;
    try {
      this.boot();
      this.loop();
    } catch (err) {
      if (err instanceof SimFailure) {
        checker = err.checker;
        failure = err.message;
      } else if (err instanceof AssertionError) {
        checker = 'assert';
        failure = `${err.message}\n${err.stack ?? ''}`;
      } else {
        // A bug of the simulator or the codecs: still report it with the seed.
        checker = 'exception';
        failure = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
      }
    }
    this.stats.committed = this.checkers.committedCount;
    this.stats.acked = this.checkers.ackedCount;
    this.stats.epochs = this.checkers.establishedEpochs;
    return {
      seed: this.opts.seed,
      ok: failure === null,
      checker,
      failure,
      traceHash: this.trace.hash,
      events: this.events,
      simTimeMs: this.nowMs,
      stats: this.stats,
      trace: this.trace.tail(failure === null ? 40 : undefined),
      config: this.configLine,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Setup and the event loop

  private boot(): void {
    for (const sid of [...this.voterSids, ...this.observerSids]) {
      const disk = new SimDisk();
      const s: Server = {
        sid,
        voter: this.voterSids.includes(sid),
        up: true,
        inc: 0,
        disk,
        core: new ZabPeer(this.zabConfig(sid), disk.durableState()),
        election: this.makeElection(sid, 0n, 0n),
        elTimerGen: 0,
        tree: new DataTree(),
        appliedIndex: 0,
        baseEntries: [],
        receivedSnapshot: null,
        logSyncPending: false,
        // Clock drift: each server's tick runs up to 10% fast or slow.
        tickMs: Math.round(this.tickMs * (0.9 + 0.2 * this.faultRng.nextFloat())),
        // Disks differ: a server's fsyncs take 0.25x to 4x the seed's latency.
        diskFactor: this.faultRng.pick([0.25, 1, 1, 4]),
      };
      this.servers[sid] = s;
    }
    this.trace.add(0, this.configLine);
    for (const s of this.live()) {
      this.queue.push(this.faultRng.nextInt(s.tickMs), { type: 'tick', sid: s.sid, inc: s.inc });
      this.becomeLooking(s);
    }
    this.queue.push(0, { type: 'client' });
    this.queue.push(FAULT_STEP_MS, { type: 'fault' });
    this.queue.push(this.safetyMs, { type: 'heal' });
  }

  private zabConfig(sid: number): ZabConfig {
    return {
      sid,
      voters: this.voterSids,
      observers: this.observerSids,
      initLimitTicks: this.initLimitTicks,
      syncLimitTicks: this.syncLimitTicks,
      maxOutstandingProposals: 64,
      ...(this.opts.faults !== undefined ? { faults: this.opts.faults } : {}),
    };
  }

  private makeElection(sid: number, lastLoggedZxid: bigint, currentEpoch: bigint): SimElection {
    if (this.electionKind === 'fle') return new FleElection(sid, this.voterSids, this.observerSids, lastLoggedZxid, currentEpoch);
    return new OracleElection(sid, this, this.electionRng.fork());
  }

  private loop(): void {
    for (;;) {
      const next = this.queue.pop();
      if (next === undefined) throw new SimFailure('event queue ran dry', 'sim');
      this.nowMs = next.timeMs;
      if (this.stats.livenessMs >= 0 && this.converged()) return;
      if (this.nowMs >= this.finishAtMs) {
        throw new SimFailure(`servers did not converge within ${CONVERGE_MS} ms of the liveness write: ${this.describeServers()}`, 'convergence');
      }
      if (this.healedAtMs >= 0 && this.stats.livenessMs < 0 && this.nowMs > this.healedAtMs + this.livenessMs) {
        throw new SimFailure(`no write acknowledged within ${this.livenessMs} ms of healing`, 'liveness');
      }
      if (this.maxEvents > 0 && ++this.events > this.maxEvents) {
        throw new SimFailure(`more than ${this.maxEvents} events`, 'sim');
      }
      this.handle(next.item);
    }
  }

  /** Everyone serves under one leader and has applied all it has. */
  private converged(): boolean {
    const all = this.servers.filter((s) => s !== undefined);
    const leader = all.find((s) => s.core.state === 'leading' && s.core.serving);
    if (leader === undefined) return false;
    return all.every((s) => s.up && s.core.serving && s.core.leaderSid === leader.sid && s.appliedIndex === leader.appliedIndex);
  }

  private describeServers(): string {
    return this.servers
      .filter((s) => s !== undefined)
      .map((s) => `s${s.sid} ${s.up ? s.core.state : 'down'}${s.core.serving ? '' : '(syncing)'} leader=${s.core.leaderSid} applied=${s.appliedIndex}`)
      .join(', ');
  }

  private live(): Server[] {
    return this.servers.filter((s) => s !== undefined && s.up);
  }

  private server(sid: number): Server {
    const s = this.servers[sid];
    if (s === undefined) throw new SimFailure(`no server ${sid}`);
    return s;
  }

  private handle(ev: Ev): void {
    switch (ev.type) {
      case 'tick': {
        const s = this.server(ev.sid);
        if (!s.up || s.inc !== ev.inc) return;
        this.queue.push(this.nowMs + s.tickMs, ev);
        this.trace.event(this.nowMs, 'tick', s.sid, 0);
        this.step(s, { type: 'tick' });
        return;
      }
      case 'zab':
        return this.deliverZab(ev);
      case 'rst': {
        const s = this.server(ev.sid);
        const latest = this.network.current(ev.conn.learner, ev.conn.leader, ev.side);
        if (!s.up || latest !== ev.conn) return;
        this.trace.event(this.nowMs, 'rst', ev.sid, ev.peer);
        this.step(s, { type: 'disconnected', peer: ev.peer });
        return;
      }
      case 'elmsg': {
        const s = this.server(ev.to);
        if (!s.up || !this.network.connected(ev.from, ev.to)) return;
        this.onElection(s, s.election.receive(ev.from, ev.msg, this.nowMs));
        return;
      }
      case 'eltimer': {
        const s = this.server(ev.sid);
        if (!s.up || s.inc !== ev.inc || s.elTimerGen !== ev.gen) return;
        this.onElection(s, s.election.tick(this.nowMs));
        return;
      }
      case 'logSync': {
        const s = this.server(ev.sid);
        if (!s.up || s.inc !== ev.inc) return;
        s.logSyncPending = false;
        const { tokens, removed } = s.disk.syncLog();
        if (removed) {
          this.checkers.recheckDurable();
          this.checkers.checkEpochHistory(s.sid, s.disk);
        }
        this.trace.event(this.nowMs, 'fsync', s.sid, tokens.length);
        for (const token of tokens) this.step(s, { type: 'persisted', token });
        return;
      }
      case 'epochSync': {
        const s = this.server(ev.sid);
        if (!s.up || s.inc !== ev.inc) return;
        const tokens = s.disk.syncEpoch(ev.token);
        this.checkers.checkEpochHistory(s.sid, s.disk);
        for (const token of tokens) this.step(s, { type: 'persisted', token });
        return;
      }
      case 'client':
        return this.onClient();
      case 'fault':
        return this.onFault();
      case 'crash': {
        const s = this.server(ev.sid);
        if (!s.up || s.inc !== ev.inc || !this.faultsOn) return;
        const leader = s.core.leaderSid;
        this.crashAndRestartLater(s);
        // Sometimes a second server goes down with it, often its leader (same rack).
        if (this.faultRng.chance(this.mix.correlatedCrashChance)) {
          const others = this.live();
          const partner = others.find((o) => o.sid === leader && this.faultRng.chance(0.5)) ?? (others.length > 0 ? this.faultRng.pick(others) : undefined);
          if (partner !== undefined) this.crashAndRestartLater(partner);
        }
        return;
      }
      case 'restart': {
        const s = this.server(ev.sid);
        if (!s.up) this.restart(s);
        return;
      }
      case 'healPartition':
        if (ev.gen === this.partitionGen) {
          this.network.heal();
          this.trace.add(this.nowMs, 'partition healed');
        }
        return;
      case 'heal':
        return this.heal();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Driving a core: persist, then send, then apply, then events

  private step(s: Server, input: ZabInput): void {
    const ready = s.core.step(input);
    this.carryOut(s, ready);
  }

  private carryOut(s: Server, r: Ready): void {
    for (const item of r.persist) {
      const snapshot = item.op.type === 'installSnapshot' ? s.receivedSnapshot : null;
      const device = s.disk.write(item, snapshot);
      if (this.faultsOn && this.mix.crashOnPersistChance > 0) {
        const p = item.op.type === 'appendTxns' ? this.mix.crashOnPersistChance / 20 : this.mix.crashOnPersistChance;
        if (this.faultRng.chance(p)) {
          const withinMs = this.faultRng.nextInt(Math.max(this.mix.logDiskMaxMs, this.mix.epochDiskMaxMs) + 1);
          this.queue.push(this.nowMs + withinMs, { type: 'crash', sid: s.sid, inc: s.inc });
        }
      }
      this.trace.event(this.nowMs, item.op.type, s.sid, item.token);
      if (device === 'log') {
        if (!s.logSyncPending) {
          s.logSyncPending = true;
          this.queue.push(this.nowMs + this.diskLatencyMs(this.mix.logDiskMaxMs * s.diskFactor), { type: 'logSync', sid: s.sid, inc: s.inc });
        }
      } else {
        this.queue.push(this.nowMs + this.diskLatencyMs(this.mix.epochDiskMaxMs * s.diskFactor), { type: 'epochSync', sid: s.sid, inc: s.inc, token: item.token });
      }
    }
    for (const m of r.messages) this.sendZab(s, m);
    // Before events: a roleEnded event may start the next role, and its connections, right away.
    for (const d of r.disconnect) {
      const learner = d.link === 'toLeader' ? s.sid : d.peer;
      const leader = d.link === 'toLeader' ? d.peer : s.sid;
      const c = this.network.current(learner, leader, d.link === 'toLeader' ? 'learner' : 'leader');
      if (c !== undefined && c.alive) this.breakConn(c, 1, `s${s.sid} closes`);
    }
    for (const a of r.apply) {
      if (a.type === 'txn') this.applyOne(s, a.entry);
      else this.loadSnapshot(s, a.zxid);
    }
    for (const e of r.events) this.onZabEvent(s, e);
  }

  private applyOne(s: Server, entry: TxnEntry): void {
    applyTxn(s.tree, entry.hdr, entry.body);
    this.checkers.onApply(s.sid, s.appliedIndex, entry, s.tree.digest);
    s.appliedIndex++;
    const key = `${s.sid}:${entry.hdr.zxid}`;
    const p = this.inflight.get(key);
    if (p !== undefined && s.core.state === 'leading') {
      this.inflight.delete(key);
      if (p.cxid === entry.hdr.cxid) {
        this.checkers.onAcked(entry.hdr.zxid, entry.hdr.cxid);
        this.trace.event(this.nowMs, 'acknowledged', s.sid, entry.hdr.cxid, entry.hdr.zxid);
        if (this.healedAtMs >= 0 && p.atMs >= this.healedAtMs && this.stats.livenessMs < 0) {
          this.stats.livenessMs = this.nowMs - this.healedAtMs;
          this.finishAtMs = this.nowMs + CONVERGE_MS;
        }
      }
    }
  }

  private loadSnapshot(s: Server, zxid: bigint): void {
    const entries = s.baseEntries;
    const last = entries[entries.length - 1]?.hdr.zxid ?? 0n;
    if (last !== zxid) throw new SimFailure(`s${s.sid} loads snapshot ${zxidHex(zxid)} but holds one up to ${zxidHex(last)}`);
    s.tree = new DataTree();
    s.appliedIndex = 0;
    for (const entry of entries) {
      applyTxn(s.tree, entry.hdr, entry.body);
      this.checkers.onApply(s.sid, s.appliedIndex++, entry, s.tree.digest);
    }
    this.trace.add(this.nowMs, `load s${s.sid} ${zxidHex(zxid)}`);
  }

  private onZabEvent(s: Server, e: ZabEvent): void {
    switch (e.type) {
      case 'leading':
        this.trace.add(this.nowMs, `s${s.sid} LEADS epoch ${e.epoch} at ${zxidHex(e.zxid)}`);
        this.checkers.onEstablished(s.sid, e.epoch, e.zxid, (zxid) => this.historyCxid(s, zxid));
        for (const other of this.servers) if (other !== undefined) this.checkers.checkEpochHistory(other.sid, other.disk);
        s.election.established(e.epoch);
        return;
      case 'following':
        this.trace.add(this.nowMs, `s${s.sid} ${e.observer ? 'observes' : 'follows'} s${e.leader} epoch ${e.epoch}`);
        s.election.established(e.epoch);
        return;
      case 'roleEnded':
        this.trace.add(this.nowMs, `s${s.sid} LOOKING: ${e.reason}`);
        this.becomeLooking(s);
        return;
      case 'protocolError':
        throw new SimFailure(`s${s.sid}: ${e.reason}`, 'protocol');
      case 'proposeRejected':
      case 'request':
      case 'syncReply':
        return;
    }
  }

  /** The cxid of zxid in s's whole history (snapshot content, then log). */
  private historyCxid(s: Server, zxid: bigint): number | undefined {
    if (zxid <= s.core.history.snapshotZxid) {
      return s.baseEntries.find((e) => e.hdr.zxid === zxid)?.hdr.cxid;
    }
    return s.core.history.get(zxid)?.hdr.cxid;
  }

  /** s's history up to zxid, as the snapshot a SNAP carries. */
  private historyPrefix(s: Server, zxid: bigint): readonly TxnEntry[] {
    const h = s.core.history;
    if (zxid < h.snapshotZxid) throw new SimFailure(`s${s.sid} cannot snapshot at ${zxidHex(zxid)} below ${zxidHex(h.snapshotZxid)}`);
    return [...s.baseEntries, ...h.slice(0, h.firstAfter(zxid))];
  }

  // -------------------------------------------------------------------------------------------
  // Elections

  private becomeLooking(s: Server): void {
    this.onElection(s, s.election.start(this.nowMs, s.core.lastLoggedZxid, s.core.currentEpoch));
  }

  private onElection(s: Server, out: ElectionOutput): void {
    for (const m of out.messages) {
      if (!this.network.connected(s.sid, m.to)) continue;
      if (this.faultsOn && this.netRng.chance(this.mix.electionDropChance)) continue;
      this.queue.push(this.nowMs + this.netDelayMs(), { type: 'elmsg', from: s.sid, to: m.to, msg: m.msg });
    }
    if (out.decision !== null && s.core.state === 'looking') {
      this.trace.add(this.nowMs, `s${s.sid} elects s${out.decision}`);
      this.step(s, { type: 'elected', leader: out.decision });
    }
    const deadline = s.election.nextDeadlineMs();
    if (deadline !== null) {
      s.elTimerGen++;
      this.queue.push(Math.max(deadline, this.nowMs), { type: 'eltimer', sid: s.sid, inc: s.inc, gen: s.elTimerGen });
    }
  }

  /** The oracle: follow a reachable leader, else the best looking voter if a quorum looks. */
  oracleLeader(sid: number): number | null {
    const reach = this.live().filter((s) => this.network.connected(s.sid, sid));
    const leading = reach.filter((s) => s.sid !== sid && s.core.state === 'leading');
    if (leading.length > 0) return this.electionRng.pick(leading).sid;
    const me = this.server(sid);
    if (!me.voter) return null;
    const looking = reach.filter((s) => s.voter && s.core.state === 'looking');
    if (looking.length * 2 <= this.voterSids.length) return null;
    let best = looking[0]!;
    for (const s of looking) {
      const a = s.core;
      const b = best.core;
      if (a.currentEpoch > b.currentEpoch || (a.currentEpoch === b.currentEpoch && (a.lastLoggedZxid > b.lastLoggedZxid || (a.lastLoggedZxid === b.lastLoggedZxid && s.sid > best.sid)))) {
        best = s;
      }
    }
    return best.sid;
  }

  // -------------------------------------------------------------------------------------------
  // Network

  private sendZab(s: Server, m: OutMessage): void {
    const toLeader = m.link === 'toLeader';
    const learner = toLeader ? s.sid : m.to;
    const leader = toLeader ? m.to : s.sid;
    const target = this.server(m.to);
    let conn: Conn | undefined;
    if (m.packet.type === 'followerInfo' || m.packet.type === 'observerInfo') {
      conn = this.network.open(learner, leader);
      if (!conn.alive || !target.up) {
        // Connection refused or timed out: the learner hears of it.
        conn.alive = false;
        this.queue.push(this.nowMs + this.netDelayMs() + 50, { type: 'rst', conn, sid: s.sid, peer: m.to, side: 'learner' });
        return;
      }
    } else {
      conn = this.network.current(learner, leader, toLeader ? 'learner' : 'leader');
    }
    if (conn === undefined || !conn.alive) return;
    if (!this.network.connected(s.sid, m.to)) {
      conn.alive = false;
      return;
    }
    const at = toLeader ? Math.max(this.nowMs + this.netDelayMs(), conn.lastToLeaderMs) : Math.max(this.nowMs + this.netDelayMs(), conn.lastToLearnerMs);
    if (toLeader) conn.lastToLeaderMs = at;
    else conn.lastToLearnerMs = at;
    const packet = this.wireRoundTrip ? encodeZabPacket(m.packet) : m.packet;
    const snapshot = m.packet.type === 'snap' ? this.historyPrefix(s, m.packet.zxid) : null;
    if (m.packet.type === 'snap') this.stats.snaps++;
    else if (m.packet.type === 'trunc') this.stats.truncs++;
    else if (m.packet.type === 'diff') this.stats.diffs++;
    this.queue.push(at, { type: 'zab', conn, from: s.sid, to: m.to, packet, snapshot });
  }

  private deliverZab(ev: Extract<Ev, { type: 'zab' }>): void {
    if (!ev.conn.alive) return;
    if (!this.network.connected(ev.from, ev.to)) {
      ev.conn.alive = false;
      return;
    }
    const s = this.server(ev.to);
    if (!s.up) return;
    const packet: ZabPacket = Buffer.isBuffer(ev.packet) ? decodeZabPacket(ev.packet) : (ev.packet as ZabPacket);
    this.trace.event(this.nowMs, packet.type, ev.from, ev.to, packetZxid(packet));
    if (packet.type === 'snap') s.receivedSnapshot = ev.snapshot;
    if (packet.type === 'followerInfo' || packet.type === 'observerInfo') this.network.accept(ev.conn);
    this.step(s, { type: 'message', from: ev.from, packet });
    if (packet.type === 'snap' && s.up && s.core.history.snapshotZxid === packet.zxid && ev.snapshot !== null) {
      s.baseEntries = ev.snapshot;
    }
  }

  /** Break a connection; each end hears of it (RST) with probability `rstChance`. */
  private breakConn(c: Conn, rstChance: number, why: string): void {
    c.alive = false;
    this.trace.add(this.nowMs, `break s${c.learner}>s${c.leader} ${why}`);
    const ends = [[c.learner, c.leader, 'learner'], [c.leader, c.learner, 'leader']] as const;
    for (const [sid, peer, side] of ends) {
      if (this.netRng.chance(rstChance)) this.queue.push(this.nowMs + this.netDelayMs(), { type: 'rst', conn: c, sid, peer, side });
    }
  }

  private netDelayMs(): number {
    let d = 1 + this.netRng.nextInt(this.mix.netDelayMaxMs);
    if (this.faultsOn && this.netRng.chance(this.mix.netSpikeChance)) d += 50 + this.netRng.nextInt(450);
    return d;
  }

  private diskLatencyMs(maxMs: number): number {
    let d = 1 + this.diskRng.nextInt(Math.max(1, Math.round(maxMs)));
    if (this.faultsOn && this.diskRng.chance(this.mix.diskSpikeChance)) d += 100 + this.diskRng.nextInt(900);
    return d;
  }

  // -------------------------------------------------------------------------------------------
  // Clients

  private onClient(): void {
    // Once the liveness write is in, clients stop so that everyone can catch up.
    if (this.stats.livenessMs >= 0) return;
    this.queue.push(this.nowMs + 1 + this.rng.nextInt(this.mix.clientGapMaxMs), { type: 'client' });
    const leaders = this.live().filter((s) => s.core.state === 'leading' && s.core.serving);
    if (leaders.length === 0) return;
    const s = this.rng.pick(leaders);
    const zxid = s.core.nextZxid();
    if (zxid === null) return;
    const entry = this.workload.makeTxn(zxid, this.nowMs);
    this.inflight.set(`${s.sid}:${zxid}`, { cxid: entry.hdr.cxid, atMs: this.nowMs });
    this.trace.event(this.nowMs, 'propose', s.sid, entry.hdr.cxid, zxid);
    this.step(s, { type: 'propose', entry });
  }

  // -------------------------------------------------------------------------------------------
  // Faults, and healing for the liveness phase

  private onFault(): void {
    if (!this.faultsOn) return;
    this.queue.push(this.nowMs + FAULT_STEP_MS, { type: 'fault' });
    const r = this.faultRng;
    const perStep = FAULT_STEP_MS / 1000;
    if (r.chance(this.mix.crashPerSec * perStep)) {
      const up = this.live();
      const n = up.length > 1 && r.chance(this.mix.correlatedCrashChance) ? 2 + r.nextInt(up.length - 1) : 1;
      // Crashes that lose unsynced writes are the interesting ones: prefer servers that have some.
      const dirty = up.filter((s) => s.disk.hasPending);
      const victims = r.chance(0.7) && dirty.length > 0 ? r.shuffle(dirty) : r.shuffle(up);
      for (const s of victims.slice(0, n)) this.crashAndRestartLater(s);
    }
    if (r.chance(this.mix.partitionPerSec * perStep) && !this.network.partitioned) {
      const groups = [0];
      for (let sid = 1; sid < this.servers.length; sid++) groups.push(r.nextInt(2));
      const cut = this.network.partition(groups);
      this.stats.partitions++;
      this.trace.add(this.nowMs, `partition ${groups.slice(1).join('')}`);
      for (const c of cut) this.breakConn(c, this.mix.rstChance * 0.5, 'partition');
      this.queue.push(this.nowMs + 200 + r.nextInt(3000), { type: 'healPartition', gen: ++this.partitionGen });
    }
    if (r.chance(this.mix.linkBreakPerSec * perStep)) {
      const conns = this.network.allAlive();
      if (conns.length > 0) {
        this.stats.linkBreaks++;
        this.breakConn(r.pick(conns), this.mix.rstChance, 'fault');
      }
    }
  }

  private crashAndRestartLater(s: Server): void {
    this.crash(s);
    this.queue.push(this.nowMs + 100 + this.faultRng.nextInt(2500), { type: 'restart', sid: s.sid });
  }

  private crash(s: Server): void {
    this.stats.crashes++;
    s.up = false;
    s.inc++;
    s.logSyncPending = false;
    this.trace.add(this.nowMs, `CRASH s${s.sid}`);
    if (s.disk.crash(this.diskRng)) this.checkers.recheckDurable();
    this.checkers.checkEpochHistory(s.sid, s.disk);
    for (const c of this.network.connsOf(s.sid)) {
      c.alive = false;
      const other = c.learner === s.sid ? c.leader : c.learner;
      const side = c.learner === s.sid ? 'leader' : 'learner';
      if (this.netRng.chance(this.mix.rstChance)) this.queue.push(this.nowMs + this.netDelayMs(), { type: 'rst', conn: c, sid: other, peer: s.sid, side });
    }
  }

  private restart(s: Server): void {
    s.up = true;
    const durable = s.disk.durableState();
    s.core = new ZabPeer(this.zabConfig(s.sid), durable);
    s.election = this.makeElection(s.sid, s.core.lastLoggedZxid, s.core.currentEpoch);
    s.tree = new DataTree();
    s.appliedIndex = 0;
    s.baseEntries = s.disk.snapshotEntries;
    s.receivedSnapshot = null;
    this.trace.add(this.nowMs, `RESTART s${s.sid} acceptedEpoch=${durable.acceptedEpoch} currentEpoch=${durable.currentEpoch} last=${zxidHex(s.core.lastLoggedZxid)}`);
    this.queue.push(this.nowMs + s.tickMs, { type: 'tick', sid: s.sid, inc: s.inc });
    this.becomeLooking(s);
  }

  private heal(): void {
    this.faultsOn = false;
    this.healedAtMs = this.nowMs;
    this.network.heal();
    this.partitionGen++;
    this.trace.add(this.nowMs, 'HEAL: liveness phase');
    for (const s of this.servers) if (s !== undefined && !s.up) this.restart(s);
  }
}
