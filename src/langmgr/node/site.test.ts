import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor, RunResult } from '../../engine/types.js';
import { npmPack, replacePackages, tarballName, type Site } from './site.js';

/** An executor whose commands run on this machine (paths are host paths: prefix ''); `fake` answers first. */
function hostExec(fake?: (argv: string[]) => RunResult | undefined): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    created: [],
    bind: () => Promise.resolve(),
    run: (argv, opts) => {
      calls.push(argv);
      const f = fake?.(argv);
      if (f) return Promise.resolve(f);
      const r = spawnSync(argv[0] ?? '', argv.slice(1), {
        env: opts?.env ?? {},
        encoding: 'utf8',
        ...(opts?.stdin !== undefined ? { input: opts.stdin } : {}),
      });
      return Promise.resolve({ code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr });
    },
    close: () => Promise.resolve(),
    readFile: (p) => readFile(p).catch(() => undefined),
    list: (p) =>
      readdir(p).then(
        (n) => n.sort(),
        () => undefined,
      ),
  };
}

const site = (exec: Executor): Site => ({
  exec,
  where: 'image',
  prefix: '',
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
});

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'copa-node-site-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('one replacement script for every copy', () => {
  it('replaces files, keeps nested node_modules, marks bins executable, reports each copy', async () => {
    const pkg = join(tmp, 'src/package');
    await mkdir(join(pkg, 'bin'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), '{"name":"a","version":"2.0.0"}');
    await writeFile(join(pkg, 'bin/a.js'), '#!/usr/bin/env node\n');
    await chmod(join(pkg, 'bin/a.js'), 0o644);
    const tgz = join(tmp, 'a-2.0.0.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', join(tmp, 'src'), 'package']);

    const copy = async (dir: string) => {
      await mkdir(join(dir, 'node_modules/dep'), { recursive: true });
      await writeFile(join(dir, 'package.json'), '{"name":"a","version":"1.0.0"}');
      await writeFile(join(dir, 'old.js'), 'old');
      await writeFile(join(dir, 'node_modules/dep/index.js'), 'dep');
    };
    const one = join(tmp, 'app/node_modules/a');
    const two = join(tmp, 'app/node_modules/x/node_modules/a');
    await copy(one);
    await copy(two);
    await symlink(one, join(tmp, 'link'));
    const exec = hostExec();
    const out = await replacePackages(site(exec), join(tmp, 'stage'), [
      { tgz, dir: one.slice(1), bins: ['bin/a.js'] },
      { tgz, dir: join(tmp, 'link').slice(1), bins: [] },
      { tgz: join(tmp, 'missing.tgz'), dir: two.slice(1), bins: ['bin/a.js'] },
      { tgz, dir: two.slice(1), bins: ['bin/a.js', 'bin/none.js'] },
    ]);
    expect(exec.calls).toHaveLength(1);
    expect(out[0]).toBeUndefined();
    expect(out[1]).toMatch(/link is not a directory$/);
    expect(out[2]).toMatch(/missing\.tgz/);
    expect(out[3]).toBeUndefined();
    for (const dir of [one, two]) {
      expect((await readdir(dir)).sort()).toEqual(['bin', 'node_modules', 'package.json']);
      expect(await readFile(join(dir, 'node_modules/dep/index.js'), 'utf8')).toBe('dep');
      expect((await stat(join(dir, 'bin/a.js'))).mode & 0o111).toBe(0o111);
    }
    expect(await readdir(tmp)).not.toContain('stage');
    expect(await replacePackages(site(exec), join(tmp, 'stage'), [])).toEqual([]);
    expect(exec.calls).toHaveLength(1);
  });
});

describe('one npm pack for every spec', () => {
  const specs = [
    { name: 'minimist', version: '1.2.6' },
    { name: '@s/b', version: '1.0.0' },
    { name: 'c', version: '3.0.0' },
  ];
  it('maps npm --json output (npm 9 shape) to the specs; a tarball npm did not write is an error', async () => {
    const dir = join(tmp, 'pack1');
    await mkdir(dir);
    for (const f of ['minimist-1.2.6.tgz', 's-b-1.0.0.tgz']) await writeFile(join(dir, f), '');
    // npm 9 lists in argument order; here reordered to show that name + version decide
    const json = JSON.stringify([
      { id: '@s/b@1.0.0', name: '@s/b', version: '1.0.0', filename: 's-b-1.0.0.tgz' },
      { id: 'minimist@1.2.6', name: 'minimist', version: '1.2.6', filename: 'minimist-1.2.6.tgz' },
      { id: 'c@3.0.0', name: 'c', version: '3.0.0', filename: 'c-3.0.0.tgz' },
    ]);
    const exec = hostExec((argv) =>
      argv.includes('npm') ? { code: 0, stdout: `> noise\n${json}\n`, stderr: '' } : undefined,
    );
    const r = await npmPack(site(exec), dir, specs);
    expect(exec.calls).toHaveLength(1);
    expect(exec.calls[0]?.slice(-5)).toEqual(['pack', '--json', 'minimist@1.2.6', '@s/b@1.0.0', 'c@3.0.0']);
    expect(r).toEqual({
      files: [
        { file: `${dir}/minimist-1.2.6.tgz` },
        { file: `${dir}/s-b-1.0.0.tgz` },
        { error: 'npm pack c@3.0.0 wrote no tarball' },
      ],
    });
    expect(tarballName({ name: '@s/b', version: '1.0.0' })).toBe('s-b-1.0.0.tgz');
  });

  it('without JSON: the names npm gives its tarballs', async () => {
    const dir = join(tmp, 'pack2');
    await mkdir(dir);
    await writeFile(join(dir, 'c-3.0.0.tgz'), '');
    const exec = hostExec((argv) =>
      argv.includes('npm') ? { code: 0, stdout: 'c-3.0.0.tgz\n', stderr: '' } : undefined,
    );
    const r = await npmPack(site(exec), dir, [specs[2]!]);
    expect(r).toEqual({ files: [{ file: `${dir}/c-3.0.0.tgz` }] });
  });

  it('npm failing vs npm not running', async () => {
    const dir = join(tmp, 'pack3');
    const fails = (code: number, stderr: string) =>
      npmPack(
        site(hostExec((argv) => (argv.includes('npm') ? { code, stdout: '', stderr } : undefined))),
        dir,
        specs,
      );
    expect(
      await fails(1, 'npm ERR! code ETARGET\nnpm ERR! notarget No matching version found for c@3.0.0.\n'),
    ).toEqual({ error: 'No matching version found for c@3.0.0.', npm: true });
    expect(await fails(1, 'npm error code E404\nnpm error 404 Not Found - GET x\n')).toMatchObject({
      npm: true,
    });
    expect(await fails(127, "env: 'node': No such file or directory\n")).toEqual({
      error: "env: 'node': No such file or directory",
      npm: false,
    });
    expect(await fails(1, 'ERROR: npm v9 is known not to run on Node.js v10\n')).toMatchObject({
      npm: false,
    });
    // really missing: the shell's own 127 (a PATH with sh and mkdir only)
    const bin = join(tmp, 'bin');
    await mkdir(bin);
    for (const t of ['sh', 'mkdir'])
      await symlink(execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(bin, t));
    const none = await npmPack({ ...site(hostExec()), env: { PATH: bin } }, dir, specs);
    expect(none).toMatchObject({ npm: false });
  });
});
