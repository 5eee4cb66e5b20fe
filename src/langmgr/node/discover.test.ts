import { describe, expect, it } from 'vitest';
import type { Executor } from '../../engine/types.js';
import { findCopies, lookupPaths, missingDeps, planCopies } from './discover.js';

/** An executor over an in-memory tree: path -> package.json version (dirs implied). */
function fakeTree(pkgs: Record<string, string>): Executor {
  const files = new Map<string, string>();
  for (const [dir, v] of Object.entries(pkgs)) {
    const name = dir.split('/node_modules/').pop() ?? '';
    files.set(`/${dir}/package.json`, JSON.stringify({ name, version: v }));
  }
  return {
    created: [],
    bind: () => Promise.resolve(),
    run: () => Promise.reject(new Error('no commands here')),
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

const tree = fakeTree({
  'app/node_modules/minimist': '1.2.5',
  'app/node_modules/a/node_modules/minimist': '1.2.0',
  'app/node_modules/b/node_modules/minimist': '0.0.8',
  'app/node_modules/@s/c/node_modules/minimist': '1.2.6',
  'app/node_modules/json5': '2.2.1',
});

describe('copies of a package in an app', () => {
  it('finds every node_modules/**/<name>, scoped parents included', async () => {
    expect(await findCopies(tree, 'app', 'minimist')).toEqual([
      'app/node_modules/@s/c/node_modules/minimist',
      'app/node_modules/a/node_modules/minimist',
      'app/node_modules/b/node_modules/minimist',
      'app/node_modules/minimist',
    ]);
  });
  it('replaces the reported copy and caret-compatible older ones, not other majors or newer ones', async () => {
    const target = {
      kind: 'app' as const,
      scope: 'app',
      display: '/app',
      reported: 'app/node_modules/minimist',
    };
    const plan = await planCopies(tree, target, 'minimist', '1.2.6');
    expect(plan.copies).toEqual([
      { dir: 'app/node_modules/minimist', from: '1.2.5' },
      { dir: 'app/node_modules/a/node_modules/minimist', from: '1.2.0' },
    ]);
    const gone = { ...target, reported: 'app/node_modules/x/node_modules/minimist' };
    expect((await planCopies(fakeTree({}), gone, 'minimist', '1.2.6')).reason).toMatch(/not installed/);
    expect((await planCopies(tree, target, 'minimist', '1.2.5')).reason).toMatch(/already at 1.2.5/);
  });
  it('checks the new version’s dependencies the way node resolves them', async () => {
    expect(lookupPaths('app/node_modules/a/node_modules/b', 'x')).toEqual([
      'app/node_modules/a/node_modules/b/node_modules/x',
      'app/node_modules/a/node_modules/x',
      'app/node_modules/x',
      'node_modules/x',
    ]);
    const dir = 'app/node_modules/a/node_modules/minimist';
    expect(await missingDeps(tree, dir, { json5: '^2.0.0', minimist: '^1.2.0' }, {})).toEqual([]);
    expect(await missingDeps(tree, dir, { json5: '^1.0.0', nope: '1', opt: '1' }, { opt: '1' })).toEqual([
      'json5@^1.0.0 is needed but 2.2.1 is installed',
      'nope@1 is not installed',
    ]);
  });
});
