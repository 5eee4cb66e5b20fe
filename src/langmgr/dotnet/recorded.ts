/**
 * Test support: the recorded data of testdata/ (an app's deps.json and a `dotnet publish` output listing),
 * and `recordedExecutor`, an Executor MOCK that answers from it. The mock exists because the SDK image and
 * NuGet cannot be reached here: it stands in for `dotnet restore/publish` only, and plays mkdir/cp/tee/rm on
 * an in-memory tree so the manager's steps can be checked. Not used by the product.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Executor, RunOptions, RunResult } from '../../engine/types.js';
import { OUT_DIR, TARGET } from './project.js';

const dir = fileURLToPath(new URL('./testdata/', import.meta.url));
export const recordedText = (name: string): string => readFileSync(dir + name, 'utf8');

interface Listed {
  path: string;
  package?: string;
}
export interface Listing {
  app: { dir: string; files: Listed[] };
  publish: { dir: string; files: Listed[] };
}
export const listing = (): Listing => JSON.parse(recordedText('listing.json')) as Listing;

/** the content a recorded file is given here (the real DLLs were not recorded): names its package and path */
export function standIn(where: 'app' | 'publish', f: Listed): Buffer {
  if (f.path === 'MyApp.deps.json') return Buffer.from(recordedText('MyApp.deps.json'));
  if (f.path === 'MyApp.runtimeconfig.json') return Buffer.from(recordedText('MyApp.runtimeconfig.json'));
  if (f.path === 'patch.deps.json') return Buffer.from(recordedText('patch.deps.json'));
  return Buffer.from(`recorded stand-in (${where}): ${f.package ?? 'app'} ${f.path}\n`);
}

export interface Call {
  argv: string[];
  in: 'image' | 'tooling';
  stdin?: string | undefined;
  env?: Record<string, string> | undefined;
}

export interface RecordedOptions {
  /** exit code of `dotnet restore` (default 0) */
  restore?: (csproj: string) => number;
  /** drop these files from the publish output */
  omit?: string[];
  /** make `cp` onto this image path fail */
  failCopyTo?: string;
  /** app files to leave out of the image */
  appOmit?: string[];
}

type Tree = Map<string, Buffer | 'dir'>;

export interface RecordedExecutor extends Executor {
  runSync(argv: string[], o?: RunOptions): RunResult;
  calls: Call[];
  image: Tree;
  tooling: Tree;
}

/** An Executor MOCK answering readFile/list/run from the recorded data (the SDK cannot run here). */
export function recordedExecutor(opts: RecordedOptions = {}): RecordedExecutor {
  const l = listing();
  const image: Tree = new Map();
  const tooling: Tree = new Map();
  const put = (t: Tree, path: string, v: Buffer | 'dir'): void => {
    const parts = path.split('/').filter((p) => p !== '');
    for (let i = 1; i < parts.length; i++) t.set('/' + parts.slice(0, i).join('/'), 'dir');
    t.set('/' + parts.join('/'), v);
  };
  for (const f of l.app.files) {
    if (!opts.appOmit?.includes(f.path)) put(image, `${l.app.dir}/${f.path}`, standIn('app', f));
  }
  put(
    image,
    '/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json',
    Buffer.from('{}'),
  );
  put(image, '/etc/os-release', Buffer.from('ID=debian\n'));
  const calls: Call[] = [];
  const where = (p: string, root: 'image' | 'tooling'): [Tree, string] =>
    root === 'tooling' && p.startsWith(TARGET + '/')
      ? [image, p.slice(TARGET.length)]
      : [root === 'image' ? image : tooling, p];
  const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });
  const bad = (stderr: string, code = 1): RunResult => ({ code, stdout: '', stderr });
  const list = (t: Tree, p: string): string[] | undefined => {
    const base = p === '/' ? '' : p.replace(/\/+$/, '');
    if (base !== '' && t.get(base) !== 'dir') return undefined;
    const names = new Set<string>();
    for (const k of t.keys())
      if (k.startsWith(base + '/')) names.add(k.slice(base.length + 1).split('/')[0] ?? '');
    return [...names].sort();
  };
  return {
    calls,
    image,
    tooling,
    created: [],
    async bind() {},
    async close() {},
    readFile(path, root = 'image') {
      const [t, p] = where(path, root);
      const v = t.get(p);
      return Promise.resolve(v instanceof Buffer ? v : undefined);
    },
    list(path, root = 'image') {
      const [t, p] = where(path, root);
      return Promise.resolve(list(t, p));
    },
    run(argv: string[], o: RunOptions = {}): Promise<RunResult> {
      return Promise.resolve(this.runSync(argv, o));
    },
    runSync(argv: string[], o: RunOptions = {}): RunResult {
      const root = o.in ?? 'image';
      calls.push({ argv, in: root, stdin: o.stdin, env: o.env });
      if (root !== 'tooling') return bad(`${argv[0]}: not found`, 127);
      const args = argv.filter((a) => a !== '--' && !/^-[a-z]+$/.test(a));
      const [cmd, ...rest] = args;
      if (cmd === 'mkdir') for (const d of rest) put(...where(d, root), 'dir');
      else if (cmd === 'tee') {
        const [t, p] = where(rest[0] ?? '', root);
        put(t, p, Buffer.from(o.stdin ?? ''));
        return ok(o.stdin);
      } else if (cmd === 'cp') {
        const [st, sp] = where(rest[0] ?? '', root);
        const [dt, dp] = where(rest[1] ?? '', root);
        const v = st.get(sp);
        if (!(v instanceof Buffer)) return bad(`cp: cannot stat '${rest[0]}'`);
        if (dp === opts.failCopyTo || dt.get(dp.slice(0, dp.lastIndexOf('/'))) !== 'dir')
          return bad(`cp: cannot create '${rest[1]}'`);
        dt.set(dp, v);
      } else if (cmd === 'rm') {
        for (const d of rest)
          for (const k of [...tooling.keys()]) if (k === d || k.startsWith(d + '/')) tooling.delete(k);
      } else if (cmd === 'dotnet' && rest[0] === 'restore') {
        const code = opts.restore?.(tooling.get(rest[1] ?? '')?.toString() ?? '') ?? 0;
        return code === 0
          ? ok('Restored /tmp/copa-dotnet/patch.csproj')
          : bad('error NU1102: Unable to find package', code);
      } else if (cmd === 'dotnet' && rest[0] === 'publish') {
        for (const f of l.publish.files)
          if (!opts.omit?.includes(f.path)) put(tooling, `${OUT_DIR}/${f.path}`, standIn('publish', f));
        return ok(`patch -> ${OUT_DIR}/`);
      } else return bad(`${cmd}: not found`, 127);
      return ok();
    },
  };
}
