import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { run } from '../test/helpers/exec.js';
import {
  cachedDir,
  fixtureCacheRoot,
  FIXTURE_SUITE,
  PRIVATE_NAMESPACE,
  pushFixture,
  utcDate,
  type DebianFixture,
} from '../test/helpers/fixtures.js';
import type { BenchContext } from './contender.js';

/**
 * The "tooling" image the original Copa always pulls (debian:12-slim in real life; no public registry is
 * reachable here). A bookworm minbase + gpgv (apt refuses unsigned repositories without it) with the
 * fixture's sources layer, built with mmdebstrap once a day. Deliberately NOT the fixture itself: with the
 * same layers BuildKit would share the `apt-get update` step between the tooling and the target image and
 * flatter Copa by a few seconds.
 */

export const TOOLING_REPO = 'copa-tooling/debian';
export const TOOLING_TAG = '12-slim';
const RECIPE = 1;
const IMAGE_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** like the fixture's: no host files, no one-line sources list */
const CUSTOMIZE_HOOK =
  'rm -f "$1/etc/apt/sources.list"; : > "$1/etc/resolv.conf"; : > "$1/etc/hostname"; chmod 0644 "$1/etc/resolv.conf" "$1/etc/hostname"';

export interface ToolingImage {
  layoutDir: string;
  refName: string;
}

export async function ensureToolingImage(
  fixture: DebianFixture,
  log: (m: string) => void,
): Promise<ToolingImage> {
  const recipe = JSON.stringify({
    RECIPE,
    suite: FIXTURE_SUITE,
    mirrors: fixture.mirrors,
    base: fixture.key,
  });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const dir = await cachedDir(fixtureCacheRoot(), `bench-copa-tooling-${utcDate()}-${hash}`, async (tmp) => {
    log('building the tooling image for the original Copa (bookworm minbase + gpgv, mmdebstrap)');
    const rootfs = join(tmp, 'rootfs.tar');
    const [cmd = '', ...args] = [
      ...PRIVATE_NAMESPACE,
      'mmdebstrap',
      '--variant=minbase',
      '--include=gpgv',
      '--skip=output/dev',
      `--customize-hook=${CUSTOMIZE_HOOK}`,
      FIXTURE_SUITE,
      rootfs,
      fixture.mirrors.main,
    ];
    await run(cmd, args, { env: { ...process.env, TMPDIR: tmp, LC_ALL: 'C' }, timeoutMs: 30 * 60_000 });
    const layout = join(tmp, 'oci');
    const image = `${layout}:${TOOLING_TAG}`;
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', image]);
    await run('umoci', ['raw', 'add-layer', '--image', image, rootfs]);
    await run('umoci', ['raw', 'add-layer', '--image', image, fixture.sourcesTar]);
    await run('umoci', [
      'config',
      '--image',
      image,
      '--os=linux',
      `--architecture=${fixture.arch}`,
      `--config.env=${IMAGE_PATH}`,
      '--config.cmd=bash',
    ]);
    await run('umoci', ['gc', '--layout', layout]);
    await run('rm', ['-f', rootfs]);
  });
  return { layoutDir: join(dir, 'oci'), refName: TOOLING_TAG };
}

/**
 * The tooling image built (cached for the day) and pushed as `copa-tooling/debian:12-slim` once, on first
 * use: the original Copa gets it through its source policy, our W3 rows with --tooling-image. Gives the
 * reference through the counting proxy.
 */
export function toolingSource(fixture: DebianFixture, ctx: BenchContext): () => Promise<string> {
  let pushed: Promise<string> | undefined;
  const push = async (): Promise<string> => {
    const tooling = await ensureToolingImage(fixture, ctx.log);
    await pushFixture(tooling.layoutDir, tooling.refName, ctx.registryHost, `${TOOLING_REPO}:${TOOLING_TAG}`);
    return `${ctx.proxyHost}/${TOOLING_REPO}:${TOOLING_TAG}`;
  };
  return () => (pushed ??= push());
}
