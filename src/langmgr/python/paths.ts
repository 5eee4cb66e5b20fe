/**
 * Pure helpers of the Python manager: report data checks, where a reported package lives (which
 * environment, which site-packages dir, vendored or not), and package metadata parsing. No I/O.
 */
import { valid as pep440Valid } from '@renovatebot/pep440';

const NAME_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** characters a PEP 440 version may hold (pep440 accepts surrounding spaces and `v`; we want them plain) */
const VERSION_CHARS = /^[A-Za-z0-9.+!_-]+$/;

export function validName(name: string): boolean {
  return name.length <= 214 && NAME_RE.test(name);
}

export function validVersion(version: string): boolean {
  return VERSION_CHARS.test(version) && pep440Valid(version) !== null;
}

/** PEP 503 normal form: `Foo_Bar.baz` -> `foo-bar-baz`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export interface Location {
  /** absolute site-packages (or dist-packages) dir, e.g. /app/venv/lib/python3.11/site-packages */
  site: string;
  /** the install prefix before /lib/pythonX.Y, e.g. /app/venv, /usr/local */
  prefix: string;
  /** X.Y of the lib/pythonX.Y dir; undefined for Debian's /usr/lib/python3 */
  pyVersion: string | undefined;
  /** prefix outside /usr (a virtualenv or an own prefix such as /opt/conda) */
  ownPrefix: boolean;
  /** Debian's /usr/lib/python3/dist-packages: files of OS packages */
  debianDist: boolean;
  /** the package dir of site-packages that holds a vendored copy (e.g. `setuptools`), if any */
  vendoredIn: string | undefined;
  /** the vendored copy's metadata dir relative to site (e.g. `setuptools/_vendor/wheel-0.45.1.dist-info`) */
  vendoredMeta: string | undefined;
}

const SITE_RE = /^(.*?)(\/(?:lib|lib64)\/python(\d+(?:\.\d+)?)\/(?:site|dist)-packages)(?:\/(.*))?$/;
const META_RE = /\.(dist-info|egg-info)$/;

/** Where a report's `pkgPath` (Trivy: no leading `/`; a leading `/` is accepted) lives; undefined when it is no site-packages path. */
export function locate(pkgPath: string): Location | undefined {
  const parts = pkgPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) return undefined;
  const m = SITE_RE.exec(`/${parts.join('/')}`);
  if (!m) return undefined;
  const prefix = m[1] === '' ? '/' : (m[1] ?? '/');
  const ver = m[3] ?? '';
  const site = `${m[1] ?? ''}${m[2] ?? ''}`;
  const rest = (m[4] ?? '').split('/').filter(Boolean);
  if (rest.length === 0) return undefined;
  const metaAt = rest.findIndex((p) => META_RE.test(p));
  const vendored = metaAt > 0;
  const underUsr = prefix === '/usr' || prefix.startsWith('/usr/');
  return {
    site,
    prefix,
    pyVersion: /^\d+\.\d+$/.test(ver) ? ver : undefined,
    ownPrefix: !underUsr,
    debianDist: site === '/usr/lib/python3/dist-packages',
    vendoredIn: vendored ? rest[0] : undefined,
    vendoredMeta: vendored ? rest.slice(0, metaAt + 1).join('/') : undefined,
  };
}

/** name and version from a metadata entry name (`urllib3-1.26.4.dist-info`, `foo-1.0-py3.11.egg-info`). */
export function parseMetaDirName(entry: string): { name: string; version: string } | undefined {
  const dist = /^(.+)-([^-]+)\.dist-info$/.exec(entry);
  if (dist) return { name: dist[1] ?? '', version: dist[2] ?? '' };
  const egg = /^(.+?)-(\d[^-]*)(?:-py\d[^-]*)?(?:-[^-]+)?\.egg-info$/.exec(entry);
  if (egg) return { name: egg[1] ?? '', version: egg[2] ?? '' };
  return undefined;
}

/** The `Version:` (and `Name:`) header of a METADATA / PKG-INFO text. */
export function metadataField(text: string, field: 'Name' | 'Version'): string | undefined {
  const head = text.split(/\r?\n\r?\n/)[0] ?? '';
  const re = new RegExp(`^${field}:[ \\t]*(.+?)\\s*$`, 'm');
  return re.exec(head)?.[1];
}

/** Metadata entries of a site-packages listing that belong to `name` (PEP 503 comparison). */
export function metaEntriesFor(listing: readonly string[], name: string): string[] {
  const want = normalizeName(name);
  return listing.filter((e) => {
    const p = parseMetaDirName(e);
    return p !== undefined && normalizeName(p.name) === want;
  });
}

/** The last `ERROR:` line of pip's output (else its last line), for a one-line message. */
export function pipErrorLine(stderr: string, stdout = ''): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const err = [...lines].reverse().find((l) => l.startsWith('ERROR:'));
  return (err ?? lines[lines.length - 1] ?? 'no output').slice(0, 400);
}
