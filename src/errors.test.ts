import { describe, expect, it } from 'vitest';
import { CopaError, withContext } from './errors.js';

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
