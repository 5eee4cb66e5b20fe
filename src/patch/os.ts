import { CopaError } from '../errors.js';

/**
 * Copa's canonical OS names (COPA-BEHAVIOUR §2.1): substring match on the lower-cased os-release NAME,
 * in this order (order matters: "opensuse leap" before "sles", "almalinux" before "alma"...).
 */
const CANONICAL: Array<[string, string[]]> = [
  ['opensuse-leap', ['opensuse-leap', 'opensuse leap', 'opensuse.leap']],
  ['opensuse-tumbleweed', ['opensuse-tumbleweed', 'opensuse tumbleweed']],
  ['sles', ['sles', 'suse linux enterprise server']],
  ['almalinux', ['almalinux']],
  ['alma', ['alma']],
  ['azurelinux', ['azurelinux', 'azure linux']],
  ['cbl-mariner', ['cbl-mariner', 'mariner']],
  ['redhat', ['redhat', 'red hat']],
  ['alpine', ['alpine']],
  ['debian', ['debian']],
  ['ubuntu', ['ubuntu']],
  ['amazon', ['amazon']],
  ['centos', ['centos']],
  ['rocky', ['rocky']],
  ['oracle', ['oracle']],
  ['archlinux', ['arch linux', 'archlinux']],
];

export function canonicalOsType(name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [type, needles] of CANONICAL) if (needles.some((s) => n.includes(s))) return type;
  return undefined;
}

/** Parse an os-release file (shell-like KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m?.[1] || m[2] === undefined) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]] = v.replace(/\\(["\\$`])/g, '$1');
  }
  return out;
}

export interface OsInfo {
  type: string;
  version: string;
}

export function osFromRelease(text: string): OsInfo {
  const rel = parseOsRelease(text);
  const name = rel.NAME ?? rel.ID ?? '';
  const type = canonicalOsType(name);
  if (!type) {
    throw new CopaError('UNSUPPORTED_OS', `unsupported osType ${JSON.stringify(name.toLowerCase())}`, {
      hint: 'supported: Debian, Ubuntu, Alpine, Arch, CentOS, RHEL, Rocky, Alma, Amazon, Oracle, CBL-Mariner, Azure Linux, SLES, openSUSE',
    });
  }
  return { type, version: rel.VERSION_ID ?? '' };
}
