import { describe, expect, it } from 'vitest';
import { classifyWhiteout, cleanEntryPath, comparePaths, opaquePath, whiteoutPath } from './paths.js';

describe('cleanEntryPath', () => {
  it.each([
    ['etc/passwd', 'etc/passwd'],
    ['./etc/passwd', 'etc/passwd'],
    ['/etc/passwd', 'etc/passwd'],
    ['//etc//passwd/', 'etc/passwd'],
    ['usr/./lib/', 'usr/lib'],
    ['a/b/../c', 'a/c'],
    ['a/..', ''],
    ['./', ''],
    ['/', ''],
    ['.', ''],
  ])('%j -> %j', (name, path) => {
    expect(cleanEntryPath(name)).toEqual({ path });
  });

  it.each([
    ['..', 'escapes'],
    ['../x', 'escapes'],
    ['a/../../x', 'escapes'],
    ['/../etc/passwd', 'escapes'],
    ['./../x', 'escapes'],
    ['a\0b', 'NUL'],
    [`${'x'.repeat(256)}`, 'longer than 255'],
    [Array.from({ length: 40 }, () => 'y'.repeat(120)).join('/'), 'longer than 4095'],
  ])('refuses %j', (name, reason) => {
    const r = cleanEntryPath(name);
    expect('reason' in r && r.reason).toContain(reason);
  });
});

describe('whiteouts', () => {
  it('classifies names', () => {
    expect(classifyWhiteout('.wh..wh..opq')).toEqual({ kind: 'opaque' });
    expect(classifyWhiteout('.wh.passwd')).toEqual({ kind: 'whiteout', name: 'passwd' });
    expect(classifyWhiteout('.wh..hidden')).toEqual({ kind: 'whiteout', name: '.hidden' });
    expect(classifyWhiteout('.wh..wh.plnk')).toEqual({ kind: 'meta' });
    expect(classifyWhiteout('.wh.')).toEqual({ kind: 'invalid' });
    expect(classifyWhiteout('.wh..')).toEqual({ kind: 'invalid' });
    expect(classifyWhiteout('.wh...')).toEqual({ kind: 'invalid' });
    expect(classifyWhiteout('wh.x')).toEqual({ kind: 'none' });
    expect(classifyWhiteout('.whx')).toEqual({ kind: 'none' });
  });

  it('maps paths to whiteout and opaque names', () => {
    expect(whiteoutPath('etc/passwd')).toBe('etc/.wh.passwd');
    expect(whiteoutPath('top')).toBe('.wh.top');
    expect(opaquePath('var/cache')).toBe('var/cache/.wh..wh..opq');
    expect(opaquePath('')).toBe('.wh..wh..opq');
  });
});

describe('comparePaths', () => {
  it('puts a directory right before its contents, in byte order', () => {
    const paths = ['a-b', 'a/b', 'a', 'B', 'a/.wh.x', 'a/b/c', 'ä', 'z', 'a.b'];
    expect([...paths].sort(comparePaths)).toEqual([
      'B',
      'a',
      'a/.wh.x',
      'a/b',
      'a/b/c',
      'a-b',
      'a.b',
      'z',
      'ä',
    ]);
  });
});
