// The seed's quorum session: the three bundled configs conf/z1.conf, conf/z2.conf, conf/z3.conf as
// written, except that client, quorum and election ports become free ports and each dataDir a
// temp dir (every other line is kept: tickTime=2000, initLimit, syncLimit, the whitelist...).
//   tszk:      `bin/tszk start zN.conf` for the three at once, `bin/tszk status`, `bin/tszk stop`.
//   reference: the same configs run by the ensemble harness (Java QuorumPeerMain); `bin/tszk status`
//              only sends srvr, so it reads the Java servers as well.
// Then zkCli.sh with all three servers in its connect string creates and reads nodes, and a write
// acknowledged by any one server is readable from every server after sync().
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  launchEnsemble,
  prepareMemberDir,
  quoteOnFailure,
  TSZK_BIN,
  withMemberClient,
  type Ensemble,
  type MemberSpec,
} from '../support/ensemble.js';
import { fourLetterWord } from '../support/four-letter.js';
import { freePorts } from '../support/ports.js';
import { referenceDecision } from '../support/reference.js';
import type { RawClient } from '../support/raw-client.js';
import { zkCliPiped } from '../support/zkcli.js';
import { waitFor } from '../support/wait.js';
import { describeEachTarget, logTail, probeSession, REPO_ROOT, trackProcessGroup, untrackProcessGroup } from '../support/zk-server.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const SEED_CONFIGS = ['z1.conf', 'z2.conf', 'z3.conf'] as const;

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The seed config text with new ports and dataDir; every other line as written. */
function rewriteSeedConfig(
  text: string,
  ports: { clientPort: number; dataDir: string; peers: Map<number, { quorumPort: number; electionPort: number }> },
): string {
  return text
    .split('\n')
    .map((line) => {
      if (/^clientPort=/.test(line)) return `clientPort=${ports.clientPort}`;
      if (/^dataDir=/.test(line)) return `dataDir=${ports.dataDir}`;
      const server = /^server\.(\d+)=([^:]+):\d+:\d+(.*)$/.exec(line);
      if (server) {
        const peer = ports.peers.get(Number(server[1]));
        if (!peer) throw new Error(`seed config names server.${server[1]}, which has no ports`);
        return `server.${server[1]}=${server[2]}:${peer.quorumPort}:${peer.electionPort}${server[3] ?? ''}`;
      }
      return line;
    })
    .join('\n');
}

interface SeedMember {
  sid: number;
  configFile: string;
  dataDir: string;
  clientPort: number;
  spec: MemberSpec;
}

describeEachTarget("the seed's quorum session (conf/z1..z3.conf)", (target) => {
  let dir = '';
  let members: SeedMember[] = [];
  let ensemble: Ensemble | undefined;
  /** tszk daemons started by `tszk start`, by sid: their pids. */
  const daemons = new Map<number, number>();

  const connectString = (): string => members.map((m) => `${HOST}:${m.clientPort}`).join(',');
  const logDir = (): string => join(dir, 'logs');

  async function tszk(...args: string[]): Promise<CommandResult> {
    try {
      const { stdout, stderr } = await run(TSZK_BIN, args, { env: { ...process.env, ZOO_LOG_DIR: logDir() }, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  /** Log tails of the three servers, whoever started them. */
  function logs(): string {
    if (ensemble) return ensemble.diagnostics();
    return members
      .map((m) => {
        const out = daemonOutFile(m.sid);
        return `--- server ${m.sid} (${out ?? 'no .out file'}):\n${out === undefined ? '' : logTail(out, 2500)}`;
      })
      .join('\n');
  }

  /** `tszk start` writes the server's output to $ZOO_LOG_DIR/tszk-<user>-server-<host>-zN.out. */
  function daemonOutFile(sid: number): string | undefined {
    try {
      const name = readdirSync(logDir()).find((n) => n.endsWith(`-z${sid}.out`));
      return name === undefined ? undefined : join(logDir(), name);
    } catch {
      return undefined;
    }
  }

  /** One leader, two followers, each serving a session. */
  async function waitForSeedQuorum(): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        const replies = await Promise.all(members.map((m) => fourLetterWord(HOST, m.clientPort, 'srvr', { timeoutMs: 1500 }).catch(() => '')));
        const modes = replies.map((reply) => /^Mode: (\S+)/m.exec(reply)?.[1] ?? null);
        last = modes.map((mode, i) => `${String(members[i]?.sid)}=${String(mode)}`).join(' ');
        if (modes.includes('standalone')) throw new Error(`a seed server says Mode: standalone (${last}): its config names an ensemble\n${logs()}`);
        if ([...modes].sort().join(',') !== 'follower,follower,leader') return false;
        const serving = await Promise.all(members.map((m) => probeSession(HOST, m.clientPort, 2000)));
        return serving.every(Boolean);
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the seed ensemble to elect a leader and serve', detail: () => `last modes: ${last}\n${logs()}` },
    );
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `tszk-seed-${target.kind}-`));
    await mkdir(logDir(), { recursive: true });
    const ports = await freePorts(SEED_CONFIGS.length * 3);
    const port = (i: number): number => {
      const value = ports[i];
      if (value === undefined) throw new Error('too few free ports');
      return value;
    };
    const peers = new Map(SEED_CONFIGS.map((_, i) => [i + 1, { quorumPort: port(i * 3 + 1), electionPort: port(i * 3 + 2) }]));
    members = [];
    for (const [i, name] of SEED_CONFIGS.entries()) {
      const sid = i + 1;
      const dataDir = join(dir, 'data', `z${sid}`);
      const configFile = join(dir, name);
      const clientPort = port(i * 3);
      const written = readFileSync(join(REPO_ROOT, 'conf', name), 'utf8');
      await writeFile(configFile, rewriteSeedConfig(written, { clientPort, dataDir, peers }));
      const peer = peers.get(sid);
      if (!peer) throw new Error(`no ports for server ${sid}`);
      const spec: MemberSpec = {
        sid,
        role: 'participant',
        host: HOST,
        peerHost: HOST,
        clientPort,
        quorumPort: peer.quorumPort,
        electionPort: peer.electionPort,
        dir,
        dataDir,
        configFile,
        logFile: join(logDir(), `z${sid}.log`),
      };
      // Outside conf/ `tszk start` does not know the id from the file name: write myid as for Java.
      await prepareMemberDir(spec);
      members.push({ sid, configFile, dataDir, clientPort, spec });
    }

    if (target.kind === 'reference') {
      ensemble = launchEnsemble('reference', dir, members.map((m) => m.spec), { ownsDir: false });
    } else {
      const started = await Promise.all(members.map((m) => tszk('start', m.configFile)));
      for (const [i, result] of started.entries()) {
        const member = members[i];
        if (!member) continue;
        const pidFile = join(member.dataDir, 'zookeeper_server.pid');
        if (existsSync(pidFile)) {
          const pid = Number(readFileSync(pidFile, 'utf8').trim());
          if (pid > 0) {
            daemons.set(member.sid, pid);
            trackProcessGroup(pid); // `tszk start` runs the server in its own session: kill it if we die
          }
        }
        if (result.code !== 0 || !result.stdout.includes('STARTED')) {
          throw new Error(`tszk start ${member.configFile} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${logs()}`);
        }
      }
    }
    await waitForSeedQuorum();
  });

  afterAll(async () => {
    await ensemble?.stop();
    for (const [sid, pid] of daemons) {
      const member = members.find((m) => m.sid === sid);
      if (member) await tszk('stop', member.configFile);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // stopped already
      }
      untrackProcessGroup(pid);
    }
    if (process.env['TSZK_KEEP_TMP'] === '1') console.log(`[tszk tests] kept seed ensemble files in ${dir}`);
    else if (dir !== '') await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  quoteOnFailure(() => (members.length > 0 ? logs() : undefined));

  it('zkCli.sh with all three servers in its connect string creates and reads nodes', async (context) => {
    // zkCli.sh is part of the Java reference install, needed here for the tszk target too.
    const reference = referenceDecision();
    if (reference.type === 'skip') return context.skip(reference.reason);
    if (reference.type === 'fail') throw new Error(reference.reason);
    const commands = [
      'create /seed hello',
      'create /seed/a one',
      'create -s /seed/q- x',
      'create -e /seed/e mine',
      'set /seed/a two',
      'get /seed/a',
      'ls /seed',
      'get /seed',
      'delete /seed/q-0000000001',
      'ls /seed',
    ];
    const transcript = await zkCliPiped(connectString(), commands);
    const out = transcript.steps.map((step) => step.output);
    expect(out[0]).toContain('Created /seed');
    expect(out[1]).toContain('Created /seed/a');
    expect(out[2]).toContain('Created /seed/q-0000000001');
    expect(out[3]).toContain('Created /seed/e');
    expect(out[5]?.trim()).toBe('two');
    expect(out[6]?.trim()).toBe('[a, e, q-0000000001]');
    expect(out[7]?.trim()).toBe('hello');
    expect(out[9]?.trim()).toBe('[a, e]');
    expect(transcript.promptStates.at(-1)).toBe('CONNECTED');
  });

  it('tszk status shows one leader and two followers', async () => {
    const modes: string[] = [];
    for (const member of members) {
      const status = await tszk('status', member.configFile);
      expect(status.code, `${status.stdout}${status.stderr}`).toBe(0);
      expect(status.stdout).toContain(`Client port found: ${member.clientPort}.`);
      const mode = /^Mode: (\S+)$/m.exec(status.stdout)?.[1];
      expect(mode, status.stdout).toBeDefined();
      modes.push(mode ?? '');
    }
    expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
  });

  it('a write acknowledged by any server is readable from every server after sync()', async () => {
    await withSeedClient(members[0], async (client) => {
      expect((await client.create('/seed-b', 'b')).err).toBe(0);
    });
    for (const writer of members) {
      const path = `/seed-b/via-${writer.sid}`;
      const data = `written through server ${writer.sid}`;
      await withSeedClient(writer, async (client) => {
        const created = await client.create(path, data);
        expect(created.err, `create ${path} through server ${writer.sid}`).toBe(0);
        const set = await client.setData(path, `${data}, then set`);
        expect(set.err).toBe(0);
      });
      // Each server, asked alone, after sync(path): the acknowledged write is there.
      for (const reader of members) {
        await withSeedClient(reader, async (client) => {
          expect((await client.sync(path)).err).toBe(0);
          const got = await client.getData(path);
          expect(got.err, `getData ${path} on server ${reader.sid}`).toBe(0);
          expect(got.response?.data?.toString('utf8'), `${path} on server ${reader.sid}`).toBe(`${data}, then set`);
          expect(got.response?.stat.version).toBe(1);
        });
      }
    }
    for (const reader of members) {
      await withSeedClient(reader, async (client) => {
        expect((await client.sync('/seed-b')).err).toBe(0);
        const children = await client.getChildren('/seed-b');
        expect([...(children.response?.children ?? [])].sort()).toEqual(['via-1', 'via-2', 'via-3']);
      });
    }
  });

  it(target.kind === 'tszk' ? 'tszk stop stops each server' : 'the servers stop', async () => {
    for (const member of members) {
      if (target.kind === 'tszk') {
        const stop = await tszk('stop', member.configFile);
        expect(stop.code, `${stop.stdout}${stop.stderr}`).toBe(0);
        expect(stop.stdout).toContain('STOPPED');
        const pid = daemons.get(member.sid);
        if (pid !== undefined) untrackProcessGroup(pid);
        daemons.delete(member.sid);
      } else {
        await ensemble?.stopMember(member.sid);
      }
      const status = await tszk('status', member.configFile);
      expect(status.code).toBe(1);
      expect(status.stdout + status.stderr).toContain('It is probably not running');
    }
  });
});

/** A RawClient session on one seed server alone. */
async function withSeedClient<T>(member: SeedMember | undefined, body: (client: RawClient) => Promise<T>): Promise<T> {
  if (!member) throw new Error('no seed member');
  return withMemberClient({ sid: member.sid, host: HOST, clientPort: member.clientPort }, body);
}
