import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { listing, standIn } from '../../src/langmgr/dotnet/recorded.js';
import { run } from './exec.js';
import {
  cachedDir,
  ensureDebianFixture,
  fixtureCacheRoot,
  FIXTURE_REF_NAME,
  utcDate,
  type DebianFixture,
} from './fixtures.js';
import { grypeLangReport, trivyLangReport, type LangFinding } from './lang-reports.js';

/**
 * .NET fixtures for src/langmgr/dotnet. NuGet and mcr.microsoft.com are NOT reachable here, so both images are
 * made from RECORDED data (src/langmgr/dotnet/testdata):
 * - `app`: the bookworm fixture plus one layer holding /app as `dotnet publish` leaves it (MyApp.deps.json,
 *   runtimeconfig, DLLs: the DLLs are stand-in files naming their package, not real assemblies);
 * - `sdk`: a STAND-IN for mcr.microsoft.com/dotnet/sdk:8.0: the bookworm fixture plus a `dotnet` shell script
 *   whose `publish` copies the recorded publish output (/srv/recorded-publish). Tests push it as
 *   `<registry>/dotnet/sdk:8.0` and map `mcr.microsoft.com/dotnet/` there with COPA_TOOLING_IMAGE_MAP.
 */
export interface DotnetFixtures {
  base: DebianFixture;
  app: string;
  sdk: string;
  refName: string;
}

const RECIPE = 1;

export const FAKE_DOTNET = `#!/bin/sh
# RECORDED STAND-IN for the .NET SDK (tests only: NuGet is not reachable here)
set -e
case "$1" in
  restore) test -f "$2"; grep -q '<PackageReference' "$2"; echo "  Restored $2 (recorded stand-in)" ;;
  publish) test -f "$2"; out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
           mkdir -p "$out"; cp -R /srv/recorded-publish/. "$out"/ ;;
  *) echo "recorded stand-in: dotnet $*: not recorded" >&2; exit 64 ;;
esac
`;

async function put(root: string, path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), data);
}

/** the recorded app tree (/app) under `root` */
export async function writeRecordedApp(root: string): Promise<void> {
  const l = listing();
  for (const f of l.app.files) await put(root, `${l.app.dir.slice(1)}/${f.path}`, standIn('app', f));
}

/** the stand-in SDK's files under `root` */
export async function writeStandInSdk(root: string): Promise<void> {
  for (const f of listing().publish.files)
    await put(root, `srv/recorded-publish/${f.path}`, standIn('publish', f));
  await put(root, 'usr/local/bin/dotnet', FAKE_DOTNET);
  await chmod(join(root, 'usr/local/bin/dotnet'), 0o755);
}

async function layoutWith(
  base: DebianFixture,
  dir: string,
  tree: string,
  paths: string[],
  by: string,
): Promise<void> {
  const layer = `${dir}.tar`;
  const owner = ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000'];
  await run('tar', ['--create', '--file', layer, '--sort=name', ...owner, '-C', tree, ...paths]);
  await cp(base.layoutDir, dir, { recursive: true });
  await run('umoci', [
    'raw',
    'add-layer',
    '--image',
    `${dir}:${FIXTURE_REF_NAME}`,
    '--history.created_by',
    by,
    layer,
  ]);
  await run('umoci', ['gc', '--layout', dir]);
  await rm(layer);
}

async function build(tmp: string, base: DebianFixture): Promise<void> {
  await writeRecordedApp(join(tmp, 'app-tree'));
  await layoutWith(base, join(tmp, 'oci-app'), join(tmp, 'app-tree'), ['app'], 'COPY --from=build /app /app');
  await writeStandInSdk(join(tmp, 'sdk-tree'));
  await layoutWith(base, join(tmp, 'oci-sdk'), join(tmp, 'sdk-tree'), ['srv', 'usr'], 'COPY recorded-sdk /');
  await rm(join(tmp, 'app-tree'), { recursive: true });
  await rm(join(tmp, 'sdk-tree'), { recursive: true });
}

export async function ensureDotnetFixtures(): Promise<DotnetFixtures> {
  const base = await ensureDebianFixture({ name: 'bookworm-minbase' });
  const data = await Promise.all(
    ['MyApp.deps.json', 'patch.deps.json', 'listing.json'].map((f) =>
      readFile(new URL(`../../src/langmgr/dotnet/testdata/${f}`, import.meta.url), 'utf8'),
    ),
  );
  const recipe = JSON.stringify({ RECIPE, base: base.key, data, FAKE_DOTNET });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const key = `dotnet-recorded-${base.arch}-${utcDate()}-${hash}`;
  const dir = await cachedDir(fixtureCacheRoot(), key, (tmp) => build(tmp, base));
  return { base, app: join(dir, 'oci-app'), sdk: join(dir, 'oci-sdk'), refName: FIXTURE_REF_NAME };
}

export interface DotnetVuln {
  pkg: string;
  installed: string;
  fixed: string;
  id: string;
}

/** Trivy's shape for a .NET app: one lang-pkgs result per deps.json (Target = its path), no PkgPath. */
export function dotnetTrivyReport(image: string, vulns: DotnetVuln[]): string {
  return trivyLangReport({ ref: image, os: { family: 'debian', name: '12' } }, vulns.map(dotnetFinding));
}

/** The same findings as Grype writes them (artifact type `dotnet`, the deps.json as location). */
export function dotnetGrypeReport(image: string, vulns: DotnetVuln[]): string {
  return grypeLangReport({ ref: image, os: { family: 'debian', name: '12' } }, vulns.map(dotnetFinding));
}

function dotnetFinding(v: DotnetVuln): LangFinding {
  return {
    type: 'dotnet-core',
    name: v.pkg,
    installed: v.installed,
    fixed: v.fixed,
    path: 'app/MyApp.deps.json',
    id: v.id,
  };
}
