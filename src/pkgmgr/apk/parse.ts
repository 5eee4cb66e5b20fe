/** Pure parsers for apk's database and output. */
import type { PlannedUpdate } from '../types.js';

/**
 * The installed-package database `/lib/apk/db/installed`: one record per package, `X:value` lines
 * (`P:` name, `V:` version, ...), records separated by blank lines.
 */
export function parseApkInstalled(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const record of text.split(/\n\s*\n/)) {
    let name: string | undefined;
    let version: string | undefined;
    for (const line of record.split('\n')) {
      if (line.startsWith('P:')) name = line.slice(2).trim();
      else if (line.startsWith('V:')) version = line.slice(2).trim();
    }
    if (name && version) installed.set(name, version);
  }
  return installed;
}

const ACTION =
  /^\(\d+\/\d+\) (Installing|Upgrading|Downgrading|Replacing|Reinstalling|Purging) (\S+) \(([^)]*)\)/;

/**
 * The plan apk prints (also with `--simulate`): `(1/3) Upgrading busybox (1.36.1-r2 -> 1.36.1-r5)`,
 * `(2/3) Installing libnew (1)`. Upgrades, downgrades, replacements and new packages become planned updates;
 * reinstalls and purges do not.
 */
export function parseApkActions(text: string): PlannedUpdate[] {
  const out: PlannedUpdate[] = [];
  for (const line of text.split('\n')) {
    const m = ACTION.exec(line.trim());
    if (!m?.[1] || !m[2] || m[3] === undefined) continue;
    const [, action, name, versions] = m;
    if (action === 'Reinstalling' || action === 'Purging') continue;
    const arrow = versions.split(' -> ');
    if (arrow.length === 2 && arrow[0] && arrow[1]) out.push({ name, from: arrow[0], to: arrow[1] });
    else out.push({ name, to: versions });
  }
  return out;
}

/** The lines of a failed apk run that say why: its `ERROR:` lines (and what follows them), else its last line. */
export function apkErrorLine(stderr: string, stdout = ''): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const first = lines.findIndex((l) => l.startsWith('ERROR:'));
  if (first >= 0)
    return lines
      .slice(first, first + 4)
      .map((l) => l.trim())
      .join(' ');
  return lines[lines.length - 1]?.trim() ?? 'no output';
}

/** `apk update` warnings/errors about a repository index it could not fetch. */
export function apkFetchFailure(output: string): string | undefined {
  return output
    .split('\n')
    .map((l) => l.trim())
    .find((l) =>
      /^(WARNING|ERROR): .*(temporary error|No such file|network|unable to|Permission denied|UNTRUSTED|could not)/i.test(
        l,
      ),
    );
}
