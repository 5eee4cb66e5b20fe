import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { cachedDir, ensureDebianFixture, fixtureCacheRoot, PRIVATE_NAMESPACE, utcDate } from './fixtures.js';
import { grypeLangReport, trivyLangReport, type LangFinding } from './lang-reports.js';

/**
 * A node app image close to the official node image, built from Debian packages: bookworm-minbase +
 * nodejs and npm, plus one layer made by a real `npm install` (chrooted, against this machine's npm registry):
 * /app with an old direct dependency (minimist 1.2.5), an old transitive one nested under another
 * package (loader-utils -> json5 1.0.1, beside a top-level json5 2.2.1) and a global package (semver 7.5.1).
 * Tag `12` has npm; tag `nonpm` hides /usr/bin/npm and npx (whiteouts) for the tooling-image path.
 */

export interface NodeLib {
  name: string;
  from: string;
  to: string;
  /** Trivy PkgPath */
  path: string;
}

export const NODE_LIBS: Record<'direct' | 'transitive' | 'global', NodeLib> = {
  direct: { name: 'minimist', from: '1.2.5', to: '1.2.6', path: 'app/node_modules/minimist/package.json' },
  transitive: {
    name: 'json5',
    from: '1.0.1',
    to: '1.0.2',
    path: 'app/node_modules/loader-utils/node_modules/json5/package.json',
  },
  global: {
    name: 'semver',
    from: '7.5.1',
    to: '7.5.2',
    path: 'usr/local/lib/node_modules/semver/package.json',
  },
};

const RECIPE = 3;
/** pins the nested copy old (dates of the host's registry mirror may not be npm's: no --before) */
const OVERRIDES = { 'loader-utils': { json5: '1.0.1' } };
const APP = ['minimist@1.2.5', 'loader-utils@1.4.0', 'json5@2.2.1'];
const GLOBAL = ['semver@7.5.1'];

export interface NodeFixture {
  layoutDir: string;
  /** `12` (with npm) and `nonpm` */
  refName: string;
  noNpmRef: string;
  nodeVersion: string;
}

/** The host's npm registry (never written into the repo). */
export function hostNpmRegistry(): string | undefined {
  const fromEnv = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv;
  try {
    const r = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
    return r && r !== 'undefined' ? r : undefined;
  } catch {
    return undefined;
  }
}

const INSTALL = [
  'set -e',
  'R=$1; shift',
  'mkdir -p "$R/proc" "$R/dev"',
  'mount -t proc proc "$R/proc"',
  'mount --rbind /dev "$R/dev"',
  'exec chroot "$R" /bin/sh -c \'cd /app && npm install --save-exact --no-audit --no-fund $APP && npm install -g --no-audit --no-fund $GLOBAL\'',
].join('\n');

export async function ensureNodeFixture(): Promise<NodeFixture> {
  const base = await ensureDebianFixture({ name: 'bookworm-minbase', include: ['nodejs', 'npm'] });
  const registry = hostNpmRegistry();
  const recipe = JSON.stringify({ RECIPE, base: base.key, APP, GLOBAL, OVERRIDES, registry });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const date = utcDate();
  const dir = await cachedDir(fixtureCacheRoot(), `node-app-${base.arch}-${date}-${hash}`, async (tmp) => {
    const root = join(tmp, 'rootfs');
    await mkdir(root);
    await run('tar', ['-xpf', base.rootfsTar, '--numeric-owner', '-C', root]);
    await copyFile('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
    await copyFile('/etc/ssl/certs/ca-certificates.crt', join(root, 'tmp/host-ca.pem'));
    await mkdir(join(root, 'app'), { mode: 0o755 });
    const manifest = { name: 'copa-node-fixture', version: '1.0.0', private: true };
    const appJson = join(root, 'app/package.json');
    await writeFile(appJson, JSON.stringify({ ...manifest, overrides: OVERRIDES }, null, 2) + '\n');
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/tmp/home',
      npm_config_cache: '/tmp/npm-cache',
      NODE_EXTRA_CA_CERTS: '/tmp/host-ca.pem',
      npm_config_update_notifier: 'false',
      APP: APP.join(' '),
      GLOBAL: GLOBAL.join(' '),
      ...(registry ? { npm_config_registry: registry } : {}),
    };
    const [cmd = '', ...args] = [...PRIVATE_NAMESPACE, 'sh', '-c', INSTALL, 'sh', root];
    await run(cmd, args, { env, timeoutMs: 10 * 60_000 });
    // the override only served to keep the nested copy old: the app as shipped has none
    const installed = JSON.parse(await readFile(appJson, 'utf8')) as Record<string, unknown>;
    delete installed.overrides;
    await writeFile(appJson, JSON.stringify(installed, null, 2) + '\n');
    const nodeVersion = (await run('chroot', [root, 'node', '--version'])).stdout.trim().replace(/^v/, '');

    const owner = ['--owner=0', '--group=0', '--numeric-owner', '--sort=name'];
    const appTar = join(tmp, 'app.tar');
    const parents = ['usr', 'usr/local', 'usr/local/lib', 'usr/local/bin'];
    const paths = ['app', 'usr/local/lib/node_modules', 'usr/local/bin/semver'];
    await run('tar', [
      '-cf',
      appTar,
      ...owner,
      '-C',
      root,
      '--no-recursion',
      ...parents,
      '--recursion',
      ...paths,
    ]);
    // tag nonpm: npm and npx hidden by whiteouts
    const wh = join(tmp, 'wh');
    await mkdir(join(wh, 'usr/bin'), { recursive: true });
    for (const f of ['.wh.npm', '.wh.npx']) await writeFile(join(wh, 'usr/bin', f), '');
    const whTar = join(tmp, 'nonpm.tar');
    await run('tar', ['-cf', whTar, ...owner, '-C', wh, 'usr']);
    await run('rm', ['-rf', root, wh]);

    const layout = join(tmp, 'oci');
    await run('cp', ['-a', base.layoutDir, layout]);
    const by = `/bin/sh -c npm install ${APP.join(' ')} && npm install -g ${GLOBAL.join(' ')}`;
    await run('umoci', ['raw', 'add-layer', '--image', `${layout}:12`, '--history.created_by', by, appTar]);
    const env1 = [`--config.env=NODE_VERSION=${nodeVersion}`, '--config.workingdir=/app'];
    await run('umoci', [
      'config',
      '--image',
      `${layout}:12`,
      ...env1,
      '--history.created_by=ENV NODE_VERSION',
    ]);
    const byWh = '/bin/sh -c rm /usr/bin/npm /usr/bin/npx';
    await run('umoci', [
      'raw',
      'add-layer',
      '--image',
      `${layout}:12`,
      '--tag',
      'nonpm',
      '--history.created_by',
      byWh,
      whTar,
    ]);
    await run('umoci', ['gc', '--layout', layout]);
    await writeFile(join(tmp, 'node-version'), nodeVersion);
    await run('rm', ['-f', appTar, whTar]);
  });
  return {
    layoutDir: join(dir, 'oci'),
    refName: '12',
    noNpmRef: 'nonpm',
    nodeVersion: (await readFile(join(dir, 'node-version'), 'utf8')).trim(),
  };
}

/** A Trivy report with lang-pkgs results (Type node-pkg) for these libraries. */
export function trivyNodeReport(image: string, libs: Array<NodeLib & { fixed?: string }>): string {
  return trivyLangReport({ ref: image, os: { family: 'debian', name: '12' } }, libs.map(nodeFinding));
}

/** The same findings as a Grype report (`grype -o json`): npm artifacts located at /<path>. */
export function grypeNodeReport(image: string, libs: Array<NodeLib & { fixed?: string }>): string {
  return grypeLangReport({ ref: image, os: { family: 'debian', name: '12' } }, libs.map(nodeFinding));
}

function nodeFinding(l: NodeLib & { fixed?: string }): LangFinding {
  return { type: 'node-pkg', name: l.name, installed: l.from, fixed: l.fixed ?? l.to, path: l.path };
}
