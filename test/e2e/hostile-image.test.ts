import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, type CliResult } from '../helpers/cli.js';
import { writeBookwormReport } from '../helpers/debian-report.js';
import { ensureDebianFixture, pushFixture, type DebianFixture } from '../helpers/fixtures.js';
import { run } from '../helpers/oci-fixture.js';
import { outsideState } from '../helpers/outside-state.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTar, type TarSpec } from '../helpers/tar.js';
import { upgradablePackages, type Upgradable } from '../helpers/upgradable.js';

/**
 * Images whose contents attack the package-manager run (issue 17 item 1): an apt configuration that points
 * apt's directories at the host, a dpkg database that is a symlink to /proc or to a host file, and hooks
 * (apt's Pre-Invoke, run by apt as root before dpkg) that look for the host's mounts and processes and try
 * to write to the host. Each run ends in a patched image or one clear error; the sentinel tree beside the
 * work dir is unchanged; no mount, run dir or partial output is left.
 */

let parent: string;
let work: string;
let registry: TestRegistry;
let fixture: DebianFixture;
let upgrade: Upgradable;
let before: string[];
const OUTSIDE = (name: string) => name === 'work';

/** the fixture plus one layer of `entries`, pushed as debian:<tag> */
async function imageWith(tag: string, entries: TarSpec[]): Promise<string> {
  const layout = join(work, `layout-${tag}`);
  await cp(fixture.layoutDir, layout, { recursive: true });
  const tar = join(work, `layer-${tag}.tar`);
  await writeFile(tar, makeTar(entries));
  await run('umoci', ['raw', 'add-layer', '--image', `${layout}:${fixture.refName}`, tar]);
  const pushed = await pushFixture(layout, fixture.refName, registry.host, `debian:${tag}`);
  await rm(layout, { recursive: true, force: true });
  return pushed.reference;
}

async function patch(image: string, n: string): Promise<{ r: CliResult; out: string }> {
  const report = join(work, `report-${n}.json`);
  await writeBookwormReport(report, image, [upgrade]);
  const out = join(work, `out-${n}`);
  const r = await copa([
    'patch',
    '-i',
    image,
    '-r',
    report,
    '--oci-dir',
    out,
    '--cache-dir',
    join(work, 'cache'),
    '-w',
    work,
  ]);
  return { r, out };
}

async function clean(r: CliResult, out: string): Promise<void> {
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  if (r.code === 0) expect(errors).toEqual([]);
  else {
    expect(r.code, r.stderr).toBe(1);
    expect(errors, r.stderr).toHaveLength(1);
    expect((await readdir(work)).includes(out.split('/').pop() as string)).toBe(false);
  }
  expect((await readdir(work)).filter((x) => x.startsWith('copa-run-'))).toEqual([]);
  expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(work);
  expect(await outsideState(parent, OUTSIDE)).toEqual(before);
}

/** a file of the newest layer of the OCI layout's image, or undefined */
function fromNewLayer(out: string, path: string): string | undefined {
  const index = JSON.parse(execFileSync('cat', [join(out, 'index.json')], { encoding: 'utf8' })) as {
    manifests: { digest: string }[];
  };
  const blob = (d: string) => join(out, 'blobs', 'sha256', d.replace('sha256:', ''));
  const manifest = JSON.parse(
    execFileSync('cat', [blob(index.manifests[0]?.digest ?? '')], { encoding: 'utf8' }),
  ) as {
    layers: { digest: string }[];
  };
  const last = manifest.layers.at(-1)?.digest ?? '';
  try {
    return execFileSync('tar', ['-xzOf', blob(last), path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'copa-e2e-hostile-image-'));
  work = join(parent, 'work');
  await mkdir(work);
  await mkdir(join(parent, 'sentinel', 'etc'), { recursive: true });
  await writeFile(join(parent, 'sentinel', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await writeFile(join(parent, 'sentinel', 'keep'), 'untouched\n');
  registry = await startRegistry();
  fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const upgradable = await upgradablePackages(fixture);
  expect(upgradable.length).toBeGreaterThan(0);
  upgrade = upgradable.find((u) => u.name === 'libexpat1') ?? (upgradable[0] as Upgradable);
  before = await outsideState(parent, OUTSIDE);
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('images that attack the package-manager run', () => {
  it('apt configuration pointing the status file, lists, cache and log at host paths → one clear error from apt, inside the image', async () => {
    const host = join(parent, 'sentinel');
    const image = await imageWith('aptconf', [
      {
        name: 'etc/apt/apt.conf.d/99hostile',
        body:
          `Dir::State::status "${host}/etc/passwd";\n` +
          `Dir::State::Lists "${host}/lists/";\nDir::Cache "${host}/cache/";\nDir::Log "${host}/log/";\n`,
      },
    ]);
    const { r, out } = await patch(image, 'aptconf');
    expect(r.code, r.stderr).toBe(1);
    // apt looked for the host path inside the image root, where it does not exist
    expect(r.stderr).toMatch(/Error: apt-get update failed: .*sentinel\/lists\/partial is missing/);
    await clean(r, out);
  }, 600_000);

  it('/var/lib/dpkg a symlink to /proc → one clear error, nothing read from the host', async () => {
    const image = await imageWith('dpkgproc', [
      { name: 'var/lib/', type: 'dir' },
      { name: 'var/lib/dpkg', type: 'symlink', linkname: '/proc' },
    ]);
    const { r, out } = await patch(image, 'dpkgproc');
    expect(r.code, r.stderr).toBe(1);
    await clean(r, out);
  }, 600_000);

  it('/var/lib/dpkg/status a symlink to a host file → one clear error, the host file neither read nor written', async () => {
    const image = await imageWith('statuslink', [
      { name: 'var/lib/dpkg/', type: 'dir' },
      { name: 'var/lib/dpkg/status', type: 'symlink', linkname: join(parent, 'sentinel', 'etc', 'passwd') },
    ]);
    const { r, out } = await patch(image, 'statuslink');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toContain('root:x:0:0');
    await clean(r, out);
  }, 600_000);

  it('hooks run by apt as root look for the host (mounts, processes, files) → they see only the image', async () => {
    const probe = [
      '#!/bin/sh',
      'o=/root/copa-probe',
      '{',
      '  echo "pids: $(ls -d /proc/[0-9]* | wc -l)"',
      '  echo "host-file: $(cat ' + join(parent, 'sentinel', 'keep') + ' 2>/dev/null || echo absent)"',
      '  echo "host-mount: $(grep -c -e sentinel -e " /proc/[0-9]" /proc/self/mountinfo)"',
      '  echo "pid1-root: $(ls /proc/1/root/' + parent.slice(1) + ' 2>/dev/null | wc -l)"',
      '  mkdir -p ' +
        join(parent, 'sentinel') +
        ' 2>/dev/null && echo pwned > ' +
        join(parent, 'sentinel', 'keep'),
      '  echo "kill-outside: $(for p in $(ls /proc | grep -E "^[0-9]+$"); do kill -0 $p 2>/dev/null && echo $p; done | wc -l)"',
      '} >> $o 2>&1',
      'exit 0',
    ].join('\n');
    const image = await imageWith('hooks', [
      { name: 'etc/apt/apt.conf.d/99probe', body: 'DPkg::Pre-Invoke {"/bin/sh /usr/local/bin/probe";};\n' },
      { name: 'usr/local/bin/probe', body: probe, mode: 0o755 },
    ]);
    const { r, out } = await patch(image, 'hooks');
    expect(r.code, r.stderr).toBe(0);
    await clean(r, out);
    const seen = fromNewLayer(out, 'root/copa-probe') ?? '';
    // the hook ran, inside the image: a handful of its own processes, the host's files and mounts invisible
    expect(seen).toMatch(/pids: \d+/);
    expect(Number(/pids: (\d+)/.exec(seen)?.[1])).toBeLessThan(20);
    expect(seen).toContain('host-file: absent');
    expect(seen).toContain('host-mount: 0');
    expect(seen).toContain('pid1-root: 0');
    expect(await readFile(join(parent, 'sentinel', 'keep'), 'utf8')).toBe('untouched\n');
  }, 600_000);
});
