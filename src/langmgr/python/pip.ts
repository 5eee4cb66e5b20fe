/**
 * Running pip: in the image's own environment (`python -m pip install name==ver…`), and in a tooling image
 * (`pip install --no-deps --target <scratch>` then the new files replace the old ones in the image's exact
 * site-packages dir). No cache, no bytecode of pip itself, HOME and TMPDIR on the image's tmpfs /tmp.
 */
import { sandboxEnv } from '../../engine/env.js';
import type { Executor } from '../../engine/types.js';
import type { PackageIndexes } from '../types.js';
import { redactText } from '../common/indexes.js';
import { pipErrorLine } from './paths.js';

export const PIP_FLAGS = [
  '--no-cache-dir',
  '--disable-pip-version-check',
  '--no-input',
  '--progress-bar=off',
  '--timeout=300',
];

/** The environment of every pip / python run (image or tooling root). */
export function pipEnv(toolEnv: Record<string, string>, breakSystem = false): Record<string, string> {
  return sandboxEnv({
    HOME: '/tmp',
    TMPDIR: '/tmp',
    PIP_NO_CACHE_DIR: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...(breakSystem ? { PIP_BREAK_SYSTEM_PACKAGES: '1' } : {}),
    ...toolEnv,
  });
}

export interface PipOutcome {
  ok: boolean;
  /** one line: pip's last ERROR line, redacted */
  error: string;
}

export async function runPip(
  exec: Executor,
  argv: string[],
  env: Record<string, string>,
  indexes: PackageIndexes,
  opts: {
    in?: 'image' | 'tooling';
    onOutput?: ((s: 'stdout' | 'stderr', d: string) => void) | undefined;
  } = {},
): Promise<PipOutcome> {
  try {
    const r = await exec.run(argv, { env, in: opts.in ?? 'image', onOutput: opts.onOutput });
    if (r.code === 0) return { ok: true, error: '' };
    return { ok: false, error: redactText(pipErrorLine(r.stderr, r.stdout), indexes) };
  } catch (e) {
    return { ok: false, error: redactText(e instanceof Error ? e.message : String(e), indexes) };
  }
}

/**
 * Run in the tooling root: replace package `name` in the image's site-packages dir `site` (a tooling path
 * under the image's mount point `mount`) with the tree pip installed into `src`. Old files are the ones
 * the old metadata's RECORD (or installed-files.txt) lists, plus their bytecode; without a file list, the
 * `<name>` dir / module. Scripts of `src/bin` are not copied (their shebang would name the tooling Python).
 */
export const REPLACE = `
import json, os, re, shutil, sys
mount, site, name, src = sys.argv[1:5]
norm = lambda n: re.sub(r"[-_.]+", "-", n.lower())
real = os.path.realpath(site)
if not (real + "/").startswith(os.path.realpath(mount).rstrip("/") + "/"):
    sys.exit("site-packages dir leaves the image: " + site)
def inside(p):
    return os.path.realpath(os.path.dirname(p)).startswith(real + "/") or os.path.realpath(os.path.dirname(p)) == real
removed, dirs = [], set()
def drop(p):
    if inside(p) and (os.path.isfile(p) or os.path.islink(p)):
        os.remove(p); removed.append(os.path.relpath(p, real)); dirs.add(os.path.dirname(p))
for entry in sorted(os.listdir(real)):
    m = re.match(r"^(.+?)-(\\d[^-]*)(-py[^-]*)?(-[^-]+)?\\.egg-info$|^(.+)-[^-]+\\.dist-info$", entry)
    if not m or norm(m.group(1) or m.group(5)) != norm(name):
        continue
    meta = os.path.join(real, entry)
    listed = []
    for lst, base in (("RECORD", real), ("installed-files.txt", meta)):
        f = os.path.join(meta, lst)
        if os.path.isfile(f):
            with open(f, encoding="utf-8", errors="replace") as fh:
                listed = [os.path.normpath(os.path.join(base, l.split(",")[0].strip())) for l in fh if l.strip()]
            break
    if not listed:
        top = os.path.join(real, name.lower().replace("-", "_"))
        if os.path.isdir(top) and inside(top + "/x"):
            shutil.rmtree(top); removed.append(os.path.relpath(top, real))
        listed = [top + ".py"]
    for p in listed:
        if not p.startswith(real + "/"):
            continue
        drop(p)
        if p.endswith(".py"):
            cache = os.path.join(os.path.dirname(p), "__pycache__")
            stem = os.path.basename(p)[:-3] + "."
            if os.path.isdir(cache):
                for c in os.listdir(cache):
                    if c.startswith(stem) and c.endswith(".pyc"):
                        drop(os.path.join(cache, c))
    if os.path.isdir(meta) and not os.path.islink(meta):
        shutil.rmtree(meta)
    elif os.path.isfile(meta):
        os.remove(meta)
    removed.append(entry)
for d in sorted(dirs, key=len, reverse=True):
    while d.startswith(real + "/") and os.path.isdir(d) and not os.listdir(d):
        os.rmdir(d); d = os.path.dirname(d)
for top in sorted(os.listdir(src)):
    if top == "bin":
        continue
    s, t = os.path.join(src, top), os.path.join(real, top)
    if os.path.isdir(s) and not os.path.islink(s):
        shutil.copytree(s, t, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(s, t, follow_symlinks=False)
print(json.dumps({"removed": len(removed)}))
`;
