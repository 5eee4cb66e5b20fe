/**
 * `go version -m` output: what a Go binary records about how it was built (runtime/debug.BuildInfo's
 * text form), and the `go build` arguments that reproduce those settings.
 */

export interface Module {
  path: string;
  version: string;
  sum?: string | undefined;
  /** `=>` line: the module that replaced it (path may be a local directory) */
  replace?: Module | undefined;
}

export interface BuildInfo {
  /** the file as passed to `go version -m` */
  file: string;
  /** e.g. go1.22.4 */
  goVersion: string;
  /** the main package's import path */
  path: string;
  main: Module;
  deps: Module[];
  /** build settings in order (`-ldflags`, `CGO_ENABLED`, `vcs.revision`, ...) */
  settings: Map<string, string>;
}

/** Go's strconv.Unquote for the quoted build setting values (`-ldflags="-s -w"`). */
export function unquote(s: string): string {
  if (!(s.length >= 2 && s.startsWith('"') && s.endsWith('"'))) return s;
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return simple[e] ?? e;
  });
}

function module(fields: string[]): Module {
  return { path: fields[0] ?? '', version: fields[1] ?? '', sum: fields[2] };
}

/** Every binary of one `go version -m a b c` run (stdout). Files without build info do not appear. */
export function parseGoVersionM(out: string): BuildInfo[] {
  const infos: BuildInfo[] = [];
  let cur: BuildInfo | undefined;
  let last: Module | undefined;
  for (const line of out.split('\n')) {
    if (!line.startsWith('\t')) {
      const m = /^(.*): (go\S+|devel\b.*|unknown)$/.exec(line);
      cur = undefined;
      if (m) {
        cur = {
          file: m[1]!,
          goVersion: m[2]!,
          path: '',
          main: { path: '', version: '' },
          deps: [],
          settings: new Map(),
        };
        infos.push(cur);
      }
      continue;
    }
    if (!cur) continue;
    const [kind, ...fields] = line.slice(1).split('\t');
    if (kind === 'path') cur.path = fields[0] ?? '';
    else if (kind === 'mod') cur.main = last = module(fields);
    else if (kind === 'dep') cur.deps.push((last = module(fields)));
    else if (kind === '=>' && last) last.replace = module(fields);
    else if (kind === 'build') {
      const raw = fields.join('\t');
      // keys are quoted too when they hold '=' or spaces (never in practice)
      const eq = raw.indexOf('=');
      if (eq > 0) cur.settings.set(unquote(raw.slice(0, eq)), unquote(raw.slice(eq + 1)));
    }
  }
  return infos;
}

/** Flags of `go build` recorded in the build info that we pass again as they were. */
const FLAG_SETTINGS = ['-buildmode', '-compiler', '-gcflags', '-asmflags', '-ldflags', '-tags'] as const;
const BOOL_FLAGS = ['-trimpath', '-race', '-msan', '-asan'] as const;
/** Environment settings recorded in the build info. */
const ENV_SETTINGS =
  /^(CGO_ENABLED|CGO_[A-Z]+FLAGS|GOOS|GOARCH|GOAMD64|GOARM|GOARM64|GO386|GOMIPS|GOMIPS64|GOPPC64|GORISCV64|GOWASM|GOEXPERIMENT)$/;

/** Settings compared before and after the rebuild (the ones we reproduce). */
export function reproducedSettings(info: BuildInfo): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of info.settings) {
    if ((FLAG_SETTINGS as readonly string[]).includes(k) || (BOOL_FLAGS as readonly string[]).includes(k)) {
      out.set(k, v);
    } else if (ENV_SETTINGS.test(k)) out.set(k, v);
  }
  return out;
}

/** `go build` flags and environment that reproduce a binary's recorded settings. */
export function buildArgs(info: BuildInfo): { flags: string[]; env: Record<string, string> } {
  const flags: string[] = [];
  const env: Record<string, string> = {};
  for (const [k, v] of info.settings) {
    if ((FLAG_SETTINGS as readonly string[]).includes(k)) flags.push(`${k}=${v}`);
    else if ((BOOL_FLAGS as readonly string[]).includes(k)) {
      if (v === 'true') flags.push(k);
    } else if (ENV_SETTINGS.test(k)) env[k] = v;
  }
  // binaries without build settings (before Go 1.18): the go command's defaults, as a plain `go build`
  return { flags, env };
}

/** The module version of `name` in a binary (its replacement's version when replaced by a module). */
export function depVersion(info: BuildInfo, name: string): Module | undefined {
  return info.deps.find((d) => d.path === name || d.replace?.path === name);
}
