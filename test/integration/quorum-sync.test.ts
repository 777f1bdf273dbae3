// How a restarted follower catches up: by DIFF when the leader still holds what it missed in its
// in-memory commit log (commitLogCount txns), by SNAP when it is further behind. On tszk the
// leader's log says which; on the reference only the outcome is checked (its leader may also
// diff from its txn log files, which tszk does not do).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quoteOnFailure, startEnsemble, withMemberClient, type Ensemble, type EnsembleMember } from '../support/ensemble.js';
import { describeEachTarget } from '../support/zk-server.js';

const COMMIT_LOG_COUNT = 20;
const TEST_TIMEOUT_MS = 120_000;

describeEachTarget('a restarted follower catches up', (target) => {
  let ensemble: Ensemble | undefined;
  const live = (): Ensemble => {
    if (!ensemble) throw new Error('ensemble not started');
    return ensemble;
  };

  beforeAll(async () => {
    ensemble = await startEnsemble({ kind: target.kind, participants: 3, extraConfig: { commitLogCount: String(COMMIT_LOG_COUNT) } });
    await withMemberClient(ensemble.servers[0]!, async (client) => {
      expect((await client.create('/sync', Buffer.from('0'))).err).toBe(0);
    });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await ensemble?.stop();
  });

  quoteOnFailure(() => ensemble?.diagnostics());

  const writes = (member: EnsembleMember, count: number): Promise<void> =>
    withMemberClient(member, async (client) => {
      for (let i = 0; i < count; i++) expect((await client.setData('/sync', Buffer.from(String(i)), -1)).err).toBe(0);
    });

  /** Kills a follower, writes `missed` txns through the leader, restarts it; returns what the
   * leader logged meanwhile. */
  const outage = async (missed: number): Promise<{ leader: EnsembleMember; follower: EnsembleMember; leaderLog: string }> => {
    const e = live();
    const leader = await e.heal();
    const [follower] = await e.followers();
    if (!follower) throw new Error('no follower');
    await e.kill9(follower.sid);
    await writes(leader, missed);
    const logFrom = readFileSync(leader.logFile).length;
    await e.restart(follower.sid);
    await e.waitForConvergence();
    return { leader, follower, leaderLog: readFileSync(leader.logFile).subarray(logFrom).toString('utf8') };
  };

  it('a few txns behind: DIFF', async () => {
    const { follower, leaderLog } = await outage(3);
    if (target.kind === 'tszk') expect(leaderLog).toContain(`"learner":${follower.sid},"sync":"DIFF"`);
    else expect(leaderLog).toMatch(new RegExp(`Sending DIFF zxid=0x[0-9a-f]+ +for peer sid: ${follower.sid}`));
  }, TEST_TIMEOUT_MS);

  it('more txns behind than the commit log holds: SNAP on tszk', async () => {
    const { follower, leaderLog } = await outage(COMMIT_LOG_COUNT * 3);
    if (target.kind === 'tszk') expect(leaderLog).toContain(`"learner":${follower.sid},"sync":"SNAP"`);
    else expect(leaderLog).toMatch(/Sending (DIFF|snapshot)/);
  }, TEST_TIMEOUT_MS);
});
