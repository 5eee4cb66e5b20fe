import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { IndexSchema, ManifestSchema, parseJson } from '../src/oci/schemas.js';
import { run } from '../test/helpers/exec.js';
import {
  cachedDir,
  ensureDebianFixture,
  fixtureCacheRoot,
  utcDate,
  type DebianFixture,
} from '../test/helpers/fixtures.js';
import { upgradablePackages, type Upgradable } from '../test/helpers/upgradable.js';
import {
  measureTextRatio,
  planDataLayer,
  writeDataLayerTar,
  type DataLayerPlan,
  type ImageSize,
} from './datalayer.js';

/**
 * The bench's images: the test fixture (debian:12-like, packages lagging bookworm-security) and a "10x"
 * image derived from it by one extra data layer. Both are cached on disk for the UTC day, like the fixture.
 */

export interface BenchImage {
  /** `small` or `10x` */
  name: string;
  layoutDir: string;
  refName: string;
  size: ImageSize;
  layers: number;
}

export interface BenchImages {
  fixture: DebianFixture;
  small: BenchImage;
  big: BenchImage;
  upgradable: Upgradable[];
  bigPlan: DataLayerPlan & { textRatio: number; files: number };
}

/** bump when the data layer recipe changes */
const BIG_RECIPE = 1;

async function layoutManifest(layoutDir: string, refName: string): Promise<z.infer<typeof ManifestSchema>> {
  const index = parseJson(IndexSchema, await readFile(join(layoutDir, 'index.json')), 'index.json');
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === refName);
  if (!desc) throw new Error(`no image ${refName} in ${layoutDir}`);
  const blob = join(layoutDir, 'blobs', ...desc.digest.split(':'));
  return parseJson(ManifestSchema, await readFile(blob), `manifest of ${layoutDir}:${refName}`);
}

/** Σ compressed sizes from the manifest; Σ uncompressed sizes by decompressing each layer once (zcat | wc). */
async function imageSize(layoutDir: string, refName: string): Promise<{ size: ImageSize; layers: number }> {
  const manifest = await layoutManifest(layoutDir, refName);
  let uncompressed = 0;
  for (const l of manifest.layers) {
    const blob = join(layoutDir, 'blobs', ...l.digest.split(':'));
    const out = await run('sh', ['-c', 'gzip -dc < "$1" | wc -c', 'sh', blob]);
    uncompressed += Number(out.stdout.trim());
  }
  const compressed = manifest.layers.reduce((n, l) => n + l.size, 0);
  return { size: { compressed, uncompressed }, layers: manifest.layers.length };
}

const BigMeta = z.object({
  recipe: z.number(),
  plan: z.object({
    randomBytes: z.number(),
    textBytes: z.number(),
    textRatio: z.number(),
    files: z.number(),
  }),
  size: z.object({ compressed: z.number(), uncompressed: z.number() }),
  layers: z.number(),
  buildSeconds: z.number(),
});

async function buildBig(
  tmp: string,
  small: BenchImage,
  factor: number,
  log: (m: string) => void,
): Promise<void> {
  const started = Date.now();
  const textRatio = measureTextRatio();
  const plan = planDataLayer(small.size, factor, textRatio);
  const gib = (n: number): string => (n / 2 ** 30).toFixed(2);
  log(
    `building the ${factor}x image: +${gib(plan.randomBytes)} GiB random, +${gib(plan.textBytes)} GiB text (gzip ratio ${textRatio.toFixed(2)})`,
  );
  const layout = join(tmp, 'oci');
  await run('cp', ['-a', small.layoutDir, layout]);
  const tarPath = join(tmp, 'data.tar');
  const { files } = await writeDataLayerTar(tarPath, plan, Math.floor(Date.UTC(2026, 0, 1) / 1000));
  const by = `bench: ${files} data files under /opt/bench-data (${gib(plan.randomBytes + plan.textBytes)} GiB)`;
  await run('umoci', [
    'raw',
    'add-layer',
    '--image',
    `${layout}:${small.refName}`,
    '--history.created_by',
    by,
    tarPath,
  ]);
  await rm(tarPath);
  await run('umoci', ['gc', '--layout', layout]);
  const measured = await imageSize(layout, small.refName);
  const meta: z.infer<typeof BigMeta> = {
    recipe: BIG_RECIPE,
    plan: { ...plan, textRatio, files },
    ...measured,
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  await writeFile(join(tmp, 'bench-image.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** The fixture, its upgradable packages (apt in a chroot, computed today) and the derived 10x image. */
export async function ensureBenchImages(factor: number, log: (m: string) => void): Promise<BenchImages> {
  log('fixture: debian:12-like image (mmdebstrap, cached for the day)');
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const upgradable = await upgradablePackages(fixture);
  const smallSize = await imageSize(fixture.layoutDir, fixture.refName);
  const small: BenchImage = {
    name: 'small',
    layoutDir: fixture.layoutDir,
    refName: fixture.refName,
    ...smallSize,
  };

  const recipe = JSON.stringify({ BIG_RECIPE, factor, base: fixture.key });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const dir = await cachedDir(fixtureCacheRoot(), `bench-${factor}x-${utcDate()}-${hash}`, (tmp) =>
    buildBig(tmp, small, factor, log),
  );
  const meta = BigMeta.parse(JSON.parse(await readFile(join(dir, 'bench-image.json'), 'utf8')));
  await stat(join(dir, 'oci', 'index.json'));
  const big: BenchImage = {
    name: `${factor}x`,
    layoutDir: join(dir, 'oci'),
    refName: fixture.refName,
    size: meta.size,
    layers: meta.layers,
  };
  return { fixture, small, big, upgradable, bigPlan: meta.plan };
}
