import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { aclAllows, fixupACL } from '../../src/auth/acl-check.js';
import { authProvider, digestProvider, generateDigest, ipProvider, normalizeRemoteAddress } from '../../src/auth/providers.js';
import type { ACL, Id } from '../../src/proto/data.js';
import { Err } from '../../src/proto/error-codes.js';
import { Perms } from '../../src/proto/perms.js';

const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });
const idOf = (scheme: string, id: string): Id => ({ scheme, id });
const WORLD = acl(Perms.all, 'world', 'anyone');

describe('digest provider', () => {
  // Fixtures computed independently (SHA-1, base64) and the well-known ZooKeeper example.
  test.each([
    ['super:test', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='],
    ['u:p', 'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ='],
    ['user:pass:word', 'user:yNMcEO4y6Bgll487yEAxpvnMYoo='], // user is the text before the first ':'
    ['nouser', 'nouser:/VOdnd9F357nyOV6c/1qBFn7N6o='], // no ':' at all: the whole string is the user
    ['bob:s3cr\u00e9t', 'bob:bJT9iXS4z/GuxVB8wELGTudHmUM='], // hashed as UTF-8
  ])('generateDigest(%j) = %j', (input, digest) => {
    expect(generateDigest(input)).toBe(digest);
  });

  test.each([
    ['a:b', true],
    [':b', true],
    ['a:b:', true], // Java's split drops trailing empty strings
    ['a:', false],
    ['a::', false],
    ['a', false],
    ['', false],
    [':', false],
    ['a:b:c', false],
    ['a::b', false],
  ])('isValid(%j) is %s, like String.split(":").length == 2', (id, valid) => {
    expect(digestProvider.isValid(id)).toBe(valid);
  });

  test('matches only the exact digest id', () => {
    const id = generateDigest('u:p');
    expect(digestProvider.matches(id, id)).toBe(true);
    expect(digestProvider.matches(id, generateDigest('u:q'))).toBe(false);
    expect(digestProvider.matches('u:p', id)).toBe(false);
  });

  test('user name is the part before the first colon', () => {
    expect(digestProvider.userName(generateDigest('alice:pw'))).toBe('alice');
    expect(digestProvider.userName(':x')).toBe('');
  });

  test('counts as an authenticated user; ip does not', () => {
    expect(digestProvider.isAuthenticated).toBe(true);
    expect(ipProvider.isAuthenticated).toBe(false);
  });

  test('only digest and ip are registered (no world, auth, super or sasl provider)', () => {
    expect(authProvider('digest')).toBe(digestProvider);
    expect(authProvider('ip')).toBe(ipProvider);
    for (const scheme of ['world', 'auth', 'super', 'sasl', 'x509', '']) expect(authProvider(scheme)).toBeUndefined();
  });
});

describe('ip provider (IPv4 only, parsed like Java)', () => {
  // Expected values printed by org.apache.zookeeper.server.auth.IPAuthenticationProvider from
  // Debian's zookeeper 3.8.0 jar (the reference the project compares against).
  test.each([
    ['127.0.0.1', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['10.0.0.0/8', true],
    ['10.0.0.0/0', true],
    ['10.0.0.0/32', true],
    ['10.0.0.0/33', false],
    ['10.0.0.0/-1', false],
    ['10.0.0.0/', false],
    ['10.0.0.0/x', false],
    ['10.0.0.0/8/8', false],
    ['1.2.3', false],
    ['1.2.3.4.5', false],
    ['1.2.3.256', false],
    ['1.2.3.-1', false],
    ['localhost', false],
    ['', false],
    // Integer.parseInt accepts leading zeros and a sign
    ['010.0.0.1', true],
    ['10.0.0.0/+8', true],
    ['10.0.0.0/08', true],
    ['+1.2.3.4', true],
    ['-0.0.0.0', true],
    ['1.2.3.4.', false],
    ['1..2.3', false],
    [' 1.2.3.4', false],
    ['1.2.3.4 ', false],
    ['1.2.3.99999999999', false],
    ['1.2.3.4/2147483648', false],
    // IPv6 is not understood by ZooKeeper 3.8 ("TODO Write the v6addr2Bytes")
    ['::1', false],
    ['::ffff:1.2.3.4', false],
    ['2001:db8::/32', false],
  ])('isValid(%j) is %s', (id, valid) => {
    expect(ipProvider.isValid(id)).toBe(valid);
  });

  test.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.1.2.3', '10.0.0.0/8', false],
    ['10.1.2.3', '10.0.0.0/16', false],
    ['10.0.9.9', '10.0.0.0/16', true],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.4', '10.1.2.3', false],
    ['10.1.2.3', '10.1.2.3/32', true],
    ['192.168.7.1', '0.0.0.0/0', true],
    ['9.9.9.9', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4/0', true],
    // not byte aligned: /12 keeps the top four bits of the second byte
    ['10.31.255.255', '10.16.0.0/12', true],
    ['10.32.0.0', '10.16.0.0/12', false],
    ['10.15.255.255', '10.16.0.0/12', false],
    // host bits in the ACL address are masked off too (IPAuthenticationProvider.mask on both)
    ['10.200.0.1', '10.1.2.3/8', true],
    // Java number parsing on either side
    ['10.0.0.1', '010.0.0.1', true],
    ['10.0.0.1', '10.0.0.0/+24', true],
    ['010.0.0.1', '10.0.0.1', true],
    // malformed ACL or remote address never matches
    ['10.1.2.3', '10.0.0.0/33', false],
    ['10.0.0.1', '10.0.0.0/x', false],
    ['10.1.2.3', 'nonsense', false],
    ['x', '0.0.0.0/0', false],
    // an IPv6 client never matches, not even an identical literal
    ['::1', '::1', false],
    ['0:0:0:0:0:0:0:1', '0:0:0:0:0:0:0:1', false],
  ])('%s against %s: %s', (remote, aclId, expected) => {
    expect(ipProvider.matches(remote, aclId)).toBe(expected);
  });

  test('an IPv4-mapped remote address is reported as plain IPv4, as Java does', () => {
    expect(normalizeRemoteAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeRemoteAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeRemoteAddress('::1')).toBe('::1');
    expect(normalizeRemoteAddress('::ffff:zz')).toBe('::ffff:zz');
    expect(ipProvider.matches(normalizeRemoteAddress('::ffff:10.1.2.3'), '10.0.0.0/8')).toBe(true);
  });

  test('an arbitrary dotted quad matches exactly the /n prefixes it shares with the ACL address', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const quad = fc.tuple(octet, octet, octet, octet);
    fc.assert(
      fc.property(quad, quad, fc.integer({ min: 0, max: 32 }), (a, b, bits) => {
        const toInt = (q: number[]): number => q.reduce((n, o) => n * 256 + o, 0);
        const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
        const same = Math.floor(toInt(a) / 2 ** (32 - bits)) === Math.floor(toInt(b) / 2 ** (32 - bits)) || mask === 0;
        expect(ipProvider.matches(a.join('.'), `${b.join('.')}/${bits}`)).toBe(same);
      }),
    );
  });
});

describe('fixupACL (PrepRequestProcessor.fixupACL)', () => {
  const digestU = generateDigest('u:p');
  const digestV = generateDigest('v:q');

  test('an empty list is InvalidACL', () => {
    expect(fixupACL([], [])).toBe(Err.invalidACL);
  });

  test('world:anyone passes through unchanged', () => {
    expect(fixupACL([WORLD], [])).toEqual([WORLD]);
    expect(fixupACL([acl(Perms.read, 'world', 'anyone')], [])).toEqual([acl(Perms.read, 'world', 'anyone')]);
  });

  test('world with any other id is InvalidACL (no world provider)', () => {
    expect(fixupACL([acl(Perms.all, 'world', 'everyone')], [])).toBe(Err.invalidACL);
  });

  test('duplicates are removed, first occurrence kept, order preserved', () => {
    const ip = acl(Perms.read, 'ip', '10.0.0.0/8');
    expect(fixupACL([ip, WORLD, ip, WORLD], [])).toEqual([ip, WORLD]);
    // same id, different perms: not a duplicate
    const ipAll = acl(Perms.all, 'ip', '10.0.0.0/8');
    expect(fixupACL([ip, ipAll], [])).toEqual([ip, ipAll]);
  });

  test('auth expands to every authenticated (digest) id of the caller, with the ACL perms', () => {
    const out = fixupACL([acl(Perms.read | Perms.write, 'auth', '')], [idOf('digest', digestU), idOf('digest', digestV)]);
    expect(out).toEqual([acl(Perms.read | Perms.write, 'digest', digestU), acl(Perms.read | Perms.write, 'digest', digestV)]);
  });

  test('the id written after auth: is ignored', () => {
    const out = fixupACL([acl(Perms.all, 'auth', 'whatever')], [idOf('digest', digestU)]);
    expect(out).toEqual([acl(Perms.all, 'digest', digestU)]);
  });

  test('auth skips ip and super ids, and is InvalidACL when nothing is left', () => {
    const auth = [acl(Perms.all, 'auth', '')];
    expect(fixupACL(auth, [])).toBe(Err.invalidACL);
    expect(fixupACL(auth, [idOf('ip', '127.0.0.1')])).toBe(Err.invalidACL);
    expect(fixupACL(auth, [idOf('super', '')])).toBe(Err.invalidACL);
    expect(fixupACL(auth, [idOf('ip', '127.0.0.1'), idOf('super', ''), idOf('digest', digestU)])).toEqual([
      acl(Perms.all, 'digest', digestU),
    ]);
  });

  test('expansion is not deduplicated again (ZooKeeper removes duplicates only before expanding)', () => {
    const out = fixupACL([acl(Perms.all, 'auth', ''), acl(Perms.all, 'digest', digestU)], [idOf('digest', digestU)]);
    expect(out).toEqual([acl(Perms.all, 'digest', digestU), acl(Perms.all, 'digest', digestU)]);
  });

  test('digest and ip ids must be well formed', () => {
    expect(fixupACL([acl(Perms.all, 'digest', digestU)], [])).toEqual([acl(Perms.all, 'digest', digestU)]);
    expect(fixupACL([acl(Perms.all, 'digest', 'nocolon')], [])).toBe(Err.invalidACL);
    expect(fixupACL([acl(Perms.all, 'ip', '10.0.0.1')], [])).toEqual([acl(Perms.all, 'ip', '10.0.0.1')]);
    expect(fixupACL([acl(Perms.all, 'ip', '10.0.0.1/40')], [])).toBe(Err.invalidACL);
  });

  test('unknown schemes are InvalidACL, and one bad entry spoils the list', () => {
    for (const scheme of ['sasl', 'super', 'x509', 'World', '']) {
      expect(fixupACL([acl(Perms.all, scheme, 'x')], [])).toBe(Err.invalidACL);
    }
    expect(fixupACL([WORLD, acl(Perms.all, 'digest', 'bad')], [])).toBe(Err.invalidACL);
  });

  test('perms are not validated, as in ZooKeeper', () => {
    expect(fixupACL([acl(0, 'world', 'anyone')], [])).toEqual([acl(0, 'world', 'anyone')]);
    expect(fixupACL([acl(0xff, 'world', 'anyone')], [])).toEqual([acl(0xff, 'world', 'anyone')]);
  });
});

describe('aclAllows (ZooKeeperServer.checkACL)', () => {
  const digestU = generateDigest('u:p');
  const nodeAcl = [acl(Perms.read, 'world', 'anyone'), acl(Perms.all, 'digest', digestU), acl(Perms.write, 'ip', '10.0.0.0/8')];

  test('skipACL and an empty ACL allow everything', () => {
    expect(aclAllows([acl(0, 'world', 'anyone')], Perms.admin, [], true)).toBe(true);
    expect(aclAllows([], Perms.admin, [], false)).toBe(true);
  });

  test('world:anyone grants exactly its perms', () => {
    expect(aclAllows(nodeAcl, Perms.read, [], false)).toBe(true);
    expect(aclAllows(nodeAcl, Perms.write, [], false)).toBe(false);
    expect(aclAllows([acl(0, 'world', 'anyone')], Perms.read, [], false)).toBe(false);
  });

  test('a digest id grants its perms to the same authenticated digest', () => {
    for (const perm of [Perms.read, Perms.write, Perms.create, Perms.delete, Perms.admin]) {
      expect(aclAllows(nodeAcl, perm, [idOf('digest', digestU)], false)).toBe(true);
    }
    expect(aclAllows(nodeAcl, Perms.admin, [idOf('digest', generateDigest('u:wrong'))], false)).toBe(false);
  });

  test('ip ids match the remote address with the mask', () => {
    expect(aclAllows(nodeAcl, Perms.write, [idOf('ip', '10.9.8.7')], false)).toBe(true);
    expect(aclAllows(nodeAcl, Perms.write, [idOf('ip', '11.9.8.7')], false)).toBe(false);
    expect(aclAllows(nodeAcl, Perms.delete, [idOf('ip', '10.9.8.7')], false)).toBe(false);
  });

  test('the scheme of the caller id must equal the scheme of the ACL id', () => {
    const ipAcl = [acl(Perms.all, 'ip', '10.0.0.1')];
    expect(aclAllows(ipAcl, Perms.read, [idOf('digest', '10.0.0.1')], false)).toBe(false);
    expect(aclAllows([acl(Perms.all, 'digest', digestU)], Perms.read, [idOf('ip', digestU)], false)).toBe(false);
  });

  test('a super id is allowed everything, whatever the ACL', () => {
    const locked = [acl(0, 'world', 'anyone'), acl(Perms.read, 'digest', generateDigest('x:y'))];
    expect(aclAllows(locked, Perms.admin, [idOf('super', '')], false)).toBe(true);
    expect(aclAllows(locked, Perms.delete, [idOf('ip', '1.2.3.4'), idOf('super', 'anything')], false)).toBe(true);
    expect(aclAllows(locked, Perms.admin, [idOf('digest', generateDigest('super:test'))], false)).toBe(false);
  });

  test('ACL entries with an unregistered scheme are skipped, not fatal', () => {
    const stored = [acl(Perms.all, 'sasl', 'bob'), acl(Perms.read, 'world', 'anyone')];
    expect(aclAllows(stored, Perms.read, [idOf('sasl', 'bob')], false)).toBe(true);
    expect(aclAllows(stored, Perms.write, [idOf('sasl', 'bob')], false)).toBe(false);
  });

  test('any one matching entry among several suffices', () => {
    const many = [acl(Perms.read, 'ip', '1.1.1.1'), acl(Perms.write, 'ip', '2.2.2.2'), acl(Perms.create, 'digest', digestU)];
    const caller = [idOf('ip', '2.2.2.2'), idOf('digest', digestU)];
    expect(aclAllows(many, Perms.write, caller, false)).toBe(true);
    expect(aclAllows(many, Perms.create, caller, false)).toBe(true);
    expect(aclAllows(many, Perms.read, caller, false)).toBe(false);
  });
});
