// Failover of a three-server ensemble under continuous writes. Four node-zookeeper-client sessions
// with the full connect string write in a loop; every write that was acknowledged must be readable
// afterwards on every server, each session keeps its id and its ephemeral node, and a killed server
// that comes back catches up. Scenarios:
//   1. kill -9 of the leader;
//   2. kill -9 of a follower;
//   3. the leader killed twice in a row: kill it, a new leader serves, restart the first, then kill
//      the new leader too (three servers, so the first must be back before the second goes: killing
//      two of three at once leaves no majority).
// The time from each kill to the first acknowledged write is printed, never asserted.
//
// Each session's loop: create `<parent>/s<i>-n<n>-` PERSISTENT_SEQUENTIAL, then setData
// `<parent>/c<i>` to n, n = 1, 2, 3... The name says who wrote which attempt, so getChildren alone
// checks everything: a request that failed with CONNECTION_LOSS may or may not have happened, but
// no attempt may appear twice, nothing never attempted may appear, and a session's nodes are
// numbered in the order it wrote them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quoteOnFailure, startEnsemble, syncedChildren, type Ensemble, type EnsembleMember } from '../support/ensemble.js';
import { CreateMode, zkErrorCode, ZkCode, ZkSession } from '../support/zk-session.js';
import { waitFor } from '../support/wait.js';
import { describeEachTarget } from '../support/zk-server.js';

const SESSIONS = 4;
/** Pause between two iterations of one session's loop: keeps the load modest on two cores. */
const PACE_MS = 5;
/** A session must survive the election: well above the time one takes, whatever the machine. */
const SESSION_TIMEOUT_MS = 15_000;
const RECOVERY_TIMEOUT_MS = 45_000;
const STOP_WAIT_MS = 15_000;
/** Long enough that a wait inside a test times out first, with its diagnostics. */
const TEST_TIMEOUT_MS = 180_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface SessionRecord {
  index: number;
  session: ZkSession;
  /** Attempts of create, by n. */
  attempted: number;
  /** n -> the path the server acknowledged. */
  acked: Map<number, string>;
  /** Each acknowledged write (create or setData): when it was sent and when its reply came. */
  acks: { sentMs: number; ackedMs: number }[];
  counterAcked: number;
  counterAttempted: number;
  connectionLosses: number;
  /** Anything but CONNECTION_LOSS: must stay empty. */
  unexpected: string[];
}

/** Writes from every session in a loop until stopped, recording what was acknowledged. */
class Workload {
  readonly records: SessionRecord[];
  readonly parent: string;
  #stopped = false;
  #loops: Promise<void>[] = [];

  constructor(sessions: readonly ZkSession[], parent: string) {
    this.parent = parent;
    this.records = sessions.map((session, index) => ({
      index,
      session,
      attempted: 0,
      acked: new Map(),
      acks: [],
      counterAcked: 0,
      counterAttempted: 0,
      connectionLosses: 0,
      unexpected: [],
    }));
  }

  start(): void {
    this.#loops = this.records.map((record) => this.#loop(record));
  }

  /** Ends the loops once their current request is answered; does not wait longer than
   * STOP_WAIT_MS (with no quorum a request may never be answered: the test has failed already). */
  async stop(): Promise<void> {
    this.#stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_WAIT_MS);
    });
    await Promise.race([Promise.all(this.#loops), deadline]);
    clearTimeout(timer);
  }

  #failed(record: SessionRecord, what: string, error: unknown): void {
    if (zkErrorCode(error) === ZkCode.connectionLoss) record.connectionLosses += 1;
    else record.unexpected.push(`${what}: ${String((error as Error).message ?? error)} (code ${String(zkErrorCode(error))})`);
  }

  async #loop(record: SessionRecord): Promise<void> {
    const { session, index } = record;
    while (!this.#stopped) {
      const n = record.attempted + 1;
      record.attempted = n;
      let sentMs = Date.now();
      try {
        const path = await session.create(`${this.parent}/s${index}-n${n}-`, undefined, CreateMode.PERSISTENT_SEQUENTIAL);
        record.acked.set(n, path);
        record.acks.push({ sentMs, ackedMs: Date.now() });
      } catch (error) {
        this.#failed(record, `create n=${n}`, error);
      }
      record.counterAttempted = n;
      sentMs = Date.now();
      try {
        await session.setData(`${this.parent}/c${index}`, String(n));
        record.counterAcked = n;
        record.acks.push({ sentMs, ackedMs: Date.now() });
      } catch (error) {
        this.#failed(record, `setData n=${n}`, error);
      }
      if (record.unexpected.length > 0) return;
      await sleep(PACE_MS);
    }
  }

  /** True when every session has had at least `count` writes sent after `sinceMs` acknowledged.
   * (A write sent before a kill may be acknowledged just after it: it does not count.) */
  everySessionAcked(count: number, sinceMs = 0): boolean {
    return this.records.every((record) => record.acks.filter((ack) => ack.sentMs >= sinceMs).length >= count);
  }

  /** When the first write sent after `sinceMs` was acknowledged, any session. */
  firstAckAfter(sinceMs: number): number | undefined {
    let first: number | undefined;
    for (const record of this.records) {
      const t = record.acks.find((ack) => ack.sentMs >= sinceMs)?.ackedMs;
      if (t !== undefined && (first === undefined || t < first)) first = t;
    }
    return first;
  }

  /** When the last session to do so had its first write sent after `sinceMs` acknowledged. */
  allSessionsAckedAfter(sinceMs: number): number | undefined {
    let last = 0;
    for (const record of this.records) {
      const t = record.acks.find((ack) => ack.sentMs >= sinceMs)?.ackedMs;
      if (t === undefined) return undefined;
      last = Math.max(last, t);
    }
    return last;
  }

  counterNames(): string[] {
    return this.records.map((record) => `c${record.index}`);
  }

  summary(): string {
    return this.records
      .map((r) => `s${r.index}: ${r.acked.size} creates acked of ${r.attempted}, counter ${r.counterAcked}, ${r.connectionLosses} connection losses`)
      .join('; ');
  }
}

const CHILD_NAME = /^s(\d+)-n(\d+)-(\d{10})$/;

/** Checks one server's children of the workload's parent against what the sessions recorded. */
function checkChildren(load: Workload, children: readonly string[], where: string): void {
  const seen = new Set<string>();
  const seqBySession = new Map<number, { n: number; seq: number }[]>();
  for (const name of children) {
    if (/^c\d+$/.test(name)) continue;
    const match = CHILD_NAME.exec(name);
    expect(match, `${where}: unexpected child ${name}`).not.toBeNull();
    const index = Number(match?.[1]);
    const n = Number(match?.[2]);
    const record = load.records[index];
    expect(record, `${where}: child ${name} names no session`).toBeDefined();
    expect(n, `${where}: child ${name} was never attempted`).toBeLessThanOrEqual(record?.attempted ?? 0);
    const key = `${index}/${n}`;
    expect(seen.has(key), `${where}: attempt ${key} created twice`).toBe(false);
    seen.add(key);
    const list = seqBySession.get(index) ?? [];
    list.push({ n, seq: Number(match?.[3]) });
    seqBySession.set(index, list);
  }
  for (const record of load.records) {
    for (const [n, path] of record.acked) {
      const name = path.slice(load.parent.length + 1);
      expect(children.includes(name), `${where}: acknowledged create ${path} (session ${record.index}, n=${n}) is missing`).toBe(true);
    }
    // One session's creates are numbered in the order it made them.
    const list = (seqBySession.get(record.index) ?? []).sort((a, b) => a.n - b.n);
    for (let i = 1; i < list.length; i += 1) {
      expect((list[i]?.seq ?? 0) > (list[i - 1]?.seq ?? 0), `${where}: session ${record.index} creates out of order`).toBe(true);
    }
  }
}

describeEachTarget('quorum failover under continuous writes', (target) => {
  let ensemble: Ensemble | undefined;
  let sessions: ZkSession[] = [];
  const live = (): Ensemble => {
    if (!ensemble) throw new Error('ensemble not started');
    return ensemble;
  };

  beforeAll(async () => {
    ensemble = await startEnsemble({
      kind: target.kind,
      participants: 3,
      // tickTime 200 caps sessions at 20 ticks (4 s) unless told otherwise.
      extraConfig: { maxSessionTimeout: String(SESSION_TIMEOUT_MS) },
    });
    const connectString = ensemble.connectString;
    sessions = await Promise.all(
      Array.from({ length: SESSIONS }, () => ZkSession.connect(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS })),
    );
    // Each session owns an ephemeral node for the whole file.
    for (const [index, session] of sessions.entries()) {
      if (index === 0) await session.create('/eph', undefined);
      await session.create(`/eph/s${index}`, session.sessionIdHex, CreateMode.EPHEMERAL);
    }
  });

  afterAll(async () => {
    await Promise.all(sessions.map((session) => session.close()));
    await ensemble?.stop();
  });

  quoteOnFailure(() => ensemble?.diagnostics());

  /** Every session still has its first session id, has not expired, and owns its ephemeral. */
  async function expectSessionsSurvived(): Promise<void> {
    for (const [index, session] of sessions.entries()) {
      expect(session.expired, `session ${index} expired`).toBe(false);
      expect(session.currentSessionIdHex()).toBe(session.sessionIdHex);
      const stat = await session.exists(`/eph/s${index}`);
      expect(stat?.ephemeralOwner, `ephemeral of session ${index}`).toBe(session.sessionIdHex);
    }
  }

  /** After the load stopped: each server, after sync(), holds every acknowledged write, the same
   * children and counters as the others; then all report the same srvr Zxid and Node count. */
  async function expectSameDataEverywhere(load: Workload): Promise<void> {
    const e = live();
    const views = [];
    for (const member of e.running()) {
      const view = await syncedChildren(member, load.parent, load.counterNames());
      checkChildren(load, view.children, `server ${member.sid}`);
      for (const record of load.records) {
        const value = Number(view.data.get(`c${record.index}`));
        // The last acknowledged value, or a later attempt whose outcome the client never learned.
        expect(value, `server ${member.sid}: counter c${record.index}`).toBeGreaterThanOrEqual(record.counterAcked);
        expect(value, `server ${member.sid}: counter c${record.index}`).toBeLessThanOrEqual(record.counterAttempted);
      }
      views.push({ sid: member.sid, view });
    }
    const [first, ...rest] = views;
    for (const other of rest) {
      expect(other.view.children, `children of ${load.parent} on server ${other.sid} vs ${String(first?.sid)}`).toEqual(first?.view.children);
      expect([...other.view.data], `counters on server ${other.sid} vs ${String(first?.sid)}`).toEqual([...(first?.view.data ?? [])]);
    }
    // A fresh write, so that leader and followers report the same last zxid.
    await sessions[0]?.create(`${load.parent}-done`, undefined);
    const converged = await e.waitForConvergence();
    console.log(`[${target.kind}] ${load.parent}: all ${e.running().length} servers at Zxid ${converged.zxid} with ${converged.nodeCount} nodes; ${load.summary()}`);
  }

  async function prepareLoad(name: string): Promise<Workload> {
    const parent = `/fo-${name}`;
    const session = sessions[0];
    if (!session) throw new Error('no session');
    await session.create(parent, undefined);
    for (let i = 0; i < SESSIONS; i += 1) await session.create(`${parent}/c${i}`, '0');
    const load = new Workload(sessions, parent);
    load.start();
    await waitFor(() => load.everySessionAcked(20), { timeoutMs: 20_000, what: `20 acknowledged writes per session on ${parent}`, detail: () => load.summary() });
    return load;
  }

  /** kill -9 `victim`, wait until every session writes again, print how long that took. */
  async function killAndRecover(load: Workload, victim: EnsembleMember, label: string): Promise<void> {
    const e = live();
    const killedAtMs = Date.now();
    await e.kill9(victim.sid);
    // Writes sent from here on were sent with the victim dead.
    const deadAtMs = Date.now();
    await waitFor(() => load.everySessionAcked(10, deadAtMs), {
      timeoutMs: RECOVERY_TIMEOUT_MS,
      what: `every session to write again after kill -9 of server ${victim.sid} (${label})`,
      detail: () => load.summary(),
    });
    const firstMs = (load.firstAckAfter(deadAtMs) ?? NaN) - killedAtMs;
    const allMs = (load.allSessionsAckedAfter(deadAtMs) ?? NaN) - killedAtMs;
    console.log(
      `[${target.kind}] kill -9 of server ${victim.sid} (${label}): first acknowledged write after ${firstMs} ms, every session writing again after ${allMs} ms`,
    );
    for (const record of load.records) expect(record.unexpected, `session ${record.index}`).toEqual([]);
  }

  it('kill -9 of the leader: a new leader serves, no acknowledged write is lost, the old leader catches up', async () => {
    const e = live();
    const oldLeader = await e.heal();
    const load = await prepareLoad('leader');
    try {
      await killAndRecover(load, oldLeader, 'the leader');
      const newLeader = await e.waitForQuorum();
      expect(newLeader.sid).not.toBe(oldLeader.sid);
      const restartedAtMs = Date.now();
      await e.restart(oldLeader.sid);
      expect(await oldLeader.mode()).toBe('follower');
      await waitFor(() => load.everySessionAcked(10, restartedAtMs), { timeoutMs: 20_000, what: 'writes after the restart', detail: () => load.summary() });
    } finally {
      await load.stop();
    }
    await expectSessionsSurvived();
    await expectSameDataEverywhere(load);
  }, TEST_TIMEOUT_MS);

  it('kill -9 of a follower: the leader stays, writes go on, the follower catches up', async () => {
    const e = live();
    const leader = await e.heal();
    const [follower] = await e.followers();
    if (!follower) throw new Error('no follower');
    const load = await prepareLoad('follower');
    try {
      await killAndRecover(load, follower, 'a follower');
      expect((await e.leader()).sid).toBe(leader.sid);
      const restartedAtMs = Date.now();
      await e.restart(follower.sid);
      expect(await follower.mode()).toBe('follower');
      await waitFor(() => load.everySessionAcked(10, restartedAtMs), { timeoutMs: 20_000, what: 'writes after the restart', detail: () => load.summary() });
    } finally {
      await load.stop();
    }
    await expectSessionsSurvived();
    await expectSameDataEverywhere(load);
  }, TEST_TIMEOUT_MS);

  it('the leader killed twice in a row (the first back before the second goes): nothing acknowledged is lost', async () => {
    const e = live();
    const first = await e.heal();
    const load = await prepareLoad('twice');
    try {
      await killAndRecover(load, first, 'the leader');
      const second = await e.waitForQuorum();
      expect(second.sid).not.toBe(first.sid);
      await e.restart(first.sid);
      await e.waitForQuorum();
      // The first leader, just back, is needed for a majority now: it must have caught up.
      await killAndRecover(load, second, 'the new leader');
      const third = await e.waitForQuorum();
      expect(third.sid).not.toBe(second.sid);
      const restartedAtMs = Date.now();
      await e.restart(second.sid);
      await e.waitForQuorum();
      await waitFor(() => load.everySessionAcked(10, restartedAtMs), { timeoutMs: 20_000, what: 'writes after the restart', detail: () => load.summary() });
    } finally {
      await load.stop();
    }
    await expectSessionsSurvived();
    await expectSameDataEverywhere(load);
  }, TEST_TIMEOUT_MS);
});
