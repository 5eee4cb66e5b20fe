import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import {
  backoffDelay,
  describeError,
  isRetryableError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
} from './retry.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('retry classification', () => {
  it.each([
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [505, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [200, false],
  ])('status %i retryable: %s', (status, want) => expect(isRetryableStatus(status)).toBe(want));

  it.each([
    [withCode('read ECONNRESET', 'ECONNRESET'), true],
    [withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), true],
    [withCode('other side closed', 'UND_ERR_SOCKET'), true],
    [withCode('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT'), true],
    [withCode('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT'), true],
    [new Error('socket hang up'), true],
    [new TypeError('fetch failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') }), true],
    [withCode('invalid argument', 'UND_ERR_INVALID_ARG'), false],
    [withCode('Request aborted', 'UND_ERR_ABORTED'), false],
    [withCode('getaddrinfo ENOTFOUND nope.invalid', 'ENOTFOUND'), false],
    [withCode('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), false],
    [new CopaError('DIGEST_MISMATCH', 'content does not match'), false],
    [new Error('something else'), false],
    ['a string', false],
  ])('error %s retryable: %s', (err, want) => expect(isRetryableError(err)).toBe(want));

  it('describes errors through their causes', () => {
    const err = new TypeError('fetch failed', {
      cause: withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'),
    });
    expect(describeError(err)).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:1');
    expect(describeError(withCode('other side closed', 'UND_ERR_SOCKET'))).toBe(
      'other side closed (UND_ERR_SOCKET)',
    );
  });
});

describe('backoff', () => {
  it('doubles per attempt, with jitter in [50%, 100%], capped', () => {
    expect(backoffDelay(0, { baseMs: 100, random: 1 })).toBe(100);
    expect(backoffDelay(0, { baseMs: 100, random: 0 })).toBe(50);
    expect(backoffDelay(3, { baseMs: 100, random: 1 })).toBe(800);
    expect(backoffDelay(20, { baseMs: 100, maxMs: 5000, random: 1 })).toBe(5000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(2, { baseMs: 100 });
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('waits at least what the server asks, within the cap', () => {
    expect(retryDelay(0, '2', { baseMs: 10, random: 1 })).toBe(2000);
    expect(retryDelay(0, '3600', { baseMs: 10, maxMs: 30_000, random: 1 })).toBe(30_000);
    expect(retryDelay(4, '0', { baseMs: 100, random: 1 })).toBe(1600);
  });
});
