import { join } from 'node:path';
import { openImageRoot, type ImageRoot } from '../../src/engine/native/index.js';
import { LayerCache } from '../../src/layers/cache.js';
import { silentLogger } from '../../src/log.js';
import type { Image } from '../../src/oci/image.js';
import { readOciLayout } from '../../src/oci/layout/index.js';
import { ensureDebianFixture } from './fixtures.js';

/** The bookworm-minbase fixture opened in the native sandbox the way the patch flow opens it (layers cached under `work`). */
export async function openDebianRoot(work: string, rootDir = 'root'): Promise<ImageRoot> {
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const cache = new LayerCache({ dir: join(work, 'cache') });
  const image = (await readOciLayout(fixture.layoutDir, fixture.refName)) as Image;
  const layerDirs: string[] = [];
  for (const layer of await image.layers()) layerDirs.push(await cache.ensure(layer));
  return openImageRoot({ layerDirs, workDir: join(work, rootDir), logger: silentLogger });
}
