/** Pure parsers for dpkg/apt output. */

export interface PlannedUpdate {
  name: string;
  /** installed version before the patch; undefined when apt would newly install it */
  from?: string | undefined;
  to: string;
}

/**
 * Installed packages from a dpkg status file (`Package:`/`Version:`/`Status:` stanzas). Packages whose
 * status is not "installed" (removed, config-files, half-installed) or that have no version are left out.
 * Multi-arch packages (`libc6:amd64` in reports) are keyed by plain name.
 */
export function parseDpkgStatus(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    let name: string | undefined;
    let version: string | undefined;
    let status: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('Package:')) name = line.slice(8).trim();
      else if (line.startsWith('Version:')) version = line.slice(8).trim();
      else if (line.startsWith('Status:')) status = line.slice(7).trim();
    }
    if (!name || !version) continue;
    if (status !== undefined && !/\binstalled$/.test(status)) continue;
    installed.set(name, version);
  }
  return installed;
}

/**
 * Planned changes from `apt-get -s` (simulate) output: `Inst name [old] (new suite [arch])` lines; a line
 * without `[old]` is a new install (e.g. a new dependency).
 */
export function parseAptSimulation(text: string): PlannedUpdate[] {
  const out: PlannedUpdate[] = [];
  const re = /^Inst (\S+) (?:\[([^\]]+)\] )?\((\S+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const [, name, from, to] = m;
    if (name === undefined || to === undefined) continue;
    out.push({ name: name.replace(/:[a-z0-9]+$/, ''), from, to });
  }
  return out;
}

/**
 * Held packages from a dpkg status file, as `apt-mark showhold` lists them: stanzas whose selection (the
 * first word of `Status:`) is `hold`. Read from the file, so no process runs for it.
 */
export function parseHeld(statusText: string): string[] {
  const held: string[] = [];
  for (const stanza of statusText.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    if (name && /^Status:\s*hold\s/m.test(stanza)) held.push(name);
  }
  return held;
}

/** The most useful line of a failed apt run: its last `E:` line, else its last non-empty line. */
export function aptErrorLine(stderr: string, stdout = ''): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errs = lines.filter((l) => l.startsWith('E:'));
  // dpkg says why it failed on its own line ("… failed to write (No space left on device)"); apt only "error code (2)"
  const cause = lines.find((l) => !l.startsWith('E:') && /No space left on device/.test(l));
  if (cause !== undefined) errs.unshift(cause);
  return (errs.length > 0 ? errs.join(' ') : lines[lines.length - 1]) ?? 'no output';
}

/** The first "could not fetch an index" line of `apt-get update` output, if any. */
export function updateFailure(output: string): string | undefined {
  const line = output
    .split('\n')
    .find((l) =>
      /^(W|E|Err): (Failed to fetch|Some index files failed|The repository .* (does not have|no longer has) a Release file)/.test(
        l.trim(),
      ),
    );
  return line?.trim();
}
