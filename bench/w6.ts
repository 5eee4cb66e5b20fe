import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { pushFixture } from '../test/helpers/fixtures.js';
import {
  ensureNodeFixture,
  hostNpmRegistry,
  NODE_LIBS,
  trivyNodeReport,
} from '../test/helpers/node-fixtures.js';
import {
  CERTIFI_FIXED,
  CERTIFI_OLD,
  CERTIFI_PATH,
  ensurePythonFixtures,
  PY_FIXED,
  PY_OLD,
  PY_VENV_PATH,
  pythonTrivyReport,
} from '../test/helpers/python-fixtures.js';
import { removeTree } from '../test/helpers/upgradable.js';
import { parsePhases } from './copa.js';
import type { BenchContext, Contender, RoundOutcome } from './contender.js';
import { analyzeRegistryLayer } from './layer.js';
import { measure, tail } from './measure.js';
import type { Temperature } from './stats.js';
import { nodeFloorCommand, w6FloorContender } from './w6-floor.js';

/**
 * W6, library patching: the Python venv report (urllib3 + certifi in /app/venv) and the Node app report
 * (minimist direct, json5 nested, semver global), each patched by our CLI registry to registry through the
 * counting proxy (cold: fresh --cache-dir; warm: the second run on one --cache-dir), against its floor:
 * the same pip / `npm pack` + replace in an already extracted tree (bench/w6-floor.ts).
 */

type Kind = 'python' | 'node';
const LIBS = [NODE_LIBS.direct, NODE_LIBS.transitive, NODE_LIBS.global];
const PY_PKGS = [`urllib3==${PY_FIXED}`, `certifi==${CERTIFI_FIXED}`];
const PY_COMMAND = `/app/venv/bin/pip install --no-cache-dir ${PY_PKGS.join(' ')}`;

/** The index pip on this machine uses (PIP_INDEX_URL, else pip's config), never written into the repo. */
function pipIndexUrl(): string | undefined {
  if (process.env.PIP_INDEX_URL) return process.env.PIP_INDEX_URL;
  try {
    const url = execFileSync('pip3', ['config', 'get', 'global.index-url'], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return url.trim() || undefined;
  } catch {
    return undefined;
  }
}

interface Pushed {
  /** repository:tag in the registry */
  source: string;
  report: string;
  layoutDir: string;
  refName: string;
}

/** Builds (cached for the day) and pushes the two fixture images once, with their reports. */
function sources(ctx: BenchContext): Record<Kind, () => Promise<Pushed>> {
  const memo: Partial<Record<Kind, Promise<Pushed>>> = {};
  const push = async (kind: Kind): Promise<Pushed> => {
    const fx =
      kind === 'python'
        ? await ensurePythonFixtures().then((f) => ({ layoutDir: f.app, refName: f.refName }))
        : await ensureNodeFixture().then((f) => ({ layoutDir: f.layoutDir, refName: f.refName }));
    const source = kind === 'python' ? 'bench/w6-python:1' : 'bench/w6-node:12';
    await pushFixture(fx.layoutDir, fx.refName, ctx.registryHost, source);
    const image = `${ctx.proxyHost}/${source}`;
    const text =
      kind === 'python'
        ? pythonTrivyReport(image, [
            { pkg: 'urllib3', installed: PY_OLD, fixed: PY_FIXED, path: PY_VENV_PATH },
            { pkg: 'certifi', installed: CERTIFI_OLD, fixed: CERTIFI_FIXED, path: CERTIFI_PATH },
          ])
        : trivyNodeReport(image, LIBS);
    const report = join(ctx.workDir, `report-w6-${kind}.json`);
    await writeFile(report, text);
    ctx.log(`W6: ${kind} image pushed as ${source}`);
    return { source, report, ...fx };
  };
  return { python: () => (memo.python ??= push('python')), node: () => (memo.node ??= push('node')) };
}

const PatchJson = z.looseObject({
  status: z.string(),
  layer: z.looseObject({ digest: z.string(), size: z.number(), uncompressedSize: z.number() }).optional(),
});

const LABEL: Record<Kind, string> = {
  python: 'W6 python venv report (2 libs)',
  node: 'W6 node app report (3 libs)',
};

function copaW6Contender(
  kind: Kind,
  temperature: Temperature,
  ctx: BenchContext,
  src: () => Promise<Pushed>,
): Contender {
  const id = `copa-w6-${kind}-${temperature}`;
  const label = `${LABEL[kind]}, ${temperature}`;
  const warmCache = join(ctx.workDir, `${id}-cache`);
  const scratch = join(ctx.workDir, 'copa-scratch');
  const index = kind === 'python' ? pipIndexUrl() : hostNpmRegistry();
  const indexFlag = kind === 'python' ? '--pip-index-url' : '--npm-registry';

  const patchOnce = async (cacheDir: string, target: string, extra: string[] = []) => {
    const s = await src();
    await mkdir(scratch, { recursive: true });
    const argv = [process.execPath, ctx.cli, 'patch', '-i', `${ctx.proxyHost}/${s.source}`, '-r', s.report];
    argv.push('--pkg-types', 'os,library', ...(index ? [indexFlag, index] : []), '--push', '-t');
    argv.push(`${ctx.proxyHost}/${target}`, '--cache-dir', cacheDir, '--timeout', '60m', '--json', ...extra);
    const m = await measure(argv, { scratch, env: { ...process.env, COPA_EXPERIMENTAL: '1' } });
    if (m.code !== 0) {
      const saved = await ctx.keepLog(`${id}-${target.replace(/[^\w.-]+/g, '_')}`, m.stderr);
      throw new Error(`${label}: copa exited ${m.code} (full output: ${saved}):\n${tail(m.stderr)}`);
    }
    const out = PatchJson.safeParse(JSON.parse(m.stdout.slice(m.stdout.indexOf('{'))));
    if (!out.success || out.data.status !== 'Patched' || !out.data.layer)
      throw new Error(`${label}: expected a patched image with a new layer: ${m.stdout.slice(0, 300)}`);
    return { m, layer: out.data.layer };
  };

  return {
    id,
    label,
    family: 'copa',
    temperature,
    image: `w6-${kind}`,
    workload: 'w6',
    async prepare() {
      await src();
      if (temperature === 'warm') await patchOnce(warmCache, `bench/${id}-warmup:patched`);
    },
    async round(n): Promise<RoundOutcome> {
      const cacheDir = temperature === 'warm' ? warmCache : await mkdtemp(join(ctx.workDir, `${id}-`));
      const repository = `bench/${id}-r${n}`;
      ctx.proxy.reset();
      try {
        const { m, layer } = await patchOnce(cacheDir, `${repository}:patched`);
        return {
          round: n,
          sample: m.sample,
          traffic: ctx.proxy.traffic(),
          layer: { compressed: layer.size, uncompressed: layer.uncompressedSize },
          inspect: () => analyzeRegistryLayer(ctx.registryHost, repository, layer.digest),
        };
      } finally {
        if (temperature === 'cold') await removeTree(cacheDir);
      }
    },
    /** one extra --debug run on the warm cache (its phases) */
    ...(temperature === 'warm'
      ? {
          async profile() {
            const work = await mkdtemp(join(ctx.workDir, 'copa-debug-work-'));
            try {
              const { m } = await patchOnce(warmCache, `bench/${id}-profile:patched`, [
                '--debug',
                '-w',
                work,
              ]);
              return parsePhases(m.stderr);
            } finally {
              await removeTree(work);
            }
          },
        }
      : {}),
  };
}

/** The W6 rows: for python and node, our CLI cold and warm, then the floor. */
export function w6Contenders(ctx: BenchContext): Contender[] {
  const src = sources(ctx);
  const npm = hostNpmRegistry();
  const pip = pipIndexUrl();
  return [
    copaW6Contender('python', 'cold', ctx, src.python),
    copaW6Contender('python', 'warm', ctx, src.python),
    w6FloorContender(
      {
        id: 'floor-w6-python',
        label: 'W6 python floor: pip in a chroot (+ gzip -1)',
        image: 'w6-python',
        layout: src.python,
        command: PY_COMMAND,
        env: () => [
          'PIP_CERT=/tmp/host-ca.pem',
          'PIP_DISABLE_PIP_VERSION_CHECK=1',
          // as copa's pip env: pip's own stale bytecode (the fixture's mtimes are normalized) is not rewritten
          'PYTHONDONTWRITEBYTECODE=1',
          ...(pip ? [`PIP_INDEX_URL=${pip}`] : []),
        ],
      },
      ctx,
    ),
    copaW6Contender('node', 'cold', ctx, src.node),
    copaW6Contender('node', 'warm', ctx, src.node),
    w6FloorContender(
      {
        id: 'floor-w6-node',
        label: 'W6 node floor: npm pack + replace in a chroot (+ gzip -1)',
        image: 'w6-node',
        layout: src.node,
        command: nodeFloorCommand(LIBS),
        env: () => [
          'NODE_EXTRA_CA_CERTS=/tmp/host-ca.pem',
          'npm_config_cache=/tmp/.npm',
          'npm_config_update_notifier=false',
          'npm_config_audit=false',
          'npm_config_fund=false',
          ...(npm ? [`npm_config_registry=${npm}`] : []),
        ],
      },
      ctx,
    ),
  ];
}
