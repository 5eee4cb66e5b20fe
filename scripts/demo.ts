/**
 * `npm run demo`: the worked example of the README, end to end on this machine. Starts a local registry,
 * builds a debian:12-like image whose packages lag the security suite (mmdebstrap, cached for the day),
 * pushes it, patches it with the real CLI, and shows the result with skopeo. Stops what it started.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { ensureDebianFixture, pushFixture } from '../test/helpers/fixtures.js';
import { startRegistry } from '../test/helpers/registry.js';
import { CLI } from '../test/helpers/cli.js';

const registry = await startRegistry();
try {
  console.log(`local registry on ${registry.host}`);
  console.log('building a bookworm image (mmdebstrap, about 30 s the first time)...');
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const { reference } = await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12');
  console.log(`pushed ${reference}\n`);
  const cmd = ['patch', '-i', reference, '--push'];
  console.log(`$ copa ${cmd.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...cmd], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
  else {
    const show = (ref: string): string[] =>
      (
        JSON.parse(
          execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' }),
        ) as { Layers: string[] }
      ).Layers;
    const before = show(reference);
    const after = show(`${registry.host}/debian:12-patched`);
    console.log(
      `\n${reference}: ${before.length} layers\n${registry.host}/debian:12-patched: ${after.length} layers`,
    );
    after.forEach((l, i) =>
      console.log(
        `  ${l}${i < before.length ? (l === before[i] ? '  (unchanged)' : '  (CHANGED)') : '  (new patch layer)'}`,
      ),
    );
  }
} finally {
  await registry.stop();
}
