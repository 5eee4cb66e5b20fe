import { describe, expect, it } from 'vitest';
import type { CacheItem } from './items.js';
import { choosePrune, formatBytes, parseSize } from './policy.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const hoursAgo = (h: number): Date => new Date(NOW - h * 3_600_000);

function item(
  id: string,
  part: CacheItem['part'],
  bytes: number,
  usedHoursAgo: number,
  inUse = false,
): CacheItem {
  return { part, id, path: `/c/${id}`, bytes, lastUsed: hoursAgo(usedHoursAgo), inUse };
}

const ITEMS = [
  item('sha256:old', 'layers', 500, 200),
  item('sha256:busy', 'layers', 800, 300, true),
  item('debian-12', 'packages', 100, 100),
  item('sha256:new', 'layers', 300, 1),
  item('copa-debug-20261201T000000Z-abcdef', 'work', 50, 120),
];

describe('choosePrune', () => {
  it('--all: everything not in use', () => {
    expect(choosePrune(ITEMS, { all: true }, NOW).map((i) => i.id)).toEqual([
      'sha256:old',
      'debian-12',
      'sha256:new',
      'copa-debug-20261201T000000Z-abcdef',
    ]);
  });

  it('--older-than: unused for longer than that, never what is in use', () => {
    expect(choosePrune(ITEMS, { olderThanMs: 150 * 3_600_000 }, NOW).map((i) => i.id)).toEqual([
      'sha256:old',
    ]);
  });

  it('--keep-storage: least recently used first until the total fits; kept --debug dirs stay', () => {
    // total 1750; cap 1000: old (500) then debian-12 (100) -> 1150 still over; then new (300) -> 850
    expect(choosePrune(ITEMS, { keepBytes: 1000 }, NOW).map((i) => i.id)).toEqual([
      'sha256:old',
      'debian-12',
      'sha256:new',
    ]);
    expect(choosePrune(ITEMS, { keepBytes: 5000 }, NOW)).toEqual([]);
  });

  it('--older-than and --keep-storage together: the old ones first, then by size', () => {
    expect(
      choosePrune(ITEMS, { olderThanMs: 150 * 3_600_000, keepBytes: 1200 }, NOW).map((i) => i.id),
    ).toEqual(['sha256:old', 'debian-12']);
  });
});

describe('sizes', () => {
  it.each([
    ['2GB', 2e9],
    ['500MiB', 500 * 2 ** 20],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['1073741824', 1073741824],
    ['10 kb', 10_000],
  ])('%s', (text, bytes) => expect(parseSize(text)).toBe(bytes));
  it.each(['', 'banana', '2 GBs', '-1GB', '1e9'])('refuses %j', (text) =>
    expect(parseSize(text)).toBeUndefined(),
  );
  it('formats', () => expect(formatBytes(1536 * 2 ** 20)).toBe('1.5 GiB'));
});
