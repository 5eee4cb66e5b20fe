import { describe, expect, it } from 'vitest';
import { nameProblem, pickVersion } from './names.js';
import { normalizePath, placePackage } from './paths.js';
import { npmError, toolingImages } from './site.js';

describe('npm names and versions', () => {
  it.each(['minimist', '@babel/core', 'lodash.merge', 'a-b_c~d', 'json5'])('accepts %s', (n) => {
    expect(nameProblem(n)).toBeUndefined();
  });
  it.each([
    '',
    'Minimist',
    '../etc',
    '@scope/../x',
    '@scope/a/b',
    'a/b',
    '.hidden',
    '_under',
    '-rf',
    'a b',
    'a;rm',
    '@scope',
    'node_modules',
    'x'.repeat(215),
  ])('refuses %j', (n) => {
    expect(nameProblem(n)).toBeDefined();
  });
  it('takes the first valid semver of a comma list', () => {
    expect(pickVersion('1.2.6')).toBe('1.2.6');
    expect(pickVersion('bogus, 1.2.6, 2.0.0')).toBe('1.2.6');
    expect(pickVersion('v7.5.2')).toBe('7.5.2');
    expect(pickVersion('1.2')).toBeUndefined();
    expect(pickVersion('$(reboot)')).toBeUndefined();
  });
});

describe('where a reported package lives', () => {
  const roots = ['usr/local/lib/node_modules', 'usr/lib/node_modules'];
  it('app: direct and transitive copies, leading / accepted', () => {
    expect(placePackage('/app/node_modules/minimist/package.json', 'minimist', roots)).toEqual({
      kind: 'app',
      scope: 'app',
      display: '/app',
      reported: 'app/node_modules/minimist',
    });
    expect(placePackage('srv/web/node_modules/a/node_modules/@s/b/package.json', '@s/b', roots)).toEqual({
      kind: 'app',
      scope: 'srv/web',
      display: '/srv/web',
      reported: 'srv/web/node_modules/a/node_modules/@s/b',
    });
    expect(placePackage('app/package-lock.json', 'json5', roots)).toEqual({
      kind: 'app',
      scope: 'app',
      display: '/app',
    });
  });
  it('global packages, npm tree, npm and corepack themselves', () => {
    expect(placePackage('usr/local/lib/node_modules/semver/package.json', 'semver', roots)).toMatchObject({
      kind: 'global',
      scope: 'usr/local/lib/node_modules/semver',
      display: '/usr/local/lib/node_modules',
    });
    expect(
      placePackage('usr/local/lib/node_modules/npm/node_modules/ip/package.json', 'ip', roots),
    ).toMatchObject({
      kind: 'global',
      scope: 'usr/local/lib/node_modules/npm',
      reported: 'usr/local/lib/node_modules/npm/node_modules/ip',
    });
    expect(placePackage('usr/local/lib/node_modules/npm/package.json', 'npm', roots)).toHaveProperty('skip');
    expect(placePackage('usr/lib/node_modules/corepack/package.json', 'corepack', roots)).toHaveProperty(
      'skip',
    );
  });
  it('refuses odd paths', () => {
    expect(placePackage('app/../etc/node_modules/x/package.json', 'x', roots)).toHaveProperty('skip');
    expect(placePackage('', 'x', roots)).toHaveProperty('skip');
    expect(normalizePath('//a//b/')).toBe('a/b');
  });
});

describe('npm output and tooling images', () => {
  it('keeps the line that says what failed', () => {
    const err = [
      'npm ERR! code ETARGET',
      'npm ERR! notarget No matching version found for minimist@1.2.999.',
      'npm ERR! notarget In most cases you or one of your dependencies are requesting',
      'npm ERR! A complete log of this run can be found in: /tmp/.npm/_logs/x.log',
    ].join('\n');
    expect(npmError(err)).toBe('No matching version found for minimist@1.2.999.');
    expect(npmError('npm error code E404\nnpm error 404 Not Found - GET https://r/x')).toBe(
      '404 Not Found - GET https://r/x',
    );
  });
  it('node:<major>-alpine from NODE_VERSION, else lts', () => {
    expect(toolingImages(['PATH=/bin', 'NODE_VERSION=18.20.4'], [])[0]).toBe(
      'docker.io/library/node:18-alpine',
    );
    expect(toolingImages([], ['/bin/sh -c #(nop)  ENV NODE_VERSION=20.11.1'])[0]).toBe(
      'docker.io/library/node:20-alpine',
    );
    expect(toolingImages([], [])).toEqual(['docker.io/library/node:lts-alpine']);
  });
});
