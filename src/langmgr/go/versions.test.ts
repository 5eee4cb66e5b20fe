import { describe, expect, it } from 'vitest';
import { moduleDirOf, parseRequires } from './gomod.js';
import { goflags, imageGoEnv } from './session.js';
import { parseVcsUrl, repoFor } from './source.js';
import {
  badModulePath,
  compareGo,
  firstGoVersion,
  firstToolchain,
  isKubernetes,
  isRelease,
} from './versions.js';

describe('go names and versions', () => {
  it('validates module paths', () => {
    expect(badModulePath('golang.org/x/text')).toBeUndefined();
    expect(badModulePath('gopkg.in/yaml.v3')).toBeUndefined();
    for (const bad of ['stdlib', '-x/y', 'a/../b', 'a/b;rm', 'a/b c', '/abs/x', 'a//b'])
      expect(badModulePath(bad), bad).toBeDefined();
    expect(isKubernetes('k8s.io/kubernetes')).toBe(true);
    expect(isKubernetes('k8s.io/kubernetes/pkg/x')).toBe(true);
    expect(isKubernetes('k8s.io/client-go')).toBe(false);
  });

  it('reads versions: leading v added, first valid item of a list', () => {
    expect(firstGoVersion('0.3.8')).toBe('v0.3.8');
    expect(firstGoVersion('bogus, 0.17.0, 0.18.0')).toBe('v0.17.0');
    expect(firstGoVersion('v1.2')).toBeUndefined();
    expect(firstGoVersion('1.2.3;x')).toBeUndefined();
    expect(compareGo('v0.3.10', 'v0.3.8')).toBeGreaterThan(0);
    expect(compareGo('v0.0.0-20220722155237-a158d28d115b', 'v0.7.0')).toBeLessThan(0);
    expect(compareGo('v2.0.0+incompatible', 'v2.0.0')).toBe(0);
    expect(isRelease('v0.1.4')).toBe(true);
    expect(isRelease('(devel)')).toBe(false);
    expect(isRelease('v0.0.0-20220722155237-a158d28d115b')).toBe(false);
    expect(isRelease('v1.2.4-0.20220722155237-a158d28d115b')).toBe(false);
    expect(firstToolchain('1.21.11, 1.22.4')).toEqual([1, 21, 11]);
    expect(firstToolchain('go1.22')).toEqual([1, 22, 0]);
  });

  it('reads go.mod requirements and module dirs', () => {
    const mod =
      'module x\n\ngo 1.20\n\nrequire golang.org/x/text v0.3.0 // indirect\nrequire (\n\tgolang.org/x/net v0.1.0\n\t"example.com/q" v1.0.0\n)\nreplace a/b => ../b\n';
    expect([...parseRequires(mod)]).toEqual([
      ['golang.org/x/text', 'v0.3.0'],
      ['golang.org/x/net', 'v0.1.0'],
      ['example.com/q', 'v1.0.0'],
    ]);
    expect(moduleDirOf('app/go.mod')).toBe('/app');
    expect(moduleDirOf('/srv/app/')).toBe('/srv/app');
    expect(moduleDirOf('go.mod')).toBe('/');
  });

  it('parses --go-vcs-url for any https host, and repositories of module paths', () => {
    expect(parseVcsUrl('https://git.example.org/team/svc@v1.2.3')).toEqual({
      url: 'https://git.example.org/team/svc',
      ref: 'v1.2.3',
    });
    expect(parseVcsUrl('https://github.com/a/b')).toEqual({ url: 'https://github.com/a/b', ref: undefined });
    for (const bad of [
      'http://x/a/b',
      'https://x/a/b@-upload-pack',
      'https://x/a b',
      'ssh://git@x/a',
      'https://x/../b',
    ])
      expect(parseVcsUrl(bad), bad).toBeUndefined();
    expect(repoFor('github.com/a/b/v2/cmd/x')).toBe('https://github.com/a/b');
    expect(repoFor('golang.org/x/tools/gopls')).toBe('https://go.googlesource.com/tools');
    expect(repoFor('example.com/a/b')).toBeUndefined();
  });

  it('takes Go settings from the image env, minus flags that defeat the patch', () => {
    expect(imageGoEnv(['PATH=/x', 'GOPROXY=https://p.example', 'GOFLAGS=-mod=vendor -tags=x'])).toEqual({
      GOPROXY: 'https://p.example',
      GOFLAGS: '-mod=vendor -tags=x',
    });
    expect(goflags('-mod=vendor -buildvcs=false -tags=x')).toBe('-tags=x -modcacherw');
    expect(goflags(undefined)).toBe('-modcacherw');
  });
});

describe('go environment', () => {
  it('flags/host env beat the image env; caches stay in the tooling scratch dir', async () => {
    const { goEnvironment } = await import('./session.js');
    const env = goEnvironment(
      ['GOPROXY=https://image.invalid', 'GOPRIVATE=corp.example', 'GOFLAGS=-mod=vendor -tags=x'],
      {
        GOPROXY: 'https://flag.invalid',
      },
    );
    expect(env).toMatchObject({
      GOPROXY: 'https://flag.invalid',
      GOPRIVATE: 'corp.example',
      GOFLAGS: '-tags=x -modcacherw',
      GOCACHE: '/tmp/copa-go/cache',
      GOMODCACHE: '/tmp/copa-go/gopath/pkg/mod',
      GOPATH: '/tmp/copa-go/gopath',
      GOENV: 'off',
    });
    expect(env.PATH?.startsWith('/usr/local/go/bin:')).toBe(true);
  });
});
