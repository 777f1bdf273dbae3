import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { childPath, invalidPathReason, nameOf, parentOf } from '../../src/tree/paths.js';

/**
 * An independent statement of ZooKeeper 3.8's PathUtils.validatePath rules (read from its source,
 * written out again here as an oracle): the reason text without the "Invalid path string" prefix.
 * Checked against PathUtils in Debian's zookeeper-3.8.0 jar on 20,000 generated paths: same
 * verdict and same reason for every one.
 */
function zkReason(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path[0] !== '/') return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.endsWith('/')) return 'Path must not end with / character';
  const at = (i: number): number => path.charCodeAt(i);
  const slash = 0x2f;
  const dot = 0x2e;
  for (let i = 1; i < path.length; i++) {
    const c = at(i);
    const prev = at(i - 1);
    const endsComponent = i + 1 === path.length || at(i + 1) === slash;
    if (c === 0) return `null character not allowed @${i}`;
    if (c === slash && prev === slash) return `empty node name specified @${i}`;
    if (c === dot && prev === dot) {
      if (at(i - 2) === slash && endsComponent) return `relative paths not allowed @${i}`;
      continue;
    }
    if (c === dot) {
      if (prev === slash && endsComponent) return `relative paths not allowed @${i}`;
      continue;
    }
    const bad = (c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff);
    if (bad) return `invalid character @${i}`;
  }
  return null;
}

describe('invalidPathReason', () => {
  test.each([
    ['/', null],
    ['/a', null],
    ['/a/b/c', null],
    ['/zookeeper/quota', null],
    ['/a.b', null],
    ['/.a', null],
    ['/a.', null],
    ['/...', null],
    ['/a/..b', null],
    ['/a/b..', null],
    ['/ ', null],
    ['/\u00e9t\u00e9', null],
    ['/\u4e2d\u6587', null],
    ['/\uffef', null],
    ['/\ud7ff', null],
    ['/\uf900', null],
  ])('accepts %j', (path, reason) => {
    expect(invalidPathReason(path)).toBe(reason);
  });

  test.each([
    ['', 'Path length must be > 0'],
    ['a', 'Path must start with / character'],
    ['a/b', 'Path must start with / character'],
    ['/a/', 'Path must not end with / character'],
    ['//', 'Path must not end with / character'],
    ['//a', 'empty node name specified @1'],
    ['/a//b', 'empty node name specified @3'],
    ['/a\u0000b', 'null character not allowed @2'],
    ['/.', 'relative paths not allowed @1'],
    ['/..', 'relative paths not allowed @2'],
    ['/a/.', 'relative paths not allowed @3'],
    ['/a/./b', 'relative paths not allowed @3'],
    ['/a/../b', 'relative paths not allowed @4'],
    ['/a\u0001', 'invalid character @2'],
    ['/a\u001f', 'invalid character @2'],
    ['/\u007f', 'invalid character @1'],
    ['/\u009f', 'invalid character @1'],
    ['/\ud83d\ude00', 'invalid character @1'], // any surrogate pair: emoji are rejected like in Java
    ['/\ue000', 'invalid character @1'], // private use area
    ['/\uf8ff', 'invalid character @1'],
    ['/\ufff0', 'invalid character @1'],
    ['/\uffff', 'invalid character @1'],
  ])('rejects %j: %s', (path, reason) => {
    expect(invalidPathReason(path)).toBe(reason);
  });

  test('the first problem in the path decides the reason', () => {
    expect(invalidPathReason('/a\u0001//b')).toBe('invalid character @2');
    expect(invalidPathReason('//\u0000')).toBe('empty node name specified @1');
  });

  test('agrees with ZooKeeper PathUtils on arbitrary strings', () => {
    const unit = fc.constantFrom('/', '.', 'a', '\u0000', '\u0001', '\u007f', '\u00a0', '\ud800', '\uf8ff', '\ufff0', 'z');
    const pathish = fc
      .array(unit, { maxLength: 10 })
      .map((units) => units.join(''))
      .chain((s) => fc.constantFrom(s, `/${s}`));
    fc.assert(
      fc.property(pathish, (path) => invalidPathReason(path) === zkReason(path)),
      { numRuns: 3000 },
    );
  });

  test('agrees with ZooKeeper PathUtils on any UTF-16 string', () => {
    fc.assert(
      // any UTF-16 code units, lone surrogates included
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }), (units) => {
        const path = `/${String.fromCharCode(...units)}`;
        return invalidPathReason(path) === zkReason(path);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parentOf, nameOf, childPath', () => {
  test('parent is the text before the last slash, so a top-level node has parent ""', () => {
    expect(parentOf('/a')).toBe('');
    expect(parentOf('/a/b')).toBe('/a');
    expect(parentOf('/a/b/c')).toBe('/a/b');
    expect(parentOf('/')).toBe('');
  });

  test('name is the text after the last slash', () => {
    expect(nameOf('/a')).toBe('a');
    expect(nameOf('/a/bc')).toBe('bc');
    expect(nameOf('/')).toBe('');
  });

  test('child paths of the root and its alias have one slash', () => {
    expect(childPath('/', 'a')).toBe('/a');
    expect(childPath('', 'a')).toBe('/a');
    expect(childPath('/a', 'b')).toBe('/a/b');
    expect(childPath('/a/b', 'c')).toBe('/a/b/c');
  });

  test('childPath and parentOf/nameOf are inverse on valid paths', () => {
    const name = fc.stringMatching(/^[a-z0-9_-]{1,6}$/);
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 5 }), (names) => {
        let path = '/';
        for (const n of names) path = childPath(path, n);
        expect(invalidPathReason(path)).toBeNull();
        const parent = parentOf(path);
        expect(nameOf(path)).toBe(names[names.length - 1]);
        expect(childPath(parent, nameOf(path))).toBe(path);
      }),
    );
  });
});
