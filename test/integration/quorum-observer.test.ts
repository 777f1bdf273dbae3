// Three participants and one observer (server 4: `server.4=...:observer` and peerType=observer).
// The observer says so in srvr and mntr, serves a client that is connected to it alone (its
// writes go through the leader, it sees what others wrote), and its death changes nothing for
// the voting members. Every expectation holds against a real ZooKeeper 3.8 ensemble.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quoteOnFailure, startEnsemble, syncedChildren, withMemberClient, type Ensemble, type EnsembleMember } from '../support/ensemble.js';
import { CreateMode, ZkSession } from '../support/zk-session.js';
import { waitFor } from '../support/wait.js';
import { describeEachTarget } from '../support/zk-server.js';

const OBSERVER_SID = 4;
/** Long enough that a wait inside a test times out first, with its diagnostics. */
const TEST_TIMEOUT_MS = 180_000;

describeEachTarget('quorum with an observer', (target) => {
  let ensemble: Ensemble | undefined;
  const sessions: ZkSession[] = [];
  const live = (): Ensemble => {
    if (!ensemble) throw new Error('ensemble not started');
    return ensemble;
  };
  const open = async (connectString: string): Promise<ZkSession> => {
    const session = await ZkSession.connect(connectString);
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    ensemble = await startEnsemble({ kind: target.kind, participants: 3, observers: 1 });
  });

  afterAll(async () => {
    await Promise.all(sessions.map((session) => session.close()));
    await ensemble?.stop();
  });

  quoteOnFailure(() => ensemble?.diagnostics());

  it('srvr names each role: one leader, two followers, the observer', async () => {
    const e = live();
    await e.waitForQuorum();
    const observer = e.member(OBSERVER_SID);
    expect(observer.role).toBe('observer');
    expect(await observer.mode()).toBe('observer');
    const modes = await Promise.all(e.participants.map((member) => member.mode()));
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
  });

  it("mntr says each server's state, and the leader counts two synced followers and one observer", async () => {
    const e = live();
    const leader = await e.waitForQuorum();
    const observerMntr = await e.member(OBSERVER_SID).mntr();
    expect(observerMntr.get('zk_server_state')).toBe('observer');
    expect(observerMntr.get('zk_peer_state')).toBe('observing - broadcast');
    expect(observerMntr.get('zk_observer_master_id')).toBe(String(leader.sid));

    const leaderMntr = await leader.mntr();
    expect(leaderMntr.get('zk_server_state')).toBe('leader');
    expect(leaderMntr.get('zk_peer_state')).toBe('leading - broadcast');
    expect(leaderMntr.get('zk_synced_followers')).toBe('2');
    expect(leaderMntr.get('zk_synced_non_voting_followers')).toBe('0');
    expect(leaderMntr.get('zk_synced_observers')).toBe('1');
    expect(leaderMntr.get('zk_learners')).toBe('3');
    expect(leaderMntr.get('zk_pending_syncs')).toBe('0');
    expect(leaderMntr.get('zk_quorum_size')).toBe('3');

    for (const follower of await e.followers()) {
      const mntr = await follower.mntr();
      expect(mntr.get('zk_server_state')).toBe('follower');
      expect(mntr.get('zk_peer_state')).toBe('following - broadcast');
      // Only a leader reports these.
      expect(mntr.has('zk_synced_followers')).toBe(false);
      expect(mntr.has('zk_learners')).toBe(false);
    }
  });

  it('a client connected to the observer alone writes through it and reads what others wrote', async () => {
    const e = live();
    const leader = await e.heal();
    const observer = e.member(OBSERVER_SID);
    const [follower] = await e.followers();
    if (!follower) throw new Error('no follower');
    const viaObserver = await open(observer.connectString);
    const viaLeader = await open(leader.connectString);
    const viaFollower = await open(follower.connectString);

    // Writes through the observer: acknowledged, in order, visible to the observer's own session.
    await viaObserver.create('/obs', 'root');
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push(await viaObserver.create('/obs/o-', `o${i}`, CreateMode.PERSISTENT_SEQUENTIAL));
    expect(created).toEqual([0, 1, 2, 3, 4].map((i) => `/obs/o-${String(i).padStart(10, '0')}`));
    const stat = await viaObserver.setData('/obs', 'changed by the observer client');
    expect(stat.version).toBe(1);
    expect((await viaObserver.getData('/obs')).data).toBe('changed by the observer client');
    const ephemeral = await viaObserver.create('/obs/observer-eph', 'e', CreateMode.EPHEMERAL);
    expect(ephemeral).toBe('/obs/observer-eph');

    // The voting members hold the observer client's writes, with its session as ephemeral owner.
    for (const member of e.participants) {
      const seen = await syncedChildren(member, '/obs');
      expect(seen.children).toEqual(['o-0000000000', 'o-0000000001', 'o-0000000002', 'o-0000000003', 'o-0000000004', 'observer-eph']);
    }
    const owner = await viaLeader.exists('/obs/observer-eph');
    expect(owner?.ephemeralOwner).toBe(viaObserver.sessionIdHex);

    // Writes made elsewhere reach the observer: after sync() at once, and without it eventually.
    await viaLeader.create('/obs/from-leader', 'L');
    await viaFollower.create('/obs/from-follower', 'F');
    const synced = await syncedChildren(e.member(OBSERVER_SID), '/obs', ['from-leader', 'from-follower']);
    expect(synced.children).toContain('from-leader');
    expect(synced.children).toContain('from-follower');
    expect(synced.data.get('from-leader')).toBe('L');
    expect(synced.data.get('from-follower')).toBe('F');
    await viaLeader.setData('/obs/from-leader', 'L2');
    await waitFor(async () => (await viaObserver.getData('/obs/from-leader')).data === 'L2', {
      timeoutMs: 10_000,
      what: 'the observer client to see the leader client setData',
    });
  });

  it('killing the observer changes nothing for the voting members; restarted, it catches up', async () => {
    const e = live();
    const leaderBefore = await e.heal();
    const observer = e.member(OBSERVER_SID);
    const participantsOnly = e.participants.map((member) => member.connectString).join(',');
    const writer = await open(participantsOnly);
    await writer.create('/obs-kill', '');

    let acked = 0;
    let failures = 0;
    let stopped = false;
    const loop = (async (): Promise<void> => {
      while (!stopped) {
        try {
          await writer.create('/obs-kill/w-', String(acked), CreateMode.PERSISTENT_SEQUENTIAL);
          acked += 1;
        } catch {
          failures += 1;
        }
      }
    })();

    try {
      await waitFor(() => acked >= 20, { timeoutMs: 20_000, what: '20 writes before the kill' });
      const disconnectsBefore = writer.disconnects;
      await e.kill9(OBSERVER_SID);
      const ackedAtKill = acked;
      await waitFor(() => acked >= ackedAtKill + 50, { timeoutMs: 20_000, what: '50 more writes after the observer was killed' });

      // Same leader, same followers, no lost connection, no failed write.
      expect((await e.leader()).sid).toBe(leaderBefore.sid);
      expect((await e.followers()).length).toBe(2);
      expect(writer.disconnects).toBe(disconnectsBefore);
      expect(failures).toBe(0);
      // The leader notices the observer is gone; its followers stay synced. (Soft: a missing
      // mntr figure should not hide what the rest of this test finds.)
      const observerGone = await waitFor(async () => (await leaderBefore.mntr()).get('zk_synced_observers') === '0', {
        timeoutMs: 10_000,
        what: "the leader's mntr to show zk_synced_observers 0",
      }).catch(() => false);
      expect.soft(observerGone, "the leader's mntr shows zk_synced_observers 0 once the observer is dead").toBe(true);
      expect.soft((await leaderBefore.mntr()).get('zk_synced_followers')).toBe('2');

      // Restarted, the observer rejoins as an observer and holds everything written meanwhile.
      await e.restart(OBSERVER_SID);
      expect(await observer.mode()).toBe('observer');
      await waitFor(() => acked >= ackedAtKill + 80, { timeoutMs: 20_000, what: 'writes to go on after the observer rejoined' });
    } finally {
      stopped = true;
      // Without a quorum the request in flight may never be answered: do not wait for it forever.
      await Promise.race([loop, new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref())]);
    }
    expect(failures).toBe(0);
    const onLeader = await syncedChildren(leaderBefore, '/obs-kill');
    const onObserver = await syncedChildren(observer, '/obs-kill');
    expect(onLeader.children.length).toBe(acked);
    expect(onObserver.children).toEqual(onLeader.children);
    await waitFor(async () => (await e.member(OBSERVER_SID).mntr()).get('zk_server_state') === 'observer', {
      timeoutMs: 10_000,
      what: 'the restarted observer to say zk_server_state observer',
    });
    const converged = await e.waitForConvergence();
    console.log(`[${target.kind}] after the observer's restart every server reports Zxid ${converged.zxid}, ${converged.nodeCount} nodes`);
  }, TEST_TIMEOUT_MS);

  it('the observer does not vote: with two participants down, it stops serving until one returns', async () => {
    const e = live();
    const leader = await e.heal();
    const [follower] = await e.followers();
    if (!follower) throw new Error('no follower');
    const observer: EnsembleMember = e.member(OBSERVER_SID);
    await withMemberClient(observer, async (client) => {
      expect((await client.create('/obs-vote', 'x')).err).toBe(0);
    });
    await e.kill9(follower.sid);
    await e.kill9(leader.sid);
    // One participant and one observer are no majority of three voters.
    await waitFor(async () => (await observer.mode()) === null, { timeoutMs: 20_000, what: 'the observer to stop serving' });
    const remaining = e.participants.find((member) => member.running);
    if (!remaining) throw new Error('no participant left');
    expect(await remaining.mode()).toBeNull();
    await e.restart(leader.sid, { waitServing: false });
    const newLeader = await e.waitForQuorum();
    expect(newLeader.role).toBe('participant');
    const seen = await syncedChildren(observer, '/');
    expect(seen.children).toContain('obs-vote');
    await e.restart(follower.sid);
    await e.waitForQuorum();
  }, TEST_TIMEOUT_MS);
});
