/**
 * `npm run image -- [--docker-archive FILE] [--oci-dir DIR] [--push REF] …`: the copa container image, built
 * without a Dockerfile or build service — mmdebstrap root filesystem + official Node.js binary + copa's npm
 * package, assembled by copa's own OCI writer. See README "Container image".
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exitCodeFor, formatError } from '../../src/cli/exit.js';
import { CopaError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { debianMirrors } from '../../test/helpers/mirror.js';
import { assembleImage, push, writeArchiveFile, writeLayout } from './assemble.js';
import { rootfsLayer } from './rootfs.js';
import { appLayer, nodeLayer } from './runtime.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const USAGE = `usage: npm run image -- [--docker-archive FILE] [--oci-dir DIR] [--push REF] [--tag NAME:TAG]
  [--cache-dir DIR] [--node-version X.Y.Z] [--mirror URL --security-mirror URL] [--skip-build] [--json]`;

function usage(message: string): CopaError {
  return new CopaError('USAGE', message, { hint: USAGE });
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        'docker-archive': { type: 'string' },
        'oci-dir': { type: 'string' },
        push: { type: 'string' },
        tag: { type: 'string' },
        'cache-dir': { type: 'string' },
        'node-version': { type: 'string' },
        mirror: { type: 'string' },
        'security-mirror': { type: 'string' },
        'skip-build': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw usage((e as Error).message);
  }
  if (!parsed['docker-archive'] && !parsed['oci-dir'] && !parsed.push) {
    throw usage('say where the image goes: --docker-archive FILE, --oci-dir DIR and/or --push REF');
  }
  if ((parsed.mirror === undefined) !== (parsed['security-mirror'] === undefined)) {
    throw usage('give --mirror and --security-mirror together (or neither: the host apt sources are read)');
  }
  return parsed;
}

function defaultCacheDir(env = process.env): string {
  if (env.COPA_IMAGE_CACHE) return env.COPA_IMAGE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'copa-image');
}

function gitOut(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: REPO,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

const logger: Logger = {
  debug() {},
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
};

async function main(): Promise<void> {
  const opts = options();
  const started = Date.now();
  const cacheDir = resolve(opts['cache-dir'] ?? defaultCacheDir());
  const mirrors =
    opts.mirror && opts['security-mirror']
      ? { main: opts.mirror.replace(/\/+$/, ''), security: opts['security-mirror'].replace(/\/+$/, '') }
      : debianMirrors();
  const revision = gitOut(['rev-parse', 'HEAD']);
  const commitEpoch = Number(gitOut(['log', '-1', '--format=%ct']) ?? '0');
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? '') || commitEpoch || Math.floor(Date.now() / 1000);

  const t0 = Date.now();
  const rootfs = await rootfsLayer(cacheDir, mirrors);
  logger.info(`rootfs layer ${rootfs.cached ? 'cached' : 'built'} (${rootfs.key}) in ${secs(t0)}`);
  const t1 = Date.now();
  const nodeVersion = opts['node-version'] ?? process.versions.node;
  const node = await nodeLayer(cacheDir, nodeVersion, rootfs.epoch);
  logger.info(`node layer ${node.cached ? 'cached' : 'built'} (${nodeVersion}) in ${secs(t1)}`);
  const tmp = await mkdtemp(join(tmpdir(), 'copa-image-'));
  try {
    const t2 = Date.now();
    const app = await appLayer(REPO, tmp, epoch, { skipBuild: opts['skip-build'] });
    logger.info(`app layer ${app.name}@${app.version} in ${secs(t2)}`);
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const image = assembleImage([rootfs, node, app], {
      version: app.version,
      epoch,
      arch,
      ...(revision ? { revision } : {}),
    });
    const tag = opts.tag ?? `copa:${app.version}`;
    if (opts['docker-archive']) await writeArchiveFile(resolve(opts['docker-archive']), image, tag);
    if (opts['oci-dir']) await writeLayout(resolve(opts['oci-dir']), image, tag.split(':').pop() ?? 'latest');
    const pushed = opts.push ? await push(opts.push, image, logger) : undefined;
    const size = rootfs.size + node.size + app.size;
    const summary = {
      digest: await image.digest(),
      tag,
      version: app.version,
      compressedBytes: size,
      layers: [rootfs, node, app].map((l) => ({
        digest: l.digest,
        diffID: l.diffID,
        size: l.size,
        createdBy: l.createdBy,
      })),
      rootfsCached: rootfs.cached,
      nodeCached: node.cached,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      ...(pushed ? { pushed: `${opts.push}@${pushed}` } : {}),
    };
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else {
      const mb = (size / 1e6).toFixed(1);
      process.stdout.write(`${tag} ${summary.digest} (${mb} MB compressed) in ${summary.seconds}s\n`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function secs(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

try {
  await main();
} catch (e) {
  process.stderr.write(formatError(e, process.env.COPA_DEBUG === '1') + '\n');
  process.exitCode = exitCodeFor(e);
}
