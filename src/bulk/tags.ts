import { CopaError } from '../errors.js';
import type { TagSpec } from './spec.js';
import { isValidTag } from './template.js';

/**
 * Tag discovery of bulk mode (pure: the caller lists the repository's tags) and the versioned target
 * tags of re-patches (`<base>`, `<base>-1`, `<base>-2`, …).
 */

/** A version as Masterminds/semver's loose NewVersion reads it. */
export interface TagVersion {
  major: bigint;
  minor: bigint;
  patch: bigint;
  prerelease?: string;
  build?: string;
}

// Masterminds/semver's loose grammar: optional v, 1 to 3 numeric parts (leading zeros allowed, so 22.04
// parses), optional -prerelease and +build made of dot-separated [0-9A-Za-z-] identifiers.
const IDENTIFIERS = '[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*';
const VERSION_RE = new RegExp(
  `^v?([0-9]+)(?:\\.([0-9]+))?(?:\\.([0-9]+))?(?:-(${IDENTIFIERS}))?(?:\\+(${IDENTIFIERS}))?$`,
);
/** The one all-digit architecture tag suffix Copa uses for per-platform tags (linux/386). */
const ARCH_386 = '386';
/** Go parses each part into a 64-bit integer; a larger number is not a version. */
const MAX_PART = 2n ** 63n - 1n;

/** Parse `tag` as a version, or undefined when it is not one (`latest`, `bookworm`, `1.2.3.4`). */
export function parseTagVersion(tag: string): TagVersion | undefined {
  const m = VERSION_RE.exec(tag);
  if (!m) return undefined;
  const [major, minor, patch] = [m[1], m[2], m[3]].map((part) => BigInt(part ?? '0')) as [
    bigint,
    bigint,
    bigint,
  ];
  if (major > MAX_PART || minor > MAX_PART || patch > MAX_PART) return undefined;
  const version: TagVersion = { major, minor, patch };
  if (m[4] !== undefined) version.prerelease = m[4];
  if (m[5] !== undefined) version.build = m[5];
  return version;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stable versions of `tags` (no prerelease), ascending; equal versions ordered by the tag string. */
function stableVersionsAscending(tags: string[]): string[] {
  const versions: Array<{ tag: string; v: TagVersion }> = [];
  for (const tag of tags) {
    const v = parseTagVersion(tag);
    if (v !== undefined && v.prerelease === undefined) versions.push({ tag, v });
  }
  versions.sort(
    (a, b) =>
      compareBig(a.v.major, b.v.major) ||
      compareBig(a.v.minor, b.v.minor) ||
      compareBig(a.v.patch, b.v.patch) ||
      compareStrings(a.tag, b.tag),
  );
  return versions.map((x) => x.tag);
}

function withoutExcluded(tags: string[], exclude: string[] | undefined): string[] {
  if (exclude === undefined || exclude.length === 0) return tags;
  const excluded = new Set(exclude);
  return tags.filter((tag) => !excluded.has(tag));
}

/**
 * The tags to patch for one image entry, from the repository's `available` tags.
 * - list: the list verbatim (`available` and `exclude` unused, as in Copa).
 * - pattern: regex matches minus `exclude`, stable versions only, ascending, the last `maxTags` if > 0.
 * - latest: `available` minus `exclude`, the single highest stable version (none: empty).
 */
export function selectTags(spec: TagSpec, available: string[]): string[] {
  switch (spec.strategy) {
    case 'list':
      return [...(spec.list ?? [])];
    case 'pattern': {
      if (spec.pattern === undefined) {
        throw new CopaError('USAGE', 'tag strategy pattern needs a pattern', {
          hint: 'add tags.pattern, a regular expression such as ^1\\.2[0-9]\\.[0-9]+$',
        });
      }
      const re = new RegExp(spec.pattern);
      const matching = withoutExcluded(
        available.filter((tag) => re.test(tag)),
        spec.exclude,
      );
      const sorted = stableVersionsAscending(matching);
      const max = spec.maxTags ?? 0;
      return max > 0 ? sorted.slice(-max) : sorted;
    }
    case 'latest': {
      const sorted = stableVersionsAscending(withoutExcluded(available, spec.exclude));
      return sorted.slice(-1);
    }
  }
}

/**
 * Existing patched tags for `base` (e.g. `1.25.3-patched`) among the target repository's tags: `base` itself
 * (N = 0) and `base-N` with N a positive decimal number (arch variants such as `base-amd64`, `base-arm-v7`
 * and the all-digit `base-386` do not count). `latest` is the existing tag with the highest N, `next` the tag for a new patch: `base` when
 * none exists, else `base-<max N + 1>`.
 */
export function versionedTags(base: string, existing: string[]): { latest?: string; next: string } {
  const prefix = `${base}-`;
  let latest: { tag: string; n: bigint } | undefined;
  for (const tag of existing) {
    let n: bigint;
    if (tag === base) n = 0n;
    else if (tag.startsWith(prefix) && /^[0-9]+$/.test(tag.slice(prefix.length))) {
      const suffix = tag.slice(prefix.length);
      // `base-386` is the linux/386 image of a multi-platform patch, not re-patch number 386 (as in Copa)
      if (suffix === ARCH_386) continue;
      n = BigInt(suffix);
      if (n === 0n) continue;
    } else continue;
    if (latest === undefined || n > latest.n || (n === latest.n && tag < latest.tag)) latest = { tag, n };
  }
  if (latest === undefined) return { next: base };
  const next = `${base}-${latest.n + 1n}`;
  if (!isValidTag(next)) {
    throw new CopaError('USAGE', `the next patched tag ${JSON.stringify(next)} is not a valid tag`, {
      hint: 'a tag has at most 128 characters; shorten the target tag template',
    });
  }
  return { latest: latest.tag, next };
}
