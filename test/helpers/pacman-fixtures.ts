/**
 * Real pacman test material built with Debian's pacman (pacman-package-manager: pacman, repo-add): tiny `any`
 * packages at two versions (a .PKGINFO and one payload file, tarred here: makepkg refuses to run as root), a
 * repository made by repo-add and served on 127.0.0.1, and the layer that turns a Debian root with pacman into
 * an "Arch Linux" image (os-release, pacman.conf naming the repository, a local database written by the
 * real pacman). No Arch image or mirror is reachable here.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from './exec.js';
import { tarLayer } from './rpm-fixtures.js';

export interface PacmanSpec {
  name: string;
  /** pkgver */
  version: string;
  rel?: string;
  epoch?: number;
}

export const PACMAN_TOOLS = ['/usr/bin/pacman', '/usr/bin/repo-add', '/usr/bin/bsdtar'];

/** why the pacman tests cannot run here, or undefined */
export function pacmanMissing(): string | undefined {
  const missing = PACMAN_TOOLS.filter((t) => !existsSync(t));
  return missing.length
    ? `— SKIPPED: ${missing.join(', ')} missing (apt-get install pacman-package-manager libarchive-tools)`
    : undefined;
}

/** `[epoch:]pkgver-pkgrel`, as pacman prints it */
export function fullVersion(s: PacmanSpec): string {
  return `${s.epoch ? `${s.epoch}:` : ''}${s.version}-${s.rel ?? '1'}`;
}

/** The file each test package installs; it holds the package version. */
export const payloadPath = (name: string): string => `usr/share/${name}/version`;

/** Build one `any` package (.pkg.tar.gz); returns its path. */
export async function buildPacmanPackage(dir: string, s: PacmanSpec): Promise<string> {
  const stage = await mkdtemp(join(dir, `stage-${s.name}-`));
  await mkdir(join(stage, 'usr/share', s.name), { recursive: true });
  await writeFile(join(stage, payloadPath(s.name)), `${s.version}\n`);
  await writeFile(
    join(stage, '.PKGINFO'),
    [
      `pkgname = ${s.name}`,
      `pkgbase = ${s.name}`,
      `pkgver = ${fullVersion(s)}`,
      'pkgdesc = copa test package',
      'builddate = 1700000000',
      'packager = copa tests',
      `size = ${s.version.length + 1}`,
      'arch = any',
      'license = MIT',
      '',
    ].join('\n'),
  );
  const out = join(dir, `${s.name}-${fullVersion(s)}-any.pkg.tar.gz`);
  await run('tar', [
    '--create',
    '--gzip',
    '--file',
    out,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@1700000000',
    '-C',
    stage,
    '.PKGINFO',
    'usr',
  ]);
  await rm(stage, { recursive: true, force: true });
  return out;
}

/** A pacman repository `copatest` of these packages (repo-add). */
export async function makePacmanRepo(dir: string, pkgs: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const copies: string[] = [];
  for (const p of pkgs) {
    const to = join(dir, basename(p));
    await copyFile(p, to);
    copies.push(to);
  }
  await run('repo-add', ['-q', join(dir, 'copatest.db.tar.gz'), ...copies]);
  return dir;
}

export const ARCH_OS_RELEASE =
  'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\nHOME_URL="https://archlinux.org/"\n';

/** pacman.conf of the image: the test repository, no signatures (the packages are unsigned) */
export function pacmanConf(repoUrl: string): string {
  return [
    '[options]',
    'Architecture = auto',
    'SigLevel = Never',
    'LocalFileSigLevel = Never',
    '',
    '[copatest]',
    `Server = ${repoUrl.replace(/\/$/, '')}`,
    '',
  ].join('\n');
}

/**
 * The layer that makes a Debian root with pacman an Arch image: os-release, pacman.conf and a local database
 * holding `install`, installed by the host's real pacman into the staged tree.
 */
export async function archLayer(dir: string, opts: { repoUrl: string; install: string[] }): Promise<string> {
  const stage = join(dir, 'arch-stage');
  const scratch = join(dir, 'arch-scratch');
  await mkdir(join(stage, 'etc'), { recursive: true });
  await mkdir(join(stage, 'var/lib/pacman'), { recursive: true });
  await mkdir(scratch, { recursive: true });
  await writeFile(join(stage, 'etc/os-release'), ARCH_OS_RELEASE);
  await writeFile(join(stage, 'etc/pacman.conf'), pacmanConf(opts.repoUrl));
  const hostConf = join(scratch, 'pacman.conf');
  await writeFile(hostConf, pacmanConf(opts.repoUrl));
  await run('pacman', [
    '--config',
    hostConf,
    '--root',
    stage,
    '--dbpath',
    join(stage, 'var/lib/pacman'),
    '--cachedir',
    join(scratch, 'cache'),
    '--logfile',
    join(scratch, 'pacman.log'),
    '--gpgdir',
    join(scratch, 'gnupg'),
    '--hookdir',
    join(scratch, 'hooks'),
    '--noconfirm',
    '--noscriptlet',
    '-U',
    ...opts.install,
  ]);
  await rm(scratch, { recursive: true, force: true });
  return tarLayer(stage, join(dir, 'arch-layer.tar'));
}

/** Installed packages of an unpacked root, read by the host's real pacman: name -> version. */
export async function pacmanQuery(rootfs: string): Promise<Map<string, string>> {
  const { stdout } = await run('pacman', ['--dbpath', join(rootfs, 'var/lib/pacman'), '-Q']);
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, version] = line.trim().split(' ');
    if (name && version) out.set(name, version);
  }
  return out;
}

/** copa-hello 1.0-1 -> 2.0-1 and copa-lib 1:1.0-1 -> 1:1.1-1 (an epoch) */
export const PACMAN_V1: PacmanSpec[] = [
  { name: 'copa-hello', version: '1.0' },
  { name: 'copa-lib', version: '1.0', epoch: 1 },
];
export const PACMAN_V2: PacmanSpec[] = [
  { name: 'copa-hello', version: '2.0' },
  { name: 'copa-lib', version: '1.1', epoch: 1 },
];

export async function buildPacmanPackages(dir: string): Promise<{ v1: string[]; v2: string[] }> {
  await mkdir(dir, { recursive: true });
  const build = (specs: PacmanSpec[]) => Promise.all(specs.map((s) => buildPacmanPackage(dir, s)));
  const out = { v1: await build(PACMAN_V1), v2: await build(PACMAN_V2) };
  if ((await readdir(dir)).length < 4) throw new Error('pacman test packages were not built');
  return out;
}
