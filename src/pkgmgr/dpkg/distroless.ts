import { CopaError } from '../../errors.js';
import { sandboxEnv } from '../../engine/env.js';
import { debVersion } from '../../version/deb.js';
import type { PackageManager, PackageManagerContext, PlannedUpdate } from '../types.js';
import { SOURCE_CACHE_OPTS } from './apt.js';
import { aptErrorLine, parseDpkgStatus, updateFailure } from './parse.js';
import { debianToolingImages } from './tooling.js';

/**
 * Google-distroless Debian images: no apt, no dpkg, no shell; one `var/lib/dpkg/status.d/<pkg>` stanza (and
 * `<pkg>.md5sums`) per package. apt and dpkg come from a tooling image; the image is bound at TARGET inside it.
 * Packages are downloaded there, installed with `dpkg --root` (maintainer scripts run chrootless, with
 * DPKG_ROOT pointing at the image), and only the status.d entries of updated packages are rewritten: no
 * `var/lib/dpkg/status`, apt lists or caches end up in the image.
 */
const TARGET = '/tmp/rootfs';
const STATUS_D = '/var/lib/dpkg/status.d';
const ADMIN = '/tmp/copa-admin';
const DEBS = '/tmp/copa-debs';
const APT_OPTS = [
  '-o',
  'Acquire::Retries=3',
  '-o',
  'APT::Sandbox::User=root',
  '-o',
  'Dpkg::Use-Pty=0',
  ...SOURCE_CACHE_OPTS,
];

function env(): Record<string, string> {
  return sandboxEnv({ DEBIAN_FRONTEND: 'noninteractive', DEBCONF_NONINTERACTIVE_SEEN: 'true' });
}

/** status.d file name → its stanza text, skipping md5sums */
async function readStatusD(ctx: PackageManagerContext): Promise<Map<string, string>> {
  const names = (await ctx.session.list(STATUS_D)) ?? [];
  const out = new Map<string, string>();
  for (const n of names.filter((f) => !f.endsWith('.md5sums'))) {
    const text = await ctx.session.readFile(`${STATUS_D}/${n}`);
    if (text) out.set(n, text.toString('utf8'));
  }
  return out;
}

function packageOf(stanza: string): string | undefined {
  return /^Package:\s*(\S+)/m.exec(stanza)?.[1];
}

async function tool(
  ctx: PackageManagerContext,
  argv: string[],
  what: string,
  stdin?: string,
): Promise<string> {
  const r = await ctx.session.run(argv, {
    in: 'tooling',
    env: env(),
    onOutput: ctx.onOutput,
    ...(stdin !== undefined ? { stdin } : {}),
  });
  if (r.code !== 0) {
    throw new CopaError(
      'PACKAGE_MANAGER',
      `${what} failed (exit ${r.code}): ${aptErrorLine(r.stderr, r.stdout)}`,
      {
        hint: 'run with --debug to see the tooling output; --tooling-image picks another tooling image',
      },
    );
  }
  return r.stdout;
}

/** `apt-cache policy a b c` → name → candidate version */
export function parseCandidates(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head?.[1]) current = head[1].replace(/:[a-z0-9]+$/, '');
    const cand = /^\s+Candidate:\s*(\S+)/.exec(line);
    if (current && cand?.[1] && cand[1] !== '(none)') out.set(current, cand[1]);
  }
  return out;
}

/** Split a dpkg status file into stanzas by package name. */
export function stanzasByPackage(status: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const st of status.split(/\n\s*\n/)) {
    const name = packageOf(st);
    if (name) out.set(name, st.trim() + '\n');
  }
  return out;
}

export const distrolessDpkgManager: PackageManager = {
  name: 'dpkg-distroless',
  scheme: debVersion,
  cachePaths: ['/var/lib/apt/lists', '/var/cache/apt/archives'],
  indexPaths: ['/var/lib/apt/lists'],
  sourcePaths: ['/etc/apt/sources.list', '/etc/apt/sources.list.d'],
  excludePaths: [],
  cacheRoot: 'tooling',
  tooling: { images: debianToolingImages, targetPath: TARGET },

  async installed(ctx) {
    const entries = await readStatusD(ctx);
    return parseDpkgStatus([...entries.values()].join('\n'));
  },

  async refresh(ctx, opts) {
    // the image's package set, as a status file the tooling's apt and dpkg can use
    const entries = await readStatusD(ctx);
    const status = [...entries.values()]
      .map((s) => (/^Status:/m.test(s) ? s.trim() : `${s.trim()}\nStatus: install ok installed`))
      .join('\n\n');
    await tool(
      ctx,
      [
        'sh',
        '-c',
        `mkdir -p ${ADMIN}/info ${ADMIN}/updates ${ADMIN}/triggers ${DEBS} && : > ${ADMIN}/available && cat > ${ADMIN}/status`,
      ],
      'preparing the dpkg database',
      status + '\n',
    );
    if (opts?.indexesFresh) return;
    const r = await ctx.session.run(['apt-get', 'update', ...APT_OPTS], {
      in: 'tooling',
      env: env(),
      onOutput: ctx.onOutput,
    });
    const failure = updateFailure(`${r.stdout}\n${r.stderr}`);
    if (r.code !== 0 || failure) {
      throw new CopaError(
        'PACKAGE_MANAGER',
        `apt-get update (tooling image) failed: ${failure ?? aptErrorLine(r.stderr, r.stdout)}`,
        {
          hint: "check the tooling image's apt sources (--tooling-image, COPA_TOOLING_IMAGE_MAP)",
        },
      );
    }
  },

  held() {
    return Promise.resolve([]);
  },

  async simulate(ctx, names) {
    const installed = await this.installed(ctx);
    const wanted = names ?? [...installed.keys()];
    if (wanted.length === 0) return [];
    const policy = await tool(
      ctx,
      ['apt-cache', ...SOURCE_CACHE_OPTS, 'policy', ...wanted],
      'apt-cache policy',
    );
    const candidates = parseCandidates(policy);
    const plan: PlannedUpdate[] = [];
    for (const name of wanted) {
      const to = candidates.get(name);
      const from = installed.get(name);
      if (to && from && debVersion.compare(to, from) > 0) plan.push({ name, from, to });
    }
    return plan;
  },

  async apply(ctx, names) {
    const plan = await this.simulate(ctx, names);
    if (plan.length === 0) return;
    await tool(
      ctx,
      [
        'sh',
        '-c',
        `cd ${DEBS} && exec apt-get download "$@"`,
        'sh',
        ...APT_OPTS,
        ...plan.map((p) => `${p.name}=${p.to}`),
      ],
      'apt-get download',
    );
    const debs = ((await ctx.session.list(DEBS, 'tooling')) ?? [])
      .filter((f) => f.endsWith('.deb'))
      .map((f) => `${DEBS}/${f}`);
    const dpkgArgs = [
      `--root=${TARGET}`,
      `--admindir=${ADMIN}`,
      '--force-script-chrootless',
      '--force-confold',
      '--force-depends',
      '--force-unsafe-io',
    ];
    const unpack = await ctx.session.run(['dpkg', ...dpkgArgs, '--unpack', ...debs], {
      in: 'tooling',
      env: env(),
      onOutput: ctx.onOutput,
    });
    if (unpack.code !== 0) {
      const msg = `dpkg --unpack (tooling image) failed (exit ${unpack.code}): ${aptErrorLine(unpack.stderr, unpack.stdout)}`;
      if (!ctx.ignoreErrors)
        throw new CopaError('PACKAGE_MANAGER', msg, { hint: 'run with --debug to see dpkg output' });
      ctx.logger.warn(`${msg} (continuing: --ignore-errors)`);
    }
    // maintainer scripts run chrootless against the image (DPKG_ROOT); distroless images are built without
    // running them at all, so a script that cannot work that way is a warning, not a failure
    const configure = await ctx.session.run(['dpkg', ...dpkgArgs, '--configure', '--pending'], {
      in: 'tooling',
      env: env(),
      onOutput: ctx.onOutput,
    });
    if (configure.code !== 0) {
      ctx.logger.warn(
        `some maintainer scripts could not run against the distroless image (${aptErrorLine(configure.stderr, configure.stdout)}); their files are updated`,
      );
    }
    // one status.d entry (+ md5sums) per updated package, under its original file name
    const files = new Map<string, string>();
    const withStatus = new Set<string>();
    for (const [file, stanza] of await readStatusD(ctx)) {
      const pkg = packageOf(stanza);
      if (pkg) files.set(pkg, file);
      if (pkg && /^Status:/m.test(stanza)) withStatus.add(pkg);
    }
    const admin = stanzasByPackage(
      (await ctx.session.readFile(`${ADMIN}/status`, 'tooling'))?.toString('utf8') ?? '',
    );
    const info = (await ctx.session.list(`${ADMIN}/info`, 'tooling')) ?? [];
    for (const { name } of plan) {
      const adminStanza = admin.get(name);
      if (!adminStanza) continue;
      // keep the image's own format: a Status field only where its entries had one, always "installed"
      const bare = adminStanza.replace(/^Status:.*\n/m, '');
      const stanza = withStatus.has(name)
        ? bare.replace(/^(Package:.*\n)/m, '$1Status: install ok installed\n')
        : bare;
      const file = files.get(name) ?? name;
      await tool(
        ctx,
        ['sh', '-c', 'cat > "$1"', 'sh', `${TARGET}${STATUS_D}/${file}`],
        `writing status.d/${file}`,
        stanza,
      );
      const sums = info.find(
        (f) => f === `${name}.md5sums` || (f.startsWith(`${name}:`) && f.endsWith('.md5sums')),
      );
      if (sums) {
        const text = (await ctx.session.readFile(`${ADMIN}/info/${sums}`, 'tooling'))?.toString('utf8') ?? '';
        await tool(
          ctx,
          ['sh', '-c', 'cat > "$1"', 'sh', `${TARGET}${STATUS_D}/${file}.md5sums`],
          `writing status.d/${file}.md5sums`,
          text,
        );
      }
    }
  },
};
