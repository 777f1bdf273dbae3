import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Config, QuorumServer } from '../../src/config/config.js';
import { ConfigError } from '../../src/util/errors.js';

// loadConfig belongs to src/config/; these tests pin the CLI's side of the contract (when it
// retries with MYID, when it writes myid), so they drive a fake that behaves like ZooKeeper:
// a quorum config needs dataDir/myid or MYID.
vi.mock('../../src/config/load-config.js', () => ({ loadConfig: vi.fn() }));

const { loadConfig } = await import('../../src/config/load-config.js');
const {
  daemonOutPath,
  findClientTarget,
  inferSeedMyid,
  isProcessAlive,
  livePid,
  loadCliConfig,
  pidFilePath,
  PROJECT_ROOT,
  readPidFile,
  removePidFileIfOwned,
  resolveConfigPath,
  tailOfFile,
  writePidFile,
} = await import('../../src/cli/daemon.js');
const { sendFourLetterWord, FourLetterWordError } = await import('../../src/cli/four-letter-client.js');
const { logLevelFromEnv } = await import('../../src/cli/logger.js');
const { TSZK_VERSION, ZOOKEEPER_COMPAT_VERSION } = await import('../../src/version.js');

type Ctx = Parameters<typeof resolveConfigPath>[1];

const ROOT = '/opt/tszk';

function ctx(env: NodeJS.ProcessEnv = {}, overrides: Partial<Ctx> = {}): Ctx {
  return { env, cwd: '/home/op', confDir: null, projectRoot: ROOT, ...overrides };
}

function fakeConfig(overrides: Partial<Config> = {}): Config {
  return {
    configPath: null,
    tickTimeMs: 2000,
    initLimitTicks: 10,
    syncLimitTicks: 5,
    connectToLearnerMasterLimitTicks: 10,
    dataDir: '/tmp/zookeeper',
    dataLogDir: '/tmp/zookeeper',
    clientPort: 2181,
    clientPortAddress: '0.0.0.0',
    maxClientCnxns: 60,
    maxCnxns: 0,
    minSessionTimeoutMs: 4000,
    maxSessionTimeoutMs: 40000,
    globalOutstandingLimit: 1000,
    snapCount: 100000,
    commitLogCount: 10_000,
    preAllocSizeKb: 65536,
    snapSizeLimitKb: 4194304,
    txnLogSizeLimitKb: -1,
    forceSync: true,
    fourLetterWordWhitelist: new Set(['srvr']),
    autopurgeSnapRetainCount: 3,
    autopurgePurgeIntervalHours: 0,
    extendedTypesEnabled: false,
    enforceQuota: false,
    skipACL: false,
    superDigest: null,
    juteMaxBufferBytes: 1048575,
    reconfigEnabled: false,
    standaloneEnabled: true,
    readonlyModeEnabled: false,
    containerCheckIntervalMs: 60000,
    myid: null,
    servers: [],
    distributed: false,
    peerType: 'participant',
    quorumHierarchy: null,
    quorumVersion: 0n,
    dynamicConfigFile: null,
    localSessionsEnabled: false,
    localSessionsUpgradingEnabled: true,
    quorumListenOnAllIPs: false,
    syncEnabled: true,
    adminEnableServer: false,
    adminServerAddress: '0.0.0.0',
    adminServerPort: 8080,
    adminCommandUrl: '/commands',
    raw: new Map(),
    ignoredKeys: [],
    warnings: [],
    ...overrides,
  };
}

function server(id: number, clientPort?: number, clientAddress?: string): QuorumServer {
  return {
    id,
    host: '127.0.0.1',
    quorumPort: 2887 + id,
    electionPort: 3887 + id,
    type: 'participant',
    ...(clientPort === undefined ? {} : { clientPort }),
    ...(clientAddress === undefined ? {} : { clientAddress }),
  };
}

let scratch = '';
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'tszk-cli-'));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
  vi.mocked(loadConfig).mockReset();
});

describe('version', () => {
  it('TSZK_VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(TSZK_VERSION).toBe(pkg.version);
  });

  it('names a ZooKeeper release', () => {
    expect(ZOOKEEPER_COMPAT_VERSION).toMatch(/^3\.\d+\.\d+$/);
  });
});

describe('PROJECT_ROOT', () => {
  it('is the checkout holding package.json and src/cli', () => {
    expect(existsSync(join(PROJECT_ROOT, 'package.json'))).toBe(true);
    expect(existsSync(join(PROJECT_ROOT, 'src', 'cli', 'daemon.ts'))).toBe(true);
  });
});

describe('resolveConfigPath', () => {
  it('defaults to conf/zoo.cfg in the project, whatever the cwd', () => {
    expect(resolveConfigPath(undefined, ctx())).toBe('/opt/tszk/conf/zoo.cfg');
  });

  it('looks up a bare name in the config dir and a name with a slash from the cwd', () => {
    expect(resolveConfigPath('z1.conf', ctx())).toBe('/opt/tszk/conf/z1.conf');
    expect(resolveConfigPath('./z1.conf', ctx())).toBe('/home/op/z1.conf');
    expect(resolveConfigPath('etc/zoo.cfg', ctx())).toBe('/home/op/etc/zoo.cfg');
    expect(resolveConfigPath('/etc/zookeeper/zoo.cfg', ctx())).toBe('/etc/zookeeper/zoo.cfg');
  });

  it('honours ZOOCFGDIR and ZOOCFG like zkEnv.sh', () => {
    expect(resolveConfigPath(undefined, ctx({ ZOOCFGDIR: '/etc/zk' }))).toBe('/etc/zk/zoo.cfg');
    expect(resolveConfigPath(undefined, ctx({ ZOOCFGDIR: 'cfg' }))).toBe('/home/op/cfg/zoo.cfg');
    expect(resolveConfigPath(undefined, ctx({ ZOOCFG: 'other.cfg' }))).toBe('/opt/tszk/conf/other.cfg');
    expect(resolveConfigPath(undefined, ctx({ ZOOCFGDIR: '/etc/zk', ZOOCFG: 'a.cfg' }))).toBe('/etc/zk/a.cfg');
    expect(resolveConfigPath(undefined, ctx({ ZOOCFG: '/srv/zk.cfg' }))).toBe('/srv/zk.cfg');
    expect(resolveConfigPath('b.cfg', ctx({ ZOOCFGDIR: '/etc/zk', ZOOCFG: 'a.cfg' }))).toBe('/etc/zk/b.cfg');
  });

  it('lets a leading --config <dir> win over ZOOCFGDIR', () => {
    expect(resolveConfigPath(undefined, ctx({ ZOOCFGDIR: '/etc/zk' }, { confDir: '/srv/conf' }))).toBe('/srv/conf/zoo.cfg');
  });

  it('treats empty variables as unset', () => {
    expect(resolveConfigPath('', ctx({ ZOOCFGDIR: '', ZOOCFG: '' }))).toBe('/opt/tszk/conf/zoo.cfg');
  });
});

describe('pid file', () => {
  it('is ZOOPIDFILE, else dataDir/zookeeper_server.pid', () => {
    expect(pidFilePath('/var/zk', ctx())).toBe('/var/zk/zookeeper_server.pid');
    expect(pidFilePath('data/z1', ctx())).toBe('/home/op/data/z1/zookeeper_server.pid');
    expect(pidFilePath('/var/zk', ctx({ ZOOPIDFILE: '/run/zk.pid' }))).toBe('/run/zk.pid');
    expect(pidFilePath(null, ctx({ ZOOPIDFILE: 'zk.pid' }))).toBe('/home/op/zk.pid');
    expect(() => pidFilePath(null, ctx())).toThrow(/ZOOPIDFILE/);
  });

  it('round-trips as bare digits, creating the directory', () => {
    const path = join(scratch, 'deep', 'dir', 'zookeeper_server.pid');
    writePidFile(path, 4242);
    expect(readFileSync(path, 'utf8')).toBe('4242');
    expect(readPidFile(path)).toBe(4242);
  });

  it('reads absent, empty or garbled files as no pid', () => {
    const path = join(scratch, 'p.pid');
    expect(readPidFile(path)).toBeNull();
    for (const text of ['', 'abc', '0', '12 34', '-5']) {
      writeFileSync(path, text);
      expect(readPidFile(path)).toBeNull();
    }
    writeFileSync(path, ' 77\n');
    expect(readPidFile(path)).toBe(77);
  });

  it('is removed only by the process it names', () => {
    const path = join(scratch, 'p.pid');
    writePidFile(path, 100);
    expect(removePidFileIfOwned(path, 101)).toBe(false);
    expect(existsSync(path)).toBe(true);
    expect(removePidFileIfOwned(path, 100)).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(removePidFileIfOwned(path, 100)).toBe(false);
  });

  it('tells live processes from dead ones', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const done = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(done.stdout);
    expect(isProcessAlive(deadPid)).toBe(false);

    const path = join(scratch, 'p.pid');
    writePidFile(path, deadPid);
    expect(livePid(path)).toBeNull();
    writePidFile(path, process.pid);
    expect(livePid(path)).toBe(process.pid);
  });
});

describe('inferSeedMyid', () => {
  it('reads N from z<N>.conf in the project conf/ dir', () => {
    expect(inferSeedMyid('/opt/tszk/conf/z1.conf', ROOT)).toBe(1);
    expect(inferSeedMyid('/opt/tszk/conf/z3.conf', ROOT)).toBe(3);
    expect(inferSeedMyid('/opt/tszk/conf/z255.conf', ROOT)).toBe(255);
  });

  it('refuses any other file or place', () => {
    expect(inferSeedMyid('/opt/tszk/conf/zoo.cfg', ROOT)).toBeNull();
    expect(inferSeedMyid('/opt/tszk/conf/z0.conf', ROOT)).toBeNull();
    expect(inferSeedMyid('/opt/tszk/conf/z01.conf', ROOT)).toBeNull();
    expect(inferSeedMyid('/opt/tszk/conf/z256.conf', ROOT)).toBeNull();
    expect(inferSeedMyid('/opt/tszk/conf/z1.cfg', ROOT)).toBeNull();
    expect(inferSeedMyid('/opt/tszk/conf/sub/z1.conf', ROOT)).toBeNull();
    expect(inferSeedMyid('/home/op/conf/z1.conf', ROOT)).toBeNull();
    expect(inferSeedMyid('/opt/tszk/z1.conf', ROOT)).toBeNull();
  });
});

describe('loadCliConfig: myid seeding', () => {
  /** A project root in scratch with conf/<name> and a fake loadConfig that wants a myid. */
  function setup(name: string, options: { quorum?: boolean; throwOnMissingMyid?: boolean } = {}) {
    const root = join(scratch, 'root');
    const dataDir = join(scratch, 'data', 'z');
    mkdirSync(join(root, 'conf'), { recursive: true });
    const configPath = join(root, 'conf', name);
    writeFileSync(configPath, 'ignored by the fake loader\n');
    const quorum = options.quorum ?? true;
    vi.mocked(loadConfig).mockImplementation((_path, env) => {
      let myid: number | null = null;
      const myidPath = join(dataDir, 'myid');
      if (existsSync(myidPath)) {
        myid = Number(readFileSync(myidPath, 'utf8').trim());
        if (!Number.isInteger(myid) || myid <= 0) throw new ConfigError(`${myidPath}: not a server id`);
      } else if (env['MYID'] !== undefined) {
        myid = Number(env['MYID']);
      }
      if (quorum && myid === null && (options.throwOnMissingMyid ?? true)) {
        throw new ConfigError(`myid file is missing in ${dataDir}`);
      }
      const servers = quorum ? [server(1, 2181), server(2, 2182), server(3, 2183)] : [];
      return fakeConfig({ dataDir, myid, servers, distributed: quorum });
    });
    return { root, dataDir, configPath, cliCtx: ctx({}, { projectRoot: root, cwd: scratch }) };
  }

  it('writes dataDir/myid for a bundled z<N>.conf', () => {
    const { dataDir, configPath, cliCtx } = setup('z2.conf');
    const loaded = loadCliConfig(configPath, cliCtx, { writeMyid: true });
    expect(loaded.config.myid).toBe(2);
    expect(loaded.seededMyidPath).toBe(join(dataDir, 'myid'));
    expect(readFileSync(join(dataDir, 'myid'), 'utf8')).toBe('2\n');
    // Next time the file is there and no retry is needed.
    const again = loadCliConfig(configPath, cliCtx, { writeMyid: true });
    expect(again.seededMyidPath).toBeNull();
    expect(vi.mocked(loadConfig)).toHaveBeenCalledTimes(3);
  });

  it('also seeds when the loader leaves myid null instead of throwing', () => {
    const { dataDir, configPath, cliCtx } = setup('z3.conf', { throwOnMissingMyid: false });
    expect(loadCliConfig(configPath, cliCtx, { writeMyid: true }).config.myid).toBe(3);
    expect(readFileSync(join(dataDir, 'myid'), 'utf8')).toBe('3\n');
  });

  it('loads without writing when asked not to (stop, status)', () => {
    const { dataDir, configPath, cliCtx } = setup('z1.conf');
    const loaded = loadCliConfig(configPath, cliCtx, { writeMyid: false });
    expect(loaded.config.myid).toBe(1);
    expect(loaded.seededMyidPath).toBeNull();
    expect(existsSync(join(dataDir, 'myid'))).toBe(false);
  });

  it('never seeds a config outside the project conf/ dir', () => {
    const { configPath, cliCtx } = setup('z1.conf');
    const elsewhere = { ...cliCtx, projectRoot: join(scratch, 'other-root') };
    expect(() => loadCliConfig(configPath, elsewhere, { writeMyid: true })).toThrow(/myid file is missing/);
  });

  it('never seeds a name that does not give the id', () => {
    const { configPath, cliCtx } = setup('zoo.cfg');
    expect(() => loadCliConfig(configPath, cliCtx, { writeMyid: true })).toThrow(ConfigError);
  });

  it('leaves MYID from the environment to loadConfig', () => {
    const { dataDir, configPath, cliCtx } = setup('z1.conf');
    const loaded = loadCliConfig(configPath, { ...cliCtx, env: { MYID: '3' } }, { writeMyid: true });
    expect(loaded.config.myid).toBe(3);
    expect(existsSync(join(dataDir, 'myid'))).toBe(false);
  });

  it('does not seed when ZOO_MY_ID is set either', () => {
    const { dataDir, configPath, cliCtx } = setup('z1.conf');
    // The fake reads only MYID, so with ZOO_MY_ID alone it still reports the missing myid.
    expect(() => loadCliConfig(configPath, { ...cliCtx, env: { ZOO_MY_ID: '2' } }, { writeMyid: true })).toThrow(
      /myid file is missing/,
    );
    expect(existsSync(join(dataDir, 'myid'))).toBe(false);
  });

  it('reports a broken myid file instead of papering over it', () => {
    const { dataDir, configPath, cliCtx } = setup('z1.conf');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'myid'), 'garbage\n');
    expect(() => loadCliConfig(configPath, cliCtx, { writeMyid: true })).toThrow(/not a server id/);
    expect(readFileSync(join(dataDir, 'myid'), 'utf8')).toBe('garbage\n');
  });

  it('does not touch standalone configs', () => {
    const { dataDir, configPath, cliCtx } = setup('z1.conf', { quorum: false });
    expect(loadCliConfig(configPath, cliCtx, { writeMyid: true }).seededMyidPath).toBeNull();
    expect(existsSync(join(dataDir, 'myid'))).toBe(false);
  });

  it("passes the loader's own error through when the retry fails too", () => {
    const { configPath, cliCtx } = setup('z1.conf');
    vi.mocked(loadConfig).mockImplementation((path) => {
      throw new ConfigError(`${String(path)}: config file is missing`);
    });
    expect(() => loadCliConfig(configPath, cliCtx, { writeMyid: true })).toThrow(`${configPath}: config file is missing`);
  });
});

describe('daemonOutPath', () => {
  it('follows zkServer.sh naming under logs/ or ZOO_LOG_DIR', () => {
    expect(daemonOutPath('/opt/tszk/conf/zoo.cfg', ctx(), 'op', 'box')).toBe('/opt/tszk/logs/tszk-op-server-box.out');
    expect(daemonOutPath('/opt/tszk/conf/zoo.cfg', ctx({ ZOO_LOG_DIR: '/var/log/zk' }), 'op', 'box')).toBe(
      '/var/log/zk/tszk-op-server-box.out',
    );
  });

  it('keeps servers with different configs on one host apart', () => {
    expect(daemonOutPath('/opt/tszk/conf/z1.conf', ctx(), 'op', 'box')).toBe('/opt/tszk/logs/tszk-op-server-box-z1.out');
  });
});

describe('findClientTarget', () => {
  it('uses clientPort, calling a wildcard address localhost', () => {
    expect(findClientTarget(fakeConfig())).toEqual({ type: 'found', port: 2181, address: 'localhost', connectHost: '127.0.0.1' });
    expect(findClientTarget(fakeConfig({ clientPortAddress: '10.0.0.5' }))).toEqual({
      type: 'found',
      port: 2181,
      address: '10.0.0.5',
      connectHost: '10.0.0.5',
    });
  });

  it("falls back to this server's server.<myid> client port", () => {
    const config = fakeConfig({ clientPort: 0, myid: 2, servers: [server(1, 2181), server(2, 2182, '127.0.0.2')] });
    expect(findClientTarget(config)).toEqual({ type: 'found', port: 2182, address: '127.0.0.2', connectHost: '127.0.0.2' });
  });

  it('explains why no port was found', () => {
    const noMyid = findClientTarget(fakeConfig({ clientPort: 0, servers: [server(1)] }));
    expect(noMyid).toMatchObject({ type: 'missing' });
    const none = findClientTarget(fakeConfig({ clientPort: 0 }));
    expect(none).toEqual({
      type: 'missing',
      lines: [
        'Client port not found. Looking for secureClientPort in the static config.',
        'Unable to find either secure or unsecure client port in any configs. Terminating.',
      ],
    });
    expect(findClientTarget(fakeConfig({ clientPort: 0, secureClientPort: 2281 }))).toMatchObject({ type: 'missing' });
  });
});

describe('tailOfFile', () => {
  it('returns the last lines', () => {
    const path = join(scratch, 'out');
    writeFileSync(path, Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(tailOfFile(path, 3)).toBe('line 47\nline 48\nline 49');
    expect(tailOfFile(join(scratch, 'absent'))).toBe('');
  });
});

describe('logLevelFromEnv', () => {
  it('defaults to info and rejects unknown levels by name', () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ TSZK_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(() => logLevelFromEnv({ TSZK_LOG_LEVEL: 'loud' })).toThrow(/TSZK_LOG_LEVEL/);
  });
});

describe('sendFourLetterWord', () => {
  let listener: Server | null = null;
  afterEach(async () => {
    await new Promise<void>((done) => (listener === null ? done() : listener.close(() => done())));
    listener = null;
  });

  async function listen(onWord: (word: string, reply: (text: string | null) => void) => void): Promise<number> {
    listener = createServer((socket) =>
      socket.once('data', (data) => onWord(data.toString(), (text) => (text === null ? undefined : socket.end(text)))),
    );
    await new Promise<void>((done) => listener!.listen(0, '127.0.0.1', () => done()));
    const address = listener.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it('returns the reply the server sends before closing', async () => {
    const port = await listen((word, reply) => reply(word === 'ruok' ? 'imok' : 'huh'));
    await expect(sendFourLetterWord('127.0.0.1', port, 'ruok')).resolves.toBe('imok');
  });

  it('rejects when the server says nothing', async () => {
    const port = await listen((_word, reply) => reply(null));
    await expect(sendFourLetterWord('127.0.0.1', port, 'srvr', { idleTimeoutMs: 100 })).rejects.toBeInstanceOf(
      FourLetterWordError,
    );
  });

  it('rejects when nothing listens', async () => {
    const port = await listen(() => undefined);
    await new Promise<void>((done) => listener!.close(() => done()));
    listener = null;
    await expect(sendFourLetterWord('127.0.0.1', port, 'srvr')).rejects.toBeInstanceOf(FourLetterWordError);
  });

  it('refuses a word that is not four lowercase letters', () => {
    expect(() => sendFourLetterWord('127.0.0.1', 1, 'status')).toThrow(/four-letter/);
  });
});
