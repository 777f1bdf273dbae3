import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import {
  ACTED_ON_KEYS,
  DEFAULT_CONFIG_TEXT,
  FOUR_LETTER_WORDS,
  loadConfig,
  parseConfig,
  type ParseConfigOptions,
} from '../../src/config/load-config.js';
import { javaTrim, parseProperties } from '../../src/config/parse-properties.js';
import {
  applyShellEnvFile,
  collectSystemProps,
  extractSystemProps,
  splitFlags,
  type ShellVar,
  type SystemProp,
} from '../../src/config/system-props.js';
import { ConfigError } from '../../src/util/errors.js';

const CFG = '/etc/zk/zoo.cfg';
const BASE = 'dataDir=/var/zk\nclientPort=2181\n';
const ENSEMBLE = [
  'tickTime=2000',
  'initLimit=10',
  'syncLimit=5',
  'dataDir=/var/zk',
  'clientPort=2181',
  'server.1=10.0.0.1:2888:3888',
  'server.2=10.0.0.2:2888:3888',
  'server.3=10.0.0.3:2888:3888',
  '',
].join('\n');

function props(entries: Record<string, string>): Map<string, SystemProp> {
  const m = new Map<string, SystemProp>();
  for (const [name, value] of Object.entries(entries)) m.set(name, { name, value, source: `-D${name} in JVMFLAGS (test)` });
  return m;
}

function parse(text: string, options: Partial<ParseConfigOptions> = {}): Config {
  return parseConfig(text, {
    path: CFG,
    env: {},
    systemProps: new Map(),
    readMyid: () => null,
    cwd: '/srv',
    ...options,
  });
}

function parseError(text: string, options: Partial<ParseConfigOptions> = {}): ConfigError {
  try {
    parse(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('ERR_BAD_CONFIG');
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const myid = (id: number) => (): string => `${id}\n`;

// ---------------------------------------------------------------------------------------------

describe('parseProperties (java.util.Properties grammar)', () => {
  it('reads =, : and whitespace separators', () => {
    const p = parseProperties('a=1\nb:2\nc 3\nd\t=\t4\ne :5\nf\n');
    expect([...p.byKey.values()].map((e) => [e.key, e.value])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', '4'],
      ['e', '5'],
      ['f', ''],
    ]);
  });

  it('skips # and ! comments and blank lines, and numbers lines', () => {
    const p = parseProperties('# one\n   ! two\n\n \t \nkey=v\n  # indented comment\nother=w\n');
    expect(p.entries.map((e) => [e.key, e.line])).toEqual([
      ['key', 5],
      ['other', 7],
    ]);
  });

  it('keeps trailing whitespace in rawValue and trims like String.trim in value', () => {
    const e = parseProperties('k =  v w \t\n').byKey.get('k');
    expect(e?.rawValue).toBe('v w \t');
    expect(e?.value).toBe('v w');
    expect(javaTrim('\u0001 x \u0000')).toBe('x');
  });

  it('joins continuation lines and drops the next line\'s leading blanks', () => {
    const p = parseProperties('k = a,\\\n    b,\\\n\tc\nnext=1\n');
    expect(p.byKey.get('k')).toMatchObject({ value: 'a,b,c', line: 1 });
    expect(p.byKey.get('next')?.line).toBe(4);
  });

  it('does not continue on an even number of backslashes', () => {
    const p = parseProperties('k=a\\\\\nj=b\n');
    expect(p.byKey.get('k')?.value).toBe('a\\');
    expect(p.byKey.get('j')?.value).toBe('b');
  });

  it('does not treat # on a continuation line as a comment, nor continue a comment', () => {
    const p = parseProperties('k=a\\\n#b\n# comment \\\nj=c\n');
    expect(p.byKey.get('k')?.value).toBe('a#b');
    expect(p.byKey.get('j')?.value).toBe('c');
  });

  it('decodes escapes in keys and values', () => {
    const p = parseProperties('a\\=b\\:c\\ d=x\\ty\\u0041\\z\n');
    expect(p.byKey.get('a=b:c d')?.value).toBe('x\tyAz');
  });

  it('handles CR and CRLF line ends, and a BOM', () => {
    const p = parseProperties('\ufeffa=1\r\nb=2\rc=3');
    expect(p.entries.map((e) => [e.key, e.value, e.line])).toEqual([
      ['a', '1', 1],
      ['b', '2', 2],
      ['c', '3', 3],
    ]);
  });

  it('lets the last duplicate win', () => {
    const p = parseProperties('a=1\na=2\n');
    expect(p.entries).toHaveLength(2);
    expect(p.byKey.get('a')).toMatchObject({ value: '2', line: 2 });
  });

  it('rejects a malformed \\u escape with file and line', () => {
    expect(() => parseProperties('a=1\nb=\\u12G4\n', 'x.cfg')).toThrow(/x\.cfg:2: malformed \\uXXXX/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('system properties from JVM flags and java.env', () => {
  it('splits flags, honouring quotes', () => {
    expect(splitFlags(`-Xmx1g  -Da="x y" -Db='p q' -Dc=\\ z`)).toEqual(['-Xmx1g', '-Da=x y', '-Db=p q', '-Dc= z']);
  });

  it('extracts -D words, including -Dname without a value', () => {
    const got = extractSystemProps('-server -Djute.maxbuffer=0x400000 -Dflag -D -Dempty= -Dk=a=b', 'JVMFLAGS');
    expect(got.map((p) => [p.name, p.value])).toEqual([
      ['jute.maxbuffer', '0x400000'],
      ['flag', ''],
      ['empty', ''],
      ['k', 'a=b'],
    ]);
    expect(got[0]?.source).toBe('-Djute.maxbuffer in JVMFLAGS');
  });

  it('lets JVMFLAGS override SERVER_JVMFLAGS, as zkServer.sh orders them', () => {
    const r = collectSystemProps({ SERVER_JVMFLAGS: '-Da=server -Db=1', JVMFLAGS: '-Da=jvm' }, []);
    expect(r.props.get('a')?.value).toBe('jvm');
    expect(r.props.get('b')?.value).toBe('1');
    expect(r.props.get('a')?.source).toBe('-Da in JVMFLAGS (from the environment)');
  });

  it('applies java.env assignments: export, quotes, appending with $VAR and ${VAR}', () => {
    const javaEnv = [
      '#!/bin/sh',
      '# comment',
      'export SERVER_JVMFLAGS="$SERVER_JVMFLAGS -Dzookeeper.snapCount=5"',
      "JVMFLAGS='-Dx=$literal'",
      'export JVMFLAGS="${JVMFLAGS} -Dy=2"; # trailing comment',
      'HEAP=512',
      'export SERVER_JVMFLAGS="-Xmx${HEAP}m ${SERVER_JVMFLAGS} -Dz=${UNSET:-dflt}"',
      '',
    ].join('\n');
    const r = collectSystemProps({ SERVER_JVMFLAGS: '-Dfrom.env=1' }, [{ path: '/c/java.env', text: javaEnv }]);
    expect(r.warnings).toEqual([]);
    expect(r.props.get('from.env')?.value).toBe('1');
    expect(r.props.get('zookeeper.snapCount')?.value).toBe('5');
    expect(r.props.get('x')?.value).toBe('$literal');
    expect(r.props.get('y')?.value).toBe('2');
    expect(r.props.get('z')?.value).toBe('dflt');
    expect(r.props.get('zookeeper.snapCount')?.source).toBe('-Dzookeeper.snapCount in SERVER_JVMFLAGS (set at /c/java.env:7)');
  });

  it('reads multi-line double-quoted values and backslash continuations', () => {
    const vars = new Map<string, ShellVar>();
    const warnings = applyShellEnvFile(
      { path: 'j', text: 'SERVER_JVMFLAGS="-Da=1\n  -Db=2"\nJVMFLAGS=-Dc=3\\\n\nX=1 Y=2\r\n' },
      vars,
    );
    expect(warnings).toEqual([]);
    expect(splitFlags(vars.get('SERVER_JVMFLAGS')?.value ?? '')).toEqual(['-Da=1', '-Db=2']);
    expect(vars.get('JVMFLAGS')?.value).toBe('-Dc=3');
    expect(vars.get('Y')?.value).toBe('2');
  });

  it('skips what it cannot read without a shell, with a warning naming the line', () => {
    const vars = new Map<string, ShellVar>();
    const text = ['if [ -n "$X" ]; then', '  JVMFLAGS="$(cat flags)"', 'fi', 'echo hi', 'A=`date`', 'OK=1', ''].join('\n');
    const warnings = applyShellEnvFile({ path: '/c/java.env', text }, vars);
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toMatch(/^\/c\/java\.env:1: skipped "if \[ -n "\$X" \]; then"/);
    expect(warnings[1]).toMatch(/^\/c\/java\.env:2: .*command substitution/);
    expect(vars.get('JVMFLAGS')).toBeUndefined();
    expect(vars.get('OK')?.value).toBe('1');
  });
});

// ---------------------------------------------------------------------------------------------

describe('defaults', () => {
  const c = parse(BASE);

  it('match ZooKeeper 3.8', () => {
    expect(c).toMatchObject({
      configPath: CFG,
      tickTimeMs: 3000,
      initLimitTicks: 0,
      syncLimitTicks: 0,
      connectToLearnerMasterLimitTicks: 0,
      dataDir: '/var/zk',
      dataLogDir: '/var/zk',
      clientPort: 2181,
      clientPortAddress: '0.0.0.0',
      maxClientCnxns: 60,
      maxCnxns: 0,
      minSessionTimeoutMs: 6000,
      maxSessionTimeoutMs: 60000,
      globalOutstandingLimit: 1000,
      snapCount: 100000,
      commitLogCount: 10_000,
      preAllocSizeKb: 65536,
      snapSizeLimitKb: 4194304,
      txnLogSizeLimitKb: -1,
      forceSync: true,
      autopurgeSnapRetainCount: 3,
      autopurgePurgeIntervalHours: 0,
      extendedTypesEnabled: false,
      enforceQuota: false,
      skipACL: false,
      superDigest: null,
      juteMaxBufferBytes: 0xfffff,
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
      localSessionsUpgradingEnabled: false,
      quorumListenOnAllIPs: false,
      syncEnabled: true,
      adminEnableServer: true,
      adminServerAddress: '0.0.0.0',
      adminServerPort: 8080,
      adminCommandUrl: '/commands',
      ignoredKeys: [],
      warnings: [],
    });
    expect(c.secureClientPort).toBeUndefined();
  });

  it('whitelist only srvr', () => {
    expect([...c.fourLetterWordWhitelist]).toEqual(['srvr']);
  });

  it('derive session timeouts from tickTime', () => {
    const d = parse(`${BASE}tickTime=500\n`);
    expect(d.minSessionTimeoutMs).toBe(1000);
    expect(d.maxSessionTimeoutMs).toBe(10000);
    const e = parse(`${BASE}tickTime=500\nminSessionTimeout=-1\nmaxSessionTimeout=7000\n`);
    expect(e.minSessionTimeoutMs).toBe(1000);
    expect(e.maxSessionTimeoutMs).toBe(7000);
  });

  it('derive connectToLearnerMasterLimit from initLimit', () => {
    expect(parse(`${BASE}initLimit=7\n`).connectToLearnerMasterLimitTicks).toBe(7);
    expect(parse(`${BASE}initLimit=7\nconnectToLearnerMasterLimit=3\n`).connectToLearnerMasterLimitTicks).toBe(3);
  });

  it('built-in default config when path is null', () => {
    const d = parseConfig(DEFAULT_CONFIG_TEXT, { path: null, env: {}, systemProps: new Map(), readMyid: () => null, cwd: '/w' });
    expect(d).toMatchObject({ configPath: null, tickTimeMs: 2000, initLimitTicks: 10, syncLimitTicks: 5, clientPort: 2181, dataDir: '/w/data/standalone', adminEnableServer: false, warnings: [] });
    expect(d.fourLetterWordWhitelist.has('*')).toBe(true);
  });
});

describe('values', () => {
  it('reads every acted-on key', () => {
    const c = parse(
      [
        'tickTime=1000',
        'initLimit=4',
        'syncLimit=2',
        'dataDir=/d',
        'dataLogDir=/l',
        'clientPort=3000',
        'clientPortAddress=[::1]',
        'secureClientPort=3001',
        'secureClientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        'maxCnxns=500',
        'minSessionTimeout=1500',
        'maxSessionTimeout=90000',
        'globalOutstandingLimit=0x10',
        'snapCount=50',
        'preAllocSize=1024',
        'snapSizeLimitInKb=-1',
        'txnLogSizeLimitInKb=4096',
        'forceSync=no',
        'autopurge.snapRetainCount=5',
        'autopurge.purgeInterval=24',
        'extendedTypesEnabled=TRUE',
        'enforceQuota=true',
        'skipACL=yes',
        'DigestAuthenticationProvider.superDigest=super:abc=',
        'jute.maxbuffer=2048',
        'reconfigEnabled=true',
        'readonlymode.enabled=true',
        'znode.container.checkIntervalMs=1000',
        'localSessionsEnabled=true',
        'localSessionsUpgradingEnabled=true',
        'quorumListenOnAllIPs=true',
        'syncEnabled=false',
        'admin.enableServer=false',
        'admin.serverAddress=127.0.0.1',
        'admin.serverPort=9090',
        'admin.commandURL=/cmd',
        'electionAlg=3',
        '',
      ].join('\n'),
    );
    expect(c).toMatchObject({
      tickTimeMs: 1000,
      initLimitTicks: 4,
      syncLimitTicks: 2,
      dataDir: '/d',
      dataLogDir: '/l',
      clientPort: 3000,
      clientPortAddress: '::1',
      secureClientPort: 3001,
      secureClientPortAddress: '127.0.0.1',
      maxClientCnxns: 0,
      maxCnxns: 500,
      minSessionTimeoutMs: 1500,
      maxSessionTimeoutMs: 90000,
      globalOutstandingLimit: 16,
      snapCount: 50,
      preAllocSizeKb: 1024,
      snapSizeLimitKb: -1,
      txnLogSizeLimitKb: 4096,
      forceSync: false,
      autopurgeSnapRetainCount: 5,
      autopurgePurgeIntervalHours: 24,
      extendedTypesEnabled: true,
      enforceQuota: true,
      skipACL: true,
      superDigest: 'super:abc=',
      juteMaxBufferBytes: 2048,
      reconfigEnabled: true,
      readonlyModeEnabled: true,
      containerCheckIntervalMs: 1000,
      localSessionsEnabled: true,
      localSessionsUpgradingEnabled: true,
      quorumListenOnAllIPs: true,
      syncEnabled: false,
      adminEnableServer: false,
      adminServerAddress: '127.0.0.1',
      adminServerPort: 9090,
      adminCommandUrl: '/cmd',
    });
    expect(c.fourLetterWordWhitelist.has('isro')).toBe(true);
  });

  it('resolves relative directories against the working directory and warns like ZooKeeper', () => {
    const c = parse('dataDir=data/x\ndataLogDir=./log\nclientPort=1\n', { cwd: '/home/u' });
    expect(c.dataDir).toBe('/home/u/data/x');
    expect(c.dataLogDir).toBe('/home/u/log');
    expect(c.warnings).toEqual([`${CFG}:1: dataDir=data/x is relative to the working directory (/home/u); prepend ./ to show that is intended`]);
  });

  it('clamps snapCount below 2 and snapRetainCount below 3, with warnings', () => {
    const c = parse(`${BASE}snapCount=1\nautopurge.snapRetainCount=1\n`);
    expect(c.snapCount).toBe(2);
    expect(c.autopurgeSnapRetainCount).toBe(3);
    expect(c.warnings).toHaveLength(2);
    expect(c.warnings[1]).toMatch(/:4: autopurge\.snapRetainCount=1 is below the minimum; using 3/);
  });

  it('parses the 4lw whitelist: trims, skips empties, expands *, always adds srvr', () => {
    const c = parse(`${BASE}4lw.commands.whitelist= stat , ruok,,conf\n`);
    expect([...c.fourLetterWordWhitelist].sort()).toEqual(['conf', 'ruok', 'srvr', 'stat']);
    const all = parse(`${BASE}4lw.commands.whitelist=stat, *\n`);
    expect(all.fourLetterWordWhitelist.has('*')).toBe(true);
    for (const w of FOUR_LETTER_WORDS) expect(all.fourLetterWordWhitelist.has(w)).toBe(true);
    const odd = parse(`${BASE}4lw.commands.whitelist=stat,nope\n`);
    expect(odd.fourLetterWordWhitelist.has('nope')).toBe(true);
    expect(odd.warnings[0]).toMatch(/names "nope", which is not a four-letter word/);
  });

  it('accepts unknown and not-yet-supported keys, listing them in ignoredKeys', () => {
    const c = parse(`${BASE}serverCnxnFactory=x\nssl.keyStore.location=/k\nmetricsProvider.httpPort=7000\nauthProvider.1=a.B\nfutureKey=1\ntickTime=2000\n`);
    expect(c.ignoredKeys).toEqual(['serverCnxnFactory', 'ssl.keyStore.location', 'metricsProvider.httpPort', 'authProvider.1', 'futureKey']);
    for (const k of ['tickTime', 'dataDir', 'clientPort']) expect(ACTED_ON_KEYS.has(k)).toBe(true);
  });

  it('hints at keys that ZooKeeper would silently not use', () => {
    const c = parse(`${BASE}superDigest=super:x\nzookeeper.snapCount=5\n`);
    expect(c.superDigest).toBeNull();
    expect(c.ignoredKeys).toEqual(['superDigest', 'zookeeper.snapCount']);
    expect(c.warnings[0]).toMatch(/:3: superDigest is not a ZooKeeper key; use DigestAuthenticationProvider\.superDigest/);
    expect(c.warnings[1]).toMatch(/:4: zookeeper\.snapCount in zoo\.cfg becomes the system property zookeeper\.zookeeper\.snapCount; write snapCount/);
  });

  it('warns about duplicate keys and uses the last', () => {
    const c = parse(`${BASE}tickTime=100\ntickTime=200\n`);
    expect(c.tickTimeMs).toBe(200);
    expect(c.warnings[0]).toBe(`${CFG}:4: tickTime is set again (first at line 3); the last one wins`);
  });

  it('keeps every raw key and system property for conf/envi', () => {
    const c = parse(`${BASE}foo=bar \n`, { systemProps: props({ 'zookeeper.x': 'y' }) });
    expect([...c.raw]).toEqual([
      ['dataDir', '/var/zk'],
      ['clientPort', '2181'],
      ['foo', 'bar'],
      ['zookeeper.x', 'y'],
    ]);
  });
});

describe('system property precedence', () => {
  it('takes zookeeper.<key> properties when the file does not set the key', () => {
    const c = parse(BASE, {
      systemProps: props({
        'zookeeper.extendedTypesEnabled': 'true',
        'zookeeper.skipACL': 'yes',
        'zookeeper.4lw.commands.whitelist': 'ruok',
        'zookeeper.DigestAuthenticationProvider.superDigest': 'super:xyz',
        'zookeeper.snapCount': '1000',
        'zookeeper.forceSync': 'no',
        'zookeeper.enforceQuota': 'true',
        'zookeeper.admin.enableServer': 'false',
        'zookeeper.admin.serverPort': '9999',
        'zookeeper.globalOutstandingLimit': '5',
      }),
    });
    expect(c).toMatchObject({
      extendedTypesEnabled: true,
      skipACL: true,
      superDigest: 'super:xyz',
      snapCount: 1000,
      forceSync: false,
      enforceQuota: true,
      adminEnableServer: false,
      adminServerPort: 9999,
      globalOutstandingLimit: 5,
    });
    expect([...c.fourLetterWordWhitelist].sort()).toEqual(['ruok', 'srvr']);
  });

  it('lets the file win over -Dzookeeper.<key> (ZooKeeper sets the property after start)', () => {
    const c = parse(`${BASE}snapCount=7\nskipACL=no\n`, { systemProps: props({ 'zookeeper.snapCount': '9', 'zookeeper.skipACL': 'yes' }) });
    expect(c.snapCount).toBe(7);
    expect(c.skipACL).toBe(false);
  });

  it('lets un-prefixed -D properties win over the same key in the file', () => {
    const c = parse(`${BASE}jute.maxbuffer=100\nreadonlymode.enabled=false\nznode.container.checkIntervalMs=5\n`, {
      systemProps: props({ 'jute.maxbuffer': '0x400000', 'readonlymode.enabled': 'true', 'znode.container.checkIntervalMs': '250' }),
    });
    expect(c.juteMaxBufferBytes).toBe(0x400000);
    expect(c.readonlyModeEnabled).toBe(true);
    expect(c.containerCheckIntervalMs).toBe(250);
    expect(c.fourLetterWordWhitelist.has('isro')).toBe(true);
  });

  it('ignores properties ZooKeeper does not read for file-only keys', () => {
    const c = parse(BASE, { systemProps: props({ 'zookeeper.tickTime': '1', tickTime: '1', 'zookeeper.jute.maxbuffer': '5' }) });
    expect(c.tickTimeMs).toBe(3000);
    expect(c.juteMaxBufferBytes).toBe(0xfffff);
  });

  it('decodes Integer.getInteger forms: hex, #hex, octal', () => {
    expect(parse(BASE, { systemProps: props({ 'jute.maxbuffer': '#100' }) }).juteMaxBufferBytes).toBe(256);
    expect(parse(BASE, { systemProps: props({ 'jute.maxbuffer': '010' }) }).juteMaxBufferBytes).toBe(8);
    const e = parseError(BASE, { systemProps: props({ 'jute.maxbuffer': '08' }) });
    expect(e.message).toBe('-Djute.maxbuffer in JVMFLAGS (test): invalid jute.maxbuffer="08": expected a positive number of bytes (decimal, or hex as 0x...)');
  });
});

describe('errors name the key, file and line, and what is allowed', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['tickTime=abc', 'tickTime', /:3: invalid tickTime="abc": expected a positive integer number of milliseconds/],
    ['tickTime=0', 'tickTime', /:3: invalid tickTime="0": expected a positive/],
    ['tickTime=2.5', 'tickTime', /:3: invalid tickTime="2\.5"/],
    ['clientPort=70000', 'clientPort', /:3: invalid clientPort="70000": expected a port number from 1 to 65535/],
    ['initLimit=-1', 'initLimit', /:3: invalid initLimit="-1": expected a non-negative integer number of ticks/],
    ['maxClientCnxns=many', 'maxClientCnxns', /:3: invalid maxClientCnxns="many": expected a non-negative integer \(0 means no limit\)/],
    ['electionAlg=1', 'electionAlg', /:3: invalid electionAlg="1": only 3/],
    ['peerType=voter', 'peerType', /:3: invalid peerType="voter": expected 'participant' or 'observer'/],
    ['standaloneEnabled=yes', 'standaloneEnabled', /:3: invalid standaloneEnabled="yes": choose 'true' or 'false'/],
    ['skipACL=true', 'skipACL', /:3: invalid skipACL="true": expected 'yes' or 'no' in lowercase \(ZooKeeper reads any other value, such as 'true' or 'false', as 'no'\)/],
    ['forceSync=false', 'forceSync', /:3: invalid forceSync="false": expected 'yes' or 'no'/],
    ['extendedTypesEnabled=1', 'extendedTypesEnabled', /:3: invalid extendedTypesEnabled="1": expected 'true' or 'false'/],
    ['admin.enableServer=False', 'admin.enableServer', /:3: invalid admin\.enableServer="False"/],
    ['admin.serverPort=0', 'admin.serverPort', /:3: invalid admin\.serverPort="0": expected a port number from 1 to 65535/],
    ['snapCount=100,000', 'snapCount', /:3: invalid snapCount="100,000"/],
    ['preAllocSize=64M', 'preAllocSize', /:3: invalid preAllocSize="64M": expected a non-negative integer number of kilobytes/],
    ['jute.maxbuffer=0', 'jute.maxbuffer', /:3: invalid jute\.maxbuffer="0"/],
    ['znode.container.checkIntervalMs=0', 'znode.container.checkIntervalMs', /:3: invalid znode\.container\.checkIntervalMs="0"/],
    ['globalOutstandingLimit=0', 'globalOutstandingLimit', /:3: invalid globalOutstandingLimit="0": expected a positive integer/],
    ['DigestAuthenticationProvider.superDigest=nocolon', 'superDigest', /:3: invalid DigestAuthenticationProvider\.superDigest="nocolon": expected "super:/],
    ['clientPortAddress=', 'clientPortAddress', /:3: invalid clientPortAddress="": expected an IPv4 or IPv6 address or a host name/],
    ['sslQuorum=on', 'sslQuorum', /:3: invalid sslQuorum="on": choose 'true' or 'false'/],
    ['observerMasterPort=x', 'observerMasterPort', /:3: invalid observerMasterPort="x": expected an integer/],
    ['quorum.auth.serverRequireSasl=true', 'quorum.auth', /:3: invalid quorum\.auth\.serverRequireSasl="true": needs quorum\.auth\.enableSasl=true/],
  ];
  for (const [line, name, re] of cases) {
    it(name + ': ' + line, () => {
      const e = parseError(`${BASE}${line}\n`);
      expect(e.message.startsWith(`${CFG}:3: `)).toBe(true);
      expect(e.message).toMatch(re);
    });
  }

  it('missing dataDir', () => {
    expect(parseError('clientPort=2181\n').message).toBe(`${CFG}: dataDir is not set; it is required (the directory for snapshots and myid)`);
  });

  it('clientPortAddress without clientPort', () => {
    expect(parseError('dataDir=/d\nclientPortAddress=1.2.3.4\nsecureClientPort=3\n').message).toBe(
      `${CFG}:2: invalid clientPortAddress="1.2.3.4": clientPortAddress is set but clientPort is not`,
    );
  });

  it('no client port at all', () => {
    expect(parseError('dataDir=/d\n').message).toMatch(/clientPort is not set; set clientPort \(1-65535\)$/);
    // secureClientPort alone is a valid ZooKeeper setup; clientPort is then 0.
    expect(parse('dataDir=/d\nsecureClientPort=2281\n').clientPort).toBe(0);
  });

  it('minSessionTimeout > maxSessionTimeout, derived or explicit', () => {
    expect(parseError(`${BASE}minSessionTimeout=9000\nmaxSessionTimeout=8000\n`).message).toBe(
      `${CFG}: minSessionTimeout 9000 (${CFG}:3) must not be larger than maxSessionTimeout 8000 (${CFG}:4)`,
    );
    expect(parseError(`${BASE}tickTime=100\nminSessionTimeout=5000\n`).message).toBe(
      `${CFG}: minSessionTimeout 5000 (${CFG}:4) must not be larger than maxSessionTimeout 2000 (20 * tickTime)`,
    );
  });

  it('a malformed escape reports file and line', () => {
    expect(parseError(`${BASE}x=\\uZZZZ\n`).message).toMatch(/^\/etc\/zk\/zoo\.cfg:3: malformed/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('server.N', () => {
  // Two more participants, so that observers among the tested lines form a valid ensemble.
  const QUORUM = 'initLimit=1\nsyncLimit=1\nserver.8=p:1:2\nserver.9=q:1:2\n';
  const one = (line: string, extra = ''): Config => {
    const c = parse(`${BASE}${QUORUM}${extra}${line}\n`, { readMyid: myid(8) });
    return { ...c, servers: c.servers.filter((s) => s.id !== 8 && s.id !== 9) };
  };

  it('host:quorumPort:electionPort', () => {
    expect(one('server.7=zk7.example.com:2888:3888').servers).toEqual([
      { id: 7, host: 'zk7.example.com', quorumPort: 2888, electionPort: 3888, type: 'participant' },
    ]);
  });

  it(':observer and :participant, any case, and trailing blanks after the type', () => {
    expect(one('server.1=h:1:2:OBSERVER').servers[0]?.type).toBe('observer');
    expect(one('server.1=h:1:2:participant  ').servers[0]?.type).toBe('participant');
  });

  it(';clientPort and ;host:clientPort', () => {
    expect(one('server.1=h:1:2;2181').servers[0]).toMatchObject({ clientAddress: '0.0.0.0', clientPort: 2181 });
    expect(one('server.1=h:1:2:observer;10.1.1.1:2182').servers[0]).toMatchObject({ type: 'observer', clientAddress: '10.1.1.1', clientPort: 2182 });
    expect(one('server.1=h:1:2;').servers[0]?.clientPort).toBeUndefined();
  });

  it('IPv6 in brackets, for the server and the client address', () => {
    expect(one('server.1=[2001:db8::1]:2888:3888:observer;[::1]:2181').servers[0]).toEqual({
      id: 1,
      host: '2001:db8::1',
      quorumPort: 2888,
      electionPort: 3888,
      type: 'observer',
      clientAddress: '::1',
      clientPort: 2181,
    });
  });

  it('several addresses with multiAddress.enabled', () => {
    const s = one('server.1=a:1:2|[::2]:3:4', 'multiAddress.enabled=true\n').servers[0];
    expect(s).toMatchObject({ host: 'a', quorumPort: 1, electionPort: 2 });
    expect(s?.addresses).toEqual([
      { host: 'a', quorumPort: 1, electionPort: 2 },
      { host: '::2', quorumPort: 3, electionPort: 4 },
    ]);
    const viaProp = parse(`${BASE}server.1=a:1:2|b:1:2\n`, { systemProps: props({ 'zookeeper.multiAddress.enabled': 'true' }) });
    expect(viaProp.servers[0]?.addresses).toHaveLength(2);
  });

  const bad: Array<[string, RegExp]> = [
    ['server.1=h:2888', /"h:2888" is not host:quorumPort:electionPort/],
    ['server.1=h:1:2:3:4', /is not host:quorumPort:electionPort/],
    ['server.1=h:x:2', /the quorum port "x" is not a number/],
    ['server.1=h:1:99999', /the election port "99999" is not a number from 1 to 65535/],
    ['server.1=h:5:5', /the quorum port and the election port must differ/],
    ['server.1=h:1:2:voter', /unknown peer type "voter"/],
    ['server.1=h:1:2;a:b:3', /the client part "a:b:3" is not port or host:port/],
    ['server.1=h:1:2;abc', /the client port in "abc"/],
    ['server.1=h:1:2;1;2', /more than one ';'/],
    ['server.1=[::1:1:2', /starts with '\[' but has no matching '\]'/],
    ['server.1=[::1]:', /has no port after the colon/],
    ['server.1=:1:2', /the host is empty/],
    ['server.1=a:1:2|b:3:4', /need multiAddress\.enabled=true/],
    ['server.x=h:1:2', /the server id after "server\." must be a non-negative integer/],
    ['server.1=h:1:2   ', /the election port "2   " .*ZooKeeper does not trim this value: remove the trailing whitespace/],
  ];
  for (const [line, re] of bad) {
    it(`rejects ${JSON.stringify(line)}`, () => {
      const e = parseError(`${BASE}${line}\n`);
      expect(e.message.startsWith(`${CFG}:3: invalid ${line.slice(0, line.indexOf('='))}=`)).toBe(true);
      expect(e.message).toMatch(re);
      expect(e.message).toMatch(/expected host:quorumPort:electionPort\[:participant\|observer\]\[;\[clientHost:\]clientPort\]/);
    });
  }
});

describe('ensembles', () => {
  it('reads an ensemble with myid from dataDir/myid', () => {
    const seen: string[] = [];
    const c = parse(ENSEMBLE, { readMyid: (d) => (seen.push(d), '2\n') });
    expect(seen).toEqual(['/var/zk']);
    expect(c.myid).toBe(2);
    expect(c.distributed).toBe(true);
    expect(c.servers.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(c.warnings).toEqual([]);
  });

  it('takes MYID, then ZOO_MY_ID, when dataDir/myid is absent; the file wins', () => {
    expect(parse(ENSEMBLE, { env: { MYID: '3' } }).myid).toBe(3);
    expect(parse(ENSEMBLE, { env: { ZOO_MY_ID: '1' } }).myid).toBe(1);
    expect(parse(ENSEMBLE, { env: { MYID: '3' }, readMyid: myid(1) }).myid).toBe(1);
  });

  it('fails without myid, naming the file', () => {
    expect(parseError(ENSEMBLE).message).toBe(
      '/var/zk/myid: myid file is missing; an ensemble member needs it (or the MYID environment variable) to hold its server id, one of 1, 2, 3',
    );
  });

  it('fails on a non-numeric myid', () => {
    expect(parseError(ENSEMBLE, { readMyid: () => 'one\n' }).message).toBe('/var/zk/myid: serverid "one" is not a number; expected a non-negative integer');
    expect(parseError(ENSEMBLE, { env: { MYID: 'x' } }).message).toMatch(/^environment variable MYID: serverid "x"/);
  });

  it('fails when myid is not in the server list', () => {
    expect(parseError(ENSEMBLE, { readMyid: myid(9) }).message).toBe(
      `${CFG}: my id 9 is not in the server list (server.1, server.2, server.3)`,
    );
  });

  it('needs initLimit and syncLimit', () => {
    expect(parseError(ENSEMBLE.replace('initLimit=10\n', ''), { readMyid: myid(1) }).message).toBe(
      `${CFG}: initLimit is not set; an ensemble needs a positive number of ticks`,
    );
    expect(parseError(ENSEMBLE.replace('syncLimit=5\n', ''), { readMyid: myid(1) }).message).toMatch(/syncLimit is not set/);
  });

  it('runs a single listed server standalone (with a warning), unless standaloneEnabled=false', () => {
    const c = parse(`${BASE}server.1=h:1:2\n`);
    expect(c.distributed).toBe(false);
    expect(c.warnings[0]).toMatch(/only one server is listed, so it runs standalone/);
    const d = parse(`${BASE}initLimit=1\nsyncLimit=1\nstandaloneEnabled=false\nserver.1=h:1:2\n`, { readMyid: myid(1) });
    expect(d.distributed).toBe(true);
    expect(d.standaloneEnabled).toBe(false);
  });

  it('rejects observers without a quorum, and standaloneEnabled=false without participants', () => {
    expect(parseError(`${BASE}server.1=h:1:2:observer\n`).message).toBe(`${CFG}: observers without participants is not a valid ensemble`);
    expect(parseError(`${BASE}server.1=h:1:2\nserver.2=h:3:4:observer\n`).message).toMatch(/observers need a quorum of participants/);
    expect(parseError(`${BASE}standaloneEnabled=false\n`).message).toMatch(/standaloneEnabled=false needs at least one participant/);
  });

  it('warns about two or an even number of participants', () => {
    const two = parse(`${BASE}initLimit=1\nsyncLimit=1\nserver.1=a:1:2\nserver.2=b:1:2\n`, { readMyid: myid(1) });
    expect(two.warnings).toEqual([`${CFG}: no server failure will be tolerated; an ensemble needs at least 3 servers for that`]);
    const four = parse(`${ENSEMBLE}server.4=d:1:2\n`, { readMyid: myid(1) });
    expect(four.warnings[0]).toMatch(/4 participants tolerate no more failures than 3; consider an odd number/);
  });

  it('takes this server\'s client address from its server line', () => {
    const text = ENSEMBLE.replace('clientPort=2181\n', '').replace('server.2=10.0.0.2:2888:3888', 'server.2=10.0.0.2:2888:3888;10.0.0.2:2190');
    const c = parse(text, { readMyid: myid(2) });
    expect(c.clientPort).toBe(2190);
    expect(c.clientPortAddress).toBe('10.0.0.2');
    expect(parseError(text, { readMyid: myid(1) }).message).toMatch(/clientPort is not set; .* or give this server's client port as ";port" in its server\.N line/);
  });

  it('rejects a clientPort that disagrees with the server line', () => {
    const text = ENSEMBLE.replace('server.2=10.0.0.2:2888:3888', 'server.2=10.0.0.2:2888:3888;2190');
    expect(parseError(text, { readMyid: myid(2) }).message).toBe(
      `${CFG}:5: invalid clientPort="2181": server.2 gives this server's client address as 0.0.0.0:2190; the two must agree`,
    );
    expect(parse(text.replace('clientPort=2181', 'clientPort=2190'), { readMyid: myid(2) }).clientPort).toBe(2190);
  });

  it('takes the peer type from the server list, warning about a different peerType', () => {
    const text = ENSEMBLE.replace('server.3=10.0.0.3:2888:3888', 'server.3=10.0.0.3:2888:3888:observer\nserver.4=10.0.0.4:2888:3888');
    expect(parse(text, { readMyid: myid(3) }).peerType).toBe('observer');
    const c = parse(`${text}peerType=observer\n`, { readMyid: myid(1) });
    expect(c.peerType).toBe('participant');
    expect(c.warnings.some((w) => /peerType=observer is overridden: server\.1 says participant/.test(w))).toBe(true);
  });

  it('limits server ids to 254 with extendedTypesEnabled', () => {
    const text = `${ENSEMBLE}server.300=z:1:2\nextendedTypesEnabled=true\n`;
    expect(parseError(text, { readMyid: myid(300) }).message).toMatch(/extendedTypesEnabled=true needs a server id of at most 254, but myid is 300/);
  });

  it('reads group.N and weight.N', () => {
    const text = `${ENSEMBLE}server.4=d:1:2\ngroup.1=1:2\ngroup.2=3:4\nweight.3=2\n`;
    const c = parse(text, { readMyid: myid(1) });
    expect(c.quorumHierarchy?.groups).toEqual([
      { id: 1, members: [1, 2] },
      { id: 2, members: [3, 4] },
    ]);
    expect([...(c.quorumHierarchy?.weights ?? [])].sort()).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 1],
    ]);
    expect(c.ignoredKeys).toEqual(['group.1', 'group.2', 'weight.3']);
  });

  it('rejects bad hierarchies', () => {
    expect(parseError(`${ENSEMBLE}group.1=1:2\n`, { readMyid: myid(1) }).message).toMatch(/server 3 is not in any group\.N/);
    expect(parseError(`${ENSEMBLE}group.1=1:2\ngroup.2=2:3\n`, { readMyid: myid(1) }).message).toMatch(/server 2 is already in group 1; groups must be disjoint/);
    expect(parseError(`${ENSEMBLE}group.1=1:2:3:9\n`, { readMyid: myid(1) }).message).toMatch(/group\.1 lists server 9, which has no server\.9 line/);
    expect(parseError(`${ENSEMBLE}groups=1\n`, { readMyid: myid(1) }).message).toMatch(/:9: invalid groups="1"/);
  });
});

describe('dynamicConfigFile', () => {
  const dyn = 'server.1=a:1:2;2181\nserver.2=b:1:2\nserver.3=c:1:2\n';
  const text = 'tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=/d\ndynamicConfigFile=conf/zoo.cfg.dynamic.100000000\n';

  it('reads the servers from it, relative to the working directory, with the version from its name', () => {
    const asked: string[] = [];
    const c = parse(text, { cwd: '/w', readMyid: myid(1), readDynamicConfig: (f) => (asked.push(f), dyn) });
    expect(asked).toEqual(['/w/conf/zoo.cfg.dynamic.100000000']);
    expect(c.dynamicConfigFile).toBe('/w/conf/zoo.cfg.dynamic.100000000');
    expect(c.quorumVersion).toBe(0x100000000n);
    expect(c.servers).toHaveLength(3);
    expect(c.clientPort).toBe(2181);
  });

  it('rejects servers in the static file, extra keys or version in the dynamic one, and a missing file', () => {
    expect(parseError(`${text}server.1=a:1:2\n`, { readDynamicConfig: () => dyn }).message).toMatch(
      /:6: server\.1 must be in the dynamic config file, since dynamicConfigFile is set \(.*:5\)/,
    );
    expect(parseError(text, { readDynamicConfig: () => `${dyn}tickTime=1\n` }).message).toMatch(/dynamic\.100000000:4: unrecognised key tickTime/);
    expect(parseError(text, { readDynamicConfig: () => `version=1\n` }).message).toMatch(/must not contain version/);
    expect(parseError(text).message).toMatch(/:5: invalid dynamicConfigFile=.*: the file \/srv\/conf\/zoo\.cfg\.dynamic\.100000000 is missing/);
  });
});

describe('the result is frozen', () => {
  const c = parse(`${ENSEMBLE}multiAddress.enabled=true\nserver.4=d:1:2|e:1:2\ngroup.1=1:2:3:4\n`, { readMyid: myid(1) });

  it('object, arrays, servers', () => {
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.servers)).toBe(true);
    expect(Object.isFrozen(c.servers[0])).toBe(true);
    expect(Object.isFrozen(c.servers[3]?.addresses)).toBe(true);
    expect(Object.isFrozen(c.ignoredKeys)).toBe(true);
    expect(Object.isFrozen(c.warnings)).toBe(true);
    expect(Object.isFrozen(c.quorumHierarchy?.groups[0]?.members)).toBe(true);
    expect(() => {
      (c as { tickTimeMs: number }).tickTimeMs = 1;
    }).toThrow(TypeError);
  });

  it('sets and maps refuse changes', () => {
    expect(() => (c.fourLetterWordWhitelist as Set<string>).add('x')).toThrow(TypeError);
    expect(() => (c.raw as Map<string, string>).set('x', 'y')).toThrow(TypeError);
    expect(() => (c.quorumHierarchy?.weights as Map<number, number>).clear()).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------

describe('loadConfig (files)', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tszk-config-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads the file, java.env next to it, and dataDir/myid', () => {
    const d = tmp();
    const conf = join(d, 'conf');
    const data = join(d, 'data');
    mkdirSync(conf);
    mkdirSync(data);
    writeFileSync(join(data, 'myid'), '2\n');
    writeFileSync(join(conf, 'zoo.cfg'), ENSEMBLE.replace('dataDir=/var/zk', `dataDir=${data}`));
    writeFileSync(join(conf, 'zookeeper-env.sh'), 'SERVER_JVMFLAGS="-Djute.maxbuffer=1"\n');
    writeFileSync(join(conf, 'java.env'), 'export SERVER_JVMFLAGS="$SERVER_JVMFLAGS -Dzookeeper.skipACL=yes -Djute.maxbuffer=4096"\nfoo bar\n');
    const c = loadConfig(join(conf, 'zoo.cfg'), { JVMFLAGS: '-Dreadonlymode.enabled=true' });
    expect(c.configPath).toBe(join(conf, 'zoo.cfg'));
    expect(c.myid).toBe(2);
    expect(c.skipACL).toBe(true);
    expect(c.juteMaxBufferBytes).toBe(4096);
    expect(c.readonlyModeEnabled).toBe(true);
    expect(c.warnings).toEqual([`${join(conf, 'java.env')}:2: skipped "foo bar": tszk reads only simple VAR=value assignments here (command)`]);
  });

  it('names the file and line of a bad -D in java.env', () => {
    const d = tmp();
    writeFileSync(join(d, 'zoo.cfg'), `dataDir=${d}\nclientPort=2181\n`);
    writeFileSync(join(d, 'java.env'), '\nexport JVMFLAGS="-Dzookeeper.snapCount=lots"\n');
    expect(() => loadConfig(join(d, 'zoo.cfg'), {})).toThrow(
      `-Dzookeeper.snapCount in JVMFLAGS (set at ${join(d, 'java.env')}:2): invalid zookeeper.snapCount="lots": expected a positive integer number of transactions`,
    );
  });

  it('resolves a relative config path and relative dataDir against the working directory', () => {
    const d = tmp();
    writeFileSync(join(d, 'zoo.cfg'), 'dataDir=./rel\nclientPort=2181\n');
    const c = loadConfig(join(d, 'zoo.cfg'), {});
    expect(c.dataDir).toBe(join(process.cwd(), 'rel'));
  });

  it('fails for a missing config file, and reads the dynamic config file', () => {
    const d = tmp();
    expect(() => loadConfig(join(d, 'nope.cfg'), {})).toThrow(`${join(d, 'nope.cfg')}: config file is missing`);
    writeFileSync(join(d, 'dyn.cfg.dynamic'), 'server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n');
    writeFileSync(join(d, 'zoo.cfg'), `initLimit=1\nsyncLimit=1\ndataDir=${d}\nclientPort=2181\ndynamicConfigFile=${join(d, 'dyn.cfg.dynamic')}\n`);
    const c = loadConfig(join(d, 'zoo.cfg'), { MYID: '3' });
    expect(c.servers.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(c.quorumVersion).toBe(0n);
  });

  it('uses the built-in default for a null path', () => {
    const c = loadConfig(null, {});
    expect(c.configPath).toBeNull();
    expect(c.dataDir).toBe(join(process.cwd(), 'data/standalone'));
  });

  it('loads the bundled configs', () => {
    const root = fileURLToPath(new URL('../../conf', import.meta.url));
    for (const name of ['zoo.cfg', 'zoo_sample.cfg']) {
      const c = loadConfig(join(root, name), {});
      expect(c.clientPort).toBe(2181);
      expect(c.ignoredKeys).toEqual([]);
    }
    for (const n of [1, 2, 3]) {
      const c = loadConfig(join(root, `z${n}.conf`), { MYID: String(n) });
      expect(c).toMatchObject({ myid: n, clientPort: 2180 + n, distributed: true, adminEnableServer: false });
      expect(c.servers.map((s) => [s.quorumPort, s.electionPort])).toEqual([
        [2222, 2223],
        [3333, 3334],
        [4444, 4445],
      ]);
      expect(() => loadConfig(join(root, `z${n}.conf`), {})).toThrow(/myid file is missing/);
    }
  });
});
