import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check } from '../../test/helpers/fc.js';
import { CopaError } from '../errors.js';
import { familiarString, formatReference, parseReference, withDefaultTag } from './reference.js';

// Property tests of image reference parsing (fast-check; seed and size from test/helpers/fc.ts). References
// are generated from distribution/reference's grammar; arbitrary strings must either parse or fail with
// one CopaError('REFERENCE'), and what parses prints back to itself.

const lowerAlnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--');
const pathComponent = fc
  .tuple(lowerAlnum, fc.array(fc.tuple(separator, lowerAlnum), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(''));
const path = fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const domainLabel = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`);
const domain = fc.oneof(
  fc
    .tuple(fc.array(domainLabel, { minLength: 2, maxLength: 4 }), fc.option(port, { nil: '' }))
    .map(([labels, p]) => labels.join('.') + p),
  fc.tuple(domainLabel, port).map(([l, p]) => l + p),
  fc.constantFrom(
    'localhost',
    'localhost:5000',
    '[::1]:5000',
    '127.0.0.1:5000',
    'index.docker.io',
    'docker.io',
  ),
);
const tag = fc.stringMatching(/^[\w][\w.-]{0,127}$/);
const digest = fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`);

const reference = fc
  .record({
    domain: fc.option(domain, { nil: undefined }),
    path,
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  })
  .filter((r) => {
    // without a domain, a first path component with a dot or `localhost` is read as a host (as docker does)
    const first = r.path.split('/')[0] ?? '';
    return r.domain !== undefined || !r.path.includes('/') || !(first.includes('.') || first === 'localhost');
  });

function render(r: { domain?: string; path: string; tag?: string; digest?: string }): string {
  return (
    (r.domain !== undefined ? `${r.domain}/` : '') +
    r.path +
    (r.tag !== undefined ? `:${r.tag}` : '') +
    (r.digest !== undefined ? `@${r.digest}` : '')
  );
}

function outcome(input: string): ReturnType<typeof parseReference> | CopaError {
  try {
    return parseReference(input);
  } catch (e) {
    if (e instanceof CopaError) return e;
    throw e; // anything else (TypeError, RangeError, a hang) is a bug
  }
}

describe('parseReference (property)', () => {
  it('parses every reference of the grammar into its parts, normalised like docker', () => {
    check(
      fc.property(reference, (r) => {
        const ref = parseReference(render(r));
        const docker = r.domain === undefined || r.domain === 'docker.io' || r.domain === 'index.docker.io';
        expect(ref.registry).toBe(docker ? 'docker.io' : r.domain);
        expect(ref.repository).toBe(docker && !r.path.includes('/') ? `library/${r.path}` : r.path);
        expect(ref.tag).toBe(r.tag);
        expect(ref.digest).toBe(r.digest);
      }),
    );
  });

  it('the full and the familiar form parse back to the same reference', () => {
    check(
      fc.property(reference, (r) => {
        const ref = parseReference(render(r));
        expect(parseReference(formatReference(ref))).toEqual(ref);
        // docker's FamiliarString drops docker.io/ even when the first path component then reads as a
        // host (docker.io/0.0/a -> 0.0/a); ours does the same, so only the other cases round-trip
        const first = ref.repository.split('/')[0] ?? '';
        const hostLike = ref.registry === 'docker.io' && (/[.:]/.test(first) || first === 'localhost');
        if (!hostLike) expect(parseReference(familiarString(ref))).toEqual(ref);
        expect(withDefaultTag(ref).tag).toBe(r.tag ?? (r.digest !== undefined ? undefined : 'latest'));
      }),
    );
  });

  it('any string: a reference, or one CopaError REFERENCE with a hint; never another error', () => {
    const near = reference.chain((r) =>
      fc.tuple(fc.constant(render(r)), fc.nat(), fc.string({ maxLength: 3 })).map(([s, at, junk]) => {
        const k = at % (s.length + 1);
        return s.slice(0, k) + junk + s.slice(k);
      }),
    );
    const input = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), near);
    check(
      fc.property(input, (s) => {
        const r = outcome(s);
        if (r instanceof CopaError) {
          expect(r.code).toBe('REFERENCE');
          expect(r.message).toContain('invalid image reference');
          expect(r.hint).toBeTruthy();
        } else {
          expect(parseReference(formatReference(r))).toEqual(r);
        }
      }),
      3,
    );
  });

  it('an uppercase letter in the repository path is refused', () => {
    const upper = fc
      .tuple(reference, fc.nat())
      .filter(([r]) => /[a-z]/.test(r.path))
      .map(([r, n]) => {
        const spots = [...r.path.matchAll(/[a-z]/g)].map((m) => m.index);
        const k = spots[n % spots.length] ?? 0;
        const slash = r.path.indexOf('/');
        // docker reads a first path component with an uppercase letter as a registry host
        const readAsHost = r.domain === undefined && slash !== -1 && k < slash;
        return {
          r: { ...r, path: r.path.slice(0, k) + r.path.charAt(k).toUpperCase() + r.path.slice(k + 1) },
          readAsHost,
        };
      })
      .filter(({ readAsHost }) => !readAsHost);
    check(
      fc.property(upper, ({ r }) => {
        const res = outcome(render(r));
        expect(res).toBeInstanceOf(CopaError);
        expect((res as CopaError).message).toMatch(/lowercase|invalid reference format/);
      }),
    );
  });
});
