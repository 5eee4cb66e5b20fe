import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../test/helpers/exec.js';
import { removeTree } from '../test/helpers/upgradable.js';
import { layerNames, LAYER_FLOOR, PULL_FLOOR, seconds } from './phase-floors.js';
import { pushedLayers } from './pushed.js';
import { onPath } from './tools.js';

/**
 * Floors measured inside our rows' profile() run, beside its phases (bench/phase-floors.ts names them):
 * - pull + extract: the source image's layer blobs fetched from the bench registry (not the counting proxy)
 *   and extracted, all layers at once, each `curl -s URL | tar -xz -C <its own dir>`;
 * - layer write: the entries of our new layer (`layer.tar.gz` in the kept --debug work dir), tarred from the
 *   upperdir beside it (whiteouts are the character devices there) and gzipped at level 1, to /dev/null.
 * Only the commands are timed (manifest reads, listings and mkdirs are not).
 */

const TAR_FLAGS: Record<string, string[]> = { gzip: ['-z'], zstd: ['--zstd'], tar: [] };

/** `tar -x` flags for a layer media type (…tar+gzip, ….tar.gzip, …tar+zstd, …tar). */
export function tarFlags(mediaType: string): string[] {
  const kind = /gzip$/.test(mediaType) ? 'gzip' : /zstd$/.test(mediaType) ? 'zstd' : 'tar';
  return TAR_FLAGS[kind] ?? [];
}

/** Seconds to fetch and extract every layer of repository:reference at once; undefined without curl. */
export async function pullExtractFloor(
  registryHost: string,
  repository: string,
  reference: string,
  scratch: string,
): Promise<number | undefined> {
  if (!onPath('curl', process.env.PATH)) return undefined;
  const layers = await pushedLayers(registryHost, repository, reference);
  const dir = join(scratch, 'pull-floor');
  const dirs = layers.map((_, i) => join(dir, `layer-${i}`));
  for (const d of dirs) await mkdir(d, { recursive: true });
  try {
    const t0 = performance.now();
    await Promise.all(
      layers.map((l, i) =>
        run('bash', [
          '-c',
          'set -o pipefail; curl -sf "$1" | tar -x "${@:3}" -C "$2"',
          'bash',
          `http://${registryHost}/v2/${repository}/blobs/${l.digest}`,
          dirs[i] ?? dir,
          ...tarFlags(l.mediaType),
        ]),
      ),
    );
    return seconds(t0, performance.now());
  } finally {
    await removeTree(dir);
  }
}

/** The `layer.tar.gz` our CLI wrote under a kept --debug work dir (it sits in a per-run dir beside `upper`). */
export async function findLayerFile(work: string, depth = 3): Promise<string | undefined> {
  const entries = await readdir(work, { withFileTypes: true }).catch(() => []);
  if (entries.some((e) => e.isFile() && e.name === 'layer.tar.gz')) return join(work, 'layer.tar.gz');
  if (depth === 0) return undefined;
  for (const e of entries) {
    // skip the trees themselves
    if (!e.isDirectory() || ['upper', 'merged', 'work', 'pkgcache'].includes(e.name)) continue;
    const found = await findLayerFile(join(work, e.name), depth - 1);
    if (found) return found;
  }
  return undefined;
}

/** Seconds of `tar -C upper --no-recursion -T names | gzip -1 > /dev/null` over our layer's entries. */
export async function layerWriteFloor(
  work: string,
  scratch: string,
  log: (m: string) => void,
): Promise<number | undefined> {
  const layer = await findLayerFile(work);
  if (!layer) {
    log(`no layer.tar.gz under ${work}: no layer floor`);
    return undefined;
  }
  const upper = join(dirname(layer), 'upper');
  const listing = await run('tar', ['-tzf', layer, '--quoting-style=literal']);
  const names: string[] = [];
  let missing = 0;
  for (const n of layerNames(listing.stdout)) {
    if (
      await lstat(join(upper, n)).then(
        () => true,
        () => false,
      )
    )
      names.push(n);
    else missing++;
  }
  if (missing > 0) log(`layer floor: ${missing} entries of our layer are not in ${upper} (left out)`);
  await mkdir(scratch, { recursive: true });
  const list = join(scratch, 'layer-floor-names.txt');
  await writeFile(list, names.map((n) => `${n}\n`).join(''));
  const t0 = performance.now();
  await run('bash', [
    '-c',
    'set -o pipefail; tar -C "$1" --no-recursion --verbatim-files-from --no-unquote -T "$2" -cf - | gzip -1 > /dev/null',
    'bash',
    upper,
    list,
  ]);
  return seconds(t0, performance.now());
}

/** Both floors of a profile run as phases (pull + extract only when `source` is given: cold rows). */
export async function profileFloors(opts: {
  work: string;
  scratch: string;
  registryHost: string;
  source?: { repository: string; reference: string };
  log: (m: string) => void;
}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const layer = await layerWriteFloor(opts.work, opts.scratch, opts.log);
  if (layer !== undefined) out[LAYER_FLOOR] = layer;
  if (opts.source) {
    const pull = await pullExtractFloor(
      opts.registryHost,
      opts.source.repository,
      opts.source.reference,
      opts.scratch,
    );
    if (pull === undefined) opts.log('curl not found: no pull + extract floor (n/a)');
    else out[PULL_FLOOR] = pull;
  }
  return out;
}
