// The ZooKeeper 3.8 Java client (and Apache Curator, when installed) against tszk and the reference
// server. test/java/ClientDriver.java runs one fixed scenario and prints a transcript; it is compiled
// here with javac against Debian's zookeeper.jar, run against both servers at once, and the two
// transcripts must be equal once zxids and times are normalised. Session ids never appear raw (the
// driver names them A, B, C). Curator is optional: its block skips (or fails under
// TSZK_REQUIRE_REFERENCE=1) when /usr/share/java/curator-recipes.jar is missing.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkipOnce, describeWithReference, referenceRequired, requireReference } from '../support/reference.js';
import { REPO_ROOT, startReferenceServer, startTszkServer, type StartServerOptions, type TestServer } from '../support/zk-server.js';

const JAVA_SOURCES = join(REPO_ROOT, 'test', 'java');
const CURATOR_JARS = ['/usr/share/java/curator-recipes.jar', '/usr/share/java/curator-framework.jar', '/usr/share/java/curator-client.jar'];
const CURATOR_HINT = 'apt-get install -y --no-install-recommends libcurator-framework-java libcurator-recipes-java';
const RUN_TIMEOUT_MS = 50_000;
/** TSZK_JAVA_TRANSCRIPTS=/some/dir keeps every transcript (stdout and stderr) there. */
const TRANSCRIPT_DIR = process.env['TSZK_JAVA_TRANSCRIPTS'];
/** Small enough that the scenario can wait for containers and TTL nodes to be reaped. */
const CONTAINER_CHECK_INTERVAL_MS = 500;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function keepTranscript(name: string, result: Run): Promise<Run> {
  if (TRANSCRIPT_DIR !== undefined && TRANSCRIPT_DIR !== '') {
    await mkdir(TRANSCRIPT_DIR, { recursive: true });
    await writeFile(join(TRANSCRIPT_DIR, `${name}.out`), result.stdout);
    await writeFile(join(TRANSCRIPT_DIR, `${name}.err`), result.stderr);
  }
  return result;
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && isExecutable(join(dir, command)));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The three marks of a complete run, with the output to show when one is missing. */
function expectCompleteRun(result: Run | undefined, what: string): void {
  if (!result) throw new Error(`${what}: no run`);
  const all = lines(result.stdout);
  const context = `${what}: exit ${String(result.code)}\n--- stdout tail\n${all.slice(-15).join('\n')}\n--- stderr\n${result.stderr.slice(-3000)}`;
  expect(all.filter((line) => line.startsWith('!!')), context).toEqual([]);
  expect(all.at(-1), context).toBe('== done');
  expect(result.code, context).toBe(0);
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * ZooKeeper reads znode.container.checkIntervalMs only as a JVM system property, so the reference
 * gets it through JAVA_TOOL_OPTIONS (read at spawn); tszk reads it from zoo.cfg.
 * extendedTypesEnabled works in zoo.cfg for both (ZooKeeper turns it into zookeeper.extendedTypesEnabled).
 */
async function startServers(): Promise<{ tszk: TestServer; reference: TestServer }> {
  const options: StartServerOptions = {
    extraConfig: { extendedTypesEnabled: 'true', 'znode.container.checkIntervalMs': String(CONTAINER_CHECK_INTERVAL_MS) },
  };
  const saved = process.env['JAVA_TOOL_OPTIONS'];
  process.env['JAVA_TOOL_OPTIONS'] = `-Dznode.container.checkIntervalMs=${CONTAINER_CHECK_INTERVAL_MS}`;
  const referenceStarting = startReferenceServer(options).finally(() => {
    if (saved === undefined) delete process.env['JAVA_TOOL_OPTIONS'];
    else process.env['JAVA_TOOL_OPTIONS'] = saved;
  });
  const [tszk, reference] = await Promise.allSettled([startTszkServer(options), referenceStarting]);
  if (tszk.status === 'fulfilled' && reference.status === 'fulfilled') return { tszk: tszk.value, reference: reference.value };
  await Promise.allSettled([tszk, reference].map((started) => (started.status === 'fulfilled' ? started.value.stop() : undefined)));
  throw tszk.status === 'rejected' ? tszk.reason : (reference as PromiseRejectedResult).reason;
}

/**
 * Makes transcripts of two servers comparable: each distinct zxid becomes z1, z2, ... in order of
 * first appearance (equalities and order survive, absolute values do not), times become <time>.
 */
function normaliseTranscript(transcript: string): string {
  const zxids = new Map<string, string>();
  return transcript
    .replace(/\b([cmp]?zxid)=0x([0-9a-f]+)/g, (_match, field: string, hex: string) => {
      let name = zxids.get(hex);
      if (name === undefined) {
        name = `z${zxids.size + 1}`;
        zxids.set(hex, name);
      }
      return `${field}=${name}`;
    })
    .replace(/\b([cm]time)=\d+/g, '$1=<time>');
}

function lines(transcript: string): string[] {
  return transcript.split('\n').filter((line) => line !== '');
}

/** Everything printed between "== name" and the next section header. */
function sectionLines(transcript: string, name: string): string[] {
  const all = lines(transcript);
  const start = all.indexOf(`== ${name}`);
  if (start < 0) return [];
  const end = all.findIndex((line, i) => i > start && line.startsWith('== '));
  return all.slice(start + 1, end < 0 ? undefined : end);
}

describeWithReference('Java client against tszk and ZooKeeper 3.8', () => {
  if (!onPath('javac')) {
    const reason = 'javac not on PATH; install with: apt-get install -y --no-install-recommends default-jdk-headless';
    if (referenceRequired()) {
      it('needs javac', () => {
        throw new Error(`${reason} (TSZK_REQUIRE_REFERENCE=1)`);
      });
    } else {
      announceSkipOnce('Java client', reason);
      it.skip(`Java client scenarios (skipped: ${reason})`, () => undefined);
    }
    return;
  }
  let classes: string | undefined;
  let classpath = '';

  beforeAll(async () => {
    const install = requireReference();
    classes = await mkdtemp(join(tmpdir(), 'tszk-java-'));
    const slf4jNop = install.optionalJars.slf4jNop;
    classpath = [classes, install.zookeeperJar, ...(slf4jNop ? [slf4jNop] : [])].join(':');
    const compiled = await run('javac', ['-nowarn', '-d', classes, '-cp', install.zookeeperJar, join(JAVA_SOURCES, 'ClientDriver.java')]);
    if (compiled.code !== 0) throw new Error(`javac ClientDriver.java failed:\n${compiled.stdout}${compiled.stderr}`);
  });

  afterAll(async () => {
    if (classes) await rm(classes, { recursive: true, force: true });
  });

  describe('ClientDriver: one scenario, two servers, one transcript', () => {
    let servers: { tszk: TestServer; reference: TestServer } | undefined;
    let tszk: Run | undefined;
    let reference: Run | undefined;

    beforeAll(async () => {
      servers = await startServers();
      const { tszk: tszkServer, reference: referenceServer } = servers;
      [tszk, reference] = await Promise.all([
        run('java', ['-cp', classpath, 'ClientDriver', tszkServer.connectString]).then((r) => keepTranscript('client-tszk', r)),
        run('java', ['-cp', classpath, 'ClientDriver', referenceServer.connectString]).then((r) => keepTranscript('client-reference', r)),
      ]);
    }, 2 * RUN_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.allSettled([servers?.tszk.stop(), servers?.reference.stop()]);
    });

    const transcript = (which: 'tszk' | 'reference'): string => {
      const result = which === 'tszk' ? tszk : reference;
      if (!result) throw new Error(`no ${which} run`);
      return result.stdout;
    };

    it('runs to the end against ZooKeeper with no failed step (the scenario itself is sound)', () => {
      expectCompleteRun(reference, 'ClientDriver against ZooKeeper');
    });

    it('runs to the end against tszk with no failed step', () => {
      expectCompleteRun(tszk, 'ClientDriver against tszk');
    });

    it('create2 returns the Stat in every CreateMode', () => {
      const section = sectionLines(transcript('tszk'), 'create2 in every mode').join('\n');
      expect(section).toMatch(/^create PERSISTENT -> \/cm\/persistent \{.* owner=0 dataLength=10 numChildren=0\}$/m);
      expect(section).toMatch(/^create EPHEMERAL -> \/cm\/ephemeral \{.* owner=A dataLength=9 numChildren=0\}$/m);
      expect(section).toMatch(/^create PERSISTENT_SEQUENTIAL -> \/cm\/persistent_sequential-0000000001 /m);
      // Containers and TTL nodes keep their marker in ephemeralOwner, but clients are shown 0.
      expect(section).toMatch(/^create CONTAINER -> \/cm\/container \{.* owner=0 dataLength=9 /m);
      expect(section).toMatch(/^create PERSISTENT_WITH_TTL -> \/cm\/persistent_with_ttl \{.* owner=0 dataLength=19 /m);
      expect(section).toMatch(/^create PERSISTENT_SEQUENTIAL_WITH_TTL -> \/cm\/persistent_sequential_with_ttl-0000000006 /m);
      expect(section).toContain('create existing -> error NODEEXISTS (-110) path=/cm/persistent');
      expect(section).toContain('create under an ephemeral -> error NOCHILDRENFOREPHEMERALS (-108) path=/cm/ephemeral/child');
    });

    it('watches, multi, ephemerals, persistent watches, removeWatches, whoAmI, sync, reconnect, reaping', () => {
      const t = transcript('tszk');
      expect(sectionLines(t, 'getData, exists and getChildren watches')).toContain('data event NodeDataChanged /gd SyncConnected');
      expect(sectionLines(t, 'multi')).toContain('failed: ErrorResult BADVERSION (-103)');
      expect(sectionLines(t, 'ephemerals')).toContain('B getEphemerals() [/eph/b]');
      expect(sectionLines(t, 'persistent and persistent-recursive watches')).toContain('recursive event NodeCreated /rec/a/b SyncConnected');
      expect(sectionLines(t, 'removeWatches')).toContain('dataW event DataWatchRemoved /rw SyncConnected');
      expect(sectionLines(t, 'whoAmI and digest ACLs')).toContain('A whoAmI after addAuthInfo [digest:user1, ip:127.0.0.1]');
      expect(sectionLines(t, 'sync')).toContain('sync / -> rc=OK path=/');
      const reconnect = sectionLines(t, 'reconnect keeps the session');
      expect(reconnect).toContain('C reconnected, same session true');
      // The watches C re-sent with SetWatches fire for what changed while it was away.
      expect(reconnect).toContain('rc-data event NodeDataChanged /rc/w SyncConnected');
      expect(reconnect).toContain('rc-exists event NodeCreated /rc/new SyncConnected');
      expect(sectionLines(t, 'containers and TTL nodes are reaped')).toEqual([
        'container emptied: /ctr reaped',
        'ttl 500 ms: /ttl-short reaped',
        'container that never had a child: kept',
        'ttl node with a child: kept',
      ]);
    });

    it('the tszk transcript equals the ZooKeeper transcript, section by section', () => {
      const ours = normaliseTranscript(transcript('tszk'));
      const theirs = normaliseTranscript(transcript('reference'));
      const sections = lines(theirs).filter((line) => line.startsWith('== '));
      for (const name of sections.map((line) => line.slice(3))) {
        expect(sectionLines(ours, name), `section "${name}"`).toEqual(sectionLines(theirs, name));
      }
      expect(ours).toBe(theirs);
    });
  });

  describe('Curator', () => {
    const missing = CURATOR_JARS.filter((jar) => !isReadable(jar));
    if (missing.length > 0) {
      const reason = `Apache Curator not installed (missing: ${missing.join(', ')}); install with: ${CURATOR_HINT}`;
      if (referenceRequired()) {
        it('needs Apache Curator', () => {
          throw new Error(`${reason} (TSZK_REQUIRE_REFERENCE=1)`);
        });
      } else {
        announceSkipOnce('Curator', reason);
        it.skip(`Curator recipes (skipped: ${reason})`, () => undefined);
      }
      return;
    }

    let servers: { tszk: TestServer; reference: TestServer } | undefined;
    let tszk: Run | undefined;
    let reference: Run | undefined;

    beforeAll(async () => {
      if (!classes) throw new Error('ClientDriver not compiled');
      const curatorClasspath = [classpath, ...CURATOR_JARS].join(':');
      const compiled = await run('javac', ['-nowarn', '-d', classes, '-cp', curatorClasspath, join(JAVA_SOURCES, 'CuratorDriver.java')]);
      if (compiled.code !== 0) throw new Error(`javac CuratorDriver.java failed:\n${compiled.stdout}${compiled.stderr}`);
      servers = await startServers();
      [tszk, reference] = await Promise.all([
        run('java', ['-cp', curatorClasspath, 'CuratorDriver', servers.tszk.connectString]).then((r) => keepTranscript('curator-tszk', r)),
        run('java', ['-cp', curatorClasspath, 'CuratorDriver', servers.reference.connectString]).then((r) =>
          keepTranscript('curator-reference', r),
        ),
      ]);
    }, 2 * RUN_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.allSettled([servers?.tszk.stop(), servers?.reference.stop()]);
    });

    it('runs to the end against both servers with no failed step', () => {
      expectCompleteRun(reference, 'CuratorDriver against ZooKeeper');
      expectCompleteRun(tszk, 'CuratorDriver against tszk');
    });

    it('creatingParentContainersIfNeeded, a lock, a CuratorCache, a transaction: same transcript on both', () => {
      const ours = normaliseTranscript(tszk?.stdout ?? '');
      const theirs = normaliseTranscript(reference?.stdout ?? '');
      expect(ours).toContain('lock: second client acquires after release: true');
      expect(ours).toContain('containers made by creatingParentContainersIfNeeded are reaped once empty: /cur-ctr gone');
      expect(ours).toBe(theirs);
    });
  });
});
