import { describe, expect, it } from 'vitest';
import { CopaError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { patchedReference } from './tag.js';
import { asUsage, checkPlatforms } from './validate.js';

function caught(fn: () => unknown): CopaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('input checks before any work', () => {
  it('a bad -i, -t or --platform is a usage error naming the flag', () => {
    const i = caught(() => asUsage('-i/--image', () => parseReference('::bad')));
    expect(i.code).toBe('USAGE');
    expect(i.message).toMatch(/^-i\/--image: invalid image reference "::bad"/);
    const src = parseReference('127.0.0.1:5000/app:1.0');
    const t = caught(() => asUsage('-t/--tag', () => patchedReference(src, 'Bad:Ref::', 'patched')));
    expect(t.code).toBe('USAGE');
    expect(t.message).toMatch(/^-t\/--tag: invalid image reference/);
    const p = caught(() => checkPlatforms(['linux/amd64', 'linux/']));
    expect(p.code).toBe('USAGE');
    expect(p.message).toBe('--platform: invalid platform "linux/"');
  });

  it('a --tag-suffix that cannot make a tag is refused with the tag it would make', () => {
    const src = parseReference('127.0.0.1:5000/app:1.0');
    const e = caught(() => patchedReference(src, undefined, '/x'));
    expect(e.code).toBe('USAGE');
    expect(e.message).toBe('--tag-suffix "/x" makes the tag "1.0-/x", which is not a valid tag');
    expect(patchedReference(src, undefined, 'fixed.1').tag).toBe('1.0-fixed.1');
  });

  it('other errors pass through unchanged', () => {
    const boom = new Error('boom');
    expect(() =>
      asUsage('-i', () => {
        throw boom;
      }),
    ).toThrow(boom);
  });
});
