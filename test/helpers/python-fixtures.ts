import { createHash } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import {
  cachedDir,
  ensureDebianFixture,
  fixtureCacheRoot,
  FIXTURE_REF_NAME,
  utcDate,
  type DebianFixture,
} from './fixtures.js';
import { removeTree, runInChroot } from './upgradable.js';
import { grypeLangReport, trivyLangReport, type LangFinding } from './lang-reports.js';

/**
 * Python fixtures for the library manager (src/langmgr/python): the bookworm fixture with Debian's
 * python3, python3-venv and python3-pip, plus one app layer made the way a Dockerfile would:
 * `python3 -m venv /app/venv && /app/venv/bin/pip install --no-cache-dir urllib3==1.26.4 certifi==2022.12.7`.
 * - `app`: that image (pip in the venv);
 * - `nopip`: the same venv with pip uninstalled from it (the manager must use a tooling image);
 * - `system`: urllib3 1.26.4 installed by Debian's pip as root (`--break-system-packages`), no venv;
 * - `tooling`: the base image, pushed by the tests as library/python:3.11-slim.
 * Built once a day and cached beside the Debian fixtures. The index is the one pip on this machine uses
 * (PIP_INDEX_URL when set, else pip's default); the CA bundle is the host's.
 */

export const PY_OLD = '1.26.4';
/** the first release with the fix of CVE-2021-33503 */
export const PY_FIXED = '1.26.5';
export const PY_VENV_PATH = 'app/venv/lib/python3.11/site-packages/urllib3-1.26.4.dist-info/METADATA';
const SYSTEM_DIR = 'usr/local/lib/python3.11/dist-packages';
export const PY_SYSTEM_PATH = `${SYSTEM_DIR}/urllib3-1.26.4.dist-info/METADATA`;
/** a second package of the venv: certifi (chosen at `major` level whatever the flag, as in Copa) */
export const CERTIFI_OLD = '2022.12.7';
/** CVE-2023-37920 */
export const CERTIFI_FIXED = '2023.7.22';
export const CERTIFI_PATH = 'app/venv/lib/python3.11/site-packages/certifi-2022.12.7.dist-info/METADATA';

export interface PythonFixtures {
  base: DebianFixture;
  /** OCI layouts, ref name `12` */
  app: string;
  nopip: string;
  /** urllib3 1.26.4 in Debian python3's /usr/local/lib/python3.11/dist-packages (no venv) */
  system: string;
  refName: string;
}

const RECIPE = 3;
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

/** Tar the `app/` tree of a root as a layer, like a Dockerfile RUN would leave it. */
async function tarApp(root: string, out: string, dir = 'app'): Promise<void> {
  const owner = ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000'];
  await run('tar', ['--create', '--file', out, '--sort=name', ...owner, '-C', root, dir]);
}

async function layoutWith(base: DebianFixture, dir: string, layer: string, createdBy: string): Promise<void> {
  await cp(base.layoutDir, dir, { recursive: true });
  const image = `${dir}:${FIXTURE_REF_NAME}`;
  await run('umoci', ['raw', 'add-layer', '--image', image, '--history.created_by', createdBy, layer]);
  await run('umoci', ['gc', '--layout', dir]);
}

async function build(tmp: string, base: DebianFixture): Promise<void> {
  const work = await mkdtemp(join(tmp, 'root-'));
  const root = join(work, 'rootfs');
  try {
    await mkdir(root);
    await run('tar', ['--extract', '--numeric-owner', '--file', base.rootfsTar, '-C', root]);
    await copyFile(HOST_CA, join(root, 'tmp/host-ca.pem'));
    const env = ['env', 'HOME=/tmp', 'PIP_CERT=/tmp/host-ca.pem', 'PIP_DISABLE_PIP_VERSION_CHECK=1'];
    if (process.env.PIP_INDEX_URL) env.push(`PIP_INDEX_URL=${process.env.PIP_INDEX_URL}`);
    await runInChroot(root, [...env, 'python3', '-m', 'venv', '/app/venv']);
    const pip = [...env, '/app/venv/bin/pip', 'install', '--no-cache-dir'];
    await runInChroot(root, [...pip, `urllib3==${PY_OLD}`, `certifi==${CERTIFI_OLD}`]);
    await tarApp(root, join(tmp, 'app.tar'));
    await runInChroot(root, [...env, '/app/venv/bin/python', '-m', 'pip', 'uninstall', '-y', 'pip']);
    await tarApp(root, join(tmp, 'nopip.tar'));
    // Debian's own pip as root, past PEP 668, into /usr/local/lib/python3.11/dist-packages
    const sys = [...env, 'python3', '-m', 'pip', 'install', '--no-cache-dir', '--break-system-packages'];
    await runInChroot(root, [...sys, `urllib3==${PY_OLD}`]);
    await tarApp(root, join(tmp, 'system.tar'), SYSTEM_DIR);
  } finally {
    await removeTree(work);
  }
  const by =
    'RUN python3 -m venv /app/venv && /app/venv/bin/pip install --no-cache-dir urllib3==1.26.4 certifi==2022.12.7';
  await layoutWith(base, join(tmp, 'oci-app'), join(tmp, 'app.tar'), by);
  await layoutWith(base, join(tmp, 'oci-nopip'), join(tmp, 'nopip.tar'), `${by} && pip uninstall -y pip`);
  const sysBy = `RUN pip install --no-cache-dir --break-system-packages urllib3==${PY_OLD}`;
  await layoutWith(base, join(tmp, 'oci-system'), join(tmp, 'system.tar'), sysBy);
  for (const t of ['app.tar', 'nopip.tar', 'system.tar']) await rm(join(tmp, t));
}

export async function ensurePythonFixtures(): Promise<PythonFixtures> {
  const base = await ensureDebianFixture({
    name: 'bookworm-minbase',
    include: ['python3', 'python3-venv', 'python3-pip'],
  });
  const recipe = JSON.stringify({
    RECIPE,
    base: base.key,
    old: PY_OLD,
    index: process.env.PIP_INDEX_URL ?? '',
  });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const key = `python-venv-${base.arch}-${utcDate()}-${hash}`;
  const dir = await cachedDir(fixtureCacheRoot(), key, (tmp) => build(tmp, base));
  return {
    base,
    app: join(dir, 'oci-app'),
    nopip: join(dir, 'oci-nopip'),
    system: join(dir, 'oci-system'),
    refName: FIXTURE_REF_NAME,
  };
}

export interface PyVuln {
  pkg: string;
  installed: string;
  fixed: string;
  /** Trivy-style, no leading slash */
  path: string;
  id?: string;
}

/** A Trivy report of a Debian 12 image whose only findings are python-pkg ones. */
export function pythonTrivyReport(image: string, vulns: PyVuln[]): string {
  return trivyLangReport({ ref: image, os: { family: 'debian', name: '12' } }, vulns.map(pyFinding));
}

/** The same findings as Grype writes them (artifact type `python`, absolute location paths). */
export function pythonGrypeReport(image: string, vulns: PyVuln[]): string {
  return grypeLangReport({ ref: image, os: { family: 'debian', name: '12' } }, vulns.map(pyFinding));
}

function pyFinding(v: PyVuln): LangFinding {
  return {
    type: 'python-pkg',
    name: v.pkg,
    installed: v.installed,
    fixed: v.fixed,
    path: v.path,
    ...(v.id ? { id: v.id } : {}),
  };
}
