import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import { pushFixture, type DebianFixture, type PushedImage } from './fixtures.js';

/**
 * Several tags that share a base, as a registry of real images has them: each tag is the cached Debian
 * fixture (its two layers, shared) plus one small layer of its own (`/etc/copa-bulk-tag` = the tag), added
 * with umoci to a copy of the fixture's OCI layout and pushed with skopeo.
 */
export async function pushTagsSharingBase(
  fixture: DebianFixture,
  registryHost: string,
  repo: string,
  tags: readonly string[],
): Promise<PushedImage[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'copa-test-tags-'));
  try {
    const out: PushedImage[] = [];
    for (const tag of tags) {
      const layout = join(tmp, `oci-${tag}`);
      await cp(fixture.layoutDir, layout, { recursive: true });
      const root = join(tmp, `layer-${tag}`);
      await mkdir(join(root, 'etc'), { recursive: true });
      await writeFile(join(root, 'etc', 'copa-bulk-tag'), `${tag}\n`);
      const tar = join(tmp, `layer-${tag}.tar`);
      await run('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, 'etc']);
      const image = `${layout}:${fixture.refName}`;
      await run('umoci', ['raw', 'add-layer', '--image', image, '--history.created_by', `tag ${tag}`, tar]);
      out.push(await pushFixture(layout, fixture.refName, registryHost, `${repo}:${tag}`));
    }
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
