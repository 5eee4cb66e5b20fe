import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { redact, Secrets } from './redact.js';

describe('redact', () => {
  it('removes known secrets, longest first', () => {
    expect(redact('user pw=hunter22 and hunter22x', ['hunter22', 'hunter22x'])).toBe('user pw=*** and ***');
  });

  it.each([
    ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic ***'],
    ['authorization: bearer eyJhbGciOi.eyJzdWIi.c2ln', 'authorization: bearer ***'],
    ['proxy http://alice:s3cret@proxy.local:3128 failed', 'proxy http://***@proxy.local:3128 failed'],
    ['{"token":"abc.def","expires_in":60}', '{"token":"***","expires_in":60}'],
    ['{"access_token": "abc"}', '{"access_token": "***"}'],
    [
      'grant_type=refresh_token&refresh_token=xyz&service=s',
      'grant_type=refresh_token&refresh_token=***&service=s',
    ],
    ['nothing secret here: sha256:abc', 'nothing secret here: sha256:abc'],
  ])('%s', (input, want) => expect(redact(input)).toBe(want));
});

describe('Secrets', () => {
  it('ignores values too short to hide safely', () => {
    const s = new Secrets();
    s.add('ab', undefined, 'longer-secret');
    expect(s.redact('ab longer-secret')).toBe('ab ***');
  });

  it('scrubs message, hint and stack of an error, keeping its code', () => {
    const s = new Secrets();
    s.add('p4ssw0rd');
    const err = new CopaError('AUTH', 'denied for p4ssw0rd', { hint: 'p4ssw0rd is wrong' });
    const clean = s.scrub(err);
    expect(clean.code).toBe('AUTH');
    expect(clean.message).toBe('denied for ***');
    expect(clean.hint).toBe('*** is wrong');
    expect(clean.stack).not.toContain('p4ssw0rd');
    const untouched = new CopaError('AUTH', 'plain');
    expect(s.scrub(untouched)).toBe(untouched);
  });
});
