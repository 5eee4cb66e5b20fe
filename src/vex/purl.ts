/**
 * Package URLs (purl) for the packages a VEX statement names.
 *
 * Normalisation per type (lower-cased deb/apk/npm/pypi names, `_` -> `-` for PyPI, ...) comes from
 * `packageurl-js`, the purl project's own JavaScript implementation. The string itself is serialised
 * here, following the character-encoding clause of the purl specification (ECMA-427 §5.4): only
 * `A-Z a-z 0-9 . - _ ~` and `:` stay literal, everything else is percent-encoded. packageurl-js
 * differs in two places that matter to us — it leaves `+` literal in versions (Debian's `+deb12u1`;
 * the purl test suite expects `%2B`) and encodes `:` in qualifier values — so its `toString()` is not
 * used.
 *
 * Go module paths keep their case: they are case-sensitive (`github.com/BurntSushi/toml`), and
 * packageurl-js and scanners keep it too, although the golang type text still says "lowercased".
 */
import { PackageURL } from 'packageurl-js';

export interface PurlParts {
  type: string;
  namespace?: string | undefined;
  name: string;
  version?: string | undefined;
  qualifiers?: Record<string, string | undefined> | undefined;
}

const LITERAL = /[A-Za-z0-9.\-_~:]/;

/** Percent-encode one purl component (UTF-8 bytes, upper-case hex) per ECMA-427 §5.4. */
export function encodePurlComponent(value: string): string {
  let out = '';
  for (const ch of value) {
    if (LITERAL.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function cleanQualifiers(q: PurlParts['qualifiers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q ?? {})) if (v !== undefined && v !== '') out[k.toLowerCase()] = v;
  return out;
}

interface NormalParts {
  type: string;
  namespace: string | undefined;
  name: string;
  version: string | undefined;
  qualifiers: Record<string, string>;
}

/** Apply the type's normalisation rules; if packageurl-js rejects the parts, keep them as given. */
function normalise(p: PurlParts): NormalParts {
  const qualifiers = cleanQualifiers(p.qualifiers);
  try {
    const u = new PackageURL(
      p.type,
      p.namespace === '' ? undefined : p.namespace,
      p.name,
      p.version === '' ? undefined : p.version,
      Object.keys(qualifiers).length > 0 ? qualifiers : undefined,
      undefined,
    );
    return {
      type: u.type,
      namespace: u.namespace,
      name: u.name,
      version: u.version,
      qualifiers: { ...(u.qualifiers ?? {}) },
    };
  } catch {
    // e.g. a golang version "v1.21" that is not semver: still a well-formed purl, just not normalised.
    return {
      type: p.type.toLowerCase(),
      namespace: p.namespace,
      name: p.name,
      version: p.version,
      qualifiers,
    };
  }
}

/** Canonical purl string: normalised components, encoded per ECMA-427, qualifiers sorted by key. */
export function packageUrl(parts: PurlParts): string {
  const p = normalise(parts);
  let s = `pkg:${p.type}/`;
  const ns = (p.namespace ?? '').split('/').filter((seg) => seg !== '');
  if (ns.length > 0) s += ns.map(encodePurlComponent).join('/') + '/';
  s += encodePurlComponent(p.name);
  if (p.version !== undefined && p.version !== '') s += `@${encodePurlComponent(p.version)}`;
  const q = Object.entries(p.qualifiers)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (q.length > 0) s += '?' + q.map(([k, v]) => `${k}=${encodePurlComponent(v)}`).join('&');
  return s;
}

// ---------------------------------------------------------------------------------------------
// Package-manager specific parts

export type OsPurlType = 'deb' | 'rpm' | 'apk' | 'alpm' | 'generic';

const OS_PURL_TYPE: Record<string, OsPurlType> = {
  debian: 'deb',
  ubuntu: 'deb',
  alpine: 'apk',
  wolfi: 'apk',
  chainguard: 'apk',
  archlinux: 'alpm',
  redhat: 'rpm',
  rhel: 'rpm',
  centos: 'rpm',
  rocky: 'rpm',
  alma: 'rpm',
  almalinux: 'rpm',
  amazon: 'rpm',
  oracle: 'rpm',
  'cbl-mariner': 'rpm',
  mariner: 'rpm',
  azurelinux: 'rpm',
  fedora: 'rpm',
  photon: 'rpm',
  sles: 'rpm',
  'opensuse-leap': 'rpm',
  'opensuse-tumbleweed': 'rpm',
};

/** Purl vendor namespace of an OS family: the family itself, except Arch whose alpm vendor is "arch". */
function osNamespace(osType: string): string {
  return osType === 'archlinux' ? 'arch' : osType;
}

/** Image architecture (OCI/Go names) -> the architecture name each package manager uses. */
const ARCH: Record<'deb' | 'rpm' | 'apk' | 'alpm', Record<string, string>> = {
  deb: {
    amd64: 'amd64',
    arm64: 'arm64',
    '386': 'i386',
    ppc64le: 'ppc64el',
    s390x: 's390x',
    riscv64: 'riscv64',
    mips64le: 'mips64el',
  },
  rpm: {
    amd64: 'x86_64',
    arm64: 'aarch64',
    '386': 'i686',
    arm: 'armv7hl',
    ppc64le: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  },
  apk: {
    amd64: 'x86_64',
    arm64: 'aarch64',
    '386': 'x86',
    ppc64le: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  },
  alpm: { amd64: 'x86_64', arm64: 'aarch64' },
};

export function packageArch(type: OsPurlType, arch: string, variant = ''): string {
  if (arch === '' || type === 'generic') return arch;
  if (arch === 'arm') {
    if (type === 'deb') return variant === 'v5' || variant === 'v6' ? 'armel' : 'armhf';
    if (type === 'apk') return variant === 'v6' || variant === 'v5' ? 'armhf' : 'armv7';
    if (type === 'alpm') return variant === '' ? 'armv7h' : `arm${variant}h`;
  }
  return ARCH[type][arch] ?? arch;
}

export interface OsContext {
  osType: string;
  osVersion: string;
  arch: string;
  variant?: string | undefined;
}

/**
 * An OS package: `pkg:<deb|rpm|apk|alpm>/<vendor>/<name>@<version>?arch=..&distro=<os>-<version>`.
 * RPM epochs go to the `epoch` qualifier (the rpm type's version is version-release); Debian, APK and
 * alpm versions keep theirs.
 */
export function osPackageUrl(name: string, version: string, ctx: OsContext): string {
  const osType = ctx.osType.toLowerCase();
  const type = OS_PURL_TYPE[osType] ?? 'generic';
  const qualifiers: Record<string, string> = {};
  let v = version;
  if (type === 'rpm') {
    const m = /^(\d+):(.+)$/.exec(version);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      if (m[1] !== '0') qualifiers.epoch = m[1];
      v = m[2];
    }
  }
  const arch = packageArch(type, ctx.arch, ctx.variant);
  if (arch !== '') qualifiers.arch = arch;
  if (osType !== '' && ctx.osVersion !== '') qualifiers.distro = `${osType}-${ctx.osVersion}`;
  return packageUrl({ type, namespace: osNamespace(osType), name, version: v, qualifiers });
}

/** Split a Go module path into purl namespace and name (last path element). */
function splitLast(path: string): { namespace?: string; name: string } {
  const i = path.lastIndexOf('/');
  return i < 0 ? { name: path } : { namespace: path.slice(0, i), name: path.slice(i + 1) };
}

/** A library package, by Trivy's result type: pypi, npm (`@scope/name`), golang, nuget; else generic. */
export function libraryPackageUrl(ecosystem: string, name: string, version: string): string {
  switch (ecosystem) {
    case 'python-pkg':
      return packageUrl({ type: 'pypi', name, version });
    case 'node-pkg': {
      const m = /^(@[^/]+)\/(.+)$/.exec(name);
      return m?.[1] !== undefined && m[2] !== undefined
        ? packageUrl({ type: 'npm', namespace: m[1], name: m[2], version })
        : packageUrl({ type: 'npm', name, version });
    }
    case 'gomod':
    case 'gobinary':
      return packageUrl({ type: 'golang', ...splitLast(name), version });
    case 'dotnet-core':
      return packageUrl({ type: 'nuget', name, version });
    default:
      return packageUrl({ type: 'generic', name, version });
  }
}

/**
 * The image: `pkg:oci/<last path element of the repository>@sha256:<hex>`. No `repository_url`
 * qualifier: the oci type makes it optional ("registry agnostic by default"), the digest already
 * identifies the content wherever it is copied, and consumers such as Trivy treat every qualifier in
 * a VEX product as a constraint, so adding the registry would stop the statement from matching a
 * mirrored copy of the same image.
 */
export function ociPackageUrl(repository: string, digest: string): string {
  return packageUrl({ type: 'oci', name: repositoryName(repository), version: digest });
}

/** `docker.io/library/nginx:1.25@sha256:…` -> `nginx`. */
export function repositoryName(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref;
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return (colon < 0 ? last : last.slice(0, colon)).toLowerCase();
}
