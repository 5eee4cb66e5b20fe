import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate, pickChallenge } from './challenge.js';

describe('parseWwwAuthenticate', () => {
  const cases: [string, ReturnType<typeof parseWwwAuthenticate>][] = [
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/debian:pull',
          },
        },
      ],
    ],
    // scopes with commas inside quotes, spaces around separators, upper-case names
    [
      'Bearer Realm = "https://r/token" , Service="svc", scope="repository:a/b:pull,push",error="insufficient_scope"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://r/token',
            service: 'svc',
            scope: 'repository:a/b:pull,push',
            error: 'insufficient_scope',
          },
        },
      ],
    ],
    // unquoted token values and escaped quotes
    ['Basic realm=test, charset="UTF-8"', [{ scheme: 'basic', params: { realm: 'test', charset: 'UTF-8' } }]],
    ['Basic realm="say \\"hi\\""', [{ scheme: 'basic', params: { realm: 'say "hi"' } }]],
    // two challenges in one header
    [
      'Basic realm="a", Bearer realm="https://t/token",service="s"',
      [
        { scheme: 'basic', params: { realm: 'a' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
      ],
    ],
    // token68 form, then another challenge
    [
      'Negotiate abc123==, Basic realm="x"',
      [
        { scheme: 'negotiate', params: { token68: 'abc123==' } },
        { scheme: 'basic', params: { realm: 'x' } },
      ],
    ],
    ['Bearer', [{ scheme: 'bearer', params: {} }]],
    ['', []],
  ];
  it.each(cases)('%s', (header, expected) => {
    expect(parseWwwAuthenticate(header)).toEqual(expected);
  });

  it('accepts several header values', () => {
    expect(parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme)).toEqual([
      'basic',
      'bearer',
    ]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
  });

  it('does not loop forever on garbage', () => {
    expect(parseWwwAuthenticate('=,=, "x" ;;').every((c) => typeof c.scheme === 'string')).toBe(true);
  });
});

describe('pickChallenge', () => {
  it('prefers Bearer over Basic and ignores other schemes', () => {
    expect(pickChallenge(parseWwwAuthenticate('Basic realm="a", Bearer realm="b"'))?.scheme).toBe('bearer');
    expect(pickChallenge(parseWwwAuthenticate('Basic realm="a"'))?.scheme).toBe('basic');
    expect(pickChallenge(parseWwwAuthenticate('Negotiate abc'))).toBeUndefined();
  });
});
