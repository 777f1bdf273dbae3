import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { EventType } from '../../src/proto/events.js';
import { DataTree } from '../../src/tree/data-tree.js';
import { WatchManager, WatchMode, type Watcher, type WatchModeValue } from '../../src/tree/watch-manager.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** A watcher that records what it was told. */
class Recorder implements Watcher {
  readonly events: Array<[number, string]> = [];
  constructor(readonly name: string) {}
  notifyWatch(eventType: number, path: string): void {
    this.events.push([eventType, path]);
  }
  take(): Array<[number, string]> {
    return this.events.splice(0);
  }
}

const { nodeCreated, nodeDeleted, nodeDataChanged, nodeChildrenChanged } = EventType;

describe('standard watches', () => {
  test('fire once, then are gone', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w);
    expect(wm.hasWatchers('/a')).toBe(true);
    const fired = wm.trigger('/a', nodeDataChanged, OPEN);
    expect(fired).toEqual(new Set([w]));
    expect(w.take()).toEqual([[nodeDataChanged, '/a']]);
    expect(wm.trigger('/a', nodeDataChanged, OPEN)).toBeUndefined();
    expect(w.take()).toEqual([]);
    expect(wm.hasWatchers('/a')).toBe(false);
    expect(wm.pathsOf(w).size).toBe(0);
    expect(wm.summary()).toEqual({ watchers: 0, paths: 0, watches: 0 });
  });

  test('fire only for their own path, never for descendants or ancestors', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w);
    expect(wm.trigger('/a/b', nodeCreated, OPEN)).toBeUndefined();
    expect(wm.trigger('/', nodeChildrenChanged, OPEN)).toBeUndefined();
    expect(wm.trigger('/ab', nodeCreated, OPEN)).toBeUndefined();
    expect(w.take()).toEqual([]);
    expect(wm.hasWatchers('/a')).toBe(true);
  });

  test('every watcher on the path is notified once, and registering twice is one watch', () => {
    const wm = new WatchManager();
    const [w1, w2] = [new Recorder('1'), new Recorder('2')];
    wm.add('/a', w1);
    wm.add('/a', w1);
    wm.add('/a', w2);
    expect(wm.summary()).toEqual({ watchers: 2, paths: 1, watches: 2 });
    wm.trigger('/a', nodeDeleted, OPEN);
    expect(w1.take()).toEqual([[nodeDeleted, '/a']]);
    expect(w2.take()).toEqual([[nodeDeleted, '/a']]);
  });
});

describe('persistent watches', () => {
  test('stay after firing, for every event type on their path', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w, WatchMode.persistent);
    for (const type of [nodeCreated, nodeDataChanged, nodeChildrenChanged, nodeDeleted]) wm.trigger('/a', type, OPEN);
    expect(w.take()).toEqual([
      [nodeCreated, '/a'],
      [nodeDataChanged, '/a'],
      [nodeChildrenChanged, '/a'],
      [nodeDeleted, '/a'],
    ]);
    expect(wm.modeOf('/a', w)).toBe(WatchMode.persistent);
  });

  test('do not fire for descendants', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w, WatchMode.persistent);
    wm.add('/x', new Recorder('r'), WatchMode.persistentRecursive); // turns the ancestor walk on
    wm.trigger('/a/b', nodeCreated, OPEN);
    expect(w.take()).toEqual([]);
  });
});

describe('persistent recursive watches', () => {
  test('fire for the path and every descendant, except NodeChildrenChanged', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w, WatchMode.persistentRecursive);
    wm.trigger('/a', nodeDataChanged, OPEN);
    wm.trigger('/a', nodeChildrenChanged, OPEN);
    wm.trigger('/a/b', nodeCreated, OPEN);
    wm.trigger('/a/b/c', nodeDeleted, OPEN);
    wm.trigger('/a/b', nodeChildrenChanged, OPEN);
    wm.trigger('/ab', nodeCreated, OPEN);
    wm.trigger('/', nodeDataChanged, OPEN);
    expect(w.take()).toEqual([
      [nodeDataChanged, '/a'],
      [nodeCreated, '/a/b'],
      [nodeDeleted, '/a/b/c'],
    ]);
  });

  test('on the root, see the whole tree', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/', w, WatchMode.persistentRecursive);
    wm.trigger('/', nodeDataChanged, OPEN);
    wm.trigger('/x', nodeCreated, OPEN);
    wm.trigger('/x/y/z', nodeDataChanged, OPEN);
    expect(w.take()).toEqual([
      [nodeDataChanged, '/'],
      [nodeCreated, '/x'],
      [nodeDataChanged, '/x/y/z'],
    ]);
  });

  test('a watcher watching a path and its ancestor hears each event once', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/', w, WatchMode.persistentRecursive);
    wm.add('/a', w, WatchMode.persistentRecursive);
    wm.add('/a/b', w);
    const fired = wm.trigger('/a/b', nodeDataChanged, OPEN);
    expect(fired).toEqual(new Set([w]));
    expect(w.take()).toEqual([[nodeDataChanged, '/a/b']]);
    // The standard watch on /a/b was consumed; the recursive ones remain.
    expect(wm.modeOf('/a/b', w)).toBeUndefined();
    wm.trigger('/a/b', nodeDataChanged, OPEN);
    expect(w.take()).toEqual([[nodeDataChanged, '/a/b']]);
  });

  test('removing the last recursive watch stops the ancestor walk', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w, WatchMode.persistentRecursive);
    expect(wm.remove('/a', w)).toBe(true);
    expect(wm.remove('/a', w)).toBe(false);
    wm.trigger('/a/b', nodeCreated, OPEN);
    expect(w.take()).toEqual([]);
  });
});

describe('one mode per watcher and path, the last registration wins (ZooKeeper 3.8)', () => {
  test('standard replaces recursive: descendants no longer notify', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    const other = new Recorder('other');
    wm.add('/a', w, WatchMode.persistentRecursive);
    wm.add('/a', w, WatchMode.standard);
    expect(wm.modeOf('/a', w)).toBe(WatchMode.standard);
    wm.add('/q', other, WatchMode.persistentRecursive);
    wm.trigger('/a/b', nodeCreated, OPEN);
    expect(w.take()).toEqual([]);
    wm.trigger('/a', nodeDataChanged, OPEN);
    expect(w.take()).toEqual([[nodeDataChanged, '/a']]);
    expect(wm.modeOf('/a', w)).toBeUndefined();
  });

  test('recursive replaces persistent', () => {
    const wm = new WatchManager();
    const w = new Recorder('w');
    wm.add('/a', w, WatchMode.persistent);
    wm.add('/a', w, WatchMode.persistentRecursive);
    wm.trigger('/a/b', nodeCreated, OPEN);
    expect(w.take()).toEqual([[nodeCreated, '/a/b']]);
    wm.trigger('/a', nodeChildrenChanged, OPEN);
    expect(w.take()).toEqual([]);
  });

  test('the recursive count stays exact across replacements (property)', () => {
    // After any sequence of add/remove, a descendant event reaches exactly the watchers whose
    // current mode on an ancestor-or-self is recursive.
    const paths = ['/', '/a', '/a/b'];
    const modes: WatchModeValue[] = [WatchMode.standard, WatchMode.persistent, WatchMode.persistentRecursive];
    const step = fc.record({
      op: fc.constantFrom('add', 'add', 'remove', 'drop'),
      watcher: fc.integer({ min: 0, max: 2 }),
      path: fc.constantFrom(...paths),
      mode: fc.constantFrom(...modes),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const wm = new WatchManager();
        const ws = [0, 1, 2].map((i) => new Recorder(String(i)));
        const model = new Map<string, WatchModeValue>(); // `${watcher} ${path}` -> mode
        for (const s of steps) {
          const w = ws[s.watcher]!;
          if (s.op === 'add') {
            wm.add(s.path, w, s.mode);
            model.set(`${s.watcher} ${s.path}`, s.mode);
          } else if (s.op === 'remove') {
            expect(wm.remove(s.path, w)).toBe(model.delete(`${s.watcher} ${s.path}`));
          } else {
            wm.removeWatcher(w);
            for (const p of paths) model.delete(`${s.watcher} ${p}`);
          }
        }
        for (const [key, mode] of model) {
          const [i, p] = key.split(' ') as [string, string];
          expect(wm.modeOf(p, ws[Number(i)]!)).toBe(mode);
        }
        wm.trigger('/a/b/c', nodeDataChanged, OPEN);
        for (let i = 0; i < 3; i++) {
          const expected = paths.some((p) => model.get(`${i} ${p}`) === WatchMode.persistentRecursive);
          expect(ws[i]!.take().length).toBe(expected ? 1 : 0);
        }
      }),
    );
  });
});

describe('suppression between the two tables', () => {
  test('watchers in the suppress set are not notified but are still reported', () => {
    const wm = new WatchManager();
    const [w1, w2] = [new Recorder('1'), new Recorder('2')];
    wm.add('/a', w1);
    wm.add('/a', w2);
    const fired = wm.trigger('/a', nodeDeleted, OPEN, new Set([w1]));
    expect(fired).toEqual(new Set([w1, w2]));
    expect(w1.take()).toEqual([]);
    expect(w2.take()).toEqual([[nodeDeleted, '/a']]);
    // The suppressed standard watch is consumed all the same.
    expect(wm.hasWatchers('/a')).toBe(false);
  });

  test('a node deletion notifies a watcher with both a data and a child watch once', () => {
    const tree = new DataTree();
    const w = new Recorder('w');
    tree.createNode('/a', null, [], 0n, -1, 1n, 0);
    tree.dataWatches.add('/a', w);
    tree.childWatches.add('/a', w);
    tree.deleteNode('/a', 2n);
    expect(w.take()).toEqual([[nodeDeleted, '/a']]);
    expect(tree.dataWatches.hasWatchers('/a')).toBe(false);
    expect(tree.childWatches.hasWatchers('/a')).toBe(false);
  });

  test('the tree fires NodeCreated on the path and NodeChildrenChanged on the parent ("/" for top-level)', () => {
    const tree = new DataTree();
    const data = new Recorder('data');
    const child = new Recorder('child');
    tree.dataWatches.add('/a', data);
    tree.childWatches.add('/', child);
    tree.createNode('/a', null, [], 0n, -1, 1n, 0);
    expect(data.take()).toEqual([[nodeCreated, '/a']]);
    expect(child.take()).toEqual([[nodeChildrenChanged, '/']]);
  });
});

describe('bookkeeping', () => {
  test('removeWatcher drops every watch of a connection, in both directions', () => {
    const wm = new WatchManager();
    const [w1, w2] = [new Recorder('1'), new Recorder('2')];
    wm.add('/a', w1);
    wm.add('/b', w1, WatchMode.persistentRecursive);
    wm.add('/a', w2);
    expect(wm.summary()).toEqual({ watchers: 2, paths: 2, watches: 3 });
    wm.removeWatcher(w1);
    expect(wm.summary()).toEqual({ watchers: 1, paths: 1, watches: 1 });
    expect(wm.pathsOf(w1).size).toBe(0);
    expect([...wm.watchersOf('/a')]).toEqual([w2]);
    expect([...wm.watchersOf('/b')]).toEqual([]);
    wm.trigger('/b/c', nodeCreated, OPEN);
    expect(w1.take()).toEqual([]);
    wm.removeWatcher(w1); // idempotent
  });

  test('hasWatchers asks whether anyone watches exactly the path (ZooKeeper 3.8 containsWatcher)', () => {
    const wm = new WatchManager();
    wm.add('/a', new Recorder('w'), WatchMode.persistentRecursive);
    expect(wm.hasWatchers('/a')).toBe(true);
    expect(wm.hasWatchers('/a/b')).toBe(false);
  });

  test('entries by path and by watcher describe the same watches', () => {
    const wm = new WatchManager();
    const [w1, w2] = [new Recorder('1'), new Recorder('2')];
    wm.add('/a', w1);
    wm.add('/b', w1, WatchMode.persistent);
    wm.add('/b', w2, WatchMode.persistentRecursive);
    const byPath = [...wm.entriesByPath()].map(([p, m]) => [p, [...m.entries()].map(([w, mode]) => [(w as Recorder).name, mode])]);
    expect(byPath).toEqual([
      ['/a', [['1', WatchMode.standard]]],
      ['/b', [['1', WatchMode.persistent], ['2', WatchMode.persistentRecursive]]],
    ]);
    const byWatcher = [...wm.entriesByWatcher()].map(([w, ps]) => [(w as Recorder).name, [...ps]]);
    expect(byWatcher).toEqual([
      ['1', ['/a', '/b']],
      ['2', ['/b']],
    ]);
  });
});
