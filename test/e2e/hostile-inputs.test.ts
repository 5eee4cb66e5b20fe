import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copa, type CliResult } from '../helpers/cli.js';
import { ensureDebianFixture, pushFixture } from '../helpers/fixtures.js';
import { startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.js';
import { tagExists } from '../helpers/inspect.js';
import { outsideState } from '../helpers/outside-state.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { trivyReport } from '../helpers/trivy.js';
import { hostileManifests } from '../helpers/hostile-manifests.js';

/**
 * Hostile inputs through the real CLI (issue 17 item 1): manifests and configs a real registry would not
 * store (served by a registry that serves any bytes), reports and PatchConfig files built to hurt. Each
 * ends in one clear `Error:` line and a non-zero exit (or a safe result), writes nothing outside the
 * work dir (a sentinel tree beside it is compared byte for byte) and leaves no partial output: no OCI
 * layout, no tag, no run dir, no mount.
 */

let parent: string;
let work: string;
let cacheDir: string;
let registry: TestRegistry;
let hostile: HostileRegistry;
let source: string;
let before: string[];
let n = 0;

const OUTSIDE = (name: string) => name === 'work';

async function file(name: string, body: string | Buffer): Promise<string> {
  const p = join(work, name);
  await writeFile(p, body);
  return p;
}
function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
}
const report = (vulns: { pkg: string; installed: string; fixed: string }[]) =>
  trivyReport({ family: 'debian', version: '12.5', arch: 'amd64', image: source, vulns });

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

export interface HostileCase {
  name: string;
  /** the CLI arguments after `copa`; the output (`--oci-dir`/`-t`) is added by the runner */
  args: () => Promise<string[]>;
  env?: NodeJS.ProcessEnv;
  /** expected exit code and error line; `code: 0` = a safe result */
  code: number;
  error?: RegExp;
  /** more checks of the run's output */
  check?: (r: CliResult) => void;
}

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'copa-e2e-hostile-'));
  work = join(parent, 'work');
  cacheDir = join(work, 'cache');
  await mkdir(work);
  // the sentinel tree: what a write outside the work dir would most likely hit
  await mkdir(join(parent, 'sentinel', 'etc'), { recursive: true });
  await writeFile(join(parent, 'sentinel', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await writeFile(join(parent, 'sentinel', 'keep'), 'untouched\n');
  registry = await startRegistry();
  hostile = await startHostileRegistry();
  const fixture = await ensureDebianFixture({ name: 'bookworm-minbase' });
  source = (await pushFixture(fixture.layoutDir, fixture.refName, registry.host, 'debian:12')).reference;
  hostileManifests(hostile);
  before = await outsideState(parent, OUTSIDE);
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  await hostile?.stop();
  if (parent) await rm(parent, { recursive: true, force: true });
});

async function runCase(c: HostileCase, output: 'oci' | 'push' | 'bulk'): Promise<void> {
  n += 1;
  const out = join(work, `out-${n}`);
  const tag = `hostile-${n}`;
  const sink = output === 'oci' ? ['--oci-dir', out] : output === 'push' ? ['--push', '-t', tag] : ['--push'];
  const r = await copa([...(await c.args()), ...sink, '--cache-dir', cacheDir, '-w', work], {
    ...process.env,
    ...c.env,
  });
  const errors = errorLines(r);
  if (c.code === 0) {
    expect(errors, r.stderr).toEqual([]);
  } else {
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(c.error ?? /./);
    // no partial output
    expect((await readdir(work)).includes(`out-${n}`)).toBe(false);
    if (output === 'push') expect(tagExists(`${registry.host}/debian:${tag}`)).toBe(false);
  }
  expect(r.code, r.stderr).toBe(c.code);
  c.check?.(r);
  expect((await readdir(work)).filter((x) => x.startsWith('copa-run-'))).toEqual([]);
  expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(work);
  expect(await outsideState(parent, OUTSIDE)).toEqual(before);
}

const img = (name: string) => () => Promise.resolve(['patch', '-i', `${hostile.host}/${name}`]);

describe('hostile manifests and configs (served by a registry that serves any bytes)', () => {
  const cases: HostileCase[] = [
    {
      name: 'a manifest with an unknown media type',
      args: img('wrongtype:1'),
      code: 1,
      error: /media type "application\/vnd\.example\.thing\+json", not an image/,
    },
    { name: 'a Docker schema 1 manifest', args: img('schema1:1'), code: 1, error: /schema ?1|media type/i },
    { name: 'a manifest of 5 MiB', args: img('huge:1'), code: 1, error: /MiB|bytes|too large|limit/i },
    { name: 'a manifest nested 100,000 levels deep', args: img('deep:1'), code: 1, error: /manifest/ },
    { name: 'a manifest that is not JSON', args: img('garbage:1'), code: 1, error: /manifest/ },
    {
      name: 'a manifest with 10,000 layers',
      args: img('manylayers:1'),
      code: 1,
      error: /has 10000 layers; at most 499 can be stacked/,
    },
    {
      name: 'a layer digest that is a path (sha256:../../..)',
      args: img('pathdigest:1'),
      code: 1,
      error: /digest/,
    },
    {
      name: 'a layer of an unknown media type',
      args: img('layertype:1'),
      code: 1,
      error: /media type "application\/vnd\.example\.not-a-layer", not an image layer/,
    },
    { name: 'a layer with a negative size', args: img('negsize:1'), code: 1, error: /size|manifest/ },
    {
      name: 'a config whose bytes do not match its digest',
      args: img('configdigest:1'),
      code: 1,
      error: /digest/,
    },
    { name: 'a config of 40 MiB', args: img('hugeconfig:1'), code: 1, error: /MiB|bytes|too large|limit/i },
    {
      name: 'a config with diff_ids of the wrong type',
      args: img('configtypes:1'),
      code: 1,
      error: /config/,
    },
    { name: 'a config with fewer diff_ids than layers', args: img('diffids:1'), code: 1, error: /diff_ids/ },
    { name: 'an index that lists itself', args: img('selfindex:1'), code: 1, error: /index|platform/ },
    {
      name: 'an index of 10,000 platforms, none of them patchable (a safe result: nothing to do, short lines)',
      args: img('bigindex:1'),
      code: 0,
      check: (r) => {
        expect(r.stdout + r.stderr).toMatch(/No patch was applied/);
        expect(Math.max(...r.stderr.split('\n').map((l) => l.length))).toBeLessThan(400);
        expect(r.stderr).toMatch(/and 9990 more/);
      },
    },
  ];
  it.each(cases)('$name', (c) => runCase(c, 'oci'), 120_000);
});

describe('hostile reports', () => {
  const withReport = (name: string, body: () => string | Buffer) => async () => [
    'patch',
    '-i',
    source,
    '-r',
    await file(name, body()),
  ];
  const big = Array.from({ length: 100_000 }, (_, i) => ({
    pkg: ['openssl', 'libssl3', 'libexpat1', 'gpgv'][i % 4] as string,
    installed: '0',
    fixed: '0',
  }));
  const cases: HostileCase[] = [
    {
      name: 'a report over the size limit',
      args: withReport('big.json', () => Buffer.alloc(2 * 1024 * 1024, 0x20)),
      env: { COPA_MAX_REPORT_BYTES: String(1024 * 1024) },
      code: 1,
      error: /big\.json is larger than 1 MiB, the limit for a report/,
    },
    {
      name: 'a report nested 100,000 levels deep',
      args: withReport('deep.json', () => nested(100_000)),
      code: 1,
      error: /deep\.json/,
    },
    {
      name: 'a report with fields of the wrong type',
      args: withReport('types.json', () =>
        JSON.stringify({ SchemaVersion: 2, ArtifactName: 7, Results: 'x' }),
      ),
      code: 1,
      error: /types\.json/,
    },
    {
      name: 'a report with NUL bytes in a package name',
      args: withReport('nul.json', () => report([{ pkg: 'openssl\u0000; id', installed: '1', fixed: '2' }])),
      code: 1,
      error: /package name|invalid/i,
    },
    {
      name: 'a version with shell metacharacters',
      args: withReport('ver.json', () =>
        report([{ pkg: 'openssl', installed: '1', fixed: '3.0.0$(touch /tmp/pwned)' }]),
      ),
      code: 1,
      error: /version|invalid/i,
    },
    {
      name: 'a report that is /dev/zero',
      args: () => Promise.resolve(['patch', '-i', source, '-r', '/dev/zero']),
      code: 1,
      error: /\/dev\/zero is larger than 256 MiB/,
    },
    {
      name: 'a report with 100,000 vulnerabilities (a dry run plans each package once)',
      args: async () => [...(await withReport('many.json', () => report(big))()), '--dry-run'],
      code: 0,
    },
  ];
  it.each(cases)('$name', (c) => runCase(c, 'push'), 180_000);
});

describe('hostile PatchConfig files (--config)', () => {
  const HEAD = 'apiVersion: copa.sh/v1alpha1\nkind: PatchConfig\n';
  const withConfig = (name: string, body: () => string) => async () => [
    'patch',
    '--config',
    await file(name, body()),
  ];
  const bomb = () => {
    // the "billion laughs": each alias doubles ten times over
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    return `${HEAD}${lines.join('\n')}\nimages:\n- name: n\n  image: ${source}\n  tags: {strategy: list, list: *a9}\n`;
  };
  const cases: HostileCase[] = [
    { name: 'a YAML alias bomb', args: withConfig('bomb.yaml', bomb), code: 2, error: /bomb\.yaml: .*alias/ },
    {
      name: 'a PatchConfig of 2 MiB',
      args: withConfig('huge.yaml', () => `${HEAD}# ${'x'.repeat(2 * 1024 * 1024)}\nimages: []\n`),
      code: 2,
      error: /huge\.yaml: file size: expected at most 1 MiB/,
    },
    {
      name: 'a PatchConfig nested 10,000 levels deep',
      args: withConfig('deep.yaml', () => `${HEAD}images: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`),
      code: 2,
      error: /deep\.yaml/,
    },
    {
      name: 'a target tag that is a path',
      args: withConfig(
        'target.yaml',
        () =>
          `${HEAD}images:\n- name: n\n  image: ${source.replace(/:12$/, '')}\n  tags: {strategy: list, list: ["12"]}\n  target: {tag: "../../../sentinel/{{ .SourceTag }}"}\n`,
      ),
      code: 2,
      error: /target\.yaml: .*tag/,
    },
  ];
  it.each(cases)('$name', (c) => runCase(c, 'bulk'), 120_000);
});

describe('hostile library reports (app-level, COPA_EXPERIMENTAL=1)', () => {
  const lib = (type: string, name: string, pkgPath: string) =>
    JSON.stringify({
      SchemaVersion: 2,
      ArtifactName: source,
      ArtifactType: 'container_image',
      Metadata: {
        OS: { Family: 'debian', Name: '12.5' },
        ImageConfig: { architecture: 'amd64', os: 'linux' },
      },
      Results: [
        {
          Target: type,
          Class: 'lang-pkgs',
          Type: type,
          Vulnerabilities: [
            {
              VulnerabilityID: 'CVE-2099-1',
              PkgName: name,
              PkgPath: pkgPath,
              InstalledVersion: '2.0.0',
              FixedVersion: '2.32.0',
              Severity: 'HIGH',
            },
          ],
        },
      ],
    });
  const climb = '../../../../../../sentinel/keep';
  const libCase = (type: string, name: string, pkgPath: string): HostileCase => ({
    name: `a ${type} library path that climbs out of the image (${pkgPath}) → nothing done, nothing written`,
    args: async () => [
      'patch',
      '-i',
      source,
      '-r',
      await file(`lib-${type}.json`, lib(type, name, pkgPath)),
      '--pkg-types',
      'library',
      '--library-patch-level',
      'major',
    ],
    env: { COPA_EXPERIMENTAL: '1' },
    code: 0,
    check: (r) => expect(r.stdout + r.stderr).toMatch(/No patch was applied/),
  });
  const cases: HostileCase[] = [
    libCase('python-pkg', 'requests', `${climb}/METADATA`),
    libCase('node-pkg', 'lodash', `${climb}/package.json`),
  ];
  it.each(cases)('$name', (c) => runCase(c, 'push'), 300_000);
});
