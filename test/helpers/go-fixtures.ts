import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { join, normalize } from 'node:path';
import { run } from './exec.js';
import { selfSigned } from './certs.js';
import { cachedDir, ensureDebianFixture, fixtureCacheRoot, FIXTURE_REF_NAME, utcDate } from './fixtures.js';
import { grypeLangReport, trivyLangReport, type LangFinding } from './lang-reports.js';

/**
 * Go fixtures for the library manager (src/langmgr/go), built once a day and cached:
 * - `tooling`: a golang:1-like image = the bookworm fixture + git + the host's Go distribution in
 *   /usr/local/go (the official image is Debian + the Go tarball there), pushed as library/golang:1;
 * - `binary`: a scratch-like image (no /etc/os-release) holding /usr/local/bin/hey, `go install`ed on
 *   the host from the released module github.com/rakyll/hey@v0.1.4, which embeds golang.org/x/text v0.3.0
 *   (CVE-2022-32149, fixed in 0.3.8); built with -ldflags, -tags, CGO_ENABLED=0; owned 65532:65532, 0750;
 * - `gomod`: a scratch-like image with only /app/{go.mod,go.sum,main.go} requiring golang.org/x/text v0.3.0.
 * Modules come from the host's Go proxy (`go env GOPROXY`), never written into the repo.
 */
export const GO_MODULE = 'github.com/rakyll/hey';
export const GO_MODULE_VERSION = 'v0.1.4';
export const GO_BINARY = 'usr/local/bin/hey';
export const GO_DEP = 'golang.org/x/text';
export const GO_DEP_OLD = 'v0.3.0';
export const GO_DEP_FIXED = '0.3.8';
export const GO_LDFLAGS = '-s -w -X main.copaFixture=1';
export const GO_OWNER = { uid: 65532, gid: 65532, mode: 0o750 };

export interface GoFixtures {
  /** OCI layouts, ref name FIXTURE_REF_NAME */
  tooling: string;
  binary: string;
  gomod: string;
  /** hey built from an untagged git checkout (pseudo-version, vcs.revision) */
  vcs: string;
  /** that checkout as a bare repository prepared for dumb-HTTP serving, and its commit */
  vcsRepo: string;
  vcsCommit: string;
  refName: string;
}

const RECIPE = 2;

export function hostGo(name: string): string {
  return execFileSync('go', ['env', name], { encoding: 'utf8' }).trim();
}

/** Env for the host's go: its proxy settings, caches in the build dir (nothing left in $HOME). */
function goEnv(tmp: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPROXY: hostGo('GOPROXY'),
    GOFLAGS: '-modcacherw',
    GOMODCACHE: join(tmp, 'gopath/pkg/mod'),
    GOCACHE: join(tmp, 'gocache'),
    GOPATH: join(tmp, 'gopath'),
    GOTOOLCHAIN: 'local',
  };
}

async function layer(tmp: string, name: string, root: string, paths: string[]): Promise<string> {
  const out = join(tmp, `${name}.tar`);
  await run('tar', [
    '--create',
    '--file',
    out,
    '--sort=name',
    '--numeric-owner',
    '--mtime=@1700000000',
    '-C',
    root,
    ...paths,
  ]);
  return out;
}

/** A one-layer image without an OS (like FROM scratch). */
async function scratchLayout(dir: string, tar: string, createdBy: string, cmd: string): Promise<void> {
  const image = `${dir}:${FIXTURE_REF_NAME}`;
  await run('umoci', ['init', '--layout', dir]);
  await run('umoci', ['new', '--image', image]);
  await run('umoci', ['raw', 'add-layer', '--image', image, '--history.created_by', createdBy, tar]);
  await run('umoci', [
    'config',
    '--image',
    image,
    '--os=linux',
    '--architecture=amd64',
    `--config.cmd=${cmd}`,
  ]);
  await run('umoci', ['gc', '--layout', dir]);
}

async function build(tmp: string, debianLayout: string): Promise<void> {
  const env = goEnv(tmp);
  // tooling: Debian + /usr/local/go
  const goroot = hostGo('GOROOT');
  const stage = join(tmp, 'stage-go');
  await mkdir(join(stage, 'usr/local'), { recursive: true });
  await run('cp', ['-a', goroot, join(stage, 'usr/local/go')]);
  const goTar = await layer(tmp, 'go', stage, ['usr']);
  await rm(stage, { recursive: true, force: true });
  const tooling = join(tmp, 'oci-tooling');
  await cp(debianLayout, tooling, { recursive: true });
  const image = `${tooling}:${FIXTURE_REF_NAME}`;
  await run('umoci', [
    'raw',
    'add-layer',
    '--image',
    image,
    '--history.created_by',
    'COPY go /usr/local/go',
    goTar,
  ]);
  const path = 'PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  await run('umoci', [
    'config',
    '--image',
    image,
    `--config.env=${path}`,
    '--config.env=GOLANG_VERSION=host',
    '--config.env=GOTOOLCHAIN=local',
    '--config.env=GOPATH=/go',
  ]);
  await run('umoci', ['gc', '--layout', tooling]);
  await rm(goTar);

  // binary: go install of a released module version
  const bin = join(tmp, 'stage-bin');
  const gobin = join(tmp, 'gobin');
  await run('go', ['install', `-ldflags=${GO_LDFLAGS}`, '-tags=netgo', `${GO_MODULE}@${GO_MODULE_VERSION}`], {
    env: { ...env, GOBIN: gobin, CGO_ENABLED: '0' },
  });
  await mkdir(join(bin, 'usr/local/bin'), { recursive: true });
  await run('cp', [join(gobin, 'hey'), join(bin, GO_BINARY)]);
  await chown(join(bin, GO_BINARY), GO_OWNER.uid, GO_OWNER.gid);
  await chmod(join(bin, GO_BINARY), GO_OWNER.mode);
  const binTar = await layer(tmp, 'bin', bin, ['usr']);
  await scratchLayout(join(tmp, 'oci-binary'), binTar, `COPY hey /${GO_BINARY}`, `/${GO_BINARY}`);

  // gomod: a module dir only
  const app = join(tmp, 'stage-app/app');
  await mkdir(app, { recursive: true });
  await writeFile(
    join(app, 'go.mod'),
    `module example.com/copa/app\n\ngo 1.17\n\nrequire ${GO_DEP} ${GO_DEP_OLD}\n`,
  );
  await writeFile(
    join(app, 'main.go'),
    'package main\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/text/language"\n)\n\nfunc main() { fmt.Println(language.English) }\n',
  );
  await run('go', ['mod', 'download', GO_DEP], { env: { ...env }, cwd: app });
  await run('go', ['mod', 'tidy'], { env: { ...env }, cwd: app });
  const appTar = await layer(tmp, 'app', join(tmp, 'stage-app'), ['app']);
  await scratchLayout(join(tmp, 'oci-gomod'), appTar, 'COPY . /app', '/app/app');
  await buildVcs(tmp, env);
  for (const d of ['stage-bin', 'stage-app', 'gobin', 'bin.tar', 'app.tar', 'gocache']) {
    await rm(join(tmp, d), { recursive: true, force: true });
  }
  await run('chmod', ['-R', 'u+w', join(tmp, 'gopath')]);
  await rm(join(tmp, 'gopath'), { recursive: true, force: true });
}

/** hey's released source committed to a fresh, untagged git repository and built there (-buildvcs). */
async function buildVcs(tmp: string, env: NodeJS.ProcessEnv): Promise<void> {
  const got = await run('go', ['mod', 'download', '-json', `${GO_MODULE}@${GO_MODULE_VERSION}`], { env });
  const src = join(tmp, 'vcs-src');
  await run('cp', ['-a', (JSON.parse(got.stdout) as { Dir: string }).Dir, src]);
  await run('chmod', ['-R', 'u+w', src]);
  const gitEnv = {
    ...env,
    GIT_AUTHOR_DATE: '2023-11-14T22:13:20Z',
    GIT_COMMITTER_DATE: '2023-11-14T22:13:20Z',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  const git = (...a: string[]) =>
    run('git', ['-C', src, '-c', 'user.name=fixture', '-c', 'user.email=fixture@localhost', ...a], {
      env: gitEnv,
    });
  await git('init', '--quiet');
  await git('add', '-A');
  await git('commit', '--quiet', '-m', 'hey v0.1.4 source');
  const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const bin = join(tmp, 'stage-vcs');
  await mkdir(join(bin, 'usr/local/bin'), { recursive: true });
  await run('go', ['build', '-buildvcs=true', '-trimpath', '-o', join(bin, GO_BINARY), '.'], {
    env: { ...env, CGO_ENABLED: '0' },
    cwd: src,
  });
  await run('git', ['clone', '--quiet', '--bare', src, join(tmp, 'hey.git')], { env: gitEnv });
  await run('git', ['-C', join(tmp, 'hey.git'), 'update-server-info'], { env: gitEnv });
  await writeFile(join(tmp, 'vcs-commit'), commit);
  const tar = await layer(tmp, 'vcs', bin, ['usr']);
  await scratchLayout(join(tmp, 'oci-vcs'), tar, `COPY hey /${GO_BINARY}`, `/${GO_BINARY}`);
  for (const d of ['vcs-src', 'stage-vcs', 'vcs.tar'])
    await rm(join(tmp, d), { recursive: true, force: true });
}

export async function ensureGoFixtures(): Promise<GoFixtures> {
  const base = await ensureDebianFixture({ name: 'bookworm-minbase', include: ['git'] });
  const goVersion = execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  const recipe = JSON.stringify({
    RECIPE,
    base: base.key,
    goVersion,
    GO_MODULE,
    GO_MODULE_VERSION,
    GO_LDFLAGS,
  });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const key = `go-${base.arch}-${utcDate()}-${hash}`;
  const dir = await cachedDir(fixtureCacheRoot(), key, (tmp) => build(tmp, base.layoutDir));
  return {
    tooling: join(dir, 'oci-tooling'),
    binary: join(dir, 'oci-binary'),
    gomod: join(dir, 'oci-gomod'),
    vcs: join(dir, 'oci-vcs'),
    vcsRepo: join(dir, 'hey.git'),
    vcsCommit: (await readFile(join(dir, 'vcs-commit'), 'utf8')).trim(),
    refName: FIXTURE_REF_NAME,
  };
}

export interface GoVuln {
  pkg: string;
  installed: string;
  fixed: string;
  /** binary path or go.mod path, Trivy style (no leading slash) */
  path: string;
  type: 'gobinary' | 'gomod';
  id?: string;
}

/** A static HTTPS server over `dir` (git's dumb HTTP protocol) with a fresh self-signed certificate. */
export async function serveHttps(
  dir: string,
  work: string,
): Promise<{ url: string; ca: string; stop(): Promise<void> }> {
  const key = join(work, 'https-key.pem');
  const ca = join(work, 'https-cert.pem');
  await selfSigned({ key, cert: ca, cn: '127.0.0.1', days: 1, san: 'IP:127.0.0.1' });
  const server = createServer({ key: await readFile(key), cert: await readFile(ca) }, (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname);
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    ca,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** A Trivy report of a scratch image (no OS): one lang-pkgs result per target. */
export function goTrivyReport(image: string, vulns: GoVuln[]): string {
  return trivyLangReport({ ref: image, idBase: 3000 }, vulns.map(goFinding));
}

/** The same findings as Grype writes them (go-module artifacts at absolute paths). */
export function goGrypeReport(vulns: GoVuln[]): string {
  return grypeLangReport({ ref: '', idBase: 3000 }, vulns.map(goFinding));
}

function goFinding(v: GoVuln): LangFinding {
  return {
    type: v.type,
    name: v.pkg,
    installed: v.installed,
    fixed: v.fixed,
    path: v.path,
    ...(v.id ? { id: v.id } : {}),
  };
}
