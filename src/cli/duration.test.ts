import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
  ])('%s', (s, ms) => expect(parseDuration(s)).toBe(ms));
  it.each(['', '5', 'abc', '5x', '0s', '-1m'])('rejects %j', (s) =>
    expect(() => parseDuration(s)).toThrow(/invalid duration/),
  );
  it('names the flag it parses in the error and the hint', () => {
    const err = (() => {
      try {
        parseDuration('banana', '--older-than');
      } catch (e) {
        return e as { message: string; hint?: string; code: string };
      }
      throw new Error('no error');
    })();
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe('--older-than: invalid duration "banana"');
    expect(err.hint).toContain('--older-than 10m');
    expect(err.hint).not.toContain('--timeout');
  });
});
