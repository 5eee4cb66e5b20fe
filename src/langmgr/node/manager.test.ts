import { describe, expect, it } from 'vitest';
import { CopaError } from '../../errors.js';
import { silentLogger } from '../../log.js';
import type { Executor } from '../../engine/types.js';
import type { UpdatePackage } from '../../report/types.js';
import type { LanguageContext } from '../types.js';
import { nodeManager } from './manager.js';

/** An image without npm holding an app and a global package; commands are refused (dry runs run none). */
function image(): Executor {
  const files = new Map<string, string>([
    ['/app/package.json', JSON.stringify({ name: 'web', version: '1.0.0' })],
    ['/app/node_modules/minimist/package.json', JSON.stringify({ name: 'minimist', version: '1.2.5' })],
    ['/usr/local/lib/node_modules/semver/package.json', JSON.stringify({ name: 'semver', version: '7.5.1' })],
    ['/usr/local/lib/node_modules/npm/package.json', JSON.stringify({ name: 'npm', version: '9.0.0' })],
  ]);
  return {
    created: [],
    bind: () => Promise.resolve(),
    run: () => Promise.resolve({ code: 127, stdout: '', stderr: 'not found' }),
    close: () => Promise.resolve(),
    readFile: (p) => Promise.resolve(files.has(p) ? Buffer.from(files.get(p) ?? '') : undefined),
    list: (p) => {
      const names = new Set<string>();
      for (const f of files.keys())
        if (f.startsWith(`${p}/`)) names.add(f.slice(p.length + 1).split('/')[0] ?? '');
      return Promise.resolve(names.size > 0 ? [...names].sort() : undefined);
    },
  };
}

function ctx(over: Partial<LanguageContext> = {}): LanguageContext {
  const exec = image();
  return {
    exec: () => exec,
    withTooling: () => Promise.reject(new Error('no tooling in unit tests')),
    withoutTooling: () => Promise.resolve(exec),
    toolEnv: () => Promise.resolve({}),
    indexes: {},
    image: { env: [], labels: {}, history: [], platform: { os: 'linux', architecture: 'amd64' } },
    logger: silentLogger,
    ignoreErrors: false,
    dryRun: true,
    signal: new AbortController().signal,
    ...over,
  };
}

const u = (name: string, fixedVersion: string, pkgPath: string): UpdatePackage => ({
  name,
  installedVersion: '0',
  fixedVersion,
  vulnerabilityID: 'CVE-1',
  type: 'node-pkg',
  pkgPath,
});

describe('node manager (dry run)', () => {
  it('plans app and global changes, skips npm itself and missing copies', async () => {
    const r = await nodeManager.patch(ctx(), [
      u('minimist', '1.2.6', '/app/node_modules/minimist/package.json'),
      u('minimist', '1.2.6', 'app/node_modules/minimist/package.json'), // same copy, other spelling
      u('semver', '7.5.2', 'usr/local/lib/node_modules/semver/package.json'),
      u('npm', '10.0.0', 'usr/local/lib/node_modules/npm/package.json'),
      u('json5', '1.0.2', 'app/node_modules/x/node_modules/json5/package.json'),
    ]);
    expect(r.changes).toEqual([
      { type: 'node-pkg', name: 'minimist', path: '/app', from: '1.2.5', to: '1.2.6' },
      { type: 'node-pkg', name: 'semver', path: '/usr/local/lib/node_modules', from: '7.5.1', to: '7.5.2' },
    ]);
    expect(r.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['npm', 'npm itself is not patched (only packages inside its tree)'],
      ['json5', 'not installed at /app/node_modules/x/node_modules/json5'],
    ]);
    expect(r.failed).toEqual([]);
  });

  it('a bad name or version: one error before anything runs, or failed entries with --ignore-errors', async () => {
    const bad = [
      u('Evil;rm', '1.0.0', 'app/node_modules/x/package.json'),
      u('minimist', 'latest', 'app/node_modules/minimist/package.json'),
    ];
    const err = await nodeManager.patch(ctx({ dryRun: false }), bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopaError);
    expect((err as CopaError).code).toBe('PACKAGE_NAME');
    expect((err as CopaError).message).toMatch(
      /invalid npm package name.*; minimist .*invalid version "latest"/,
    );
    const r = await nodeManager.patch(ctx({ ignoreErrors: true }), bad);
    expect(r.failed.map((f) => f.name)).toEqual(['Evil;rm', 'minimist']);
    expect(r.changes).toEqual([]);
  });
});
