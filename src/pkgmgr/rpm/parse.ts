/** Pure parsers for rpm, dnf, yum, tdnf and microdnf output. */
import { parseNevra, rpmVersion } from '../../version/rpm.js';
import type { PlannedUpdate } from '../types.js';

/**
 * `rpm -qa --queryformat` with RESULTS_QUERY_FORMAT: one `name<TAB>[epoch:]version-release<TAB>arch` line per
 * package. The epoch is kept (when set) so that it compares right against report versions that carry one.
 * `gpg-pubkey` entries (imported keys) are not packages; multilib duplicates keep the highest version.
 */
export const RESULTS_QUERY_FORMAT = '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\n';

export function parseRpmQa(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, evr] = line.trim().split('\t');
    if (!name || !evr || name === 'gpg-pubkey') continue;
    const current = installed.get(name);
    if (current === undefined || rpmVersion.compare(current, evr) < 0) installed.set(name, evr);
  }
  return installed;
}

export interface AvailableUpdate {
  name: string;
  arch: string;
  evr: string;
  repo: string;
}

const EVR = /^(\d+:)?[0-9A-Za-z._+~^]+-[0-9A-Za-z._+~^]+$/;
const NAME_ARCH = /^(.+)\.([A-Za-z0-9_]+)$/;

/**
 * `check-update` output of dnf, yum and tdnf: `name.arch  [epoch:]version-release  repo` per package. dnf and
 * yum may wrap a long name onto its own line; tdnf writes each line as `repo\r version\r name.arch` (it
 * overprints with carriage returns). The "Obsoleting Packages" section and anything that is not such a
 * triple (headers, "Security:" notes) are ignored.
 */
export function parseCheckUpdate(text: string): AvailableUpdate[] {
  const main = text.split(/^Obsoleting Packages/m)[0] ?? '';
  const out: AvailableUpdate[] = [];
  const tokens: string[] = [];
  for (const line of main.split('\n')) {
    if (line.includes('\r')) {
      const parts = line
        .split('\r')
        .map((p) => p.trim())
        .filter(Boolean);
      // tdnf: repo, version-release, name.arch
      if (parts.length === 3) tokens.push(parts[2] as string, parts[1] as string, parts[0] as string);
      continue;
    }
    tokens.push(...line.trim().split(/\s+/).filter(Boolean));
  }
  for (let i = 0; i + 2 < tokens.length;) {
    const na = NAME_ARCH.exec(tokens[i] as string);
    const evr = tokens[i + 1] as string;
    if (na?.[1] && na[2] && EVR.test(evr)) {
      out.push({ name: na[1], arch: na[2], evr, repo: tokens[i + 2] as string });
      i += 3;
    } else i++;
  }
  return out;
}

/** NEVRA lines (`microdnf repoquery`, `dnf repoquery`): name → highest available version. */
export function parseAvailableNevras(text: string): Map<string, string> {
  const best = new Map<string, string>();
  for (const line of text.split('\n')) {
    const n = parseNevra(line.trim());
    if (!n) continue;
    const evr = n.evr.replace(/^0:/, '');
    const current = best.get(n.name);
    if (current === undefined || rpmVersion.compare(current, evr) < 0) best.set(n.name, evr);
  }
  return best;
}

/**
 * Planned updates from what is installed and what the repositories offer: a package is updated when a
 * higher version is available. `only` limits it to those names (report mode).
 */
export function plannedFromAvailable(
  installed: ReadonlyMap<string, string>,
  available: ReadonlyMap<string, string>,
  only: readonly string[] | null,
): PlannedUpdate[] {
  const out: PlannedUpdate[] = [];
  for (const [name, from] of installed) {
    if (only && !only.includes(name)) continue;
    const to = available.get(name);
    if (to !== undefined && rpmVersion.compare(to, from) > 0) out.push({ name, from, to });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * tdnf prints versions without their epoch: an update keeps (or raises) the installed epoch, so a bare
 * `version-release` takes the installed one. Otherwise validation would compare `1:1.0-1` with `1.1-1` and pass.
 */
export function withEpochOf(to: string, from: string | undefined): string {
  const epoch = from === undefined ? undefined : /^(\d+):/.exec(from)?.[1];
  return epoch === undefined || to.includes(':') ? to : `${epoch}:${to}`;
}

/** check-update entries as planned updates (one per name, the highest version; `from` from the rpmdb). */
export function plannedFromCheckUpdate(
  entries: readonly AvailableUpdate[],
  installed: ReadonlyMap<string, string>,
): PlannedUpdate[] {
  const available = new Map<string, string>();
  for (const e of entries) {
    const current = available.get(e.name);
    if (current === undefined || rpmVersion.compare(current, e.evr) < 0) available.set(e.name, e.evr);
  }
  return [...available]
    .map(([name, to]) => ({ name, from: installed.get(name), to: withEpochOf(to, installed.get(name)) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The lines of a dnf/yum/tdnf run that say why it failed: its `Error:` lines, else its last line. */
export function rpmErrorLine(stderr: string, stdout = ''): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.replace(/\r/g, '').trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^(Error|error|ERROR)\b/.test(l) || /^No match for argument/.test(l));
  return (errors.length > 0 ? errors.join(' ') : lines[lines.length - 1]) ?? 'no output';
}

/**
 * dnf can exit 0 after skipping a repository it could not reach ("Ignoring repositories: x"): patching from a
 * missing index would silently miss fixes. Returns the line saying so, if any.
 */
export function metadataFailure(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trim());
  return (
    lines.find((l) => /^Error: Failed to download metadata for repo/.test(l)) ??
    lines.find((l) => /^Ignoring repositories:/.test(l)) ??
    lines.find((l) => /^(Error|Warning): Failed to (synchronize|download) .*(repo|metadata)/i.test(l))
  );
}
