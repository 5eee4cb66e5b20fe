/**
 * OS type/version -> the product and release names of the end-of-life API (endoflife.date's
 * `/products/<product>/releases/<release>`), COPA-BEHAVIOUR §2.8.
 *
 * Differences from Copa, all because Copa's names miss the API's products: our canonical type
 * `redhat` maps to `rhel` (Copa only maps a literal "rhel"), `rocky` to `rocky-linux` (the API's
 * product id since September 2025) and `alma` to `almalinux`.
 */
export interface EolTarget {
  product: string;
  version: string;
}

const DEBIAN_CODENAMES: Record<string, string> = {
  buzz: '1',
  rex: '1',
  bo: '1',
  hamm: '2',
  slink: '2',
  potato: '2',
  woody: '3',
  sarge: '3',
  etch: '4',
  lenny: '5',
  squeeze: '6',
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};

function major(v: string): string {
  return v.split('.')[0] ?? v;
}

function majorMinor(v: string): string {
  const parts = v.split('.');
  return parts.length >= 2 ? `${parts[0]}.${parts[1]}` : v;
}

/** Families whose release is the major version, with the API's product name. */
const BY_MAJOR: Record<string, string> = {
  centos: 'centos',
  rhel: 'rhel',
  redhat: 'rhel',
  rocky: 'rocky-linux',
  alma: 'almalinux',
  almalinux: 'almalinux',
  'cbl-mariner': 'cbl-mariner',
  mariner: 'cbl-mariner',
  azurelinux: 'azure-linux',
};

export function eolTarget(os: { type: string; version: string }): EolTarget {
  const type = os.type.trim().toLowerCase();
  const version = os.version.trim().toLowerCase();
  if (type === 'debian') {
    return {
      product: type,
      version: /^\d/.test(version) ? major(version) : (DEBIAN_CODENAMES[version] ?? version),
    };
  }
  if (type === 'ubuntu') {
    // "22.04 LTS", "22.04.3 lts" -> "22.04"
    return { product: type, version: majorMinor(version.replace(/lts/g, '').trim().split(/\s+/)[0] ?? '') };
  }
  if (type === 'alpine') return { product: type, version: majorMinor(version) };
  const byMajor = BY_MAJOR[type];
  if (byMajor !== undefined) return { product: byMajor, version: major(version) };
  if (type === 'amazon') {
    // os-release says "2" or "2023"; scanners may say "2 (Karoo)" or "2023.3.20240219"
    return { product: 'amazon-linux', version: major(version.split(/\s+/)[0] ?? '') };
  }
  return { product: type, version };
}
