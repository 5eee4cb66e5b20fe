import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildArgs, depVersion, parseGoVersionM, reproducedSettings, unquote } from './buildinfo.js';
import { checkRebuilt, getArgs, packageDir } from './rebuild.js';

const text = readFileSync(new URL('./testdata/go-version-m.txt', import.meta.url), 'utf8');

describe('go version -m output', () => {
  const [hey, svc] = parseGoVersionM(text);

  it('reads path, main module, deps, replacements and build settings', () => {
    expect(hey?.file).toBe('bin2/hey');
    expect(hey?.goVersion).toBe('go1.26.8');
    expect(hey?.path).toBe('github.com/rakyll/hey');
    expect(hey?.main).toMatchObject({ path: 'github.com/rakyll/hey', version: 'v0.1.4' });
    expect(hey?.deps.map((d) => `${d.path}@${d.version}`)).toEqual([
      'golang.org/x/net@v0.0.0-20181017193950-04a2e542c03f',
      'golang.org/x/text@v0.3.0',
    ]);
    expect(hey?.settings.get('-ldflags')).toBe('-s -w -X main.usage=x');
    expect(hey?.settings.get('CGO_ENABLED')).toBe('0');
    expect(svc?.main.version).toBe('(devel)');
    expect(depVersion(svc!, 'golang.org/x/crypto')?.replace).toMatchObject({
      path: 'github.com/fork/crypto',
      version: 'v0.14.1',
    });
    expect(depVersion(svc!, 'github.com/fork/crypto')?.path).toBe('golang.org/x/crypto');
    expect(svc?.settings.get('"-weird key"')).toBeUndefined();
    expect(svc?.settings.get('-weird key')).toBe('1');
  });

  it('ignores error lines and files without build info', () => {
    expect(parseGoVersionM('/bin/sh: could not read Go build info\n\tpath\tx\n')).toEqual([]);
  });

  it('turns the settings back into go build flags and env', () => {
    expect(buildArgs(hey!)).toEqual({
      flags: ['-buildmode=exe', '-compiler=gc', '-ldflags=-s -w -X main.usage=x', '-tags=netgo'],
      env: { CGO_ENABLED: '0', GOARCH: 'amd64', GOOS: 'linux', GOAMD64: 'v1' },
    });
    expect(buildArgs(svc!).flags).toEqual(['-trimpath']);
    expect([...reproducedSettings(svc!).keys()]).toEqual(['-trimpath']);
  });

  it('unquotes Go strings', () => {
    expect(unquote('"a\\tb\\"c\\x41\\u00e9"')).toBe('a\tb"cAé');
    expect(unquote('plain')).toBe('plain');
  });

  it('finds the package dir, go get / replace arguments', () => {
    expect(packageDir(hey!)).toBe('.');
    expect(packageDir(svc!)).toBe('./cmd/svc');
    expect(getArgs(svc!, new Map([['golang.org/x/crypto', 'v0.17.0']]))).toEqual({
      get: [],
      replace: ['-replace=golang.org/x/crypto=github.com/fork/crypto@v0.17.0'],
    });
    expect(() => getArgs(svc!, new Map([['example.com/local', 'v1.0.0']]))).toThrow(/local directory/);
    expect(getArgs(hey!, new Map([['golang.org/x/text', 'v0.3.8']])).get).toEqual([
      'golang.org/x/text@v0.3.8',
    ]);
  });

  it('checks a rebuilt binary: deps at the fix, same module version and settings', () => {
    const plan = { file: 'x', info: hey!, deps: new Map([['golang.org/x/text', 'v0.3.8']]) };
    const good = parseGoVersionM(text.replace('golang.org/x/text\tv0.3.0', 'golang.org/x/text\tv0.3.8'))[0]!;
    expect(checkRebuilt(plan, good)).toEqual([]);
    const devel = parseGoVersionM(text.replace('hey\tv0.1.4', 'hey\t(devel)'))[0]!;
    expect(checkRebuilt(plan, devel).join()).toMatch(/main module version \(devel\).*x\/text v0.3.0/);
    const cgo = parseGoVersionM(
      good === undefined
        ? ''
        : text.replace('CGO_ENABLED=0', 'CGO_ENABLED=1').replace('x/text\tv0.3.0', 'x/text\tv0.4.0'),
    )[0]!;
    expect(checkRebuilt(plan, cgo)).toEqual(['build setting CGO_ENABLED=1 (was 0)']);
    expect(checkRebuilt({ ...plan, deps: new Map(), toolchain: [1, 27, 0] }, good)).toEqual([
      'toolchain go1.26.8 (wanted >= go1.27.0)',
    ]);
  });
});
