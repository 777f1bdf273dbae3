// Debian's zkCli.sh (ZooKeeper 3.8) against each target server. The expected texts are what zkCli
// prints against the real ZooKeeper 3.8 server; a tszk server passes when zkCli cannot tell the
// difference. Times, zxids and session ids vary and are compared by shape or by relation.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithReference } from '../support/reference.js';
import { describeEachTarget, type TestServer } from '../support/zk-server.js';
import {
  normalizeStat,
  outputLines,
  parseList,
  splitStat,
  withZkCli,
  zkCliOneShot,
  zkCliPiped,
  type WatchedEventLine,
  type ZkCliSession,
  type ZkCliStat,
} from '../support/zkcli.js';

const NODE_EXISTS = (path: string): string => `Node already exists: ${path}\n`;
const NO_NODE = (path: string): string => `Node does not exist: ${path}\n`;
const NOT_EMPTY = (path: string): string => `Node not empty: ${path}\n`;
const BAD_VERSION = (path: string): string => `version No is not valid : ${path}\n`;
const NO_AUTH = (path: string): string => `Insufficient permission : ${path}\n`;
const INVALID_ACL = (path: string): string => `Acl is not valid : ${path}\n`;
const UNIMPLEMENTED = (path: string): string => `KeeperErrorCode = Unimplemented for ${path}\n`;
const NO_WATCHER = (path: string): string => `KeeperErrorCode = No such watcher for ${path}\n`;
const CREATED = (path: string): string => `Created ${path}\n`;
const ADD_WATCH_USAGE =
  'addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE\n';
/** base64(sha1("user1:pass1")), as the server stores a digest identity. */
const USER1_DIGEST = "'digest,'user1:+7K83PhyQ3ijGj0ADmljf0quVwQ=\n";
const WORLD_ANYONE = "'world,'anyone\n";

/** A Stat of a fresh, childless, persistent node, as normalizeStat prints it. */
const FRESH_STAT_TEMPLATE = (dataLength: number): string =>
  [
    'cZxid = <zxid>',
    'ctime = <time>',
    'mZxid = <zxid>',
    'mtime = <time>',
    'pZxid = <zxid>',
    'cversion = 0',
    'dataVersion = 0',
    'aclVersion = 0',
    'ephemeralOwner = 0x0',
    `dataLength = ${dataLength}`,
    'numChildren = 0',
    '',
  ].join('\n');

function expectFreshStat(stat: ZkCliStat, dataLength: number): void {
  expect(stat.cZxid).toBeGreaterThan(0n);
  expect(stat.mZxid).toBe(stat.cZxid);
  expect(stat.pZxid).toBe(stat.cZxid);
  expect(stat.mtime).toBe(stat.ctime);
  expect(stat).toMatchObject({ cversion: 0, dataVersion: 0, aclVersion: 0, ephemeralOwner: 0n, dataLength, numChildren: 0 });
}

const isEvent =
  (type: string, path: string) =>
  (event: WatchedEventLine): boolean =>
    event.state === 'SyncConnected' && event.type === type && event.path === path;

function countEvents(cli: ZkCliSession, type: string, path: string): number {
  return cli.events().filter(isEvent(type, path)).length;
}

let barrierCount = 0;
/** Every event the server sent before this returns has been printed: a one-shot data watch on a
 * fresh node, triggered and awaited. Events reach zkCli in the order the server sent them. */
async function eventBarrier(cli: ZkCliSession): Promise<void> {
  barrierCount += 1;
  const path = `/barrier-${process.pid}-${barrierCount}`;
  expect(await cli.run(`create ${path} b`)).toBe(CREATED(path));
  expect(await cli.run(`get -w ${path}`)).toBe('b\n');
  expect(await cli.run(`set ${path} c`)).toBe('');
  await cli.waitForEvent(isEvent('NodeDataChanged', path), { what: `barrier watch on ${path}` });
  expect(await cli.run(`delete ${path}`)).toBe('');
}

describeWithReference('zkCli.sh (Java client from Debian ZooKeeper 3.8)', () => {
  describeEachTarget('zkCli commands', (target) => {
    /** extendedTypesEnabled=true (TTL nodes); used by most tests. */
    let main: TestServer | undefined;
    /** Default settings, fresh for the seed session. */
    let plain: TestServer | undefined;

    beforeAll(async () => {
      const [mainStarted, plainStarted] = await Promise.allSettled([
        target.start({ extraConfig: { extendedTypesEnabled: 'true' } }),
        target.start(),
      ]);
      if (mainStarted.status === 'fulfilled') main = mainStarted.value;
      if (plainStarted.status === 'fulfilled') plain = plainStarted.value;
      if (mainStarted.status === 'rejected' || plainStarted.status === 'rejected') {
        await Promise.allSettled([main?.stop(), plain?.stop()]);
        main = undefined;
        plain = undefined;
        const failure = mainStarted.status === 'rejected' ? mainStarted : plainStarted;
        throw (failure as PromiseRejectedResult).reason;
      }
    });

    afterAll(async () => {
      await Promise.allSettled([main?.stop(), plain?.stop()]);
    });

    const mainAt = (): string => {
      if (!main) throw new Error('main server not started');
      return main.connectString;
    };
    const plainAt = (): string => {
      if (!plain) throw new Error('plain server not started');
      return plain.connectString;
    };

    it('seed session on a fresh server: ls, create, get -s with a full Stat', async () => {
      const session = await zkCliPiped(plainAt(), [
        'ls /',
        'create /myfolder ""',
        'ls /',
        'create /zk_test my_data',
        'get -s /zk_test',
        'get /myfolder',
        'stat /myfolder',
        'ls -s /',
      ]);
      expect(session.code).toBe(0);
      expect(session.preamble).toContain(`Connecting to ${plainAt()}\n`);
      expect(session.preamble).toContain('Welcome to ZooKeeper!\n');
      expect(session.preamble).toContain('JLine support is enabled\n');
      expect(session.events).toContainEqual({ state: 'SyncConnected', type: 'None', path: null });
      // The first prompt may still say CONNECTING; by the end the session is up.
      expect(session.promptStates.at(-1)).toBe('CONNECTED');
      const out = session.steps.map((step) => step.output);

      expect(out[0]).toBe('[zookeeper]\n');
      expect(out[1]).toBe(CREATED('/myfolder'));
      expect(out[2]).toBe('[myfolder, zookeeper]\n');
      expect(out[3]).toBe(CREATED('/zk_test'));

      const zkTest = splitStat(out[4] ?? '');
      expect(zkTest.before).toBe('my_data\n');
      expect(normalizeStat(zkTest.statText)).toBe(FRESH_STAT_TEMPLATE(7));
      expectFreshStat(zkTest.stat, 7);

      // `""` is zkCli's empty string: the node holds zero bytes and get prints an empty line.
      expect(out[5]).toBe('\n');
      const myfolder = splitStat(out[6] ?? '');
      expect(myfolder.before).toBe('');
      expectFreshStat(myfolder.stat, 0);
      expect(zkTest.stat.cZxid).toBeGreaterThan(myfolder.stat.cZxid);

      // The root: created at zxid 0, time 0, no data; cversion counts the two creates from -1.
      const root = splitStat(out[7] ?? '');
      expect(root.before).toBe('[myfolder, zk_test, zookeeper]\n');
      expect(root.statText).toBe(
        [
          'cZxid = 0x0',
          'ctime = Thu Jan 01 00:00:00 UTC 1970',
          'mZxid = 0x0',
          'mtime = Thu Jan 01 00:00:00 UTC 1970',
          `pZxid = 0x${zkTest.stat.cZxid.toString(16)}`,
          'cversion = 1',
          'dataVersion = 0',
          'aclVersion = 0',
          'ephemeralOwner = 0x0',
          'dataLength = 0',
          'numChildren = 3',
          '',
        ].join('\n'),
      );
    });

    it('one-shot mode: results on stdout, Created and errors on stderr, exit 1 on error', async () => {
      const created = await zkCliOneShot(plainAt(), ['create', '/oneshot', 'one shot data']);
      expect(created).toMatchObject({ code: 0, stderr: CREATED('/oneshot'), output: '' });
      expect(created.stdout).toContain(`Connecting to ${plainAt()}\n`);

      const read = await zkCliOneShot(plainAt(), ['get', '/oneshot']);
      expect(read).toMatchObject({ code: 0, stderr: '', output: 'one shot data\n' });

      const missing = await zkCliOneShot(plainAt(), ['get', '/oneshot-missing']);
      expect(missing).toMatchObject({ code: 1, stderr: NO_NODE('/oneshot-missing'), output: '' });
    });

    it('create -t is refused when extendedTypesEnabled is off', async () => {
      const session = await zkCliPiped(plainAt(), ['create -t 600000 /ttl-off x', 'create -t 600000 -s /ttl-off- x', 'stat /ttl-off']);
      expect(session.steps.map((step) => step.output)).toEqual([
        UNIMPLEMENTED('/ttl-off'),
        UNIMPLEMENTED('/ttl-off-'),
        NO_NODE('/ttl-off'),
      ]);
    });

    it('create -s / -e / -c / -t, sequence numbers from the parent cversion, ephemerals die with the session', async () => {
      await withZkCli(mainAt(), async (cli) => {
        expect(await cli.run('create /flags')).toBe(CREATED('/flags'));
        expect(await cli.run('create /flags again')).toBe(NODE_EXISTS('/flags'));
        expect(await cli.run('create /flags-missing/child x')).toBe(NO_NODE('/flags-missing/child'));
        // `create` without data stores null, which get prints as "null".
        expect(await cli.run('get /flags')).toBe('null\n');

        expect(await cli.run('create -s /flags/seq- a')).toBe(CREATED('/flags/seq-0000000000'));
        expect(await cli.run('create -s /flags/seq- b')).toBe(CREATED('/flags/seq-0000000001'));
        expect(await cli.run('create -e /flags/eph e')).toBe(CREATED('/flags/eph'));
        expect(await cli.run('create -e -s /flags/es- x')).toBe(CREATED('/flags/es-0000000003'));
        expect(await cli.run('create -c /flags/cont')).toBe(CREATED('/flags/cont'));
        expect(await cli.run('create -c /flags/cont/child x')).toBe(CREATED('/flags/cont/child'));
        expect(await cli.run('create -t 600000 /flags/ttl t')).toBe(CREATED('/flags/ttl'));
        expect(await cli.run('create -t 600000 -s /flags/ttls- t')).toBe(CREATED('/flags/ttls-0000000006'));

        expect(await cli.run('ls /flags')).toBe('[cont, eph, es-0000000003, seq-0000000000, seq-0000000001, ttl, ttls-0000000006]\n');
        expect(await cli.run('get /flags/seq-0000000001')).toBe('b\n');

        const eph = splitStat(await cli.run('get -s /flags/eph'));
        expect(eph.before).toBe('e\n');
        expect(eph.stat.ephemeralOwner).not.toBe(0n);
        expect(normalizeStat(eph.statText)).toContain('ephemeralOwner = <session>\n');
        const es = splitStat(await cli.run('stat /flags/es-0000000003'));
        expect(es.stat.ephemeralOwner).toBe(eph.stat.ephemeralOwner);

        // Containers and TTL nodes report ephemeralOwner 0 to clients.
        const cont = splitStat(await cli.run('stat /flags/cont'));
        expect(cont.stat).toMatchObject({ ephemeralOwner: 0n, numChildren: 1, cversion: 1, dataLength: 0 });
        const ttl = splitStat(await cli.run('stat /flags/ttl'));
        expect(ttl.stat).toMatchObject({ ephemeralOwner: 0n, dataLength: 1 });

        const flags = splitStat(await cli.run('stat /flags'));
        expect(flags.stat).toMatchObject({ cversion: 7, numChildren: 7 });
        const ttls = splitStat(await cli.run('stat /flags/ttls-0000000006'));
        expect(flags.stat.pZxid).toBe(ttls.stat.cZxid);

        // getEphemerals [path] lists this session's ephemerals whose path starts with the prefix.
        expect(new Set(parseList(await cli.run('getEphemerals')))).toEqual(new Set(['/flags/eph', '/flags/es-0000000003']));
        expect(new Set(parseList(await cli.run('getEphemerals /flags/e')))).toEqual(new Set(['/flags/eph', '/flags/es-0000000003']));
        expect(await cli.run('getEphemerals /flags/seq')).toBe('[]\n');
        expect(await cli.run('getEphemerals /nonexistent')).toBe('[]\n');

        expect(await cli.run('getAllChildrenNumber /flags')).toBe('8\n');
        expect(await cli.run('getAllChildrenNumber /flags/cont')).toBe('1\n');
        expect(await cli.run('getAllChildrenNumber /flags/eph')).toBe('0\n');
        expect(await cli.run('getAllChildrenNumber /flags-missing')).toBe(NO_NODE('/flags-missing'));
      });

      // quit closed the session: its ephemerals are gone, the rest stays.
      const after = await zkCliPiped(mainAt(), ['ls /flags', 'getEphemerals']);
      expect(after.steps.map((step) => step.output)).toEqual([
        '[cont, seq-0000000000, seq-0000000001, ttl, ttls-0000000006]\n',
        '[]\n',
      ]);
    });

    it('get -w fires once on set; ls -w on a child create; stat -w on delete', async () => {
      await withZkCli(mainAt(), async (cli) => {
        expect(await cli.run('create /watched v0')).toBe(CREATED('/watched'));

        expect(await cli.run('get -w /watched')).toBe('v0\n');
        expect(await cli.run('set /watched v1')).toBe('');
        await cli.waitForEvent(isEvent('NodeDataChanged', '/watched'), { what: 'NodeDataChanged for /watched after get -w' });
        // A data watch is one-shot: the second set must not notify.
        expect(await cli.run('set /watched v2')).toBe('');
        await eventBarrier(cli);
        expect(countEvents(cli, 'NodeDataChanged', '/watched')).toBe(1);

        expect(await cli.run('ls -w /watched')).toBe('[]\n');
        expect(await cli.run('create /watched/child c')).toBe(CREATED('/watched/child'));
        await cli.waitForEvent(isEvent('NodeChildrenChanged', '/watched'), { what: 'NodeChildrenChanged for /watched after ls -w' });

        const stat = splitStat(await cli.run('stat -w /watched'));
        expect(stat.stat).toMatchObject({ dataVersion: 2, numChildren: 1, cversion: 1 });
        // Deleting a child changes the parent's children, not its data: no event for stat -w.
        expect(await cli.run('delete /watched/child')).toBe('');
        expect(await cli.run('delete /watched')).toBe('');
        await cli.waitForEvent(isEvent('NodeDeleted', '/watched'), { what: 'NodeDeleted for /watched after stat -w' });
        await eventBarrier(cli);
        expect(countEvents(cli, 'NodeChildrenChanged', '/watched')).toBe(1);
        expect(countEvents(cli, 'NodeDeleted', '/watched')).toBe(1);

        // stat -w on a missing node leaves an exists watch that fires on creation.
        expect(await cli.run('stat -w /watched-later')).toBe(NO_NODE('/watched-later'));
        expect(await cli.run('create /watched-later x')).toBe(CREATED('/watched-later'));
        await cli.waitForEvent(isEvent('NodeCreated', '/watched-later'), { what: 'NodeCreated for /watched-later after stat -w' });

      });
    });

    it('set, set -s, set -v and delete -v against the data version; stat', async () => {
      const session = await zkCliPiped(mainAt(), [
        'create /ver v0',
        'set /ver v1',
        'set -s /ver v2',
        'set -v 0 /ver v3',
        'set -v 2 /ver v3',
        'get -s /ver',
        'delete -v 0 /ver',
        'delete -v 3 /ver',
        'stat /ver',
        'delete /ver',
        'set /ver x',
        'create /ver2',
        'create /ver2/a 1',
        'stat /ver2',
        'stat /ver2/a',
      ]);
      const out = session.steps.map((step) => step.output);
      expect(out[0]).toBe(CREATED('/ver'));
      expect(out[1]).toBe('');
      const afterSet = splitStat(out[2] ?? '');
      expect(afterSet.before).toBe('');
      expect(afterSet.stat).toMatchObject({ dataVersion: 2, dataLength: 2, cversion: 0, aclVersion: 0 });
      expect(afterSet.stat.mZxid).toBeGreaterThan(afterSet.stat.cZxid);
      expect(afterSet.stat.pZxid).toBe(afterSet.stat.cZxid);
      expect(out[3]).toBe(BAD_VERSION('/ver'));
      expect(out[4]).toBe('');
      const got = splitStat(out[5] ?? '');
      expect(got.before).toBe('v3\n');
      expect(got.stat).toMatchObject({ dataVersion: 3, cZxid: afterSet.stat.cZxid, ctime: afterSet.stat.ctime });
      expect(got.stat.mZxid).toBeGreaterThan(afterSet.stat.mZxid);
      expect(out[6]).toBe(BAD_VERSION('/ver'));
      expect(out[7]).toBe('');
      expect(out[8]).toBe(NO_NODE('/ver'));
      expect(out[9]).toBe(NO_NODE('/ver'));
      expect(out[10]).toBe(NO_NODE('/ver'));
      expect(out[11]).toBe(CREATED('/ver2'));
      expect(out[12]).toBe(CREATED('/ver2/a'));
      const parent = splitStat(out[13] ?? '');
      const child = splitStat(out[14] ?? '');
      expect(parent.stat).toMatchObject({ numChildren: 1, cversion: 1, dataVersion: 0, dataLength: 0 });
      expect(parent.stat.pZxid).toBe(child.stat.cZxid);
      expect(parent.stat.mZxid).toBe(parent.stat.cZxid);
      expectFreshStat(child.stat, 1);
    });

    it('ls, ls -s, ls -R, ls -w', async () => {
      await withZkCli(mainAt(), async (cli) => {
        for (const path of ['/tree', '/tree/b', '/tree/a', '/tree/a/x', '/tree/a/x/deep', '/tree/b/y']) {
          expect(await cli.run(`create ${path} d`)).toBe(CREATED(path));
        }
        // zkCli sorts the children it prints.
        expect(await cli.run('ls /tree')).toBe('[a, b]\n');
        expect(await cli.run('ls /tree/a/x/deep')).toBe('[]\n');
        expect(await cli.run('ls /tree-missing')).toBe(NO_NODE('/tree-missing'));

        const listed = splitStat(await cli.run('ls -s /tree'));
        expect(listed.before).toBe('[a, b]\n');
        expect(listed.stat).toMatchObject({ numChildren: 2, cversion: 2, dataLength: 1 });

        // ls -R walks breadth-first in the order the server returns children.
        const recursive = outputLines(await cli.run('ls -R /tree'));
        expect(recursive[0]).toBe('/tree');
        expect(new Set(recursive)).toEqual(new Set(['/tree', '/tree/a', '/tree/b', '/tree/a/x', '/tree/b/y', '/tree/a/x/deep']));
        expect(recursive).toHaveLength(6);
        for (const [index, path] of recursive.entries()) {
          const parent = path.slice(0, path.lastIndexOf('/'));
          if (index > 0) expect(recursive.indexOf(parent)).toBeLessThan(index);
        }
        expect(outputLines(await cli.run('ls -R /zookeeper')).slice(0, 1)).toEqual(['/zookeeper']);

        expect(await cli.run('ls -w /tree')).toBe('[a, b]\n');
        expect(await cli.run('set /tree new-data')).toBe('');
        expect(await cli.run('create /tree/c d')).toBe(CREATED('/tree/c'));
        await cli.waitForEvent(isEvent('NodeChildrenChanged', '/tree'), { what: 'NodeChildrenChanged for /tree after ls -w' });
        await eventBarrier(cli);
        // A child watch ignores data changes.
        expect(countEvents(cli, 'NodeDataChanged', '/tree')).toBe(0);
      });
    });

    it('delete and deleteall', async () => {
      const session = await zkCliPiped(mainAt(), [
        'create /del',
        'create /del/a',
        'create /del/a/b x',
        'create /del/c',
        'delete /del',
        'delete /del/a',
        'deleteall /del',
        'ls /del',
        'deleteall /del',
        'delete /del',
      ]);
      expect(session.steps.map((step) => step.output)).toEqual([
        CREATED('/del'),
        CREATED('/del/a'),
        CREATED('/del/a/b'),
        CREATED('/del/c'),
        NOT_EMPTY('/del'),
        NOT_EMPTY('/del/a'),
        '',
        NO_NODE('/del'),
        NO_NODE('/del'),
        NO_NODE('/del'),
      ]);
    });

    it('addauth digest, whoami, setAcl, getAcl and access denied', async () => {
      await withZkCli(mainAt(), async (cli) => {
        expect(outputLines(await cli.run('whoami'))).toEqual(['Auth scheme: User', 'ip: 127.0.0.1']);
        expect(await cli.run('create /secure top-secret')).toBe(CREATED('/secure'));
        expect(await cli.run('getAcl /secure')).toBe(`${WORLD_ANYONE}: cdrwa\n`);

        expect(await cli.run('addauth digest user1:pass1')).toBe('');
        const whoami = outputLines(await cli.run('whoami'));
        expect(whoami[0]).toBe('Auth scheme: User');
        expect(new Set(whoami.slice(1))).toEqual(new Set(['digest: user1', 'ip: 127.0.0.1']));

        expect(await cli.run('setAcl /secure auth:user1:pass1:crwa')).toBe('');
        expect(await cli.run('getAcl /secure')).toBe(`${USER1_DIGEST}: crwa\n`);
        const withStat = splitStat(await cli.run('getAcl -s /secure'));
        expect(withStat.before).toBe(`${USER1_DIGEST}: crwa\n`);
        expect(withStat.stat).toMatchObject({ aclVersion: 1, dataVersion: 0 });
        expect(await cli.run('get /secure')).toBe('top-secret\n');

        expect(await cli.run('setAcl -v 99 /secure auth:user1:pass1:cdrwa')).toBe(BAD_VERSION('/secure'));
        const setWithStat = splitStat(await cli.run('setAcl -s -v 1 /secure auth:user1:pass1:cdrwa'));
        expect(setWithStat.before).toBe('');
        expect(setWithStat.stat).toMatchObject({ aclVersion: 2 });
        expect(await cli.run('getAcl /secure')).toBe(`${USER1_DIGEST}: cdrwa\n`);
        expect(await cli.run('setAcl /secure bogus:x:r')).toBe(INVALID_ACL('/secure'));
        expect(await cli.run('setAcl /secure-missing world:anyone:r')).toBe(NO_NODE('/secure-missing'));
        expect(await cli.run('getAcl /secure-missing')).toBe(NO_NODE('/secure-missing'));

        // An ACL given at create time.
        expect(await cli.run('create /readonly x world:anyone:r')).toBe(CREATED('/readonly'));
        expect(await cli.run('getAcl /readonly')).toBe(`${WORLD_ANYONE}: r\n`);
        expect(await cli.run('set /readonly y')).toBe(NO_AUTH('/readonly'));
        expect(await cli.run('create /readonly/child x')).toBe(NO_AUTH('/readonly/child'));
        expect(await cli.run('get /readonly')).toBe('x\n');

        expect(await cli.run('create /secure-del x auth:user1:pass1:cdrwa')).toBe(CREATED('/secure-del'));
      });

      // Another session without credentials.
      const stranger = await zkCliPiped(mainAt(), [
        'get /secure',
        'getAcl /secure',
        'set /secure y',
        'create /secure/child x',
        'setAcl /secure world:anyone:cdrwa',
        'ls /secure',
        'stat /secure',
        // Deleting needs DELETE on the parent only, and / is open to anyone.
        'delete /secure-del',
        'addauth digest user1:wrong',
        'get /secure',
        'addauth digest user1:pass1',
        'get /secure',
      ]);
      const out = stranger.steps.map((step) => step.output);
      expect(out.slice(0, 5)).toEqual([NO_AUTH('/secure'), NO_AUTH('/secure'), NO_AUTH('/secure'), NO_AUTH('/secure/child'), NO_AUTH('/secure')]);
      expect(out[5]).toBe(NO_AUTH('/secure'));
      // exists/stat needs no permission.
      expect(splitStat(out[6] ?? '').stat).toMatchObject({ aclVersion: 2, dataLength: 10 });
      expect(out[7]).toBe('');
      expect(out[8]).toBe('');
      expect(out[9]).toBe(NO_AUTH('/secure'));
      expect(out[10]).toBe('');
      expect(out[11]).toBe('top-secret\n');
    });

    it('addWatch persistent and persistent-recursive; removewatches', async () => {
      await withZkCli(mainAt(), async (cli) => {
        expect(await cli.run('create /aw')).toBe(CREATED('/aw'));
        // Default mode is PERSISTENT_RECURSIVE.
        expect(await cli.run('addWatch /aw')).toBe('');
        expect(await cli.run('create /aw/c x')).toBe(CREATED('/aw/c'));
        await cli.waitForEvent(isEvent('NodeCreated', '/aw/c'), { what: 'NodeCreated for /aw/c (recursive watch)' });
        expect(await cli.run('set /aw/c y')).toBe('');
        expect(await cli.run('set /aw/c z')).toBe('');
        expect(await cli.run('create /aw/c/d x')).toBe(CREATED('/aw/c/d'));
        expect(await cli.run('delete /aw/c/d')).toBe('');
        await eventBarrier(cli);
        // Persistent: both sets notify. Recursive watches report no NodeChildrenChanged.
        expect(countEvents(cli, 'NodeDataChanged', '/aw/c')).toBe(2);
        expect(countEvents(cli, 'NodeCreated', '/aw/c/d')).toBe(1);
        expect(countEvents(cli, 'NodeDeleted', '/aw/c/d')).toBe(1);
        expect(countEvents(cli, 'NodeChildrenChanged', '/aw')).toBe(0);
        expect(countEvents(cli, 'NodeChildrenChanged', '/aw/c')).toBe(0);

        expect(await cli.run('removewatches /aw')).toBe('');
        await cli.waitForEvent(isEvent('PersistentWatchRemoved', '/aw'), { what: 'PersistentWatchRemoved for /aw' });
        expect(await cli.run('set /aw/c after-removal')).toBe('');
        await eventBarrier(cli);
        expect(countEvents(cli, 'NodeDataChanged', '/aw/c')).toBe(2);

        // zkCli takes the mode names in any case but only with the underscore.
        expect(await cli.run('addWatch -m persistentRecursive /aw')).toBe(ADD_WATCH_USAGE);

        expect(await cli.run('create /ap')).toBe(CREATED('/ap'));
        expect(await cli.run('addWatch -m PERSISTENT /ap')).toBe('');
        expect(await cli.run('create /ap/c x')).toBe(CREATED('/ap/c'));
        expect(await cli.run('set /ap v1')).toBe('');
        expect(await cli.run('set /ap v2')).toBe('');
        expect(await cli.run('set /ap/c y')).toBe('');
        await eventBarrier(cli);
        expect(countEvents(cli, 'NodeChildrenChanged', '/ap')).toBe(1);
        expect(countEvents(cli, 'NodeDataChanged', '/ap')).toBe(2);
        // Not recursive: nothing for the child itself.
        expect(countEvents(cli, 'NodeDataChanged', '/ap/c')).toBe(0);
        expect(await cli.run('removewatches /ap -a')).toBe('');
        await cli.waitForEvent(isEvent('PersistentWatchRemoved', '/ap'), { what: 'PersistentWatchRemoved for /ap' });

        // A persistent watch on a missing node reports its creation.
        expect(await cli.run('addWatch -m PERSISTENT_RECURSIVE /aw-later')).toBe('');
        expect(await cli.run('create /aw-later x')).toBe(CREATED('/aw-later'));
        await cli.waitForEvent(isEvent('NodeCreated', '/aw-later'), { what: 'NodeCreated for /aw-later' });

        // One-shot watches removed by type.
        expect(await cli.run('create /rw x')).toBe(CREATED('/rw'));
        expect(await cli.run('get -w /rw')).toBe('x\n');
        expect(await cli.run('removewatches /rw -d')).toBe('');
        await cli.waitForEvent(isEvent('DataWatchRemoved', '/rw'), { what: 'DataWatchRemoved for /rw' });
        expect(await cli.run('ls -w /rw')).toBe('[]\n');
        expect(await cli.run('removewatches /rw -c')).toBe('');
        await cli.waitForEvent(isEvent('ChildWatchRemoved', '/rw'), { what: 'ChildWatchRemoved for /rw' });
        expect(await cli.run('set /rw y')).toBe('');
        expect(await cli.run('create /rw/c x')).toBe(CREATED('/rw/c'));
        await eventBarrier(cli);
        expect(countEvents(cli, 'NodeDataChanged', '/rw')).toBe(0);
        expect(countEvents(cli, 'NodeChildrenChanged', '/rw')).toBe(0);

        expect(await cli.run('removewatches /rw')).toBe(NO_WATCHER('/rw'));
        expect(await cli.run('removewatches /rw-missing -d')).toBe(NO_WATCHER('/rw-missing'));
      });
    });

    it('setquota -n / -b, listquota, delquota, and the server-kept quota stats', async () => {
      const limits = '/zookeeper/quota/qt/zookeeper_limits';
      const session = await zkCliPiped(mainAt(), [
        'create /qt x',
        'setquota -n 5 /qt',
        'setquota -b 100 /qt',
        'listquota /qt',
        'create /qt/a 12345',
        'create /qt/b',
        'set /qt/b 12',
        'listquota /qt',
        'get /zookeeper/quota/qt/zookeeper_stats',
        'ls /zookeeper/quota/qt',
        'delquota -n /qt',
        'listquota /qt',
        'delquota /qt',
        'listquota /qt',
        'delquota /qt',
        'setquota -n 5 /qt-missing',
        'listquota /qt-missing',
      ]);
      expect(session.steps.map((step) => step.output)).toEqual([
        CREATED('/qt'),
        '',
        '',
        `absolute path is ${limits}\nOutput quota for /qt count=5,bytes=100=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /qt count=1,bytes=1\n`,
        CREATED('/qt/a'),
        CREATED('/qt/b'),
        '',
        // The server counts the subtree: 3 nodes, 1 + 5 + 2 bytes.
        `absolute path is ${limits}\nOutput quota for /qt count=5,bytes=100=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /qt count=3,bytes=8\n`,
        'count=3,bytes=8\n',
        '[zookeeper_limits, zookeeper_stats]\n',
        '',
        `absolute path is ${limits}\nOutput quota for /qt count=-1,bytes=100=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /qt count=3,bytes=8\n`,
        '',
        `absolute path is ${limits}\nquota for /qt does not exist.\n`,
        'Quota does not exist for /qt\n',
        '/qt-missing does not exist.\n',
        'absolute path is /zookeeper/quota/qt-missing/zookeeper_limits\nquota for /qt-missing does not exist.\n',
      ]);
    });

    it('sync, config, version', async () => {
      const session = await zkCliPiped(mainAt(), ['sync /', 'sync /sync-missing', 'config', 'version']);
      const out = session.steps.map((step) => step.output);
      expect(out[0]).toBe('Sync is OK\n');
      expect(out[1]).toBe('Sync is OK\n');
      // Standalone without dynamic reconfig: /zookeeper/config is empty, printed as an empty line.
      expect(out[2]).toBe('\n');
      // The client's own version; it only has to run.
      expect(out[3]).toMatch(/^ZooKeeper CLI version: 3\.8\.\S+, built on .+\n$/);
    });
  });
});
