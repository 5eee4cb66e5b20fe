/**
 * What an image holds at one site-packages dir: installed versions read from the packages' own metadata
 * (no Python needed), and the Python that owns the dir, if any (probed by running it).
 */
import type { Executor } from '../../engine/types.js';
import { metadataField, metaEntriesFor, parseMetaDirName } from './paths.js';

/** Installed versions of `name` at `site` (several when an old copy was left behind); [] when absent. */
export async function installedVersions(exec: Executor, site: string, name: string): Promise<string[]> {
  const listing = (await exec.list(site, 'image')) ?? [];
  const out: string[] = [];
  for (const entry of metaEntriesFor(listing, name)) {
    const file = entry.endsWith('.dist-info') ? `${entry}/METADATA` : `${entry}/PKG-INFO`;
    const text =
      (await exec.readFile(`${site}/${file}`, 'image')) ?? (await exec.readFile(`${site}/${entry}`, 'image'));
    const version =
      (text && metadataField(text.toString('utf8'), 'Version')) || parseMetaDirName(entry)?.version;
    if (version) out.push(version);
  }
  return out;
}

/** Whether `dir` is a virtualenv root (has pyvenv.cfg). */
export async function isVenv(exec: Executor, dir: string): Promise<boolean> {
  return (await exec.readFile(`${dir.replace(/\/$/, '')}/pyvenv.cfg`, 'image')) !== undefined;
}

export interface PythonEnv {
  /** the interpreter, an image path */
  python: string;
  /** its purelib is the reported site-packages dir */
  ownsSite: boolean;
  /** pip is importable by it */
  pip: boolean;
  /** PEP 668 marker in its stdlib, outside a venv */
  externallyManaged: boolean;
  venv: boolean;
}

const PROBE = `
import json, os, sys, sysconfig
from importlib.util import find_spec
site = sys.argv[1]
purelib = sysconfig.get_path("purelib")
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
venv = sys.prefix != sys.base_prefix
print(json.dumps({"ownsSite": os.path.realpath(purelib) == os.path.realpath(site),
  "pip": find_spec("pip") is not None, "managed": managed and not venv, "venv": venv}))
`;

/** Interpreters that may own `site`: the prefix's own first, then the usual system ones. */
export function pythonCandidates(prefix: string, pyVersion: string | undefined): string[] {
  const bin = `${prefix === '/' ? '' : prefix}/bin`;
  const names = pyVersion ? [`python${pyVersion}`, 'python3', 'python'] : ['python3', 'python'];
  const dirs = [bin, '/usr/local/bin', '/usr/bin'].filter((d, i, a) => a.indexOf(d) === i);
  return dirs.flatMap((d) => names.map((n) => `${d}/${n}`));
}

/** The first interpreter of the image whose purelib is `site`; undefined when none runs or owns it. */
export async function findPython(
  exec: Executor,
  site: string,
  candidates: string[],
  env: Record<string, string>,
): Promise<PythonEnv | undefined> {
  const seen = new Set<string>();
  for (const python of candidates) {
    const slash = python.lastIndexOf('/');
    const names = await exec.list(python.slice(0, slash) || '/', 'image');
    if (!names?.includes(python.slice(slash + 1)) || seen.has(python)) continue;
    seen.add(python);
    const r = await exec.run([python, '-c', PROBE, site], { env }).catch(() => undefined);
    if (!r || r.code !== 0) continue;
    try {
      const p = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as {
        ownsSite: boolean;
        pip: boolean;
        managed: boolean;
        venv: boolean;
      };
      if (!p.ownsSite) continue;
      return { python, ownsSite: true, pip: p.pip, externallyManaged: p.managed, venv: p.venv };
    } catch {
      continue;
    }
  }
  return undefined;
}
