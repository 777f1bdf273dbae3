import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Err } from '../../src/proto/error-codes.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../../src/tree/data-tree.js';
import { QuotaPaths, StatsTrack, limitPath, statPath } from '../../src/tree/quota.js';
import { quotaAllows } from '../../src/txn/quota-check.js';

// The expected strings below were also printed by org.apache.zookeeper.StatsTrack and DataTree
// from Debian's zookeeper-3.8.0 jar for the same inputs and the same sequences of changes.

describe('StatsTrack', () => {
  test('an empty track prints both counters as -1', () => {
    expect(new StatsTrack().toString()).toBe('count=-1,bytes=-1');
    expect(StatsTrack.parse(null).toString()).toBe('count=-1,bytes=-1');
    expect(StatsTrack.parse(Buffer.alloc(0)).toString()).toBe('count=-1,bytes=-1');
  });

  test('count and bytes alone print in the 3.4 format, no trailing "="', () => {
    const t = new StatsTrack();
    t.set('bytes', 10);
    t.set('count', 3);
    expect(t.toString()).toBe('count=3,bytes=10');
  });

  test('extra keys follow "=" and ";", sorted by key, as StatsTrack.toString writes them', () => {
    const t = new StatsTrack();
    t.set('count', 4);
    t.set('bytes', 5);
    t.set('countHardLimit', 10);
    t.set('byteHardLimit', 20);
    expect(t.toString()).toBe('count=4,bytes=5=;byteHardLimit=20;countHardLimit=10');
  });

  test('a missing count or bytes still prints first, as -1', () => {
    const t = new StatsTrack();
    t.set('countHardLimit', 2);
    expect(t.toString()).toBe('count=-1,bytes=-1=;countHardLimit=2');
  });

  test('toBuffer is the UTF-8 of toString', () => {
    const t = StatsTrack.parse(Buffer.from('count=1,bytes=2'));
    expect(t.toBuffer()).toEqual(Buffer.from('count=1,bytes=2', 'utf8'));
  });

  test('parses what ZooKeeper writes: "," or ";" separators, the spurious "="', () => {
    const t = StatsTrack.parse(Buffer.from('count=4,bytes=5=;countHardLimit=10;byteHardLimit=20'));
    expect(t.get('count')).toBe(4);
    expect(t.get('bytes')).toBe(5);
    expect(t.get('countHardLimit')).toBe(10);
    expect(t.get('byteHardLimit')).toBe(20);
    expect(t.get('absent')).toBe(-1);
    const old = StatsTrack.parse(Buffer.from('count=-1,bytes=100'));
    expect([old.get('count'), old.get('bytes')]).toEqual([-1, 100]);
    const semi = StatsTrack.parse(Buffer.from('count=1;;bytes=2,,;x=3'));
    expect([semi.get('count'), semi.get('bytes'), semi.get('x')]).toEqual([1, 2, 3]);
  });

  test('an empty value between two "=" reads as -1 (StringUtils.isEmpty(kv[1]))', () => {
    expect(StatsTrack.parse(Buffer.from('count==3,bytes=7')).get('count')).toBe(-1);
  });

  test('parse then print is the canonical form', () => {
    const raw = 'countHardLimit=10;count=4,byteHardLimit=20,bytes=5';
    expect(StatsTrack.parse(Buffer.from(raw)).toString()).toBe('count=4,bytes=5=;byteHardLimit=20;countHardLimit=10');
  });

  test('print then parse round-trips any keys and values', () => {
    const key = fc.stringMatching(/^[a-zA-Z]{1,12}$/);
    const value = fc.integer({ min: -1, max: 2 ** 40 });
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (entries) => {
        const t = new StatsTrack();
        for (const [k, v] of Object.entries(entries)) t.set(k, v);
        const back = StatsTrack.parse(t.toBuffer());
        expect(back.toString()).toBe(t.toString());
        for (const [k, v] of Object.entries(entries)) expect(back.get(k)).toBe(v);
        // the Java layout: count, bytes, then sorted extras
        const extras = Object.keys(entries).filter((k) => k !== 'count' && k !== 'bytes').sort();
        const head = `count=${entries['count'] ?? -1},bytes=${entries['bytes'] ?? -1}`;
        const tail = extras.length === 0 ? '' : `=${extras.map((k) => `;${k}=${entries[k]}`).join('')}`;
        expect(t.toString()).toBe(head + tail);
      }),
    );
  });
});

describe('quota paths', () => {
  test('limit and stat nodes live under /zookeeper/quota', () => {
    expect(limitPath('/app')).toBe('/zookeeper/quota/app/zookeeper_limits');
    expect(statPath('/a/b')).toBe('/zookeeper/quota/a/b/zookeeper_stats');
  });
});

describe('QuotaPaths.maxPrefix (PathTrie.findMaxPrefix + getMaxPrefixWithQuota)', () => {
  test('nothing set: null', () => {
    expect(new QuotaPaths().maxPrefix('/a')).toBeNull();
  });

  test('the longest quota path that is the path or an ancestor, by whole components', () => {
    const q = new QuotaPaths();
    q.add('/a');
    q.add('/a/b/c');
    expect(q.size).toBe(2);
    expect(q.maxPrefix('/a')).toBe('/a');
    expect(q.maxPrefix('/a/b')).toBe('/a');
    expect(q.maxPrefix('/a/b/c')).toBe('/a/b/c');
    expect(q.maxPrefix('/a/b/c/d/e')).toBe('/a/b/c');
    expect(q.maxPrefix('/a/b/cd')).toBe('/a');
    expect(q.maxPrefix('/ab')).toBeNull();
    expect(q.maxPrefix('/b')).toBeNull();
    expect(q.maxPrefix('/')).toBeNull();
  });

  test('deleting a quota falls back to the next ancestor with one', () => {
    const q = new QuotaPaths();
    q.add('/a');
    q.add('/a/b');
    q.delete('/a/b');
    expect(q.maxPrefix('/a/b/x')).toBe('/a');
    q.delete('/a');
    expect(q.maxPrefix('/a/b/x')).toBeNull();
    q.delete('/never');
  });

  test('a quota on the root is never reported (ZooKeeper keeps none on "/")', () => {
    const q = new QuotaPaths();
    q.add('/');
    expect(q.maxPrefix('/')).toBeNull();
    expect(q.maxPrefix('/a')).toBeNull();
  });

  test('agrees with a component trie on arbitrary sets', () => {
    const comp = fc.constantFrom('a', 'b', 'ab');
    const path = fc.array(comp, { minLength: 1, maxLength: 4 }).map((cs) => `/${cs.join('/')}`);
    fc.assert(
      fc.property(fc.uniqueArray(path, { maxLength: 6 }), path, (quotas, probe) => {
        const q = new QuotaPaths();
        for (const p of quotas) q.add(p);
        const probeParts = probe.split('/').slice(1);
        let best: string | null = null;
        for (const p of quotas) {
          const parts = p.split('/').slice(1);
          const isPrefix = parts.length <= probeParts.length && parts.every((x, i) => probeParts[i] === x);
          if (isPrefix && (best === null || parts.length > best.split('/').length - 1)) best = p;
        }
        expect(q.maxPrefix(probe)).toBe(best);
      }),
    );
  });
});

/** A tree with a quota on /app the way zkCli setquota leaves it. */
function treeWithQuota(limits: string): DataTree {
  const tree = new DataTree();
  let zxid = 1n;
  const create = (path: string, data: string | null): void => {
    const err = tree.createNode(path, data === null ? null : Buffer.from(data), OPEN_ACL_UNSAFE, 0n, -1, zxid++, 0);
    expect(err).toBe(Err.ok);
  };
  create('/app', 'xyz');
  create('/app/c1', '12345');
  create('/zookeeper/quota/app', null);
  create(limitPath('/app'), limits);
  create(statPath('/app'), 'count=0,bytes=0');
  return tree;
}

const statsOf = (tree: DataTree): string => tree.get(statPath('/app'))!.data!.toString();

describe('quota usage in the tree (DataTree.updateQuotaStat)', () => {
  test('creating the stats node counts the subtree, the quota root included', () => {
    expect(statsOf(treeWithQuota('count=-1,bytes=-1'))).toBe('count=2,bytes=8');
  });

  test('creating the limits node registers the quota path', () => {
    const tree = treeWithQuota('count=-1,bytes=-1');
    expect(tree.quotas.maxPrefix('/app/c1')).toBe('/app');
  });

  test('stats follow create, setData and delete below the quota root, with no version change', () => {
    const tree = treeWithQuota('count=-1,bytes=-1');
    const statsNode = tree.get(statPath('/app'))!;
    const version = statsNode.version;
    tree.createNode('/app/c2', Buffer.from('ab'), OPEN_ACL_UNSAFE, 0n, -1, 10n, 0);
    expect(statsOf(tree)).toBe('count=3,bytes=10');
    tree.createNode('/app/c2/d', null, OPEN_ACL_UNSAFE, 0n, -1, 11n, 0);
    expect(statsOf(tree)).toBe('count=4,bytes=10');
    tree.setData('/app/c1', Buffer.from('1'), 1, 12n, 0);
    expect(statsOf(tree)).toBe('count=4,bytes=6');
    tree.setData('/app/c1', null, 2, 13n, 0);
    expect(statsOf(tree)).toBe('count=4,bytes=5');
    tree.deleteNode('/app/c2/d', 14n);
    tree.deleteNode('/app/c2', 15n);
    expect(statsOf(tree)).toBe('count=2,bytes=3');
    expect(statsNode.version).toBe(version);
    // outside the quota: untouched
    tree.createNode('/other', Buffer.from('zzz'), OPEN_ACL_UNSAFE, 0n, -1, 16n, 0);
    expect(statsOf(tree)).toBe('count=2,bytes=3');
  });

  test('extra keys in the stats node survive updates', () => {
    const tree = treeWithQuota('count=-1,bytes=-1');
    tree.get(statPath('/app'))!.data = Buffer.from('count=2,bytes=8=;zeta=1');
    tree.createNode('/app/c3', null, OPEN_ACL_UNSAFE, 0n, -1, 20n, 0);
    expect(statsOf(tree)).toBe('count=3,bytes=8=;zeta=1');
  });

  test('deleting the limits node removes the quota; stats stop moving', () => {
    const tree = treeWithQuota('count=-1,bytes=-1');
    expect(tree.deleteNode(limitPath('/app'), 20n)).toBe(Err.ok);
    expect(tree.quotas.maxPrefix('/app/c1')).toBeNull();
    tree.createNode('/app/c9', Buffer.from('abc'), OPEN_ACL_UNSAFE, 0n, -1, 21n, 0);
    expect(statsOf(tree)).toBe('count=2,bytes=8');
  });

  test('a nested quota takes the changes below it; the outer one keeps its own count', () => {
    const tree = treeWithQuota('count=-1,bytes=-1');
    let zxid = 30n;
    tree.createNode('/zookeeper/quota/app/c1', null, OPEN_ACL_UNSAFE, 0n, -1, zxid++, 0);
    tree.createNode(limitPath('/app/c1'), Buffer.from('count=-1,bytes=-1'), OPEN_ACL_UNSAFE, 0n, -1, zxid++, 0);
    tree.createNode(statPath('/app/c1'), null, OPEN_ACL_UNSAFE, 0n, -1, zxid++, 0);
    expect(tree.get(statPath('/app/c1'))!.data!.toString()).toBe('count=1,bytes=5');
    tree.createNode('/app/c1/x', Buffer.from('7'), OPEN_ACL_UNSAFE, 0n, -1, zxid++, 0);
    expect(tree.get(statPath('/app/c1'))!.data!.toString()).toBe('count=2,bytes=6');
    expect(statsOf(tree)).toBe('count=2,bytes=8');
  });

  test('a stats node for a path that does not exist counts zero', () => {
    const tree = new DataTree();
    tree.createNode('/zookeeper/quota/ghost', null, OPEN_ACL_UNSAFE, 0n, -1, 1n, 0);
    tree.createNode(statPath('/ghost'), null, OPEN_ACL_UNSAFE, 0n, -1, 2n, 0);
    expect(tree.get(statPath('/ghost'))!.data!.toString()).toBe('count=0,bytes=0');
  });
});

describe('quotaAllows (ZooKeeperServer.checkQuota with enforceQuota)', () => {
  test('no quota: always Ok', () => {
    expect(quotaAllows(new DataTree(), '/x', 1_000_000, 1)).toBe(Err.ok);
  });

  test('a hard count limit refuses the create that would pass it', () => {
    const tree = treeWithQuota('count=-1,bytes=-1=;countHardLimit=3');
    expect(quotaAllows(tree, '/app/c2', 0, 1)).toBe(Err.ok); // 2 + 1 = 3
    tree.createNode('/app/c2', null, OPEN_ACL_UNSAFE, 0n, -1, 10n, 0);
    expect(quotaAllows(tree, '/app/c3', 0, 1)).toBe(Err.quotaExceeded); // 4 > 3
    expect(quotaAllows(tree, '/app/c1', 1, 0)).toBe(Err.ok); // setData: count not checked
    expect(quotaAllows(tree, '/elsewhere', 0, 1)).toBe(Err.ok);
  });

  test('a hard byte limit refuses growth past it, by the difference', () => {
    const tree = treeWithQuota('count=-1,bytes=-1=;byteHardLimit=10');
    expect(quotaAllows(tree, '/app/c1', 2, 0)).toBe(Err.ok); // 8 + 2 = 10
    expect(quotaAllows(tree, '/app/c1', 3, 0)).toBe(Err.quotaExceeded);
    expect(quotaAllows(tree, '/app/new', 3, 1)).toBe(Err.quotaExceeded);
    expect(quotaAllows(tree, '/app/new', 0, 1)).toBe(Err.ok); // empty data: bytes not checked
  });

  test('while over a byte limit, even a shrinking setData is refused (newBytes > limit)', () => {
    const tree = treeWithQuota('count=-1,bytes=-1=;byteHardLimit=5');
    expect(statsOf(tree)).toBe('count=2,bytes=8');
    expect(quotaAllows(tree, '/app/c1', -1, 0)).toBe(Err.quotaExceeded);
    expect(quotaAllows(tree, '/app/c1', -3, 0)).toBe(Err.ok);
    expect(quotaAllows(tree, '/app/c1', 0, 0)).toBe(Err.ok);
  });

  test('soft limits only log in ZooKeeper: never refused', () => {
    const tree = treeWithQuota('count=1,bytes=1');
    expect(quotaAllows(tree, '/app/c2', 100, 1)).toBe(Err.ok);
  });

  test('a quota without its stats node does not refuse', () => {
    const tree = treeWithQuota('count=-1,bytes=-1=;countHardLimit=0');
    tree.deleteNode(statPath('/app'), 50n);
    expect(quotaAllows(tree, '/app/c2', 0, 1)).toBe(Err.ok);
  });
});
