// A network partition, with each server in its own network namespace (test/support/netns.ts): its
// own addresses, the same ports everywhere (client 2181, quorum 2888, election 3888), a peer network
// that can be cut per server and a client network the test always reaches. One server at a time is
// cut off from the other two:
//   - the minority side (that server alone) refuses writes and stops serving;
//   - the majority side goes on (electing a new leader when the leader was the one cut off);
//   - once healed, the server rejoins and all three hold the same data; the write tried on the
//     minority side, never acknowledged and never seen by a majority, exists nowhere.
// Skipped, saying why, where namespaces cannot be made (not root, no iproute2).
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensembleConfigText, launchEnsemble, prepareMemberDir, quoteOnFailure, syncedChildren, type Ensemble, type EnsembleMember, type MemberSpec } from '../support/ensemble.js';
import { ZkSession } from '../support/zk-session.js';
import { NetLab, describeWithNetns } from '../support/netns.js';
import { RawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { describeEachTarget } from '../support/zk-server.js';

const CLIENT_PORT = 2181;
const QUORUM_PORT = 2888;
const ELECTION_PORT = 3888;
const SERVERS = 3;
/** Long enough that a wait inside a test times out first, with its diagnostics. */
const TEST_TIMEOUT_MS = 180_000;

describeWithNetns('quorum partition (network namespaces)', () => {
  describeEachTarget('one server cut off from the other two', (target) => {
    let lab: NetLab | undefined;
    let ensemble: Ensemble | undefined;
    const sessions: ZkSession[] = [];
    const live = (): Ensemble => {
      if (!ensemble) throw new Error('ensemble not started');
      return ensemble;
    };

    beforeAll(async () => {
      lab = await NetLab.create(SERVERS);
      const dir = await mkdtemp(join(tmpdir(), `tszk-partition-${target.kind}-`));
      const specs: MemberSpec[] = lab.nodes.map((node) => {
        const memberDir = join(dir, `m${node.index}`);
        return {
          sid: node.index,
          role: 'participant',
          host: node.clientAddress,
          peerHost: node.peerAddress,
          clientPort: CLIENT_PORT,
          quorumPort: QUORUM_PORT,
          electionPort: ELECTION_PORT,
          dir: memberDir,
          dataDir: join(memberDir, 'data'),
          configFile: join(memberDir, 'zoo.cfg'),
          logFile: join(memberDir, 'server.log'),
          commandPrefix: lab?.commandPrefix(node.index) ?? [],
        };
      });
      for (const spec of specs) {
        await mkdir(spec.dir, { recursive: true });
        await writeFile(spec.configFile, ensembleConfigText(spec, specs));
        await prepareMemberDir(spec);
      }
      ensemble = launchEnsemble(target.kind, dir, specs, { ownsDir: true });
      await ensemble.waitForQuorum();
    });

    afterAll(async () => {
      await Promise.all(sessions.map((session) => session.close()));
      // Servers first: deleting a namespace does not end what runs in it.
      await ensemble?.stop();
      await lab?.destroy();
    });

    quoteOnFailure(() => ensemble?.diagnostics());

    /**
     * Cuts `victim` off, checks both sides, heals, checks convergence. `parent` collects the writes.
     */
    async function partitionAndHeal(victim: EnsembleMember, parent: string): Promise<void> {
      const e = live();
      const network = lab;
      if (!network) throw new Error('no lab');
      const majority = e.servers.filter((member) => member !== victim);
      const wasLeader = (await victim.mode()) === 'leader';
      const leaderBefore = await e.leader();
      const viaMajority = await ZkSession.connect(majority.map((member) => member.connectString).join(','));
      sessions.push(viaMajority);
      await viaMajority.create(parent, undefined);
      await viaMajority.create(`${parent}/before`, 'b');
      // A session on the victim alone, open before the cut.
      const onVictim = await RawClient.connect({ host: victim.host, port: victim.clientPort, timeOutMs: 30_000 });
      expect(onVictim.sessionAccepted).toBe(true);
      expect((await onVictim.sync(parent)).err).toBe(0);

      const cutAtMs = Date.now();
      await network.cut(victim.sid);
      try {
        // The minority side: a write through it is never acknowledged.
        const attempt = await onVictim
          .create(`${parent}/minority-write`, 'never acknowledged')
          .then((result) => `err ${result.err}`)
          .catch((error: Error) => `rejected: ${error.message}`);
        expect(attempt).not.toBe('err 0');
        await waitFor(async () => (await victim.mode()) === null, {
          timeoutMs: 30_000,
          what: `server ${victim.sid}, cut off, to stop serving`,
          detail: () => e.diagnostics(),
        });
        const minorityDownMs = Date.now() - cutAtMs;
        expect(await victim.servesSessions()).toBe(false);

        // The majority side goes on.
        const leader = await e.leader();
        expect(leader.sid).not.toBe(victim.sid);
        if (!wasLeader) expect(leader.sid).toBe(leaderBefore.sid);
        for (let i = 0; i < 10; i += 1) await viaMajority.create(`${parent}/during-${i}`, String(i));
        const majorityWritingMs = Date.now() - cutAtMs;
        expect(await victim.mode()).toBeNull();
        console.log(
          `[${target.kind}] server ${victim.sid} (${wasLeader ? 'the leader' : 'a follower'}) cut off: it stopped serving after ${minorityDownMs} ms; ` +
            `10 writes on the majority side done ${majorityWritingMs} ms after the cut (leader ${leader.sid})`,
        );
      } finally {
        onVictim.destroy();
        await network.heal(victim.sid);
      }

      const healedAtMs = Date.now();
      await e.waitForQuorum();
      console.log(`[${target.kind}] server ${victim.sid} back in the quorum ${Date.now() - healedAtMs} ms after the heal, as ${String(await victim.mode())}`);
      expect(await victim.mode()).toBe('follower');
      await viaMajority.create(`${parent}/after`, 'a');
      const expected = ['after', 'before', ...Array.from({ length: 10 }, (_, i) => `during-${i}`)].sort();
      for (const member of e.servers) {
        const seen = await syncedChildren(member, parent, ['during-9']);
        expect(seen.children, `children of ${parent} on server ${member.sid}`).toEqual(expected);
        expect(seen.data.get('during-9')).toBe('9');
      }
      const converged = await e.waitForConvergence();
      console.log(`[${target.kind}] converged: Zxid ${converged.zxid}, ${converged.nodeCount} nodes on every server`);
    }

    it('the leader cut off: it stops serving, the other two elect a leader and go on; healed, all converge', async () => {
      const leader = await live().waitForQuorum();
      await partitionAndHeal(leader, '/cut-leader');
    }, TEST_TIMEOUT_MS);

    it('a follower cut off: it stops serving, the leader stays and goes on; healed, all converge', async () => {
      const e = live();
      await e.waitForQuorum();
      const [follower] = await e.followers();
      if (!follower) throw new Error('no follower');
      await partitionAndHeal(follower, '/cut-follower');
    }, TEST_TIMEOUT_MS);
  });
});
