/**
 * NuGet package ids and versions from the report (untrusted): checked before they reach a project file,
 * a command line or a deps.json key, and compared the way NuGet orders versions.
 */

/** a NuGet package id as it may appear in a PackageReference and a deps.json key */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** NuGet-style version: 1 to 4 numeric parts, an optional pre-release and build metadata */
export const VERSION_RE = /^\d{1,9}(\.\d{1,9}){0,3}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z.-]+)?$/;

export function validName(name: string): boolean {
  return name.length <= 200 && NAME_RE.test(name) && !name.includes('..');
}

export function validVersion(version: string): boolean {
  return version.length <= 100 && VERSION_RE.test(version);
}

interface Parsed {
  nums: number[];
  pre: string[];
}

function parse(v: string): Parsed {
  const noBuild = v.split('+')[0] ?? '';
  const dash = noBuild.indexOf('-');
  const core = dash < 0 ? noBuild : noBuild.slice(0, dash);
  const pre = dash < 0 ? [] : noBuild.slice(dash + 1).split('.');
  const nums = core.split('.').map((p) => Number.parseInt(p, 10));
  while (nums.length < 4) nums.push(0);
  return { nums, pre };
}

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release sorts after its pre-releases
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (xn !== yn) return xn ? -1 : 1;
    else {
      const c = x.toLowerCase().localeCompare(y.toLowerCase());
      if (c !== 0) return c;
    }
  }
  return 0;
}

/** NuGet order: numeric parts (missing parts are 0: 8.0 = 8.0.0.0), then pre-release labels; build metadata ignored. */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 4; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return comparePre(x.pre, y.pre);
}

/** `8.0.11` → `8.0`; undefined when it does not start with two numbers */
export function majorMinor(version: string): string | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})(?:[.-]|$)/.exec(version);
  return m ? `${m[1]}.${m[2]}` : undefined;
}
