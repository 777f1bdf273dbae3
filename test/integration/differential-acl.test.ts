// Differential (ZooKeeper 3.8 vs tszk): ACLs, authentication, the super user, and quotas with
// enforceQuota=true. How transcripts are built and compared: differential-harness.ts.
import type { ACL } from '../../src/proto/data.js';
import { CreateMode } from '../../src/proto/opcodes.js';
import { Perms } from '../../src/proto/perms.js';
import { describeDifferential, digestId, ops } from './differential-harness.js';

const M = CreateMode;
const SUPER_PASSWORD = 'secret';
const U1 = digestId('user1', 'pass1');
const U2 = digestId('user2', 'pass2');

function acl(perms: number, scheme: string, id: string): ACL {
  return { perms, id: { scheme, id } };
}
const world = (perms: number): ACL => acl(perms, 'world', 'anyone');
const ALL = Perms.all;
const { read: READ, write: WRITE, create: CREATE, delete: DELETE, admin: ADMIN } = Perms;

describeDifferential(
  'differential: ACLs, auth, quotas',
  {
    extraConfig: {
      'DigestAuthenticationProvider.superDigest': digestId('super', SUPER_PASSWORD),
      enforceQuota: 'true',
    },
  },
  ({ scenario }) => {
    scenario('ACL schemes on create; InvalidACL cases; getACL', '/acl', async (h) => {
      const a = await h.open('A');
      const u = await h.open('U');
      await u.addAuth('digest', 'user1:pass1');
      await u.whoAmI();
      await a.whoAmI();
      await a.create('/acl/open', null, { acl: [world(ALL)] });
      await a.create('/acl/ro', 'ro', { acl: [world(READ)] });
      await a.create('/acl/dig', 'dig', { acl: [acl(ALL, 'digest', U1)] });
      await a.create('/acl/ip', 'ip', { acl: [acl(ALL, 'ip', '127.0.0.1')] });
      await a.create('/acl/ip8', 'ip8', { acl: [acl(ALL, 'ip', '127.0.0.0/8')] });
      await a.create('/acl/ipnet', 'ipnet', { acl: [acl(ALL, 'ip', '10.0.0.0/8')] });
      await a.create('/acl/mixed', 'mixed', { acl: [world(READ), acl(ALL, 'digest', U1)] });
      await a.create('/acl/perm0', 'p0', { acl: [world(0)] });
      await a.create('/acl/dup', null, { acl: [world(ALL), world(ALL)] });
      await a.create('/acl/dup2', null, { acl: [world(READ), world(ALL), acl(READ, 'digest', U1), acl(READ, 'digest', U1)] });
      await a.create('/acl/perm99', null, { acl: [world(99)] });
      await a.create('/acl/permneg', null, { acl: [world(-1)] });
      const invalid: ACL[][] = [
        [],
        [acl(ALL, 'foo', 'bar')],
        [acl(ALL, 'digest', 'user1')],
        [acl(ALL, 'digest', 'user1:')],
        [acl(ALL, 'digest', ':hash')],
        [acl(ALL, 'digest', 'a:b:c')],
        [acl(ALL, 'auth', '')],
        [acl(ALL, 'ip', '127.0.0.1/33')],
        [acl(ALL, 'ip', '127.0.0.1/-1')],
        [acl(ALL, 'ip', '127.0.0.1/x')],
        [acl(ALL, 'ip', 'abc')],
        [acl(ALL, 'ip', '1.2.3')],
        [acl(ALL, 'ip', '1.2.3.4.5')],
        [acl(ALL, 'ip', '256.1.1.1')],
        [acl(ALL, 'ip', '::1/129')],
        [acl(ALL, 'ip', '')],
        [acl(ALL, 'world', 'someone')],
        [acl(ALL, 'world', '')],
        [acl(ALL, 'super', '')],
        [acl(ALL, 'x509', 'CN=a')],
        [acl(ALL, 'sasl', 'user1')],
        [acl(ALL, 'WORLD', 'anyone')],
        [world(ALL), acl(ALL, 'foo', 'bar')],
      ];
      for (const [i, list] of invalid.entries()) await a.create(`/acl/bad${i}`, null, { acl: list });
      for (const path of ['/acl/open', '/acl/ro', '/acl/ip', '/acl/ip8', '/acl/dup', '/acl/dup2', '/acl/perm99', '/acl/permneg']) {
        await a.getACL(path);
      }
      await a.getChildren('/acl');
    });

    // ZooKeeper's IPAuthenticationProvider (3.8) parses IPv4 only: an IPv6 ip ACL is invalid.
    scenario('an IPv6 ip ACL is InvalidACL', '/aip6', async (h) => {
      const a = await h.open('A');
      await a.create('/aip6/ip6', 'ip6', { acl: [acl(ALL, 'ip', '::1')] });
      await a.create('/aip6/ip6net', 'ip6', { acl: [acl(ALL, 'ip', '::1/128')] });
      await a.create('/aip6/v4', 'ip6', { acl: [acl(ALL, 'ip', '127.0.0.1')] });
      await a.setACL('/aip6/v4', [acl(ALL, 'ip', 'fe80::1')]);
      await a.getChildren('/aip6');
    });

    // A connection's ids are a set in ZooKeeper: adding the same digest twice keeps one.
    scenario('addauth of the same id twice keeps one id', '/adup', async (h) => {
      const u = await h.open('U');
      await u.addAuth('digest', 'user1:pass1');
      await u.addAuth('digest', 'user1:pass1');
      await u.whoAmI();
      await u.create('/adup/one', null, { acl: [acl(ALL, 'auth', '')] });
      await u.getACL('/adup/one');
    });

    // ZooKeeper's ip provider accepts addauth: it adds the connection's own address (already there).
    scenario('addauth with the ip scheme succeeds and keeps the connection', '/aip', async (h) => {
      const v = await h.open('V');
      await v.addAuth('ip', 'anything');
      await v.whoAmI();
      await v.create('/aip/vip', null, { acl: [acl(ALL, 'auth', '')] });
      await v.addAuth('digest', 'user1:pass1');
      await v.create('/aip/vd', null, { acl: [acl(ALL, 'auth', '')] });
      await v.getACL('/aip/vd');
      const w = await h.open('W');
      await w.addAuth('ip', '10.1.1.1');
      await w.whoAmI();
      await w.getData('/aip');
    });

    scenario('the auth scheme expands to the session ids; digest odd credentials', '/aauth', async (h) => {
      h.norm.sortAcls = true;
      const u = await h.open('U');
      await u.addAuth('digest', 'user1:pass1');
      await u.create('/aauth/one', null, { acl: [acl(ALL, 'auth', '')] });
      await u.create('/aauth/any', null, { acl: [acl(READ, 'auth', 'whatever')] });
      await u.addAuth('digest', 'user2:pass2');
      await u.whoAmI();
      await u.create('/aauth/two', null, { acl: [acl(ALL, 'auth', ''), world(READ)] });
      await u.create('/aauth/mix', null, { acl: [acl(ADMIN, 'auth', ''), acl(READ, 'digest', U2)] });
      for (const path of ['/aauth/one', '/aauth/any', '/aauth/two', '/aauth/mix']) await u.getACL(path);
      const v = await h.open('V');
      await v.addAuth('digest', 'nocolon');
      await v.addAuth('digest', '');
      await v.addAuth('digest', 'a:b:c');
      await v.addAuth('digest', ':x');
      await v.whoAmI();
      await v.create('/aauth/v', null, { acl: [acl(ALL, 'auth', '')] });
      await v.getACL('/aauth/v');
      await v.create('/aauth/explicit', null, { acl: [acl(ALL, 'auth', ''), acl(ALL, 'digest', digestId('nocolon', ''))] });
      await v.getACL('/aauth/explicit');
      const w = await h.open('W');
      await w.create('/aauth/w', null, { acl: [acl(ALL, 'auth', '')] });
      await w.create('/aauth/w2', null, { acl: [world(READ), acl(ALL, 'auth', '')] });
    });

    scenario('NoAuth on read, write, create, delete, admin; getACL masking', '/noauth', async (h) => {
      const a = await h.open('A');
      const u = await h.open('U');
      await u.addAuth('digest', 'user1:pass1');
      await a.create('/noauth/dig', 'dig', { acl: [acl(ALL, 'digest', U1)] });
      await a.create('/noauth/mixed', 'mixed', { acl: [world(READ), acl(ALL, 'digest', U1), acl(WRITE, 'digest', U2)] });
      await a.create('/noauth/adminonly', 'adm', { acl: [world(ADMIN), acl(ALL, 'digest', U1)] });
      await a.create('/noauth/ro', 'ro', { acl: [world(READ)] });
      await a.create('/noauth/rc', null, { acl: [world(READ | CREATE)] });
      await a.create('/noauth/rd', null, { acl: [world(READ | DELETE | CREATE)] });
      await a.create('/noauth/ipnet', 'x', { acl: [acl(ALL, 'ip', '10.0.0.0/8')] });
      await a.create('/noauth/ip8', 'x', { acl: [acl(ALL, 'ip', '127.0.0.0/8')] });
      await a.create('/noauth/perm0', 'x', { acl: [world(0)] });
      // Reads.
      await a.getData('/noauth/dig');
      await a.getChildren('/noauth/dig');
      await a.getChildren2('/noauth/dig');
      await a.exists('/noauth/dig');
      await a.getACL('/noauth/dig');
      await a.getAllChildrenNumber('/noauth/dig');
      await a.getData('/noauth/ipnet');
      await a.getData('/noauth/ip8');
      await a.getData('/noauth/perm0');
      await a.getACL('/noauth/perm0');
      await a.multiRead([ops.getData('/noauth/dig'), ops.getChildren('/noauth/dig'), ops.getData('/noauth/ro')]);
      await u.getData('/noauth/dig');
      // getACL without ADMIN masks digest passwords.
      await a.getACL('/noauth/mixed');
      await u.getACL('/noauth/mixed');
      await a.getACL('/noauth/adminonly');
      // Writes.
      await a.setData('/noauth/ro', 'x');
      await a.setData('/noauth/dig', 'x');
      await u.setData('/noauth/dig', 'x');
      await a.create('/noauth/ro/c', null);
      await a.create('/noauth/rc/c', null, { acl: [world(READ)] });
      await a.delete('/noauth/rc/c');
      await a.create('/noauth/rd/c', null, { acl: [world(0)] });
      await a.delete('/noauth/rd/c');
      await a.setACL('/noauth/ro', [world(ALL)]);
      await a.setACL('/noauth/adminonly', [world(ALL)], 0);
      await a.getACL('/noauth/adminonly');
      await a.setACL('/noauth/dig', [world(ALL)]);
      await a.delete('/noauth/dig');
      await a.multi([ops.create('/noauth/m1', null), ops.setData('/noauth/ro', 'x')]);
      await a.multi([ops.setData('/noauth/ro', 'x'), ops.create('/noauth/m2', null)]);
      await a.exists('/noauth/m1');
      // setACL: versions, invalid lists, missing nodes.
      await u.setACL('/noauth/dig', [world(READ), acl(ALL, 'digest', U1)], 0);
      await u.setACL('/noauth/dig', [world(READ)], 0);
      await u.setACL('/noauth/dig', [world(READ)], 5);
      await u.setACL('/noauth/dig', [world(READ), acl(ALL, 'digest', U1)], -1);
      await u.setACL('/noauth/dig', [], -1);
      await u.setACL('/noauth/dig', [acl(ALL, 'foo', 'x')], -1);
      await u.setACL('/noauth/dig', [acl(ALL, 'auth', '')], -1);
      await u.getACL('/noauth/dig');
      await u.setACL('/noauth/missing', [world(ALL)], -1);
      await a.getData('/noauth/dig');
      await a.setACL('/zookeeper/config', [world(ALL)]);
      await a.getACL('/zookeeper/config');
    });

    scenario('super user via superDigest', '/super', async (h) => {
      const a = await h.open('A');
      await a.create('/super/locked', 'x', { acl: [acl(ALL, 'digest', U1)] });
      await a.create('/super/perm0', 'x', { acl: [world(0)] });
      const s = await h.open('S');
      await s.addAuth('digest', `super:${SUPER_PASSWORD}`);
      await s.whoAmI();
      await s.getData('/super/locked');
      await s.getACL('/super/locked');
      await s.getData('/super/perm0');
      await s.setData('/super/perm0', 'y');
      await s.create('/super/perm0/c', null);
      await s.delete('/super/perm0/c');
      await s.setACL('/super/perm0', [world(READ)]);
      await s.create('/super/mine', null, { acl: [acl(ALL, 'auth', '')] });
      await s.getACL('/super/mine');
      await s.setACL('/zookeeper/config', [world(READ)]);
      await s.setData('/zookeeper/config', 'x');
      const t = await h.open('T');
      await t.addAuth('digest', 'super:wrong');
      await t.whoAmI();
      await t.getData('/super/locked');
    });

    scenario('addauth with an unknown scheme: AuthFailed and the connection closes', '/authfail', async (h) => {
      const a = await h.open('A');
      await a.addAuth('foo', 'bar');
      await a.exists('/authfail');
      const b = await h.open('B');
      await b.addAuth('world', 'anyone');
      const c = await h.open('C');
      await c.addAuth('super', 'x');
      const d = await h.open('D');
      await d.addAuth('', '');
      const e = await h.open('E');
      await e.addAuth('Digest', 'user1:pass1');
      const f = await h.open('F');
      await f.addAuth('digest', 'user1:pass1');
      await f.create('/authfail/f', null, { flags: M.ephemeral });
      await f.addAuth('nope', 'x');
      await h.open('G');
      await h.flush();
    });

    scenario('quotas: limits and stats nodes as zkCli setquota writes them; usage on create, setData, delete', '/qs', async (h) => {
      const a = await h.open('A');
      await a.create('/qs/soft', 'root');
      await a.create('/qs/soft/pre', 'abc');
      await a.create('/zookeeper/quota/qs', null);
      await a.create('/zookeeper/quota/qs/soft', null);
      await a.create('/zookeeper/quota/qs/soft/zookeeper_limits', 'count=2,bytes=10');
      await a.create('/zookeeper/quota/qs/soft/zookeeper_stats', 'count=0,bytes=0');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_limits');
      await a.create('/qs/soft/a', 'hello');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.setData('/qs/soft/a', 'hello world, longer');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.create('/qs/soft/a/b', null);
      await a.create('/qs/soft/c', '');
      await a.create('/qs/soft/e', 'x', { flags: M.ephemeral });
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.delete('/qs/soft/a/b');
      await a.setData('/qs/soft/a', null);
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.multi([ops.create('/qs/soft/m', 'multi'), ops.setData('/qs/soft/c', 'cc'), ops.delete('/qs/soft/pre')]);
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.getChildren2('/zookeeper/quota/qs/soft');
      await a.getAllChildrenNumber('/zookeeper/quota');
      // Stats written by a client are overwritten by the server's count only on creation.
      await a.setData('/zookeeper/quota/qs/soft/zookeeper_stats', 'count=100,bytes=100');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.create('/qs/soft/after', 'zz');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      // Removing the limits node ends tracking.
      await a.delete('/zookeeper/quota/qs/soft/zookeeper_limits');
      await a.create('/qs/soft/untracked', 'zz');
      await a.getData('/zookeeper/quota/qs/soft/zookeeper_stats');
      await a.close();
    });

    scenario('quotas: hard limits with enforceQuota=true give QuotaExceeded', '/qh', async (h) => {
      const a = await h.open('A');
      await a.create('/qh/hard', 'x');
      await a.create('/zookeeper/quota/qh', null);
      await a.create('/zookeeper/quota/qh/hard', null);
      await a.create('/zookeeper/quota/qh/hard/zookeeper_limits', 'count=-1,bytes=-1,countHardLimit=3,byteHardLimit=12');
      await a.create('/zookeeper/quota/qh/hard/zookeeper_stats', 'count=0,bytes=0');
      await a.getData('/zookeeper/quota/qh/hard/zookeeper_stats');
      await a.create('/qh/hard/a', '12345');
      await a.create('/qh/hard/b', null);
      await a.getData('/zookeeper/quota/qh/hard/zookeeper_stats');
      await a.create('/qh/hard/c', null);
      await a.create('/qh/hard/a/deep', null);
      await a.create('/qh/hard/s-', null, { flags: M.persistentSequential });
      await a.multi([ops.delete('/qh/hard/b'), ops.create('/qh/hard/c', null)]);
      await a.multi([ops.create('/qh/hard/d', null), ops.delete('/qh/hard/b')]);
      await a.getData('/zookeeper/quota/qh/hard/zookeeper_stats');
      await a.setData('/qh/hard/a', '1234567890');
      await a.setData('/qh/hard/a', '12345678901234567890');
      await a.getData('/qh/hard/a');
      await a.setData('/qh/hard/a', '123456');
      await a.setData('/qh/hard/a', '');
      await a.getData('/zookeeper/quota/qh/hard/zookeeper_stats');
      await a.delete('/qh/hard/a');
      await a.create('/qh/hard/z', null);
      await a.create('/qh/hard/y', null);
      await a.getData('/zookeeper/quota/qh/hard/zookeeper_stats');
      // A node outside the quota'd subtree is not limited.
      await a.create('/qh/free', '0123456789012345678901234567890');
      // Nested: a quota on a subtree of a quota'd path is the one checked (the longest prefix).
      await a.create('/zookeeper/quota/qh/hard/z', null);
      await a.create('/zookeeper/quota/qh/hard/z/zookeeper_limits', 'count=-1,bytes=-1,countHardLimit=5');
      await a.create('/zookeeper/quota/qh/hard/z/zookeeper_stats', 'count=0,bytes=0');
      await a.create('/qh/hard/z/1', null);
      await a.create('/qh/hard/z/2', null);
      await a.getData('/zookeeper/quota/qh/hard/z/zookeeper_stats');
      await a.getData('/zookeeper/quota/qh/hard/zookeeper_stats');
      await a.create('/zookeeper/quota/qh/hard/zookeeper_limits2', 'count=1');
    });

    scenario('quotas: soft byte limit and count limit only log', '/qb', async (h) => {
      const a = await h.open('A');
      await a.create('/qb/x', null);
      await a.create('/zookeeper/quota/qb', null);
      await a.create('/zookeeper/quota/qb/x', null);
      await a.create('/zookeeper/quota/qb/x/zookeeper_limits', 'count=1,bytes=1');
      await a.create('/zookeeper/quota/qb/x/zookeeper_stats', 'garbage');
      await a.getData('/zookeeper/quota/qb/x/zookeeper_stats');
      await a.create('/qb/x/a', 'long data');
      await a.setData('/qb/x/a', 'longer data');
      await a.getData('/zookeeper/quota/qb/x/zookeeper_stats');
    });
  },
);
