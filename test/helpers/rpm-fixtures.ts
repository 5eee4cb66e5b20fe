/**
 * Real RPM test material built with Debian's rpm tools: tiny noarch RPMs (rpmbuild), a repository
 * (createrepo_c) served over HTTP on 127.0.0.1, image layers holding an rpm database installed by the real rpm,
 * and OCI layouts made with umoci. No RPM distribution image is reachable here: the "RPM distro" images are a
 * Debian root (which brings dnf and rpm) or nothing at all, plus a layer that makes them one (os-release, rpm
 * macros with the distro database path, a repository file, the rpmdb).
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join, normalize } from 'node:path';
import { run } from './exec.js';

export interface RpmSpec {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
}

/** What an RPM-based image needs besides its packages. */
export interface RpmDistro {
  /** os-release NAME, e.g. "Rocky Linux" */
  name: string;
  id: string;
  versionId: string;
}

export const ROCKY: RpmDistro = { name: 'Rocky Linux', id: 'rocky', versionId: '9.3' };
export const ALMA: RpmDistro = { name: 'AlmaLinux', id: 'almalinux', versionId: '9.4' };

/** Debian's rpm keeps its database in ~/.rpmdb; RPM distributions keep it here. */
export const RPM_MACROS = '%_dbpath /var/lib/rpm\n';

/** The file each test package installs; it holds the package version. */
export function payloadPath(name: string): string {
  return `/usr/share/${name}/version`;
}

function specFile(s: RpmSpec): string {
  return [
    `Name: ${s.name}`,
    `Version: ${s.version}`,
    `Release: ${s.release ?? '1'}`,
    ...(s.epoch !== undefined ? [`Epoch: ${s.epoch}`] : []),
    'Summary: copa test package',
    'License: MIT',
    'BuildArch: noarch',
    'AutoReqProv: no',
    '%description',
    'A package for copa tests.',
    '%install',
    `mkdir -p %{buildroot}/usr/share/${s.name}`,
    `echo ${s.version} > %{buildroot}${payloadPath(s.name)}`,
    '%files',
    payloadPath(s.name),
    '',
  ].join('\n');
}

/** Build one noarch RPM with rpmbuild; returns its path. */
export async function buildRpm(dir: string, s: RpmSpec): Promise<string> {
  const top = join(dir, `build-${s.name}-${s.version}`);
  await mkdir(top, { recursive: true });
  const spec = join(top, `${s.name}.spec`);
  await writeFile(spec, specFile(s));
  await run('rpmbuild', ['-bb', '--define', `_topdir ${top}`, spec], { env: { ...process.env, HOME: top } });
  return join(top, 'RPMS', 'noarch', `${s.name}-${s.version}-${s.release ?? '1'}.noarch.rpm`);
}

/** A yum/dnf repository of these RPMs. */
export async function makeRepo(dir: string, rpms: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const r of rpms) await copyFile(r, join(dir, basename(r)));
  await run('createrepo_c', ['-q', dir]);
  return dir;
}

export interface ServedDir {
  url: string;
  /** paths requested so far */
  requests: string[];
  close(): Promise<void>;
}

/** Serve a directory read-only over HTTP on 127.0.0.1 (a random port). */
export async function serveDir(root: string): Promise<ServedDir> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
    requests.push(path);
    const file = join(root, path);
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    stat(file).then(
      (st) => {
        if (!st.isFile()) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-length': st.size });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function osRelease(d: RpmDistro): string {
  return `NAME="${d.name}"\nVERSION="${d.versionId}"\nID="${d.id}"\nVERSION_ID="${d.versionId}"\nPRETTY_NAME="${d.name} ${d.versionId}"\n`;
}

export function repoFile(url: string): string {
  return `[copa-test]\nname=copa test repository\nbaseurl=${url}\nenabled=1\ngpgcheck=0\n`;
}

/** tar a staged tree as one image layer (root-owned, fixed mtime, sorted). */
export async function tarLayer(stage: string, out: string): Promise<string> {
  await run('tar', [
    '--create',
    '--file',
    out,
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@1700000000',
    '-C',
    stage,
    '.',
  ]);
  return out;
}

/**
 * The layer that makes a root an RPM distribution image: os-release, the repository file, rpm macros (when the
 * root's rpm is Debian's), and an rpm database (SQLite) with `install` installed by the real rpm.
 */
export async function rpmDistroLayer(
  dir: string,
  opts: { distro: RpmDistro; repoUrl: string; install: string[]; macros: boolean },
): Promise<string> {
  const stage = join(dir, 'stage');
  await mkdir(join(stage, 'etc/yum.repos.d'), { recursive: true });
  await writeFile(join(stage, 'etc/os-release'), osRelease(opts.distro));
  await writeFile(join(stage, 'etc/yum.repos.d/copa-test.repo'), repoFile(opts.repoUrl));
  if (opts.macros) {
    await mkdir(join(stage, 'etc/rpm'), { recursive: true });
    await writeFile(join(stage, 'etc/rpm/macros'), RPM_MACROS);
  }
  await run('rpm', ['--root', stage, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', ...opts.install]);
  return tarLayer(stage, join(dir, 'rpm-layer.tar'));
}

/** A layer with only /etc/rpm/macros: turns a Debian root with dnf into a dnf tooling image. */
export async function macrosLayer(dir: string): Promise<string> {
  const stage = join(dir, 'macros-stage');
  await mkdir(join(stage, 'etc/rpm'), { recursive: true });
  await writeFile(join(stage, 'etc/rpm/macros'), RPM_MACROS);
  return tarLayer(stage, join(dir, 'macros-layer.tar'));
}

/** An OCI layout (umoci) with these uncompressed layer tars, bottom first; ref name `x`. */
export async function layoutOf(
  dir: string,
  layers: string[],
  arch = 'amd64',
): Promise<{ layoutDir: string; refName: string }> {
  const layoutDir = join(dir, 'oci');
  const image = `${layoutDir}:x`;
  await run('umoci', ['init', '--layout', layoutDir]);
  await run('umoci', ['new', '--image', image]);
  for (const l of layers) await run('umoci', ['raw', 'add-layer', '--image', image, l]);
  await run('umoci', ['config', '--image', image, '--os=linux', `--architecture=${arch}`]);
  await run('umoci', ['gc', '--layout', layoutDir]);
  return { layoutDir, refName: 'x' };
}

/** Installed packages of an unpacked root, read by the host's real rpm: name -> [epoch:]version-release. */
export async function rpmQuery(rootfs: string): Promise<Map<string, string>> {
  const qf = '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n';
  const { stdout } = await run('rpm', ['--dbpath', join(rootfs, 'var/lib/rpm'), '-qa', '--queryformat', qf]);
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, evr] = line.split('\t');
    if (name && evr) out.set(name, evr);
  }
  return out;
}

export interface TestPackages {
  /** installed in the fixture images */
  v1: string[];
  /** only in the repository */
  v2: string[];
}

/** copa-hello 1.0 -> 2.0 and copa-lib 1:1.0 -> 1:1.1 (an epoch), built with rpmbuild. */
export async function buildTestPackages(dir: string): Promise<TestPackages> {
  return {
    v1: [
      await buildRpm(dir, { name: 'copa-hello', version: '1.0' }),
      await buildRpm(dir, { name: 'copa-lib', version: '1.0', epoch: 1 }),
    ],
    v2: [
      await buildRpm(dir, { name: 'copa-hello', version: '2.0' }),
      await buildRpm(dir, { name: 'copa-lib', version: '1.1', epoch: 1 }),
    ],
  };
}
