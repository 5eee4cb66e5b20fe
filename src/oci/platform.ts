import { CopaError } from '../errors.js';
import type { Descriptor, Index, Platform } from './schemas.js';

/** Go/OCI architecture names for Node's process.arch values. */
const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** Common aliases (uname -m, Debian names) mapped to the OCI architecture and, where implied, a variant. */
const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  i386: { architecture: '386' },
  i486: { architecture: '386' },
  i586: { architecture: '386' },
  i686: { architecture: '386' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

const PLATFORM_HINT = 'write a platform as os/arch[/variant], e.g. linux/amd64 or linux/arm/v7';

/** Parse `os/arch[/variant]` (as typed; see normalizePlatform for comparisons). */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new CopaError('PLATFORM', `invalid platform ${JSON.stringify(s)}`, { hint: PLATFORM_HINT });
  }
  const [os = '', architecture = '', variant] = parts;
  const p: Platform = { os, architecture };
  if (variant !== undefined) p.variant = variant;
  return p;
}

/** `os/arch[/variant]` */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * The canonical form used for comparisons: lower case, arch aliases resolved (x86_64 -> amd64,
 * aarch64 -> arm64), arm64 `v8` dropped, amd64 `v1` dropped, arm `7` -> `v7`. An arm platform
 * without variant stays without one (Copa treats linux/arm and linux/arm/v7 as different keys).
 * Other fields (os.version, features) are kept.
 */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    if (alias.variant !== undefined && !variant) variant = alias.variant;
  }
  if (variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const { variant: _dropped, ...rest } = p;
  const out: Platform = { ...rest, os, architecture };
  if (variant) out.variant = variant;
  return out;
}

/** Same os/arch/variant after normalisation. */
export function platformEquals(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '');
}

/** The platform this process runs on, in OCI/Go names (always os linux: images are linux images). */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const vars = process.config.variables as Record<string, unknown>;
    const armVersion = vars['arm_version'];
    p.variant = typeof armVersion === 'string' || typeof armVersion === 'number' ? `v${armVersion}` : 'v7';
  }
  return p;
}

/** Attestation manifests (BuildKit provenance/SBOM) in an index: platform unknown/unknown or the docker annotation. */
export function isAttestation(desc: Descriptor): boolean {
  if (desc.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return true;
  return desc.platform?.os === 'unknown' || desc.platform?.architecture === 'unknown';
}

/** The platforms an index offers, attestations left out, in index order. */
export function indexPlatforms(index: Index): Platform[] {
  return index.manifests.filter((d) => d.platform && !isAttestation(d)).map((d) => d.platform as Platform);
}

/**
 * The manifest descriptor for `want` (exact os/arch/variant after normalisation; the first match
 * wins, like docker). Throws CopaError('PLATFORM') listing what is available.
 */
export function selectManifest(index: Index, want: Platform, what = 'the image index'): Descriptor {
  for (const d of index.manifests) {
    if (!d.platform || isAttestation(d)) continue;
    if (platformEquals(d.platform, want)) return d;
  }
  const available = indexPlatforms(index).map((p) => formatPlatform(normalizePlatform(p)));
  throw new CopaError(
    'PLATFORM',
    `no manifest for ${formatPlatform(normalizePlatform(want))} in ${what}; available: ${available.join(', ') || 'none'}`,
    { hint: 'choose one of the available platforms with --platform' },
  );
}
