import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ContenderResult } from './stats.js';
import { LOCK_JS, nodeFloorCommand } from './w6-floor.js';
import { GZ6, w6Targets } from './w6-targets.js';

const LIBS = [
  { name: 'minimist', to: '1.2.6', path: 'app/node_modules/minimist/package.json' },
  { name: 'json5', to: '1.0.2', path: 'app/node_modules/loader-utils/node_modules/json5/package.json' },
  { name: 'semver', to: '7.5.2', path: 'usr/local/lib/node_modules/semver/package.json' },
];

describe('nodeFloorCommand', () => {
  it('packs every version once, replaces each dir, edits the app lock files only', () => {
    const cmd = nodeFloorCommand(LIBS);
    expect(cmd).toContain("npm pack --json 'minimist@1.2.6' 'json5@1.0.2' 'semver@7.5.2' > /tmp/packs.json");
    expect(cmd).toContain("rep '/tmp/json5-1.0.2.tgz' '/app/node_modules/loader-utils/node_modules/json5'");
    expect(cmd).toContain("rep '/tmp/semver-7.5.2.tgz' '/usr/local/lib/node_modules/semver'");
    const lock = cmd.split('\n').filter((l) => l.startsWith('node -e'));
    expect(lock).toHaveLength(1);
    expect(lock[0]).toMatch(
      /\/tmp\/packs\.json '\/app' 'node_modules\/minimist=minimist' 'node_modules\/loader-utils\/node_modules\/json5=json5'$/,
    );
  });

  it('scoped names: the tarball is named as npm writes it', () => {
    const cmd = nodeFloorCommand([{ name: '@a/b', to: '1.0.0', path: 'srv/node_modules/@a/b/package.json' }]);
    expect(cmd).toContain("rep '/tmp/a-b-1.0.0.tgz' '/srv/node_modules/@a/b'");
  });
});

describe('LOCK_JS', () => {
  it('sets version, integrity and resolved of the named lock entries, nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w6-lock-'));
    try {
      const packs = [{ name: 'json5', version: '1.0.2', integrity: 'sha512-new' }];
      await writeFile(join(dir, 'packs.json'), JSON.stringify(packs));
      const url = (v: string) => `https://registry.example/json5/-/json5-${v}.tgz`;
      const lock = {
        lockfileVersion: 3,
        packages: {
          'node_modules/json5': { version: '2.2.1', resolved: url('2.2.1'), integrity: 'sha512-top' },
          'node_modules/x/node_modules/json5': { version: '1.0.1', resolved: url('1.0.1'), integrity: 'old' },
        },
      };
      await writeFile(join(dir, 'package-lock.json'), JSON.stringify(lock));
      execFileSync(process.execPath, [
        '-e',
        LOCK_JS,
        join(dir, 'packs.json'),
        dir,
        'node_modules/x/node_modules/json5=json5',
      ]);
      const out = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as typeof lock;
      expect(out.packages['node_modules/x/node_modules/json5']).toEqual({
        version: '1.0.2',
        resolved: url('1.0.2'),
        integrity: 'sha512-new',
      });
      expect(out.packages['node_modules/json5']).toEqual(lock.packages['node_modules/json5']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function result(id: string, wallS: number, layer: number): ContenderResult {
  return {
    id,
    label: id,
    family: id.startsWith('floor') ? 'floor' : 'copa',
    temperature: 'warm',
    image: 'w6',
    workload: 'w6',
    rounds: [1, 2, 3].map((round) => ({
      round,
      sample: { wallS: wallS * round, userS: 1, sysS: 0, cpuS: 1, rssMiB: 50 },
      traffic: { pulled: 0, pushed: 0, requests: 0 },
      layer: { compressed: layer, uncompressed: layer * 3 },
      ...(id.startsWith('floor') ? { detail: { [GZ6]: 0.8 } } : {}),
    })),
  };
}

describe('w6Targets', () => {
  it('nothing when no W6 row ran', () => {
    expect(w6Targets([])).toEqual([]);
  });

  it('median wall ÷ floor ≤ 1.3 and layer ÷ floor changes ≤ 1.0, per ecosystem', () => {
    const t = w6Targets([
      result('copa-w6-python-warm', 2.4, 900),
      result('floor-w6-python', 2, 1000),
      result('copa-w6-node-warm', 3, 2048),
    ]);
    expect(t.map((x) => [x.name, x.met])).toEqual([
      ['W6 python warm ≤ 1.3× its floor (wall)', true],
      ["W6 python new layer ≤ 1.0× the floor's changed files (gzip -1)", true],
      ['W6 node warm ≤ 1.3× its floor (wall)', undefined],
      ["W6 node new layer ≤ 1.0× the floor's changed files (gzip -1)", undefined],
    ]);
    expect(t[0]?.measured).toBe('1.20× wall (4.80 s vs 4.00 s; 1.00× CPU)');
    expect(t[1]?.measured).toBe('0.90× (0.9 KiB vs 1.0 KiB; 0.8 KiB at gzip -6)');
    expect(t[2]?.measured).toBe('n/a');
  });
});
