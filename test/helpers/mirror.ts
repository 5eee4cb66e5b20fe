import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the Debian archive is, for tests. Never written into the repo: taken from the environment
 * (COPA_TEST_DEBIAN_MIRROR, COPA_TEST_DEBIAN_SECURITY_MIRROR) or from the host's apt sources.
 */

export interface DebianMirrors {
  /** serves bookworm and bookworm-updates */
  main: string;
  /** serves bookworm-security */
  security: string;
}

/** One `deb` source: its URIs and suites (deb-src and disabled entries are dropped). */
export interface AptSource {
  uris: string[];
  suites: string[];
}

/** deb822 `.sources` text -> `deb` sources. Comments, continuation lines and `Enabled: no` are honoured. */
export function parseDeb822Sources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^[ \t]/.test(line)) {
        if (last !== undefined) fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):(.*)$/.exec(line);
      if (!m?.[1]) continue;
      last = m[1].toLowerCase();
      fields.set(last, (m[2] ?? '').trim());
    }
    const words = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    sources.push({ uris: words('uris'), suites: words('suites') });
  }
  return sources;
}

/** One-line `sources.list` text (`deb [options] URI SUITE COMPONENT...`) -> `deb` sources. */
export function parseOneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    const rest = line
      .slice(4)
      .trim()
      .replace(/^\[[^\]]*\]\s*/, '');
    const [uri, suite] = rest.split(/\s+/);
    if (uri && suite) sources.push({ uris: [uri], suites: [suite] });
  }
  return sources;
}

function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}

/**
 * The URI serving `bookworm` and the one serving `bookworm-security`. On a host of another Debian release,
 * falls back to the URIs whose path ends in /debian and /debian-security (the same archives serve bookworm).
 */
export function pickMirrors(sources: readonly AptSource[]): Partial<DebianMirrors> {
  const serving = (suite: string) => sources.find((s) => s.suites.includes(suite))?.uris[0];
  const byPath = (tail: string) =>
    sources.flatMap((s) => s.uris).find((u) => trimSlash(u).endsWith(tail) && /^https?:\/\//.test(u));
  const main = serving('bookworm') ?? serving('bookworm-updates') ?? byPath('/debian');
  const security = serving('bookworm-security') ?? byPath('/debian-security');
  return {
    ...(main === undefined ? {} : { main: trimSlash(main) }),
    ...(security === undefined ? {} : { security: trimSlash(security) }),
  };
}

/** All `deb` sources of the host's apt configuration under `etcApt` (deb822 files and one-line lists). */
export function hostAptSources(etcApt = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const read = (path: string) => readFileSync(path, 'utf8');
  const dir = join(etcApt, 'sources.list.d');
  const files = existsSync(dir) ? readdirSync(dir).sort() : [];
  for (const f of files) {
    if (f.endsWith('.sources')) sources.push(...parseDeb822Sources(read(join(dir, f))));
    else if (f.endsWith('.list')) sources.push(...parseOneLineSources(read(join(dir, f))));
  }
  const list = join(etcApt, 'sources.list');
  if (existsSync(list)) sources.push(...parseOneLineSources(read(list)));
  return sources;
}

/** The Debian main and security mirrors for tests: env vars first, then the host's apt sources. */
export function debianMirrors(env: NodeJS.ProcessEnv = process.env, etcApt = '/etc/apt'): DebianMirrors {
  const fromEnv = {
    main: env.COPA_TEST_DEBIAN_MIRROR?.trim() || undefined,
    security: env.COPA_TEST_DEBIAN_SECURITY_MIRROR?.trim() || undefined,
  };
  const fromHost = fromEnv.main && fromEnv.security ? {} : pickMirrors(hostAptSources(etcApt));
  const main = fromEnv.main ?? fromHost.main;
  const security = fromEnv.security ?? fromHost.security;
  if (!main || !security) {
    const missing = [!main && 'COPA_TEST_DEBIAN_MIRROR', !security && 'COPA_TEST_DEBIAN_SECURITY_MIRROR'];
    throw new Error(
      `no Debian ${!main ? 'main' : 'security'} mirror found in ${etcApt}/sources.list(.d); ` +
        `set ${missing.filter(Boolean).join(' and ')} (URLs of a Debian archive and its security archive)`,
    );
  }
  return { main: trimSlash(main), security: trimSlash(security) };
}
