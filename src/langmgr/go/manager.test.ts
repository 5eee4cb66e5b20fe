import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { silentLogger } from '../../log.js';
import type { Executor, RunOptions, RunResult } from '../../engine/types.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext } from '../types.js';
import { goManager } from './manager.js';

const heyInfo = readFileSync(new URL('./testdata/go-version-m.txt', import.meta.url), 'utf8')
  .split('\n')
  .slice(0, 13)
  .join('\n')
  .replace('bin2/hey', '/tmp/copa-target/usr/local/bin/hey');
const GO_MOD = 'module example.com/app\n\ngo 1.17\n\nrequire golang.org/x/text v0.3.0\n';

/** An executor that answers the commands the manager runs while planning (nothing is built). */
function fakeExec(calls: string[][]): Executor {
  const files = new Set(['/tmp/copa-target/usr/local/bin/hey']);
  const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });
  return {
    created: [],
    bind: () => Promise.resolve(),
    run(argv: string[], opts?: RunOptions): Promise<RunResult> {
      calls.push(argv);
      expect(opts?.in).toBe('tooling');
      expect(opts?.env?.GOMODCACHE).toBe('/tmp/copa-go/gopath/pkg/mod');
      const a = argv.join(' ');
      if (a === 'go version') return Promise.resolve(ok('go version go1.26.8 linux/amd64\n'));
      if (a.startsWith('go version -m -- ')) return Promise.resolve(ok(heyInfo + '\n'));
      if (argv[0] === 'readlink') return Promise.resolve({ code: 1, stdout: '', stderr: '' });
      if (argv[0] === 'test')
        return Promise.resolve({ code: files.has(argv[2]!) ? 0 : 1, stdout: '', stderr: '' });
      if (argv[0] === 'mkdir' || argv[0] === 'rm') return Promise.resolve(ok());
      throw new Error(`unexpected command in a dry run: ${a}`);
    },
    readFile: (path: string) =>
      Promise.resolve(path === '/tmp/copa-target/app/go.mod' ? Buffer.from(GO_MOD) : undefined),
    list: () => Promise.resolve(undefined),
    close: () => Promise.resolve(),
  };
}

function context(over: Partial<LanguageContext> = {}): {
  ctx: LanguageContext;
  calls: string[][];
  tooling: string[][];
} {
  const calls: string[][] = [];
  const tooling: string[][] = [];
  const exec = fakeExec(calls);
  const ctx: LanguageContext = {
    exec: () => exec,
    withTooling: (candidates) => {
      tooling.push(candidates);
      return Promise.resolve(exec);
    },
    withoutTooling: () => Promise.resolve(exec),
    toolEnv: () => Promise.resolve({ GOPROXY: 'https://proxy.invalid' }),
    indexes: {},
    image: {
      env: ['GOPROXY=https://image.invalid', 'GOFLAGS=-mod=vendor'],
      labels: {},
      history: [],
      platform: { os: 'linux', architecture: 'amd64' },
    },
    logger: silentLogger,
    ignoreErrors: true,
    dryRun: true,
    signal: new AbortController().signal,
    ...over,
  };
  return { ctx, calls, tooling };
}

const u = (name: string, fixedVersion: string, pkgPath: string, type = 'gobinary'): UpdatePackage => ({
  name,
  installedVersion: 'v0.0.1',
  fixedVersion,
  vulnerabilityID: 'CVE-1',
  type,
  pkgPath,
});

describe('go manager (planning, fake tooling root)', () => {
  it('plans a rebuild per binary; skips stdlib without --toolchain-patch-level, kubernetes, fixed and absent modules', async () => {
    const { ctx, tooling, calls } = context();
    const r = await goManager.patch(ctx, [
      u('golang.org/x/text', '0.3.7, 0.3.8', 'usr/local/bin/hey'),
      u('golang.org/x/text', '0.3.8', 'usr/local/bin/hey'),
      u('golang.org/x/net', '0.0.0-20180101000000-000000000000', 'usr/local/bin/hey'),
      u('golang.org/x/crypto', '0.17.0', 'usr/local/bin/hey'),
      u('github.com/rakyll/hey', '0.1.5', 'usr/local/bin/hey'),
      u('stdlib', '1.27.1', 'usr/local/bin/hey'),
      u('k8s.io/kubernetes', '1.30.1', 'usr/local/bin/hey'),
      u('golang.org/x/text', '0.3.8', 'usr/bin/missing'),
      u('bad;name/x', '1.0.0', 'usr/local/bin/hey'),
      u('golang.org/x/text', '0.3.8', 'app/go.mod', 'gomod'),
    ]);
    expect(tooling).toEqual([['docker.io/library/golang:1']]);
    expect(r.changes).toEqual([
      {
        type: 'gobinary',
        name: 'golang.org/x/text',
        path: 'usr/local/bin/hey',
        from: 'v0.3.0',
        to: 'v0.3.8',
      },
      { type: 'gomod', name: 'golang.org/x/text', path: 'app/go.mod', from: 'v0.3.0', to: 'v0.3.8' },
    ]);
    expect(r.skipped.map((s) => `${s.name} ${s.path}: ${s.reason}`)).toEqual([
      expect.stringMatching(/^stdlib .*--toolchain-patch-level/),
      expect.stringMatching(/^k8s.io\/kubernetes .*not updated/),
      expect.stringMatching(/^golang.org\/x\/net .*already at v0.0.0-20181017193950/),
      expect.stringMatching(/^golang.org\/x\/crypto .*does not embed/),
      expect.stringMatching(/^github.com\/rakyll\/hey .*main module itself/),
      expect.stringMatching(/^golang.org\/x\/text usr\/bin\/missing: no Go binary/),
    ]);
    expect(r.failed.map((f) => [f.name, f.reason])).toEqual([
      ['bad;name/x', expect.stringMatching(/not a usable module path/)],
    ]);
    expect(calls.some((c) => c.includes('build'))).toBe(false);
    expect(calls.at(-1)).toEqual(['rm', '-rf', '--', '/tmp/copa-go']);
  });

  it('plans a stdlib rebuild with --toolchain-patch-level when the binary was built with an older Go', async () => {
    const { ctx } = context({ toolchainPatchLevel: 'patch' });
    const r = await goManager.patch(ctx, [
      u('stdlib', 'v1.27.1, 1.28.0', 'usr/local/bin/hey'),
      u('stdlib', '1.26.2', '/usr/local/bin/hey'),
    ]);
    expect(r.changes).toEqual([
      { type: 'gobinary', name: 'stdlib', path: 'usr/local/bin/hey', from: 'go1.26.8', to: 'go1.27.1' },
    ]);
    expect(r.skipped).toEqual([
      { name: 'stdlib', path: '/usr/local/bin/hey', reason: 'built with go1.26.8 already' },
    ]);
  });

  it('without --ignore-errors a bad entry is a CopaError before any tooling is opened', async () => {
    const { ctx, tooling } = context({ ignoreErrors: false });
    const err = await goManager
      .patch(ctx, [u('-x/y', '1.0.0', 'usr/local/bin/hey')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('PACKAGE_NAME');
    expect(tooling).toEqual([]);
  });

  it('falls back to go.mod of the module dirs when no binary can be rebuilt', async () => {
    const { ctx } = context();
    const r = await goManager.patch(ctx, [u('golang.org/x/text', '0.3.8', 'usr/bin/missing')]);
    expect(r.changes).toEqual([
      { type: 'gomod', name: 'golang.org/x/text', path: 'app/go.mod', from: 'v0.3.0', to: 'v0.3.8' },
    ]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['no Go binary with build info at this path']);
  });

  it('opens no tooling image when every entry is skipped', async () => {
    const { ctx, tooling } = context();
    const r = await goManager.patch(ctx, [
      u('stdlib', '1.22.4', 'app'),
      u('k8s.io/kubernetes', '1.30.1', 'app'),
    ]);
    expect(r.skipped).toHaveLength(2);
    expect(tooling).toEqual([]);
  });
});
