// tszk in one ensemble with Debian's ZooKeeper 3.8 servers: servers 1 and 2 are Java, server 3 is
// tszk. They elect each other, replicate each other's writes, and sync each other by DIFF and by
// SNAP in both directions, so an ensemble can be migrated one server at a time.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quoteOnFailure, startEnsemble, syncedChildren, withMemberClient, type Ensemble, type EnsembleMember } from '../support/ensemble.js';
import { describeWithReference } from '../support/reference.js';

const TSZK_SID = 3;
const TEST_TIMEOUT_MS = 120_000;

describeWithReference('a tszk server in an ensemble with ZooKeeper 3.8 servers', () => {
  let ensemble: Ensemble | undefined;
  const live = (): Ensemble => {
    if (!ensemble) throw new Error('ensemble not started');
    return ensemble;
  };

  beforeAll(async () => {
    // A short in-memory commit log, so that a member far enough behind is synced by SNAP.
    ensemble = await startEnsemble({
      kind: 'reference', memberKinds: ['reference', 'reference', 'tszk'], participants: 3, extraConfig: { commitLogCount: '5' },
    });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await ensemble?.stop();
  });

  quoteOnFailure(() => ensemble?.diagnostics());

  /** Creates /<parent>/<name> through `member`, one session on it alone. */
  const createThrough = (member: EnsembleMember, path: string): Promise<void> =>
    withMemberClient(member, async (client) => {
      const created = await client.create(path, Buffer.from(`via ${member.sid}`));
      expect(created.err, `create ${path} through server ${member.sid}`).toBe(0);
    });

  /** Every running member holds exactly `names` under `parent`, after a sync. */
  const expectEverywhere = async (parent: string, names: string[]): Promise<void> => {
    for (const member of live().running()) {
      const { children } = await syncedChildren(member, parent);
      expect(children, `children of ${parent} on server ${member.sid} (${member.kind})`).toEqual([...names].sort());
    }
  };

  it('tszk leads two Java followers: writes through every server reach every server', async () => {
    const e = live();
    let leader = await e.waitForQuorum();
    // Equal histories: the largest sid wins, and that is the tszk server. But when tszk starts more
    // than a finalize wait after the JVMs (a loaded machine), the two Java servers rightly agree
    // on 2 first and tszk follows: then the Java leader goes, and the two left elect the largest.
    if (leader.kind !== 'tszk') {
      const javaLeader = leader.sid;
      await e.kill9(javaLeader);
      leader = await e.waitForQuorum();
      await e.restart(javaLeader);
    }
    expect(leader.sid).toBe(TSZK_SID);
    expect(leader.kind).toBe('tszk');
    await createThrough(leader, '/interop');
    for (const member of e.servers) await createThrough(member, `/interop/a${member.sid}`);
    await expectEverywhere('/interop', ['a1', 'a2', 'a3']);
  }, TEST_TIMEOUT_MS);

  it('a Java follower that lost its data is brought back by a SNAP from the tszk leader', async () => {
    const e = live();
    const java = e.member(1);
    await e.kill9(java.sid);
    await createThrough(e.member(TSZK_SID), '/interop/while-1-was-down');
    // Enough txns that the leader no longer holds the follower's history in memory.
    await withMemberClient(e.member(TSZK_SID), async (client) => {
      for (let i = 0; i < 12; i++) expect((await client.setData('/interop', Buffer.from(String(i)), -1)).err).toBe(0);
    });
    await rm(join(java.dataDir, 'version-2'), { recursive: true, force: true });
    await e.restart(java.sid);
    expect(java.logTail(200_000)).toMatch(/Getting a snapshot from leader/);
    await expectEverywhere('/interop', ['a1', 'a2', 'a3', 'while-1-was-down']);
  }, TEST_TIMEOUT_MS);

  it('tszk follows a Java leader, forwards writes to it, catches up after a restart, and by SNAP after losing its data', async () => {
    const e = live();
    const tszk = e.member(TSZK_SID);
    await e.kill9(TSZK_SID);
    const javaLeader = await e.waitForQuorum();
    expect(javaLeader.kind).toBe('reference');
    await createThrough(javaLeader, '/interop/while-3-was-down');
    await e.restart(TSZK_SID);
    expect(await tszk.mode()).toBe('follower');
    await createThrough(tszk, '/interop/through-tszk');
    await expectEverywhere('/interop', ['a1', 'a2', 'a3', 'while-1-was-down', 'while-3-was-down', 'through-tszk']);

    await e.kill9(TSZK_SID);
    await createThrough(javaLeader, '/interop/before-snap');
    await withMemberClient(javaLeader, async (client) => {
      for (let i = 0; i < 12; i++) expect((await client.setData('/interop', Buffer.from(String(i)), -1)).err).toBe(0);
    });
    await rm(join(tszk.dataDir, 'version-2'), { recursive: true, force: true });
    await e.restart(TSZK_SID);
    expect(tszk.logTail(200_000)).toMatch(/received snapshot/);
    await createThrough(tszk, '/interop/after-snap');
    await expectEverywhere('/interop', [
      'a1', 'a2', 'a3', 'while-1-was-down', 'while-3-was-down', 'through-tszk', 'before-snap', 'after-snap',
    ]);
    const converged = await e.waitForConvergence();
    expect(converged).toBeDefined();
  }, TEST_TIMEOUT_MS);
});
