import { describe, expect, it } from 'vitest';
import { CopaError, isRetryable, withContext } from './errors.js';

describe('errors', () => {
  it('withContext keeps the code and hint and prefixes the message', () => {
    const inner = new CopaError('NETWORK', 'connection reset', { hint: 'retry' });
    const outer = withContext(inner, 'pulling layer sha256:abc');
    expect(outer.code).toBe('NETWORK');
    expect(outer.hint).toBe('retry');
    expect(outer.message).toBe('pulling layer sha256:abc: connection reset');
  });
  it('withContext wraps foreign errors as INTERNAL', () => {
    expect(withContext(new Error('boom'), 'x').code).toBe('INTERNAL');
  });
});

describe('isRetryable', () => {
  it.each([
    ['NETWORK', true],
    ['REGISTRY', true],
    ['TIMEOUT', true],
    ['LOCKED', true],
    ['CANCELLED', true],
    ['AUTH', false],
    ['NOT_FOUND', false],
    ['USAGE', false],
    ['PACKAGE_MANAGER', false],
  ] as const)('%s -> %s', (code, retry) => {
    expect(isRetryable(new CopaError(code, 'x'))).toBe(retry);
  });
  it('plain errors are not', () => {
    expect(isRetryable(new Error('x'))).toBe(false);
  });
});
