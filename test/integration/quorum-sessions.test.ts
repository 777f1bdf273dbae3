// Sessions in an ensemble are global and the leader owns their expiry. A client connected to a
// follower keeps its session as long as it pings (the follower reports the touches to the leader
// in its PING replies); a client that vanishes without closing its session loses it, and its
// ephemerals, once its timeout has passed, on every server.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quoteOnFailure, startEnsemble, withMemberClient, type Ensemble } from '../support/ensemble.js';
import { RawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { CreateMode, ZkSession } from '../support/zk-session.js';
import { describeEachTarget } from '../support/zk-server.js';

/** tickTime 200 ms: session timeouts are clamped to 400..4,000 ms. */
const SESSION_TIMEOUT_MS = 2_000;
const TEST_TIMEOUT_MS = 60_000;

describeEachTarget('sessions in an ensemble', (target) => {
  let ensemble: Ensemble | undefined;
  const live = (): Ensemble => {
    if (!ensemble) throw new Error('ensemble not started');
    return ensemble;
  };

  beforeAll(async () => {
    ensemble = await startEnsemble({ kind: target.kind, participants: 3 });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await ensemble?.stop();
  });

  quoteOnFailure(() => ensemble?.diagnostics());

  /** Whether `path` exists on every member, after a sync. */
  const existsEverywhere = async (path: string): Promise<boolean[]> =>
    Promise.all(
      live().servers.map((member) =>
        withMemberClient(member, async (client) => {
          await client.sync(path);
          return (await client.exists(path)).err === 0;
        }),
      ),
    );

  it('a client that keeps pinging a follower keeps its session well past its timeout', async () => {
    const e = live();
    await e.waitForQuorum();
    const [follower] = await e.followers();
    if (!follower) throw new Error('no follower');
    const session = await ZkSession.connect(follower.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    try {
      await session.create('/kept', 'x', CreateMode.EPHEMERAL);
      // Three timeouts pass (the waiting is what is tested, no condition to poll for): without the
      // follower's reports the leader would have expired the session by then.
      await sleep(SESSION_TIMEOUT_MS * 3);
      expect(session.expired).toBe(false);
      expect(await existsEverywhere('/kept')).toEqual([true, true, true]);
    } finally {
      await session.close();
    }
    expect(await existsEverywhere('/kept')).toEqual([false, false, false]);
  }, TEST_TIMEOUT_MS);

  it('a client that vanishes from a follower loses its session and ephemerals on every server', async () => {
    const e = live();
    await e.waitForQuorum();
    const [follower] = await e.followers();
    if (!follower) throw new Error('no follower');
    // RawClient never pings: once its socket is gone, nothing touches the session.
    const client = await RawClient.connect({ host: follower.host, port: follower.clientPort, timeOutMs: SESSION_TIMEOUT_MS });
    expect((await client.create('/vanished', 'x', { flags: 1 })).err).toBe(0);
    expect(await existsEverywhere('/vanished')).toEqual([true, true, true]);
    client.destroy();
    await waitFor(async () => (await existsEverywhere('/vanished')).every((present) => !present), {
      timeoutMs: SESSION_TIMEOUT_MS * 5,
      what: 'the vanished session\'s ephemeral to go from every server',
    });
  }, TEST_TIMEOUT_MS);
});
