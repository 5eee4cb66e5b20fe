import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLibrary, parseDepsJson } from '../../src/langmgr/dotnet/depsjson.js';
import { copa } from '../helpers/cli.js';
import {
  dotnetGrypeReport,
  dotnetTrivyReport,
  ensureDotnetFixtures,
  type DotnetFixtures,
  type DotnetVuln,
} from '../helpers/dotnet-fixtures.js';
import { pushFixture } from '../helpers/fixtures.js';
import { layerEntries, rawManifest } from '../helpers/inspect.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { withUnpackedImage } from '../helpers/upgradable.js';

/**
 * .NET library patching through the CLI, on RECORDED data: NuGet and mcr.microsoft.com are not reachable here,
 * so the SDK image is a stand-in (Debian + a `dotnet` script replaying the recorded publish output, see
 * test/helpers/dotnet-fixtures.ts) mapped in with COPA_TOOLING_IMAGE_MAP. Real: the CLI, the report parsers,
 * the flow, the tooling pull, the native engine, the manager's swap and deps.json rewrite, the layer, VEX.
 */

let registry: TestRegistry;
let work: string;
let fixtures: DotnetFixtures;
let image: string;
const env = () => ({
  ...process.env,
  COPA_EXPERIMENTAL: '1',
  COPA_TOOLING_IMAGE_MAP: `mcr.microsoft.com/dotnet/=${registry.host}/dotnet/`,
});
const VULNS: DotnetVuln[] = [
  { pkg: 'System.Text.Json', installed: '8.0.0', fixed: '8.0.5', id: 'CVE-2024-43485' },
  { pkg: 'Newtonsoft.Json', installed: '12.0.1', fixed: '13.0.1', id: 'GHSA-5crp-9r3c-p9vr' },
  { pkg: 'System.Data.SqlClient', installed: '4.8.5', fixed: '4.8.6', id: 'CVE-2024-0056' },
];
const SWAPPED = [
  'app/MyApp.deps.json',
  'app/Newtonsoft.Json.dll',
  'app/System.Data.SqlClient.dll',
  'app/runtimes/unix/lib/netcoreapp2.1/System.Data.SqlClient.dll',
  'app/runtimes/win/lib/netcoreapp2.1/System.Data.SqlClient.dll',
];

const args = (...a: string[]) => [
  ...a,
  '--pkg-types',
  'library',
  '-w',
  work,
  '--cache-dir',
  join(work, 'cache'),
];

async function writeReport(name: string, text: string): Promise<string> {
  const f = join(work, name);
  await writeFile(f, text);
  return f;
}

function patchLayer(layout: string, ref: string): string[] {
  const m = rawManifest(`oci:${layout}:${ref}`);
  return layerEntries(layout, m.layers[m.layers.length - 1]!.digest)
    .filter((e) => !e.endsWith('/'))
    .sort();
}

async function versions(layout: string, ref: string): Promise<Array<string | undefined>> {
  return withUnpackedImage(layout, ref, async (root) => {
    const deps = parseDepsJson(await readFile(join(root, 'app/MyApp.deps.json'), 'utf8'));
    const dll = await readFile(join(root, 'app/Newtonsoft.Json.dll'), 'utf8');
    return [...VULNS.map((v) => findLibrary(deps, v.pkg)?.version), dll.trim()];
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'copa-e2e-dotnet-'));
  registry = await startRegistry();
  fixtures = await ensureDotnetFixtures();
  await pushFixture(fixtures.sdk, fixtures.refName, registry.host, 'dotnet/sdk:8.0');
  image = (await pushFixture(fixtures.app, fixtures.refName, registry.host, 'dotnet/myapp:1')).reference;
}, 1_800_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('[recorded] .NET libraries through the CLI (stand-in SDK image replaying a recorded publish)', () => {
  it('Trivy report, --library-patch-level major: DLLs swapped, runtimes/ merged, deps.json rewritten, VEX', async () => {
    const report = await writeReport('trivy.json', dotnetTrivyReport(image, VULNS));
    const out = join(work, 'out-trivy');
    const vex = join(work, 'vex.json');
    const r = await copa(
      args(
        'patch',
        '-i',
        image,
        '-r',
        report,
        '--library-patch-level',
        'major',
        '--oci-dir',
        out,
        '-t',
        'p1',
        '-o',
        vex,
      ),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(patchLayer(out, 'p1')).toEqual(SWAPPED);
    expect(await versions(out, 'p1')).toEqual([
      '8.0.5',
      '13.0.1',
      '4.8.6',
      'recorded stand-in (publish): Newtonsoft.Json/13.0.1 Newtonsoft.Json.dll',
    ]);
    const doc = JSON.parse(await readFile(vex, 'utf8')) as {
      statements: Array<{ vulnerability: { name: string } }>;
    };
    expect(doc.statements.map((s) => s.vulnerability.name).sort()).toEqual(VULNS.map((v) => v.id).sort());
  });

  it('Grype report of the same findings (-s grype)', async () => {
    const report = await writeReport('grype.json', dotnetGrypeReport(image, VULNS));
    const out = join(work, 'out-grype');
    const r = await copa(
      args(
        'patch',
        '-i',
        image,
        '-r',
        report,
        '-s',
        'grype',
        '--library-patch-level',
        'major',
        '--oci-dir',
        out,
        '-t',
        'p2',
      ),
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(patchLayer(out, 'p2')).toEqual(SWAPPED);
    expect((await versions(out, 'p2')).slice(0, 3)).toEqual(['8.0.5', '13.0.1', '4.8.6']);
  });

  it('default --library-patch-level patch leaves the 12 -> 13 major alone', async () => {
    const report = await writeReport('trivy-patch.json', dotnetTrivyReport(image, VULNS));
    const out = join(work, 'out-patch');
    const r = await copa(args('patch', '-i', image, '-r', report, '--oci-dir', out, '-t', 'p3'), env());
    expect(r.code, r.stderr).toBe(0);
    expect(patchLayer(out, 'p3')).toEqual(SWAPPED.filter((e) => !e.includes('Newtonsoft')));
    expect((await versions(out, 'p3')).slice(0, 3)).toEqual(['8.0.5', '12.0.1', '4.8.6']);
  });

  it('--dry-run --json plans from the deps.json without pulling the SDK image', async () => {
    const report = await writeReport('trivy-dry.json', dotnetTrivyReport(image, VULNS));
    const out = join(work, 'out-dry');
    const r = await copa(
      args(
        'patch',
        '-i',
        image,
        '-r',
        report,
        '--library-patch-level',
        'major',
        '--dry-run',
        '--json',
        '--oci-dir',
        out,
      ),
      { ...env(), COPA_TOOLING_IMAGE_MAP: 'mcr.microsoft.com/dotnet/=127.0.0.1:9/nothing/' },
    );
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.stringify(JSON.parse(r.stdout));
    for (const v of VULNS) {
      expect(plan).toContain(
        JSON.stringify({ type: 'dotnet-core', name: v.pkg, path: '/app', from: v.installed, to: v.fixed }),
      );
    }
    expect(() => execFileSync('ls', [out], { stdio: 'ignore' })).toThrow();
  });
});
